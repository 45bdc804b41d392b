/**
 * `npm run bench -- --only churn` (issue 17's target): start + exec `true` + dispose, 16
 * at once, in sandboxes per second, for three paths in one interleaved run, as the test user:
 *
 * - api:    one node process driving the library (what a test suite does):
 *           `Sandbox.start` (bound to the process: its lifeline, api/sdk/lifeline.ts),
 *           `box.exec(['true'])`, `box.dispose()`. Timed inside that process,
 *           after one warm-up sandbox (a test runner is already running when it starts
 *           sandboxes: node's own start-up is not the API's cost).
 * - cli:    `sandbox run -d --network none bb sleep 1000`, `sandbox exec ID true`,
 *           `sandbox rm -f -t 0 ID`, each a process, 16 such chains at once.
 * - podman: the same with `podman --runtime runc` (`run -d`, `exec`, `rm -f -t 0`).
 *
 * Every path does TOTAL sandboxes with 16 workers; a round runs api, cli, podman in turn.
 * Target: api >= 3x podman's rate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfsTar } from '../test/e2e/fixtures.js';
import { asUser, collect, makeUserDir, removeUserTree, REPO_ROOT, spawnAsUser, testUser, SANDBOX_BIN } from '../test/e2e/harness.js';

const CONCURRENCY = 16;
const TOTAL = 48;
const IMAGE = 'bb';
const PODMAN_IMAGE = 'localhost/sandbox-bench-churn-bb';

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Runs `one` `total` times with `concurrency` workers; wall time in ms, and the errors. */
async function churn(total: number, concurrency: number, one: () => Promise<void>): Promise<{ ms: number; errors: string[] }> {
  const errors: string[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++;
      try { await one(); } catch (err) { errors.push(err instanceof Error ? err.message : String(err)); }
    }
  }));
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, errors };
}

/** `--api-worker TOTAL CONCURRENCY`, run as the test user (SANDBOX_ROOT set): the api path; prints {"ms":..,"errors":[..]}. */
async function apiWorker(total: number, concurrency: number): Promise<void> {
  const { Sandbox } = await import('../src/api/sdk/sandbox.js');
  const one = async (): Promise<void> => {
    const box = await Sandbox.start({ image: IMAGE, command: ['sleep', '1000'], network: 'none', pull: 'never' });
    try {
      const r = await box.exec(['true']);
      if (r.exitCode !== 0) throw new Error(`exec true: exit ${r.exitCode}: ${r.stderr}`);
    } finally {
      await box.dispose();
    }
  };
  await one(); // warm-up: lazy modules, caches
  process.stdout.write(`${JSON.stringify(await churn(total, concurrency, one))}\n`);
}

interface Path {
  id: 'api' | 'cli' | 'podman';
  shown: string;
  rates: number[];
  skipped?: string;
  measure: () => Promise<{ ms: number; errors: string[] }>;
}

