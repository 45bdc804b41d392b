/**
 * `npm run bench [-- --runs N] [--warmup N] [--json] [--only id,id]`
 * `npm run bench -- --only ps500,parallel16` (the store rows: not in the default run)
 * `npm run bench -- --only pull` (issue 5: pull of a ~200 MiB image vs podman pull; bench/pull.ts)
 * `npm run bench -- --only net` (issue 15: iperf3 throughput both ways, slirp4netns and pasta, vs Podman; bench/network.ts)
 * `npm run bench -- --only churn` (issue 17: start + exec true + dispose, 16 at once: API, CLI, Podman in sandboxes/s; bench/churn.ts)
 *
 * Start-up latency of `sandbox run --rm IMAGE true` side by side with Podman and
 * bubblewrap on the same busybox rootfs, plus the CLI's own overhead over a bare
 * `node -e 0`, all in one run, as the unprivileged test user (the harness's user
 * switching when we are root, directly otherwise). Commands are interleaved round-robin
 * (A B C A B C ...) after warm-up rounds, so drift of the machine hits all rows alike.
 * Prints a Markdown table (or JSON with --json) on stdout; progress goes to stderr.
 * A row whose tool is missing or whose command fails is skipped, with the reason printed.
 * The exec rows (issue 4): `sandbox exec BOX true` into a running busybox sandbox, and
 * `podman exec` into a running container of the same image (started in set-up, removed in
 * clean-up). Targets: <= 0.5x podman exec, and <= 30 ms over `node -e 0`.
 *
 * The seccomp and limits rows (issue 16): `run --rm --network none bb true` with
 * `--security-opt seccomp=unconfined`, and with `--pids-limit 100 --memory 64m` (needs a
 * delegated cgroup: skipped with the reason where there is none). Target: the limits row
 * minus the unconfined one (seccomp and cgroup set-up together) <= 3 ms.
 *
 * The published-port rows (issue 15): `sandbox run --rm -p PORT:80 bb true` and Podman's
 * with the same flags (its default network, as ours), PORT 8080 when free. Target: <= 0.5x.
 *
 * The store rows (issue 3), only with `--only ps500,parallel16` since they take minutes:
 * - ps500: `sandbox ps -a` on a store holding 500 exited sandboxes. Running 500 sandboxes
 *   to get there would take minutes, so the records are written directly with the store
 *   API (createSandboxRecord, then writeRecord with state exited: exactly what `run` leaves
 *   of an exited sandbox, minus its writable layer, which `ps` never reads), by this
 *   script re-run as the test user (`--make-records DIR N`). Target: median <= 150 ms.
 * - parallel16: 16 `sandbox run --rm bb true` started at once, wall time until the last
 *   ends; podman16 the same with `podman run --rm --runtime runc --network none`, in the
 *   same interleaved run. Target: <= 0.5x Podman's.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { release } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { busyboxRootfsDir, busyboxRootfsTar } from '../test/e2e/fixtures.js';
import { benchPull } from './pull.js';
import { benchNetwork, freePortFrom } from './network.js';
import { benchChurn } from './churn.js';
import {
  asUser, makeUserDir, removeUserTree, REPO_ROOT, SANDBOX_BIN, spawnAsUser, testUser, userCommand, type TestUser,
} from '../test/e2e/harness.js';

interface Options {
  runs: number;
  warmup: number;
  json: boolean;
  only: string[] | undefined;
}

function usage(): never {
  process.stderr.write('usage: npm run bench -- [--runs N (15)] [--warmup N (2)] [--json] [--only node,cli,help,run,run-none,run-unconfined,run-limits,podman,exec,podman-exec,bwrap,host,run-p,podman-p | ps500,parallel16 | pull | net | churn]\n');
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 15, warmup: 2, json: false, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) usage();
      return v;
    };
    if (a === '--runs') o.runs = Math.max(1, num());
    else if (a === '--warmup') o.warmup = num();
    else if (a === '--json') o.json = true;
    else if (a === '--only') o.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else usage();
  }
  return o;
}

/** One command under measurement. */
interface Row {
  id: string;
  label: string;
  /** The command as the user would type it (for the report). */
  shown: string;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  root?: string;
  /** Start this many copies at once; a sample is the wall time until the last ends. */
  parallel?: number;
  /** Only with --only (too slow for the default run). */
  optIn?: boolean;
  skipped?: string;
  samples: number[];
}

