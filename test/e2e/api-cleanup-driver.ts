/**
 * Run by test/e2e/api-cleanup.test.ts as the test user (`node --import tsx`): drives the
 * library's Sandbox class in one process, as a test suite would. Not a test itself.
 *
 *   owner N NETWORK   start N sandboxes bound to this process (each publishing a port),
 *                     print one JSON line per sandbox, then "ready", then wait to be killed
 *   list              print the ids Sandbox.list({ all: true }) gives, as JSON
 *   loop C ROUNDS [NETWORK]  C workers, each ROUNDS times start + exec true + rm -f (with
 *                     NETWORK other than none: each publishing a port); print one JSON
 *                     line: {"done":n,"fdsBefore":a,"fdsAfter":b,"lifelines":k,"errors":[...]}
 */
import { readdirSync } from 'node:fs';
import { Sandbox } from '../../src/api/sdk/sandbox.js';
import { heldLifelines } from '../../src/api/sdk/lifeline.js';
import type { NetworkMode } from '../../src/types.js';

const [mode, a, b, c] = process.argv.slice(2);

/** A sandbox bound to this process (not detached), the store SANDBOX_ROOT says; with a port published on 127.0.0.1. */
function start(network: NetworkMode, port: boolean): Promise<Sandbox> {
  return Sandbox.start({ image: 'host', command: ['sleep', '1000'], network, ...(port ? { ports: [8080] } : {}) });
}

async function owner(n: number, network: NetworkMode): Promise<void> {
  for (let i = 0; i < n; i++) {
    const box = await start(network, true);
    const s = (await box.inspect()).state;
    process.stdout.write(`${JSON.stringify({ id: box.id, name: box.name, monitorPid: s.monitorPid, pid: s.pid, hostPort: box.mappedPort(8080) })}\n`);
  }
  process.stdout.write('ready\n');
  setInterval(() => {}, 1 << 30);
}

const fds = () => readdirSync('/proc/self/fd').length;

async function loop(workers: number, rounds: number, network: NetworkMode): Promise<void> {
  const errors: string[] = [];
  let done = 0;
  const one = async () => {
    const box = await start(network, network !== 'none');
    try {
      const r = await box.exec(['true']);
      if (r.exitCode !== 0) errors.push(`exec true in ${box.name}: ${r.exitCode} ${r.stderr}`);
    } finally {
      await box.dispose();
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
else if (mode === 'list') void Sandbox.list({ all: true }).then((l) => process.stdout.write(`${JSON.stringify(l.map((b) => b.id))}\n`));
else if (mode === 'loop') void loop(Number(a), Number(b), (c ?? 'none') as NetworkMode);
else { process.stderr.write('usage: owner N NETWORK | list | loop C ROUNDS [NETWORK]\n'); process.exit(2); }