/** Runs a command as the test user; its stdout, or throws with its stderr. */
async function must(cmd: string, args: string[], opts: { root?: string; env?: Record<string, string> }): Promise<string> {
  const r = await asUser(cmd, args, { ...opts, cwd: '/', timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${cmd === SANDBOX_BIN ? 'sandbox' : cmd} ${args.filter((a) => !a.startsWith('/')).slice(-4).join(' ')}: exit ${r.code}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
  return r.stdout.trim();
}

function median(xs: number[]): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2;
}

export async function benchChurn(rounds: number, json: boolean): Promise<void> {
  const user = testUser();
  const tar = await busyboxRootfsTar();
  const work = await makeUserDir('sandbox-bench-churn-');
  const store = join(work, 'store');
  const podmanDir = join(work, 'podman');
  const xdg = join(work, 'xdg');
  for (const d of [store, podmanDir, xdg]) await must('mkdir', ['-m', '700', d], {});
  const podmanEnv = { XDG_RUNTIME_DIR: xdg };
  const podman = (...args: string[]) => ['--root', join(podmanDir, 'root'), '--runroot', join(podmanDir, 'run'), '--storage-driver', 'overlay', '--runtime', 'runc', ...args];

  const paths: Path[] = [
    {
      id: 'api', shown: `library: Sandbox.start (bound to the process), box.exec(['true']), box.dispose(), ${CONCURRENCY} at once`, rates: [],
      measure: async () => {
        const child = spawnAsUser(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'churn.ts'), '--api-worker', String(TOTAL), String(CONCURRENCY)], { root: store, cwd: REPO_ROOT });
        const r = await collect(child, { timeoutMs: 600_000, what: 'the api worker' });
        if (r.code !== 0) throw new Error(`api worker: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ms: number; errors: string[] };
      },
    },
    {
      id: 'cli', shown: `bin/sandbox run -d --network none bb sleep 1000; exec ID true; rm -f -t 0 ID, ${CONCURRENCY} at once`, rates: [],
      measure: () => churn(TOTAL, CONCURRENCY, async () => {
        const id = await must(SANDBOX_BIN, ['run', '-d', '--network', 'none', IMAGE, 'sleep', '1000'], { root: store });
        try { await must(SANDBOX_BIN, ['exec', id, 'true'], { root: store }); } finally { await must(SANDBOX_BIN, ['rm', '-f', '-t', '0', id], { root: store }); }
      }),
    },
    {
      id: 'podman', shown: `podman --runtime runc run -d --network none bb sleep 1000; exec ID true; rm -f -t 0 ID, ${CONCURRENCY} at once`, rates: [],
      measure: () => churn(TOTAL, CONCURRENCY, async () => {
        const id = await must('podman', podman('run', '-d', '--network', 'none', PODMAN_IMAGE, 'sleep', '1000'), { env: podmanEnv });
        try { await must('podman', podman('exec', id, 'true'), { env: podmanEnv }); } finally { await must('podman', podman('rm', '-f', '-t', '0', id), { env: podmanEnv }); }
      }),
    },
  ];

  try {
    try { await must(SANDBOX_BIN, ['import', tar, IMAGE], { root: store }); } catch (err) {
      for (const p of paths) if (p.id !== 'podman') p.skipped = (err as Error).message;
    }
    try { await must('podman', podman('import', '-q', tar, PODMAN_IMAGE), { env: podmanEnv }); } catch (err) {
      paths.find((p) => p.id === 'podman')!.skipped = (err as Error).message;
    }
    for (let round = 1; round <= rounds; round++) {
      for (const p of paths) {
        if (p.skipped) continue;
        log(`bench churn: round ${round}/${rounds}: ${p.id}`);
        try {
          const { ms, errors } = await p.measure();
          if (errors.length) { p.skipped = `${errors.length}/${TOTAL} failed: ${errors[0]}`; continue; }
          p.rates.push(TOTAL / (ms / 1000));
        } catch (err) {
          p.skipped = (err as Error).message;
        }
      }
    }
  } finally {
    // Podman's pause process holds its user namespace; it is ours (our runtime dir).
    try { process.kill(Number(readFileSync(join(xdg, 'libpod', 'tmp', 'pause.pid'), 'utf8').trim()), 'SIGKILL'); } catch { /* none */ }
    try { removeUserTree(work); } catch (err) { log(`bench churn: warning: ${(err as Error).message}`); }
  }

  const rate = (id: Path['id']) => median(paths.find((p) => p.id === id)!.rates);
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? a / b : undefined);
  const apiVsPodman = ratio(rate('api'), rate('podman'));
  const cliVsPodman = ratio(rate('cli'), rate('podman'));
  if (json) {
    process.stdout.write(`${JSON.stringify({ user: user.name, total: TOTAL, concurrency: CONCURRENCY, rounds, paths: paths.map(({ measure: _, ...p }) => ({ ...p, median: median(p.rates) })), apiVsPodman, cliVsPodman }, null, 2)}\n`);
    return;
  }
  const f = (x?: number) => (x === undefined ? '—' : x.toFixed(2));
  const out = [
    `### start + exec true + dispose, ${CONCURRENCY} concurrent (${TOTAL} sandboxes per path and round, ${rounds} rounds, as ${user.name})`,
    '',
    '| path | command | sandboxes/s (median) | min | max |',
    '|---|---|---|---|---|',
    ...paths.map((p) => `| ${p.id} | ${p.shown} | ${p.skipped ? `skipped: ${p.skipped}` : f(median(p.rates))} | ${f(p.rates.length ? Math.min(...p.rates) : undefined)} | ${f(p.rates.length ? Math.max(...p.rates) : undefined)} |`),
    '',
    `| ratio | value | target |`,
    '|---|---|---|',
    `| api / podman | ${f(apiVsPodman)}x | ≥ 3x ${apiVsPodman === undefined ? '' : apiVsPodman >= 3 ? '✓' : '✗'} |`,
    `| cli / podman | ${f(cliVsPodman)}x | |`,
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

if (process.argv[2] === '--api-worker') {
  apiWorker(Number(process.argv[3]), Number(process.argv[4])).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