interface Sample {
  ms: number;
  code: number;
  stderr: string;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function which(cmd: string): string | undefined {
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

/**
 * Runs a row's command once as the test user (or `parallel` copies at once); wall time from spawn to (the last) exit.
 * The bare child_process spawn (harness.spawnAsUser), not execa: as little of ours as can be between the two clock reads.
 */
function timeOnce(row: Row): Promise<Sample> {
  if (row.parallel && row.parallel > 1) return timeParallel(row, row.parallel);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let ms = 0;
    let stderr = '';
    const child = spawnAsUser(row.cmd, row.args, { env: row.env, root: row.root, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => { if (stderr.length < 4000) stderr += s; });
    child.on('error', reject);
    child.on('exit', () => { ms = Number(process.hrtime.bigint() - started) / 1e6; });
    child.on('close', (code, signal) => resolve({ ms, code: code ?? (signal ? 128 : 1), stderr }));
  });
}

function timeParallel(row: Row, n: number): Promise<Sample> {
  const started = process.hrtime.bigint();
  const children: ChildProcess[] = [];
  const one = (child: ChildProcess): Promise<{ code: number; stderr: string }> => new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (s: string) => { if (stderr.length < 4000) stderr += s; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr }));
  });
  for (let i = 0; i < n; i++) {
    children.push(spawnAsUser(row.cmd, row.args, { env: row.env, root: row.root, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' }));
  }
  return Promise.all(children.map(one)).then((results) => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const failed = results.find((r) => r.code !== 0);
    return { ms, code: failed?.code ?? 0, stderr: failed ? `${results.filter((r) => r.code !== 0).length}/${n} failed: ${failed.stderr}` : '' };
  });
}

/**
 * `--make-records DIR N`, run as the test user: N exited sandboxes recorded in the store
 * DIR through the store API, created a second apart (newest first in `ps`).
 */
async function makeRecords(root: string, n: number): Promise<void> {
  const { createSandboxRecord, newSandboxId, writeRecord } = await import('../src/state/sandboxes.js');
  const { runRequest } = await import('../src/api/index.js');
  const { resolveStorePaths } = await import('../src/state/paths.js');
  const paths = resolveStorePaths({ env: {}, uid: process.getuid?.() ?? 0, home: '/', rootOverride: root });
  const base = Date.now() - n * 1000;
  for (let i = 0; i < n; i++) {
    const id = newSandboxId();
    const created = new Date(base + i * 1000).toISOString();
    const request = runRequest('bb', ['true'], { remove: false, network: 'none', name: `rec${i}` });
    const record = { id, name: `rec${i}`, created, image: 'bb', command: ['true'], hostname: id.slice(0, 12), request, state: { status: 'created' as const } };
    await createSandboxRecord(paths, record);
    writeRecord(paths, { ...record, state: { status: 'exited', exitCode: 0, startedAt: created, finishedAt: new Date(base + i * 1000 + 50).toISOString() } });
  }
}

function firstLines(s: string, n = 3): string {
  return s.trim().split('\n').filter((l) => !/level=warning/.test(l)).slice(0, n).join(' | ');
}

interface Stats {
  min: number;
  median: number;
  max: number;
}

function stats(xs: number[]): Stats | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { min: s[0] as number, median, max: s[s.length - 1] as number };
}

