/**
 * The library API (`import { Sandbox } from 'sandbox'`, src/api/sdk/sandbox.ts) driven as
 * the unprivileged test user: a script importing the built package (dist/, through a
 * node_modules/sandbox link to this checkout, as a `file:` dependency installs it) runs
 * as that user and prints what it saw as JSON; the checks are made here, and from outside
 * with the CLI on the same store.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asUser, eventually, lines, newStore, newUserDir, requireRootless, REPO_ROOT, runSandbox, show, testUser } from './harness.js';

/** Writes `body` as an ES module beside a node_modules/sandbox link, runs it as the test user, parses its last stdout line. */
async function runScript(t: TestContext, root: string, body: string, timeoutMs = 180_000): Promise<Record<string, unknown>> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'api.mjs'))) throw new Error('dist/api.mjs is missing: run `npm run build` first');
  const dir = await newUserDir(t, 'sandbox-e2e-api-');
  const user = testUser();
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'sandbox'));
  const script = join(dir, 'script.mjs');
  writeFileSync(script, `import { Sandbox, SandboxError, Network, Image } from 'sandbox';\nconst out = {};\n${body}\nconsole.log(JSON.stringify(out));\n`);
  if (user.switchUser) {
    chownSync(join(dir, 'node_modules'), user.uid, user.gid);
    chownSync(script, user.uid, user.gid);
  }
  const r = await asUser(process.execPath, [script], { root, cwd: dir, timeoutMs });
  assert.equal(r.code, 0, `the script failed: ${show(r)}`);
  const last = lines(r.stdout).at(-1) ?? '';
  return JSON.parse(last) as Record<string, unknown>;
}

