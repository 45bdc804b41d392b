/**
 * `npm run bench -- --only net [--runs N]` (issue 15's throughput targets): iperf3
 * throughput, sandbox -> host and host -> sandbox through a published port, for
 * slirp4netns and pasta, ours and rootless Podman's side by side, interleaved, as the
 * unprivileged test user. Target: ours >= Podman's on the same mode.
 *
 * Both sides run the same image: iperf3 and the libraries it links (copied from this
 * host, Debian's iperf3) with a /tmp, imported into our store and into a throw-away
 * Podman store. sandbox -> host: a host iperf3 server on the host's first global IPv4
 * address (the host's loopback is closed to sandboxes by default, in both), the client
 * inside. host -> sandbox: the server inside, run with `-p PORT:5201`, the client on the
 * host against 127.0.0.1:PORT. A row whose set-up is refused (a mode or `-p` that this
 * version or Podman's does not have) is skipped with the reason printed; so are rows
 * whose tool is missing.
 */
import { hostDefaultGateway } from '../src/network/pasta.js';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { asUser, makeUserDir, removeUserTree, SANDBOX_BIN, spawnAsUser, testUser } from '../test/e2e/harness.js';

const IMAGE_DIR = '/tmp/sandbox-bench-iperf-rootfs';
const IMAGE_TAR = '/tmp/sandbox-bench-iperf.tar';
const SECONDS = 3;

type Mode = 'slirp4netns' | 'pasta';
type Direction = 'sandbox->host' | 'host->sandbox';

interface NetRow {
  direction: Direction;
  mode: Mode;
  side: 'sandbox' | 'podman';
  /** One measurement: Gbit/s, or an error. */
  measure?: () => Promise<number | string>;
  cleanup?: () => Promise<void>;
  skipped?: string;
  samples: number[];
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function which(cmd: string): string | undefined {
  for (const d of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) if (existsSync(join(d, cmd))) return join(d, cmd);
  return undefined;
}

/** iperf3 and the libraries `ldd` names, at their paths, plus /tmp (iperf3 makes a file there): a tarball both sides import. */
function buildImage(iperf3: string): void {
  rmSync(IMAGE_DIR, { recursive: true, force: true });
  const ldd = spawnSync('ldd', [iperf3], { encoding: 'utf8' });
  if (ldd.status !== 0) throw new Error(`ldd ${iperf3}: ${ldd.stderr}`);
  const files = [iperf3, ...ldd.stdout.split('\n').flatMap((l) => /(\/\S+) \(0x/.exec(l)?.[1] ?? [])];
  for (const f of files) {
    const dest = join(IMAGE_DIR, f);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(realpathSync(f), dest);
    chmodSync(dest, 0o755);
  }
  mkdirSync(join(IMAGE_DIR, 'tmp'), { recursive: true });
  chmodSync(join(IMAGE_DIR, 'tmp'), 0o1777);
  mkdirSync(join(IMAGE_DIR, 'etc'), { recursive: true });
  writeFileSync(join(IMAGE_DIR, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  const tar = spawnSync('tar', ['-C', IMAGE_DIR, '--numeric-owner', '--owner=0', '--group=0', '-cf', IMAGE_TAR, '.'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
  chmodSync(IMAGE_TAR, 0o644);
}

/** The host's first global IPv4 address. */
function hostAddress(): string | undefined {
  const r = spawnSync('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' });
  return /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout)?.[1];
}

/** A TCP port nobody listens on now (the kernel's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** `first` when nobody listens on it (IPv4, all addresses), else a port the kernel picks. */
export function freePortFrom(first: number): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => { void freePort().then(resolve); });
    s.listen(first, () => s.close(() => resolve(first)));
  });
}

/** Gbit/s that the receiving end counted, from `iperf3 -J` output; or what went wrong. */
export function iperfGbits(stdout: string): number | string {
  try {
    const j = JSON.parse(stdout) as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
    if (j.error) return j.error;
    const bps = j.end?.sum_received?.bits_per_second;
    return typeof bps === 'number' && bps > 0 ? bps / 1e9 : 'no throughput in the output';
  } catch {
    return `not iperf3's JSON: ${stdout.trim().split('\n').slice(0, 2).join(' | ') || 'no output'}`;
  }
}

