import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Wait, backoff, parseListeningPorts, startupTimeoutError, waitUntilReady,
  type WaitHealthStatus, type WaitTarget,
} from '../../src/api/sdk/wait.js';
import { SandboxError } from '../../src/errors.js';
import { LogFollower } from '../../src/state/logs.js';

// A real /proc/net/tcp (one listener on 0.0.0.0:8080, one on 127.0.0.1:5432, one
// established connection from port 40000) and /proc/net/tcp6 (a listener on [::]:6379).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1235 1 0000000000000000 100 0 0 10 0
   2: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1236 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0
`;

test('parseListeningPorts: LISTEN sockets of tcp and tcp6, not connections, not headers', () => {
  assert.deepEqual([...parseListeningPorts(TCP + TCP6)].sort((a, b) => a - b), [5432, 6379, 8080]);
  assert.deepEqual([...parseListeningPorts('')], []);
  assert.deepEqual([...parseListeningPorts('garbage\n  0: nothing here 0A\n')], []);
});

test('backoff: starts short, grows, stops growing at its maximum', () => {
  const next = backoff(10, 100, 2);
  assert.deepEqual(Array.from({ length: 7 }, next), [10, 20, 40, 80, 100, 100, 100]);
  const d = backoff();
  const first = d();
  assert.ok(first >= 10 && first <= 20, `first poll after ${first} ms`);
  let last = first;
  for (let i = 0; i < 50; i++) last = d();
  assert.ok(last <= 250 && last > first);
});

/** A fake sandbox: what its exec, logs, ports and health say is up to the test. */
function fakeTarget(over: Partial<WaitTarget> = {}): WaitTarget & { execs: string[][] } {
  const execs: string[][] = [];
  return {
    id: 'f00dfeed1234567890',
    host: '127.0.0.1',
    execs,
    async exec(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> { execs.push(argv); return { exitCode: 0, stdout: '', stderr: '' }; },
    async logs() { return ''; },
    mappedPort(port: number): number { throw new SandboxError(`port ${port} is not published`); },
    ...over,
  };
}

function signalAfter(ms: number): AbortSignal {
  return AbortSignal.timeout(ms);
}

test('forLogMessage without a log file: counts matching lines of logs(), string or RegExp (a g flag does not skip lines)', async () => {
  let text = '';
  const target = fakeTarget({ logs: async () => text });
  setTimeout(() => { text = 'starting\nready 1\n'; }, 30);
  setTimeout(() => { text += 'ready 2\n'; }, 60);
  await Wait.forLogMessage(/ready \d/g, 2).waitUntilReady(target, signalAfter(5000));
  await Wait.forLogMessage('ready 1').waitUntilReady(target, signalAfter(5000));
  await assert.rejects(Wait.forLogMessage('ready', 3).waitUntilReady(target, signalAfter(1000)));
});

/** A CRI-format log line, as the monitor writes them. */
function cri(stream: 'stdout' | 'stderr', text: string, partial = false): string {
  return `2026-01-01T00:00:00.000000000Z ${stream} ${partial ? 'P' : 'F'} ${text}\n`;
}

test('LogFollower: only what was added, P parts joined, across a rotation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wait-log-'));
  try {
    const log = join(dir, 'ctr.log');
    const f = new LogFollower(log);
    assert.deepEqual(f.read(), []); // no file yet
    writeFileSync(log, cri('stdout', 'one') + cri('stderr', 'tw', true));
    assert.deepEqual(f.read().map((r) => r.text), ['one']);
    appendFileSync(log, cri('stderr', 'o') + '2026-01-01T00:00:00.000000000Z stdout F thr'); // a line still being written
    assert.deepEqual(f.read().map((r) => r.text), ['two']);
    appendFileSync(log, 'ee\n');
    assert.deepEqual(f.read().map((r) => r.text), ['three']);
    appendFileSync(log, cri('stdout', 'four'));
    renameSync(log, `${log}.1`); // the monitor rotates...
    writeFileSync(log, cri('stdout', 'five')); // ...and goes on in a new file
    assert.deepEqual(f.read().map((r) => r.text), ['four', 'five']);
    assert.deepEqual(f.read(), []);
    f.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forLogMessage with a log file follows it as it grows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wait-log-'));
  try {
    const log = join(dir, 'ctr.log');
    let logsCalls = 0;
    const target = fakeTarget({ logFile: () => log, logs: async () => { logsCalls++; return ''; } });
    setTimeout(() => writeFileSync(log, cri('stdout', 'booting')), 20);
    setTimeout(() => appendFileSync(log, cri('stderr', 'db ready to accept connections')), 50);
    await Wait.forLogMessage(/ready to accept/).waitUntilReady(target, signalAfter(5000));
    assert.equal(logsCalls, 0, 'the file was followed, logs() never read whole');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forExec: until the command exits as wanted; lastSeen says how it failed', async () => {
  let n = 0;
  const target = fakeTarget({ exec: async () => (++n < 3 ? { exitCode: 1, stdout: '', stderr: 'no server\n' } : { exitCode: 0, stdout: 'ok', stderr: '' }) });
  await Wait.forExec(['pg_isready']).waitUntilReady(target, signalAfter(5000));
  assert.equal(n, 3);
  const never = Wait.forExec(['false'], { exitCode: 0 });
  const failing = fakeTarget({ exec: async () => ({ exitCode: 7, stdout: '', stderr: 'nope' }) });
  await assert.rejects(never.waitUntilReady(failing, signalAfter(1000)));
  assert.equal(never.lastSeen?.(), 'exit 7: nope');
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

test('forListeningPort: the port listens inside (/proc/net/tcp through exec) and its published host port accepts', async (t) => {
  const server = createTcpServer((s) => s.end());
  const hostPort = await listen(server);
  t.after(() => server.close());
  let listening = false;
  const target = fakeTarget({
    exec: async (argv) => {
      assert.deepEqual(argv, ['cat', '/proc/net/tcp', '/proc/net/tcp6']);
      return { exitCode: 0, stdout: listening ? TCP : TCP.split('\n')[0]!, stderr: '' };
    },
    mappedPort: (p) => { assert.equal(p, 8080); return hostPort; },
  });
  setTimeout(() => { listening = true; }, 40);
  await Wait.forListeningPort(8080).waitUntilReady(target, signalAfter(5000));

  // Listening inside, but the host port refuses: not ready.
  const closed = createTcpServer();
  const deadPort = await listen(closed);
  await new Promise((r) => closed.close(r));
  const s = Wait.forListeningPort(8080);
  await assert.rejects(s.waitUntilReady({ ...target, mappedPort: () => deadPort }, signalAfter(1000)));
  assert.match(s.lastSeen?.() ?? '', /8080\/tcp listens inside, but 127\.0\.0\.1:\d+ does not accept/);

  // Not published: the inside check alone. No port: the target's exposed ports.
  await Wait.forListeningPort(5432).waitUntilReady(fakeTarget({ exec: async () => ({ exitCode: 0, stdout: TCP, stderr: '' }) }), signalAfter(5000));
  const none = Wait.forListeningPort();
  await assert.rejects(none.waitUntilReady(fakeTarget({ exec: async () => ({ exitCode: 0, stdout: TCP, stderr: '' }), exposedPorts: () => [5432, 9999] }), signalAfter(1000)));
  assert.equal(none.lastSeen?.(), 'nothing listens on 9999/tcp inside');

  // No cat in the image: it cannot work, said at once.
  const noCat = fakeTarget({ exec: async () => ({ exitCode: 127, stdout: '', stderr: 'cat: not found' }) });
  await assert.rejects(Wait.forListeningPort(1).waitUntilReady(noCat, signalAfter(5000)), (e: SandboxError) => e.code === 'invalid-option');
});

test('forHttp: the published port answers the status wanted, or passes a predicate', async (t) => {
  let status = 503;
  const server = createHttpServer((req, res) => { res.statusCode = req.url === '/health' ? status : 404; res.end(req.method === 'HEAD' ? undefined : `status ${status}`); });
  const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
  t.after(() => server.close());
  const target = fakeTarget({ mappedPort: () => port });
  const s = Wait.forHttp('/health', 80);
  await assert.rejects(s.waitUntilReady(target, signalAfter(1000)));
  assert.equal(s.lastSeen?.(), 'HTTP 503: status 503');
  setTimeout(() => { status = 200; }, 30);
  await s.waitUntilReady(target, signalAfter(5000));
  await Wait.forHttp('health', 80, { status: (code, body) => code === 200 && body === 'status 200' }).waitUntilReady(target, signalAfter(5000));
  await Wait.forHttp('/nothing', 80, { status: 404, method: 'HEAD' }).waitUntilReady(target, signalAfter(5000));
  await assert.rejects(Wait.forHttp('/', 81).waitUntilReady(fakeTarget(), signalAfter(5000)), (e: SandboxError) => e.code === 'port-not-published' && /ports: \[81\]/.test(e.hint ?? ''));
});

test('forHealthy: until healthy; no health check is an error at once', async () => {
  const states: (WaitHealthStatus | undefined)[] = ['starting', 'starting', 'unhealthy', 'healthy'];
  let i = 0;
  await Wait.forHealthy().waitUntilReady(fakeTarget({ health: async () => states[Math.min(i++, states.length - 1)] }), signalAfter(5000));
  assert.equal(i, 4);
  await assert.rejects(Wait.forHealthy().waitUntilReady(fakeTarget({ health: async () => undefined }), signalAfter(5000)), (e: SandboxError) => e.code === 'invalid-option' && /no health check/.test(e.message));
  await assert.rejects(Wait.forHealthy().waitUntilReady(fakeTarget(), signalAfter(5000)), (e: SandboxError) => e.code === 'invalid-option');
});

test('forAll: every strategy; one that cannot succeed stops the others', async () => {
  let text = '';
  let execs = 0;
  const target = fakeTarget({ logs: async () => text, exec: async () => ({ exitCode: ++execs >= 2 ? 0 : 1, stdout: '', stderr: '' }) });
  setTimeout(() => { text = 'ready\n'; }, 30);
  const all = Wait.forAll(Wait.forLogMessage('ready'), Wait.forExec(['true']));
  assert.equal(all.describe(), 'all of: log message "ready"; command ["true"] to exit 0');
  await all.waitUntilReady(target, signalAfter(5000));
  const started = Date.now();
  await assert.rejects(Wait.forAll(Wait.forLogMessage('never'), Wait.forHealthy()).waitUntilReady(target, signalAfter(10_000)), (e: SandboxError) => e.code === 'invalid-option');
  assert.ok(Date.now() - started < 5000);
});

test('waitUntilReady: a time-out is a startup-timeout error naming the strategy, what it saw, and the last log lines', async () => {
  const log = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
  let tailAsked: number | undefined;
  const target = fakeTarget({
    logs: async (opts) => { tailAsked = opts?.tail; return log.split('\n').slice(-(opts?.tail ?? 0) - 1).join('\n'); },
    exec: async () => ({ exitCode: 1, stdout: '', stderr: 'connection refused' }),
  });
  const err = await waitUntilReady(target, Wait.forExec(['check']), 500).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SandboxError, String(err));
  assert.equal(err.code, 'startup-timeout');
  assert.equal(tailAsked, 20);
  assert.match(err.message, /^sandbox f00dfeed1234 was not ready within 500 ms: waited for command \["check"\] to exit 0 \(last seen: exit 1: connection refused\)\n/);
  assert.match(err.message, /its last log lines:\nline 11\n/);
  assert.match(err.message, /\nline 30$/);
  assert.doesNotMatch(err.message, /line 10\n/);
  assert.match(err.hint ?? '', /startupTimeoutMs[^]*\nline 30$/);
  // Ready in time: nothing thrown. A strategy that cannot succeed: its failure, with the log.
  await waitUntilReady(fakeTarget(), Wait.forExec(['true']), 5000);
  await assert.rejects(waitUntilReady({ ...target, health: async () => undefined }, Wait.forHealthy(), 5000), (e: SandboxError) =>
    e.code === 'invalid-option' && /^sandbox f00dfeed1234 did not become ready \(health check to pass\): sandbox f00dfeed1234 has no health check/.test(e.message) &&
    /\nline 30$/.test(e.hint ?? ''));
  // An outside signal cancels the wait with its own reason.
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('test ended')), 30);
  await assert.rejects(waitUntilReady(target, Wait.forExec(['check']), 60_000, { signal: ac.signal }), /test ended/);
});

test('startupTimeoutError: an empty log is said, not shown as blank lines', () => {
  const e = startupTimeoutError(Wait.forLogMessage('x'), '', 1000, 'db');
  assert.equal(e.message, 'sandbox db was not ready within 1000 ms: waited for log message "x"\nit wrote nothing to its log');
  assert.equal(e.code, 'startup-timeout');
  assert.match(e.hint ?? '', /startupTimeoutMs/);
});