function versionOf(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : undefined;
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--make-records') return makeRecords(process.argv[3]!, Number(process.argv[4]));
  const opts = parseArgs(process.argv.slice(2));
  // The pull row (issue 5) has its own set-up (an image and a registry): bench/pull.ts.
  if (opts.only?.includes('pull')) {
    await benchPull(Math.min(opts.runs, 5));
    opts.only = opts.only.filter((id) => id !== 'pull');
    if (!opts.only.length) return;
  }
  // The throughput rows (issue 15) have theirs (an iperf3 image, servers): bench/network.ts.
  if (opts.only?.includes('net')) {
    await benchNetwork(Math.min(opts.runs, 5));
    opts.only = opts.only.filter((id) => id !== 'net');
    if (!opts.only.length) return;
  }
  // Start + exec + dispose, 16 at once, through the API, the CLI and Podman (issue 17): bench/churn.ts.
  if (opts.only?.includes('churn')) {
    await benchChurn(Math.min(opts.runs, 3), opts.json);
    opts.only = opts.only.filter((id) => id !== 'churn');
    if (!opts.only.length) return;
  }
  const user: TestUser = testUser();
  log(`bench: as user ${user.name} (uid ${user.uid})${user.switchUser ? ' via setpriv' : ''}; ${opts.warmup} warm-up + ${opts.runs} runs per command, interleaved`);

  const tar = await busyboxRootfsTar();
  const rootfsDir = await busyboxRootfsDir();
  const work = await makeUserDir('sandbox-bench-');
  const store = join(work, 'store');
  const store500 = join(work, 'store500');
  const podmanDir = join(work, 'podman');
  const xdg = join(work, 'xdg');
  for (const d of [store, store500, podmanDir, xdg]) {
    const r = await asUser('mkdir', ['-m', '700', d]);
    if (r.code !== 0) throw new Error(`mkdir ${d}: ${r.stderr}`);
  }

  const podmanGlobal = ['--root', join(podmanDir, 'root'), '--runroot', join(podmanDir, 'run'), '--storage-driver', 'overlay'];
  const podmanImage = 'localhost/sandbox-bench-bb';
  // The exec rows' long-running targets (issue 4): a sandbox and a podman container of the same image.
  const execBox = 'bench-exec';
  const podmanExecBox = 'bench-podman-exec';
  const removeExecTargets = (): void => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: user.home, SANDBOX_ROOT: store, XDG_RUNTIME_DIR: xdg };
    for (const [cmd, args] of [[SANDBOX_BIN, ['rm', '-f', execBox]], ['podman', [...podmanGlobal, 'rm', '-f', '-t', '0', podmanExecBox]]] as const) {
      if (cmd === 'podman' && !which('podman')) continue;
      const [file, argv] = userCommand(cmd, args, user);
      spawnSync(file, argv, { env, cwd: '/', stdio: 'ignore', timeout: 30_000 });
    }
    // conmon runs `podman container cleanup` after the container ends, writing to the store:
    // wait (up to 5 s) for every process that names our podman store to be gone.
    const deadline = Date.now() + 5000;
    const busy = (): boolean => readdirSync('/proc').some((e) => {
      if (!/^\d+$/.test(e) || Number(e) === process.pid) return false;
      try { return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(podmanDir); } catch { return false; }
    });
    while (busy() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  };

  const cleanup = (): void => {
    removeExecTargets();
    // Podman leaves a pause process holding its user namespace; ours has its own runtime
    // dir, so it is the one in there and nobody else's.
    const pidFile = join(xdg, 'libpod', 'tmp', 'pause.pid');
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid > 1) process.kill(pid, 'SIGKILL');
    } catch {
      // no pause process
    }
    try {
      removeUserTree(work);
    } catch (err) {
      log(`bench: warning: ${(err as Error).message}`);
    }
  };
  process.once('SIGINT', () => { cleanup(); process.exit(130); });

  // The published-port rows' host port: 8080 as in the issue, unless something holds it.
  const publish = await freePortFrom(8080);
  const rows: Row[] = [
    { id: 'node', label: 'node -e 0', shown: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], samples: [] },
    // `version` is the CLI's load-and-dispatch cost (the path `run` takes, minus the sandbox);
    // `--help` loads and renders the full yargs CLI.
    { id: 'cli', label: 'sandbox version', shown: 'bin/sandbox version', cmd: SANDBOX_BIN, args: ['version'], root: store, samples: [] },
    { id: 'help', label: 'sandbox --help', shown: 'bin/sandbox --help >/dev/null', cmd: SANDBOX_BIN, args: ['--help'], root: store, samples: [] },
    { id: 'run', label: 'sandbox run bb', shown: 'bin/sandbox run --rm bb true  # default network: slirp4netns', cmd: SANDBOX_BIN, args: ['run', '--rm', 'bb', 'true'], root: store, samples: [] },
    // The same network as the podman row: the like-for-like comparison.
    { id: 'run-none', label: 'sandbox run --network none bb', shown: 'bin/sandbox run --rm --network none bb true', cmd: SANDBOX_BIN, args: ['run', '--rm', '--network', 'none', 'bb', 'true'], root: store, samples: [] },
    // Issue 16's target: seccomp and cgroup set-up add <= 3 ms. The same run without the
    // filter, and with limits (cgroups: skipped, with the reason, where none is delegated).
    {
      id: 'run-unconfined', label: 'sandbox run --network none seccomp=unconfined bb', shown: 'bin/sandbox run --rm --network none --security-opt seccomp=unconfined bb true',
      cmd: SANDBOX_BIN, args: ['run', '--rm', '--network', 'none', '--security-opt', 'seccomp=unconfined', 'bb', 'true'], root: store, samples: [],
    },
    {
      id: 'run-limits', label: 'sandbox run --network none --pids-limit --memory bb', shown: 'bin/sandbox run --rm --network none --pids-limit 100 --memory 64m bb true',
      cmd: SANDBOX_BIN, args: ['run', '--rm', '--network', 'none', '--pids-limit', '100', '--memory', '64m', 'bb', 'true'], root: store, samples: [],
    },
    {
      id: 'podman', label: 'podman run bb', shown: 'podman run --rm --runtime runc --network none bb true',
      cmd: 'podman', args: [...podmanGlobal, 'run', '--rm', '--runtime', 'runc', '--network', 'none', podmanImage, 'true'],
      env: { XDG_RUNTIME_DIR: xdg }, samples: [],
    },
    {
      id: 'bwrap', label: 'bwrap bb', shown: 'bwrap --unshare-all --die-with-parent --ro-bind ROOTFS / --proc /proc --dev /dev --tmpfs /tmp true',
      cmd: 'bwrap', args: ['--unshare-all', '--die-with-parent', '--ro-bind', rootfsDir, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', 'true'],
      samples: [],
    },
    { id: 'exec', label: 'sandbox exec', shown: 'bin/sandbox exec BOX true  # into a running bb sandbox', cmd: SANDBOX_BIN, args: ['exec', execBox, 'true'], root: store, samples: [] },
    {
      id: 'podman-exec', label: 'podman exec', shown: 'podman exec CONTAINER true  # into a running bb container (runc)',
      cmd: 'podman', args: [...podmanGlobal, 'exec', podmanExecBox, 'true'], env: { XDG_RUNTIME_DIR: xdg }, samples: [],
    },
    { id: 'run-p', label: 'sandbox run -p bb', shown: `bin/sandbox run --rm -p ${publish}:80 bb true`, cmd: SANDBOX_BIN, args: ['run', '--rm', '-p', `${publish}:80`, 'bb', 'true'], root: store, samples: [] },
    {
      id: 'podman-p', label: 'podman run -p bb', shown: `podman run --rm --runtime runc -p ${publish}:80 bb true`,
      cmd: 'podman', args: [...podmanGlobal, 'run', '--rm', '--runtime', 'runc', '-p', `${publish}:80`, podmanImage, 'true'],
      env: { XDG_RUNTIME_DIR: xdg }, samples: [],
    },
    { id: 'host', label: 'sandbox run host', shown: 'bin/sandbox run --rm host true', cmd: SANDBOX_BIN, args: ['run', '--rm', 'host', 'true'], root: store, samples: [] },
    { id: 'ps500', label: 'sandbox ps -a (500)', shown: 'bin/sandbox ps -a  # 500 sandboxes recorded', cmd: SANDBOX_BIN, args: ['ps', '-a'], root: store500, optIn: true, samples: [] },
    {
      id: 'parallel16', label: '16x sandbox run bb', shown: '16 x bin/sandbox run --rm bb true, at once',
      cmd: SANDBOX_BIN, args: ['run', '--rm', 'bb', 'true'], root: store, parallel: 16, optIn: true, samples: [],
    },
    {
      id: 'podman16', label: '16x podman run bb', shown: '16 x podman run --rm --runtime runc --network none bb true, at once',
      cmd: 'podman', args: [...podmanGlobal, 'run', '--rm', '--runtime', 'runc', '--network', 'none', podmanImage, 'true'],
      env: { XDG_RUNTIME_DIR: xdg }, parallel: 16, optIn: true, samples: [],
    },
  ].filter((r: Row) => (opts.only
    // parallel16 is measured against podman16 in the same run.
    ? opts.only.includes(r.id) || (r.id === 'run-none' && opts.only.includes('run')) || (r.id === 'podman-p' && opts.only.includes('run-p')) || (r.id === 'podman16' && opts.only.includes('parallel16')) || (r.id === 'podman-exec' && opts.only.includes('exec'))
    : !r.optIn));

  try {
    // Set-up: images, tools.
    const rowById = (id: string): Row | undefined => rows.find((r) => r.id === id);
    const sandboxRuns = [rowById('run'), rowById('run-none'), rowById('run-unconfined'), rowById('run-limits'), rowById('run-p'), rowById('parallel16'), rowById('exec')].filter((r): r is Row => !!r);
    if (sandboxRuns.length) {
      const r = await asUser(SANDBOX_BIN, ['import', tar, 'bb'], { root: store, cwd: '/' });
      if (r.code !== 0) for (const row of sandboxRuns) row.skipped = `sandbox import failed (exit ${r.code}): ${firstLines(r.stderr)}`;
    }
    const podmans = [rowById('podman'), rowById('podman-p'), rowById('podman16'), rowById('podman-exec')].filter((r): r is Row => !!r);
    if (podmans.length) {
      let why: string | undefined;
      if (!which('podman')) why = 'podman not installed (apt-get install podman)';
      else if (!which('runc')) why = 'runc not installed (apt-get install runc)';
      else {
        const r = await asUser('podman', [...podmanGlobal, 'import', '-q', tar, podmanImage], { env: { XDG_RUNTIME_DIR: xdg }, cwd: '/', timeoutMs: 120_000 });
        if (r.code !== 0) why = `podman import failed (exit ${r.code}): ${firstLines(r.stderr)}`;
      }
      if (why) for (const row of podmans) row.skipped = why;
    }
    const execRow = rowById('exec');
    if (execRow && !execRow.skipped) {
      const r = await asUser(SANDBOX_BIN, ['run', '-d', '--name', execBox, '--network', 'none', 'bb', 'sleep', '3600'], { root: store, cwd: '/' });
      if (r.code !== 0) execRow.skipped = `sandbox run -d failed (exit ${r.code}): ${firstLines(r.stderr)}`;
    }
    const podmanExecRow = rowById('podman-exec');
    if (podmanExecRow && !podmanExecRow.skipped) {
      const r = await asUser('podman', [...podmanGlobal, 'run', '-d', '--name', podmanExecBox, '--runtime', 'runc', '--network', 'none', podmanImage, 'sleep', '3600'],
        { env: { XDG_RUNTIME_DIR: xdg }, cwd: '/', timeoutMs: 120_000 });
      if (r.code !== 0) podmanExecRow.skipped = `podman run -d failed (exit ${r.code}): ${firstLines(r.stderr)}`;
    }
    const ps500 = rowById('ps500');
    if (ps500) {
      log('bench: recording 500 sandboxes for ps500 (store API, as the test user)');
      const r = await asUser(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'run.ts'), '--make-records', store500, '500'], { cwd: REPO_ROOT, timeoutMs: 300_000 });
      if (r.code !== 0) ps500.skipped = `recording 500 sandboxes failed (exit ${r.code}): ${firstLines(r.stderr)}`;
    }
    const bwrap = rowById('bwrap');
    if (bwrap && !which('bwrap')) bwrap.skipped = 'bwrap not installed (apt-get install bubblewrap)';

    // Warm-up rounds; the first also checks each command works at all.
    for (let w = 0; w < Math.max(1, opts.warmup); w++) {
      for (const row of rows) {
        if (row.skipped) continue;
        const s = await timeOnce(row);
        if (s.code !== 0) row.skipped = `${row.shown} failed (exit ${s.code}): ${firstLines(s.stderr) || 'no output'}`;
      }
    }
    // Measured rounds, round-robin.
    for (let i = 0; i < opts.runs; i++) {
      for (const row of rows) {
        if (row.skipped) continue;
        const s = await timeOnce(row);
        if (s.code !== 0) {
          row.skipped = `${row.shown} failed on run ${i + 1} (exit ${s.code}): ${firstLines(s.stderr) || 'no output'}`;
          row.samples = [];
          continue;
        }
        row.samples.push(s.ms);
      }
      if (!opts.json) process.stderr.write(`\rbench: round ${i + 1}/${opts.runs}`);
    }
    if (!opts.json) process.stderr.write('\n');
  } finally {
    cleanup();
  }

  const med = (id: string): number | undefined => {
    const r = rows.find((x) => x.id === id);
    return r && !r.skipped ? stats(r.samples)?.median : undefined;
  };
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  const diff = (a: number | undefined, b: number | undefined): number | undefined =>
    a !== undefined && b !== undefined ? a - b : undefined;
  const derived = [
    { id: 'cliOverheadMs', label: 'CLI overhead: `sandbox version` − `node -e 0` (median)', value: diff(med('cli'), med('node')), unit: 'ms', target: '≤ 25 ms', ok: (v: number) => v <= 25 },
    { id: 'helpOverheadMs', label: 'full CLI: `sandbox --help` − `node -e 0` (median)', value: diff(med('help'), med('node')), unit: 'ms', target: '', ok: undefined },
    { id: 'runVsPodman', label: '`sandbox run --network none bb` / `podman run --network none bb` (median, like for like)', value: ratio(med('run-none'), med('podman')), unit: 'x', target: '≤ 0.5x', ok: (v: number) => v <= 0.5 },
    { id: 'seccompRatio', label: '`sandbox run --network none bb` / the same with `seccomp=unconfined` (median)', value: ratio(med('run-none'), med('run-unconfined')), unit: 'x', target: '', ok: undefined },
    { id: 'limitsRatio', label: '`sandbox run --network none --pids-limit 100 --memory 64m bb` / the same without limits (median)', value: ratio(med('run-limits'), med('run-none')), unit: 'x', target: '', ok: undefined },
    { id: 'seccompCgroupMs', label: 'seccomp and cgroups: `run --pids-limit --memory` (default filter) − `run seccomp=unconfined` (median)', value: diff(med('run-limits'), med('run-unconfined')), unit: 'ms', target: '≤ 3 ms', ok: (v: number) => v <= 3 },
    { id: 'runSlirpVsPodman', label: '`sandbox run bb` (slirp4netns) / `podman run --network none bb` (median)', value: ratio(med('run'), med('podman')), unit: 'x', target: '', ok: undefined },
    { id: 'runVsBwrap', label: '`sandbox run bb` / `bwrap bb` (median)', value: ratio(med('run'), med('bwrap')), unit: 'x', target: '', ok: undefined },
    { id: 'hostVsPodman', label: '`sandbox run host` / `podman run bb` (median)', value: ratio(med('host'), med('podman')), unit: 'x', target: '', ok: undefined },
    { id: 'runPublishVsPodman', label: '`sandbox run -p PORT:80 bb` / `podman run -p PORT:80 bb` (median, same flags)', value: ratio(med('run-p'), med('podman-p')), unit: 'x', target: '≤ 0.5x', ok: (v: number) => v <= 0.5 },
    { id: 'execVsPodman', label: '`sandbox exec` / `podman exec` (median)', value: ratio(med('exec'), med('podman-exec')), unit: 'x', target: '≤ 0.5x', ok: (v: number) => v <= 0.5 },
    { id: 'execOverNodeMs', label: '`sandbox exec BOX true` − `node -e 0` (median)', value: diff(med('exec'), med('node')), unit: 'ms', target: '≤ 30 ms', ok: (v: number) => v <= 30 },
    { id: 'ps500Ms', label: '`sandbox ps -a` with 500 sandboxes recorded (median)', value: med('ps500'), unit: 'ms', target: '≤ 150 ms', ok: (v: number) => v <= 150 },
    { id: 'parallel16VsPodman', label: '16 parallel `sandbox run bb` / 16 parallel `podman run bb` (median wall)', value: ratio(med('parallel16'), med('podman16')), unit: 'x', target: '≤ 0.5x', ok: (v: number) => v <= 0.5 },
  ].filter((d) => d.value !== undefined || !['ps500Ms', 'parallel16VsPodman'].includes(d.id));

  const machine = {
    kernel: release(),
    cpu: cpuModel(),
    node: process.version,
    podman: which('podman') ? versionOf('podman', ['--version']) : undefined,
    runc: which('runc') ? versionOf('runc', ['--version']) : undefined,
    bwrap: which('bwrap') ? versionOf('bwrap', ['--version']) : undefined,
  };

  if (opts.json) {
    process.stdout.write(`${JSON.stringify({
      runs: opts.runs,
      warmup: opts.warmup,
      user: { name: user.name, uid: user.uid },
      machine,
      rows: rows.map((r) => ({ id: r.id, label: r.label, command: r.shown, ...(r.skipped ? { skipped: r.skipped } : stats(r.samples)), samples: r.samples })),
      derived: Object.fromEntries(derived.map((d) => [d.id, d.value ?? null])),
    }, null, 2)}\n`);
    return;
  }

  const f = (n: number): string => n.toFixed(1);
  const out: string[] = [];
  out.push(`Start-up, wall ms: ${opts.runs} runs per command, round-robin after ${opts.warmup} warm-up round(s), as \`${user.name}\` (uid ${user.uid}).`);
  out.push(`Machine: Linux ${machine.kernel}, ${machine.cpu}, node ${machine.node}${machine.podman ? `, ${machine.podman}` : ''}${machine.runc ? `, ${machine.runc}` : ''}${machine.bwrap ? `, ${machine.bwrap}` : ''}.`);
  out.push('');
  out.push('| command | min | median | max |');
  out.push('| --- | ---: | ---: | ---: |');
  for (const r of rows) {
    const s = r.skipped ? undefined : stats(r.samples);
    out.push(s ? `| \`${r.shown}\` | ${f(s.min)} | ${f(s.median)} | ${f(s.max)} |` : `| \`${r.shown}\` | – | skipped | – |`);
  }
  out.push('');
  out.push('| derived | value | target |');
  out.push('| --- | ---: | --- |');
  for (const d of derived) {
    const v = d.value === undefined ? 'n/a' : d.unit === 'ms' ? `${f(d.value)} ms` : `${d.value.toFixed(2)}x`;
    const verdict = d.value === undefined || !d.ok ? '' : d.ok(d.value) ? ' (met)' : ' (missed)';
    out.push(`| ${d.label} | ${v} | ${d.target}${verdict} |`);
  }
  const skipped = rows.filter((r) => r.skipped);
  if (skipped.length) {
    out.push('');
    for (const r of skipped) out.push(`- skipped \`${r.id}\`: ${r.skipped}`);
  }
  out.push('');
  out.push('Podman uses its own throw-away store (overlay driver), runtime dir and image (`podman import` of the same tarball).');
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message ?? String(err)}\n`);
  process.exitCode = 1;
});
