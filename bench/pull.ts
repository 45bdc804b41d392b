/**
 * `npm run bench -- --only pull [--runs N]` (issue 5's target): pull of a multi-layer
 * image of about 200 MiB from a registry on 127.0.0.1 (Debian's docker-registry), by
 * `sandbox pull` and by `podman pull` (overlay storage), interleaved, each into a fresh
 * empty store, as the unprivileged test user. Target: sandbox <= 0.8x podman.
 *
 * The image: busybox plus four layers made of this machine's own files (compilers'
 * libraries, Python's library, locales, Perl: binaries and many small text files, gzip),
 * built once into an OCI layout under /tmp and pushed with skopeo. The CPU time the pull
 * used (user + system, from bash's `times`) over its wall time says whether unpacking
 * kept both cores busy (> 1.0).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { busyboxRootfsTar } from '../test/e2e/fixtures.js';
import { asUser, makeUserDir, removeUserTree, SANDBOX_BIN } from '../test/e2e/harness.js';
import { writeOciLayout } from '../test/e2e/oci-layout.js';
import { skopeoCopy, startRegistry } from '../test/e2e/registry.js';

/** Host directories that make the big layers (those that exist are used). */
const LAYER_DIRS = ['usr/lib/gcc', 'usr/lib/python3', 'usr/share/i18n', 'usr/share/perl'];
const LAYOUT = '/tmp/sandbox-bench-pull-layout';

interface Sample { wall: number; cpu: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function tarOf(dir: string): Buffer {
  const r = spawnSync('tar', ['-C', '/', '-c', '-f', '-', '--numeric-owner', dir], { maxBuffer: 2 ** 31 });
  if (r.status !== 0) throw new Error(`tar of /${dir} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

async function buildLayout(): Promise<{ bytes: number; layers: number }> {
  const dirs = LAYER_DIRS.filter((d) => existsSync(`/${d}`));
  const tars = [readFileSync(await busyboxRootfsTar()), ...dirs.map(tarOf)];
  if (!existsSync(join(LAYOUT, 'index.json'))) {
    mkdirSync(LAYOUT, { recursive: true });
    await writeOciLayout(LAYOUT, 'big', [{ layers: tars.map((tar) => ({ tar, compression: 'gzip' as const })) }]);
  }
  return { bytes: tars.reduce((a, t) => a + t.length, 0), layers: tars.length };
}

/** bash's `times` after the command: the children's user and system seconds. */
const TIMED = 'start=$(date +%s%N); "$@" >/dev/null || exit $?; end=$(date +%s%N); echo "wall $(( (end - start) / 1000 ))"; times';

function parseTimes(out: string): Sample {
  const wall = Number(/wall ([0-9]+)/.exec(out)?.[1]) / 1000;
  const lines = out.trim().split('\n');
  const children = lines[lines.length - 1]!.split(/\s+/).map((t) => {
    const m = /([0-9]+)m([0-9.]+)s/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  });
  return { wall, cpu: (children[0] ?? 0) + (children[1] ?? 0) };
}

export async function benchPull(runs: number): Promise<void> {
  for (const tool of ['docker-registry', 'skopeo', 'podman']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      process.stderr.write(`pull: skipped, ${tool} is not installed\n`);
      return;
    }
  }
  process.stderr.write('pull: building the image (once; cached in /tmp)...\n');
  const image = await buildLayout();
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const registry = await startRegistry({ after: (fn: () => Promise<void> | void) => { cleanups.push(fn); } } as never);
    const ref = `${registry.host}/bench/big:1`;
    await skopeoCopy(`oci:${LAYOUT}:big`, `docker://${ref}`);
    const blobs = join(LAYOUT, 'blobs', 'sha256');
    const compressed = readdirSync(blobs).reduce((a, b) => a + statSync(join(blobs, b)).size, 0);
    process.stderr.write(`pull: ${image.layers} layers, ${(image.bytes / 2 ** 20).toFixed(0)} MiB unpacked, ${(compressed / 2 ** 20).toFixed(0)} MiB compressed, at ${ref}\n`);

    const rows = {
      sandbox: { label: 'sandbox pull', samples: [] as Sample[] },
      podman: { label: 'podman pull (overlay)', samples: [] as Sample[] },
    };
    for (let round = 0; round < runs + 1; round++) {
      const order = round % 2 ? (['podman', 'sandbox'] as const) : (['sandbox', 'podman'] as const);
      for (const which of order) {
        const dir = await makeUserDir(`sandbox-bench-pull-${which}-`);
        const cmd = which === 'sandbox'
          ? ['env', `SANDBOX_ROOT=${dir}`, SANDBOX_BIN, 'pull', '-q', ref]
          : ['env', `XDG_RUNTIME_DIR=${join(dir, 'xdg')}`, 'podman', '--root', join(dir, 'root'), '--runroot', join(dir, 'run'),
            '--storage-driver', 'overlay', 'pull', '-q', '--tls-verify=false', ref];
        if (which === 'podman') mkdirSync(join(dir, 'xdg'), { recursive: true, mode: 0o700 });
        if (which === 'podman') spawnSync('chown', ['--reference', dir, join(dir, 'xdg')]);
        const r = await asUser('bash', ['-c', TIMED, 'bash', ...cmd], { cwd: '/', timeoutMs: 300_000 });
        if (which === 'podman') await asUser('env', [`XDG_RUNTIME_DIR=${join(dir, 'xdg')}`, 'podman', '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'overlay', 'system', 'reset', '-f'], { cwd: '/', timeoutMs: 120_000 });
        removeUserTree(dir);
        if (r.code !== 0) throw new Error(`${which} pull failed (${r.code}):\n${r.stderr}`);
        const sample = parseTimes(r.stdout);
        if (round > 0) rows[which].samples.push(sample); // round 0 warms caches
        process.stderr.write(`pull: round ${round} ${which}: ${sample.wall.toFixed(0)} ms wall, ${(sample.cpu * 1000).toFixed(0)} ms CPU\n`);
      }
    }
    const s = median(rows.sandbox.samples.map((x) => x.wall));
    const p = median(rows.podman.samples.map((x) => x.wall));
    const line = (r: { label: string; samples: Sample[] }) => {
      const walls = r.samples.map((x) => x.wall);
      const cores = median(r.samples.map((x) => (x.cpu * 1000) / x.wall));
      return `| ${r.label} | ${median(walls).toFixed(0)} | ${Math.min(...walls).toFixed(0)} | ${Math.max(...walls).toFixed(0)} | ${cores.toFixed(2)} |`;
    };
    process.stdout.write([
      `Pull of ${image.layers} layers (${(image.bytes / 2 ** 20).toFixed(0)} MiB unpacked, ${(compressed / 2 ** 20).toFixed(0)} MiB gzip) from 127.0.0.1, ${runs} runs each, fresh store each time`,
      '',
      '| command | median ms | min | max | CPU/wall (cores used) |',
      '|---|---|---|---|---|',
      line(rows.sandbox),
      line(rows.podman),
      '',
      `sandbox / podman: ${(s / p).toFixed(2)}x (target <= 0.8x)`,
      '',
    ].join('\n'));
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}