function firstLines(s: string, n = 2): string {
  return s.trim().split('\n').filter((l) => !/level=warning/.test(l)).slice(0, n).join(' | ');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function benchNetwork(runs: number): Promise<void> {
  const user = testUser();
  const iperf3 = which('iperf3');
  if (!iperf3) {
    log('bench net: iperf3 is not installed (apt-get install iperf3): no throughput rows');
    return;
  }
  buildImage(iperf3);
  const work = await makeUserDir('sandbox-bench-net-');
  const store = join(work, 'store');
  const podmanDir = join(work, 'podman');
  const xdg = join(work, 'xdg');
  for (const d of [store, podmanDir, xdg]) await asUser('mkdir', ['-m', '700', d]);
  const podmanGlobal = ['--root', join(podmanDir, 'root'), '--runroot', join(podmanDir, 'run'), '--storage-driver', 'overlay'];
  const podmanEnv = { XDG_RUNTIME_DIR: xdg };
  const podmanImage = 'localhost/sandbox-bench-iperf';
  const sandbox = (args: string[], timeoutMs = 60_000) => asUser(SANDBOX_BIN, args, { root: store, cwd: '/', timeoutMs });
  const podman = (args: string[], timeoutMs = 60_000) => asUser('podman', [...podmanGlobal, ...args], { env: podmanEnv, cwd: '/', timeoutMs });

  const rows: NetRow[] = [];
  for (const direction of ['sandbox->host', 'host->sandbox'] as const) {
    for (const mode of ['slirp4netns', 'pasta'] as const) {
      for (const side of ['sandbox', 'podman'] as const) rows.push({ direction, mode, side, samples: [] });
    }
  }
  const servers: ChildProcess[] = [];
  try {
    const imported = await sandbox(['import', IMAGE_TAR, 'iperf']);
    const ourWhy = imported.code === 0 ? undefined : `sandbox import failed: ${firstLines(imported.stderr)}`;
    let podmanWhy: string | undefined;
    if (!which('podman') || !which('runc')) podmanWhy = 'podman or runc not installed';
    else {
      const r = await podman(['import', '-q', IMAGE_TAR, podmanImage], 120_000);
      if (r.code !== 0) podmanWhy = `podman import failed: ${firstLines(r.stderr)}`;
    }
    for (const row of rows) row.skipped = row.side === 'sandbox' ? ourWhy : podmanWhy;

    // sandbox -> host: one host server, clients inside.
    const address = hostAddress();
    const hostPort = await freePort();
    const server = spawnAsUser(iperf3, ['-s', '-p', String(hostPort)], { stdio: 'ignore' });
    servers.push(server);
    for (const row of rows.filter((r) => r.direction === 'sandbox->host' && !r.skipped)) {
      // pasta copies the host's address into the sandbox (there it is the sandbox's own):
      // the host is its gateway, mapped to the host by --map-gw (Podman's word).
      const viaGateway = row.side === 'sandbox' && row.mode === 'pasta';
      const target = viaGateway ? hostDefaultGateway() : address;
      if (!target) { row.skipped = viaGateway ? 'the host has no default gateway for pasta to map to it' : 'the host has no global IPv4 address to reach it at (its loopback is closed to sandboxes)'; continue; }
      const client = ['iperf3', '-c', target, '-p', String(hostPort), '-t', String(SECONDS), '-J'];
      row.measure = async () => {
        const r = row.side === 'sandbox'
          ? await sandbox(['run', '--rm', '--network', viaGateway ? 'pasta:--map-gw' : row.mode, 'iperf', ...client])
          : await podman(['run', '--rm', '--runtime', 'runc', '--network', row.mode, podmanImage, ...client]);
        const v = iperfGbits(r.stdout);
        return typeof v === 'number' || r.code === 0 ? v : `exit ${r.code}: ${firstLines(r.stderr) || v}`;
      };
    }

    // host -> sandbox: a server inside each, published; the client on the host.
    for (const row of rows.filter((r) => r.direction === 'host->sandbox' && !r.skipped)) {
      const port = await freePort();
      const name = `bench-iperf-${row.mode}`;
      const started = row.side === 'sandbox'
        ? await sandbox(['run', '-d', '--name', name, '--network', row.mode, '-p', `${port}:5201`, 'iperf', 'iperf3', '-s'])
        : await podman(['run', '-d', '--name', name, '--runtime', 'runc', '--network', row.mode, '-p', `${port}:5201`, podmanImage, 'iperf3', '-s'], 120_000);
      row.cleanup = async () => { await (row.side === 'sandbox' ? sandbox(['rm', '-f', name]) : podman(['rm', '-f', '-t', '0', name])); };
      if (started.code !== 0) { row.skipped = `${row.side} run -d --network ${row.mode} -p ${port}:5201 failed (exit ${started.code}): ${firstLines(started.stderr)}`; continue; }
      row.measure = async () => {
        const r = await asUser(iperf3, ['-c', '127.0.0.1', '-p', String(port), '-t', String(SECONDS), '-J'], { cwd: '/', timeoutMs: 60_000 });
        return iperfGbits(r.stdout);
      };
    }

    // The first round is warm-up (a server inside may still be starting: it gets three tries).
    for (let round = 0; round <= runs; round++) {
      for (const row of rows) {
        if (row.skipped || !row.measure) continue;
        let v = await row.measure();
        for (let tries = 1; round === 0 && typeof v === 'string' && tries < 3; tries++) {
          await new Promise((r) => setTimeout(r, 500));
          v = await row.measure();
        }
        if (typeof v === 'string') { row.skipped = v; continue; }
        if (round > 0) row.samples.push(v);
      }
      log(`bench net: round ${round}/${runs}${round === 0 ? ' (warm-up)' : ''}`);
    }
  } finally {
    for (const s of servers) { try { process.kill(s.pid!, 'SIGKILL'); } catch { /* ended */ } }
    for (const row of rows) await row.cleanup?.().catch(() => undefined);
    const pause = join(xdg, 'libpod', 'tmp', 'pause.pid');
    try { process.kill(Number(readFileSync(pause, 'utf8').trim()), 'SIGKILL'); } catch { /* none */ }
    try { removeUserTree(work); } catch (err) { log(`bench net: warning: ${(err as Error).message}`); }
  }

  const out: string[] = [];
  out.push(`Throughput, iperf3 -t ${SECONDS}, Gbit/s received (median of ${runs} after a warm-up), as \`${user.name}\`; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}.`);
  out.push('');
  out.push('| direction | mode | sandbox | podman | sandbox / podman (target >= 1x) |');
  out.push('| --- | --- | ---: | ---: | ---: |');
  const cell = (r: NetRow | undefined) => (r && !r.skipped && r.samples.length ? median(r.samples) : undefined);
  for (const direction of ['sandbox->host', 'host->sandbox'] as const) {
    for (const mode of ['slirp4netns', 'pasta'] as const) {
      const ours = cell(rows.find((r) => r.direction === direction && r.mode === mode && r.side === 'sandbox'));
      const theirs = cell(rows.find((r) => r.direction === direction && r.mode === mode && r.side === 'podman'));
      const ratio = ours !== undefined && theirs !== undefined ? `${(ours / theirs).toFixed(2)}x${ours >= theirs ? ' (met)' : ' (missed)'}` : 'n/a';
      out.push(`| ${direction} | ${mode} | ${ours?.toFixed(2) ?? 'skipped'} | ${theirs?.toFixed(2) ?? 'skipped'} | ${ratio} |`);
    }
  }
  const skipped = rows.filter((r) => r.skipped);
  if (skipped.length) out.push('');
  for (const r of skipped) out.push(`- skipped ${r.side} ${r.direction} ${r.mode}: ${r.skipped}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
