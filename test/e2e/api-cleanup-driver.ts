/**
 * Run by test/e2e/api-cleanup.test.ts as the test user (`node --import tsx`): drives the
 * library in one process, as a test suite would. Not a test itself.
 *
 *   owner N NETWORK   start N sandboxes bound to this process (each publishing a port),
 *                     print one JSON line per sandbox, then "ready", then wait to be killed
 *   loop C ROUNDS [NETWORK]  C workers, each ROUNDS times start + exec true + rm -f (with
 *                     NETWORK other than none: each publishing a port); print one JSON
 *                     line: {"done":n,"fdsBefore":a,"fdsAfter":b,"lifelines":k,"errors":[...]}
 */
import { readdirSync } from 'node:fs';
import { openStore, runRequest } from '../../src/api/index.js';
import { runDetached } from '../../src/api/run.js';
import { execInSandbox } from '../../src/api/exec.js';
import { removeSandbox } from '../../src/api/lifecycle.js';
import { heldLifelines } from '../../src/api/sdk/lifeline.js';
import type { NetworkMode } from '../../src/types.js';

const paths = openStore();
const [mode, a, b, c] = process.argv.slice(2);

function request(network: NetworkMode, port: boolean) {
  return runRequest('host', ['sleep', '1000'], {
    remove: false, detach: true, network,
    ...(port ? { ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 8080, protocol: 'tcp' as const }] } : {}),
  });
}

async function owner(n: number, network: NetworkMode): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await runDetached(paths, request(network, true), { ownerLifeline: true });
    const s = r.state;
    process.stdout.write(`${JSON.stringify({ id: r.id, name: r.name, monitorPid: s.monitorPid, pid: s.pid, hostPort: r.request.ports?.[0]?.hostPort })}\n`);
  }
  process.stdout.write('ready\n');
  setInterval(() => {}, 1 << 30);
}

const fds = () => readdirSync('/proc/self/fd').length;

async function loop(workers: number, rounds: number, network: NetworkMode): Promise<void> {
  const errors: string[] = [];
  let done = 0;
  const one = async () => {
    const r = await runDetached(paths, request(network, network !== 'none'), { ownerLifeline: true });
    try {
      const code = await execInSandbox(paths, r.id, { command: ['true'], interactive: false, tty: false, env: {}, detach: false });
      if (code !== 0) errors.push(`exec true in ${r.name}: ${code}`);
    } finally {
      await removeSandbox(paths, r.id, { force: true });
    }
    done++;
  };
  await one(); // the first start loads what every later one uses: counted after it
  const before = fds();
  await Promise.all(Array.from({ length: workers }, async () => {
    for (let i = 0; i < rounds; i++) {
      try { await one(); } catch (err) { errors.push(err instanceof Error ? err.message : String(err)); }
    }
  }));
  process.stdout.write(`${JSON.stringify({ done, fdsBefore: before, fdsAfter: fds(), lifelines: heldLifelines(), errors })}\n`);
}

if (mode === 'owner') void owner(Number(a), b as NetworkMode);
else if (mode === 'loop') void loop(Number(a), Number(b), (c ?? 'none') as NetworkMode);
else { process.stderr.write('usage: owner N NETWORK | loop C ROUNDS [NETWORK]\n'); process.exit(2); }