describe('Sandbox API (as the unprivileged user)', () => {
  it('16 sandboxes in parallel, each writing its own /tmp, none seeing the others\' writes', async (t) => {
    if (!requireRootless(t, 'Sandbox.start')) return;
    const root = await newStore(t);
    const out = await runScript(t, root, `
const boxes = await Promise.all(Array.from({ length: 16 }, (_, i) =>
  Sandbox.start({ image: 'host', command: ['sleep', 'infinity'], network: 'none', labels: { n: String(i) } })));
out.ids = boxes.map((b) => b.id);
out.seen = await Promise.all(boxes.map(async (b, i) => {
  await b.writeFile('/tmp/api-core-mark-' + i, 'box ' + i);
  const r = await b.exec(['sh', '-c', 'cat /tmp/api-core-mark-*']);
  return r.stdout;
}));
out.listed = (await Sandbox.list()).length;
await Promise.all(boxes.map((b) => b.dispose()));
out.after = (await Sandbox.list({ all: true })).length;
`);
    assert.equal(new Set(out.ids as string[]).size, 16);
    assert.deepEqual(out.seen, Array.from({ length: 16 }, (_, i) => `box ${i}`), 'each sandbox sees its own file and only its own');
    assert.equal(out.listed, 16);
    assert.equal(out.after, 0, 'dispose removed them all');
    assert.ok(!readdirSync('/tmp').some((f) => f.startsWith('api-core-mark-')), 'nothing reached the host\'s /tmp');
    assert.equal(lines((await runSandbox(['ps', '-a', '-q'], { root })).stdout).length, 0);
  });

  it('exec, writeFile/readFile, copyIn/copyOut round trips; logs; stop, start, restart; get and list from the CLI\'s store', async (t) => {
    if (!requireRootless(t, 'Sandbox.start')) return;
    const root = await newStore(t);
    const local = await newUserDir(t, 'sandbox-e2e-api-local-');
    const user = testUser();
    mkdirSync(join(local, 'in', 'sub'), { recursive: true });
    writeFileSync(join(local, 'in', 'a.txt'), 'alpha\n');
    writeFileSync(join(local, 'in', 'sub', 'b.txt'), 'beta\n');
    if (user.switchUser) for (const p of ['in', 'in/sub', 'in/a.txt', 'in/sub/b.txt']) chownSync(join(local, p), user.uid, user.gid);
    const cli = await runSandbox(['run', '-d', '--name', 'from-cli', '--network', 'none', 'host', 'sleep', 'infinity'], { root });
    assert.equal(cli.code, 0, show(cli));
    const out = await runScript(t, root, `
const local = ${JSON.stringify(local)};
const box = await Sandbox.start({ image: 'host', name: 'api-box', command: ['sh', '-c', 'echo first-line; echo to-stderr >&2; exec sleep infinity'],
  env: { A: 'from-env' }, workdir: '/tmp', hostname: 'apihost', network: 'none', tmpfs: ['/scratch'], mounts: [{ source: local, target: '/local', readonly: true }] });
out.id = box.id; out.name = box.name; out.host = box.host;
out.exec = await box.exec(['sh', '-c', 'echo "$A $B $(pwd) $(hostname)"; echo oops >&2; exit 7'], { env: { B: 'extra' } });
out.stdin = await box.exec(['sh', '-c', 'tr a-z A-Z'], { stdin: 'piped through' });
out.workdir = (await box.exec(['pwd'], { workdir: '/scratch' })).stdout;
out.user = (await box.exec(['id', '-u'], { user: '1234' })).stdout;
out.notFound = (await box.exec(['no-such-command-xyz'])).exitCode;
try { await box.exec(['sleep', '31'], { timeoutMs: 500 }); out.timedOut = 'no error'; } catch (e) { out.timedOut = { code: e.code, isSandboxError: e instanceof SandboxError }; }
await new Promise((r) => setTimeout(r, 300));
out.afterTimeout = (await box.exec(['sh', '-c', 'cat /proc/[0-9]*/cmdline | tr "\\\\0" " "'])).stdout;
const bytes = Buffer.from([0, 1, 2, 255, 10, 13]);
await box.writeFile('/scratch/bin', bytes);
out.bin = [...(await box.readFile('/scratch/bin'))];
await box.writeFile('/scratch/text', 'hello\\nworld');
out.text = await box.readFile('/scratch/text', 'utf8');
out.textInside = (await box.exec(['cat', '/scratch/text'])).stdout;
await box.copyIn(local + '/in', '/scratch/tree');
out.tree = (await box.exec(['sh', '-c', 'cat /scratch/tree/a.txt /scratch/tree/sub/b.txt'])).stdout;
out.bindRo = (await box.exec(['sh', '-c', 'cat /local/in/a.txt; touch /local/x 2>/dev/null && echo writable || echo readonly'])).stdout;
await box.exec(['sh', '-c', 'mkdir /scratch/made && echo made-inside > /scratch/made/c.txt']);
await box.copyOut('/scratch/made', local + '/out');
out.spawned = await new Promise((resolve) => {
  const p = box.spawn(['sh', '-c', 'read line; echo "got $line"']);
  let text = '';
  p.stdout.on('data', (d) => { text += d; });
  p.stdin.end('streamed\\n');
  p.exit.then((code) => resolve({ code, text }));
});
out.logs = await box.logs();
out.tail = await box.logs({ tail: 1 });
await box.stop({ timeoutMs: 1000 });
out.stopped = (await box.inspect()).state.status;
try { await box.exec(['true']); } catch (e) { out.execStopped = { isSandboxError: e instanceof SandboxError, code: e.code, hint: e.hint }; }
await box.start();
out.restarted1 = (await box.exec(['echo', 'again'])).stdout;
await box.restart({ timeoutMs: 1000 });
out.restarted2 = (await box.inspect()).state.status;
const fromCli = await Sandbox.get('from-cli');
out.fromCli = (await fromCli.exec(['echo', 'cli-made'])).stdout;
out.listed = (await Sandbox.list()).map((b) => b.name).sort();
await fromCli.dispose();
await box.dispose();
await box.dispose();
await box[Symbol.asyncDispose]();
out.left = (await Sandbox.list({ all: true })).length;
`);
    assert.equal(out.host, '127.0.0.1');
    assert.equal(out.name, 'api-box');
    assert.deepEqual(out.exec, { exitCode: 7, stdout: 'from-env extra /tmp apihost\n', stderr: 'oops\n' });
    assert.deepEqual(out.stdin, { exitCode: 0, stdout: 'PIPED THROUGH', stderr: '' });
    assert.equal(out.workdir, '/scratch\n');
    assert.equal(out.user, '1234\n');
    assert.equal(out.notFound, 127);
    assert.deepEqual(out.timedOut, { code: 'exec-timeout', isSandboxError: true });
    assert.ok(String(out.afterTimeout).includes('sleep infinity') && !String(out.afterTimeout).includes('sleep 31'), `the timed-out command was killed: ${out.afterTimeout}`);
    assert.deepEqual(out.bin, [0, 1, 2, 255, 10, 13]);
    assert.equal(out.text, 'hello\nworld');
    assert.equal(out.textInside, 'hello\nworld');
    assert.equal(out.tree, 'alpha\nbeta\n');
    assert.equal(out.bindRo, 'alpha\nreadonly\n');
    assert.equal((await asUser('cat', [join(local, 'out', 'c.txt')])).stdout, 'made-inside\n', 'copyOut wrote the tree on the host');
    assert.deepEqual(out.spawned, { code: 0, text: 'got streamed\n' });
    assert.equal(out.logs, 'first-line\nto-stderr\n');
    assert.equal(out.tail, 'to-stderr\n');
    assert.equal(out.stopped, 'exited');
    assert.deepEqual(out.execStopped, { isSandboxError: true, code: 'not-running', hint: 'start it with `sandbox start api-box`' });
    assert.equal(out.restarted1, 'again\n');
    assert.equal(out.restarted2, 'running');
    assert.equal(out.fromCli, 'cli-made\n');
    assert.deepEqual(out.listed, ['api-box', 'from-cli']);
    assert.equal(out.left, 0);
    assert.equal(lines((await runSandbox(['ps', '-a', '-q'], { root })).stdout).length, 0);
  });

  it('ports: a number is published on a free port of 127.0.0.1, reached from the host through mappedPort', async (t) => {
    if (!requireRootless(t, 'Sandbox.start -p')) return;
    const root = await newStore(t);
    const out = await runScript(t, root, `
const box = await Sandbox.start({ image: 'host', command: ['sh', '-c', 'mkdir -p /tmp/www && echo served-by-sandbox > /tmp/www/index.html && exec busybox httpd -f -p 8080 -h /tmp/www'], ports: [8080] });
const port = box.mappedPort(8080);
out.port = port;
let body = '';
for (let i = 0; i < 100 && !body; i++) {
  try { body = await (await fetch('http://' + box.host + ':' + port + '/index.html')).text(); } catch { await new Promise((r) => setTimeout(r, 100)); }
}
out.body = body;
try { box.mappedPort(9999); } catch (e) { out.unpublished = { code: e.code, hint: e.hint, isSandboxError: e instanceof SandboxError }; }
out.udp = (() => { try { return box.mappedPort(8080, 'udp'); } catch (e) { return e.code; } })();
await box.dispose();
`);
    assert.ok(Number.isInteger(out.port) && (out.port as number) > 0, `a host port: ${out.port}`);
    assert.equal(out.body, 'served-by-sandbox\n');
    assert.deepEqual(out.unpublished, { code: 'port-not-published', hint: 'publish it: Sandbox.start({ ..., ports: [9999] })', isSandboxError: true });
    assert.equal(out.udp, 'port-not-published');
  });

  it('Network.create: sandboxes joined with aliases reach each other by alias; network.remove()', async (t) => {
    if (!requireRootless(t, 'Network.create')) return;
    const root = await newStore(t);
    const out = await runScript(t, root, `
const net = await Network.create();
out.net = net.name;
const server = await Sandbox.start({ image: 'host', networks: [{ network: net, aliases: ['db'] }],
  command: ['sh', '-c', 'while :; do echo TOKEN-db | busybox nc -l -p 5432; done'] });
const client = await Sandbox.start({ image: 'host', networks: [{ network: net.name }], command: ['sleep', 'infinity'] });
let got = '';
for (let i = 0; i < 50 && !got.includes('TOKEN-db'); i++) {
  got = (await client.exec(['sh', '-c', 'busybox nc -w 3 db 5432 </dev/null 2>&1; true'])).stdout;
  if (!got.includes('TOKEN-db')) await new Promise((r) => setTimeout(r, 100));
}
out.got = got;
await client.dispose(); await server.dispose();
await net.remove();
out.left = Network.list().map((n) => n.name);
`);
    assert.match(String(out.net), /^sandbox-net-[0-9a-f]{12}$/);
    assert.equal(out.got, 'TOKEN-db\n');
    assert.ok(!(out.left as string[]).includes(out.net as string), 'the network is gone');
  });

  it('errors are SandboxError with a code and a hint; a wait that times out reports the last log lines; two stores side by side', async (t) => {
    if (!requireRootless(t, 'Sandbox.start')) return;
    const root = await newStore(t);
    const other = await newStore(t);
    const out = await runScript(t, root, `
const other = ${JSON.stringify(other)};
const errorOf = async (fn) => { try { await fn(); return 'no error'; } catch (e) { return { isSandboxError: e instanceof SandboxError, name: e.name, code: e.code, hint: e.hint, message: e.message }; } };
out.noSuch = await errorOf(() => Sandbox.get('no-such-box'));
out.noImage = await errorOf(() => Sandbox.start({ image: 'no-such-image-xyz', pull: 'never' }));
out.badMemory = await errorOf(() => Sandbox.start({ image: 'host', limits: { memory: 'lots' } }));
out.badName = await errorOf(() => Sandbox.start({ image: 'host', name: 'bad name!' }));
out.relMount = await errorOf(() => Sandbox.start({ image: 'host', mounts: [{ source: '/tmp', target: 'rel' }] }));
const never = { describe: () => 'a message that never comes', waitUntilReady: (_target, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) };
const started = Date.now();
out.timeout = await errorOf(() => Sandbox.start({ image: 'host', network: 'none', name: 'slow', command: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do echo log-line-$i; done; exec sleep infinity'], waitFor: never, startupTimeoutMs: 3000 }));
out.timeoutMs = Date.now() - started;
out.afterTimeout = (await Sandbox.list({ all: true })).length;
const ready = { describe: () => 'exec true', waitUntilReady: async (target) => { for (;;) { if ((await target.exec(['test', '-e', '/tmp/ready'])).exitCode === 0) return; await new Promise((r) => setTimeout(r, 50)); } } };
const waited = await Sandbox.start({ image: 'host', network: 'none', command: ['sh', '-c', 'sleep 0.5; touch /tmp/ready; exec sleep infinity'], waitFor: ready, startupTimeoutMs: 30000 });
out.waited = (await waited.exec(['cat', '/tmp/ready'])).exitCode;
const a = await Sandbox.start({ image: 'host', network: 'none', name: 'same-name', command: ['sleep', 'infinity'] });
const b = await Sandbox.start({ root: other, image: 'host', network: 'none', name: 'same-name', command: ['sleep', 'infinity'] });
out.twoStores = [a.id !== b.id, (await Sandbox.list()).length, (await Sandbox.list({ root: other })).length];
out.dupName = await errorOf(() => Sandbox.start({ image: 'host', network: 'none', name: 'same-name', command: ['true'] }));
await a.dispose(); await b.dispose(); await waited.dispose();
// A command that ends by itself: its end is recorded (its monitor writes it, not a CLI).
const oneShot = await Sandbox.start({ image: 'host', network: 'none', command: ['sh', '-c', 'exit 5'] });
for (let i = 0; i < 100 && !out.oneShot; i++) {
  const s = (await oneShot.inspect()).state;
  if (s.status === 'exited') out.oneShot = [s.status, s.exitCode, s.error ?? null];
  else await new Promise((r) => setTimeout(r, 100));
}
await oneShot.dispose();
// One left running on purpose: it ends with this process (not detached).
const kept = await Sandbox.start({ image: 'host', network: 'none', name: 'ends-with-us', command: ['sleep', 'infinity'] });
out.keptMonitor = (await kept.inspect()).state.monitorPid;
`);
    const expect = (e: unknown, code: string) => {
      const err = e as { isSandboxError: boolean; name: string; code: string; hint?: string };
      assert.equal(err.isSandboxError, true, JSON.stringify(e));
      assert.equal(err.name, 'SandboxError');
      assert.equal(err.code, code, JSON.stringify(e));
      assert.ok(err.hint && err.hint.length > 0, `a hint: ${JSON.stringify(e)}`);
    };
    expect(out.noSuch, 'no-such-sandbox');
    expect(out.noImage, 'no-such-image');
    expect(out.badMemory, 'invalid-option');
    expect(out.badName, 'invalid-option');
    expect(out.relMount, 'invalid-option');
    expect(out.timeout, 'startup-timeout');
    const timeout = out.timeout as { message: string; hint: string };
    assert.match(timeout.message, /not ready within 3000 ms: waited for a message that never comes/);
    assert.match(timeout.hint, /log-line-25/);
    assert.ok(timeout.hint.includes('log-line-6\n') && !timeout.hint.includes('log-line-5\n'), `the last 20 lines: ${timeout.hint}`);
    assert.equal(out.afterTimeout, 0, 'a sandbox that was not ready is removed');
    assert.equal(out.waited, 0);
    assert.deepEqual(out.twoStores, [true, 2, 1]);
    expect(out.dupName, 'name-in-use');
    assert.deepEqual(out.oneShot, ['exited', 5, null]);
    // The script has exited: the sandbox it left (not detached) ended with it.
    const monitor = out.keptMonitor as number;
    assert.ok(Number.isInteger(monitor));
    // At once, give or take the monitor's own end (a signal, then its clean-up).
    assert.equal(await eventually(() => (existsSync(`/proc/${monitor}`) ? `monitor ${monitor} still runs` : ''), 5000), '', 'its monitor ended with the process that started it');
    const ps = await runSandbox(['ps', '-q'], { root });
    assert.equal(lines(ps.stdout).length, 0, `nothing runs: ${show(ps)}`);
  });
});
