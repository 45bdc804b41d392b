/**
 * Issue 17, test-runner integration: the wait strategies (`Wait`, src/api/sdk/wait.ts)
 * against real sandboxes, the time-out error with the log tail, and `sandbox/testing`'s
 * node:test helpers removing their sandboxes when a test fails or times out. Scripts run as
 * the unprivileged test user and import the built package through a node_modules/sandbox
 * link to this checkout (as a `file:` dependency installs it); checks from outside use the
 * CLI on the same store.
 */
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { writeOciLayout } from './oci-layout.js';
import { REPO_ROOT, asUser, lines, newStore, newUserDir, requireRootless, runSandbox, show, testUser, type RunResult } from './harness.js';

/** A directory of the test user's with `files` written into it and node_modules/sandbox linked to this checkout. */
async function userProject(t: TestContext, files: Record<string, string>): Promise<string> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'testing.cjs'))) throw new Error('dist/testing.cjs is missing: run `npm run build` first');
  const dir = await newUserDir(t, 'sandbox-e2e-apitesting-');
  const user = testUser();
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'sandbox'));
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
  if (user.switchUser) {
    for (const p of ['node_modules', ...Object.keys(files)]) chownSync(join(dir, p), user.uid, user.gid);
    for (const p of Object.keys(files)) if (p.includes('/')) chownSync(join(dir, p.split('/')[0]!), user.uid, user.gid);
  }
  return dir;
}

/** Runs an ES module body as the test user (`out` is printed as JSON at its end) and returns `out`. */
async function runScript(t: TestContext, root: string, body: string, extra: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const dir = await userProject(t, { ...extra, 'script.mjs': `import { Sandbox, SandboxError, Wait } from 'sandbox';\nconst out = {};\n${body}\nconsole.log(JSON.stringify(out));\n` });
  const r = await asUser(process.execPath, [join(dir, 'script.mjs')], { root, cwd: dir, timeoutMs: 180_000 });
  assert.equal(r.code, 0, `the script failed: ${show(r)}`);
  return JSON.parse(lines(r.stdout).at(-1) ?? '{}') as Record<string, unknown>;
}

async function noSandboxesLeft(root: string, what: string): Promise<void> {
  const ps = await runSandbox(['ps', '-a', '-q', '--no-trunc'], { root });
  assert.equal(ps.code, 0, show(ps));
  assert.deepEqual(lines(ps.stdout), [], `${what} left sandboxes behind:\n${show(ps)}`);
}

/** The helper that turns an error into plain data for `out`. */
const ERROR_OF = `
async function errorOf(p) {
  try { await p; return { thrown: false }; } catch (e) {
    return { thrown: true, isSandboxError: e instanceof SandboxError, code: e.code, message: e.message, hint: e.hint };
  }
}`;

describe('wait strategies and sandbox/testing (as the unprivileged user)', () => {
  it('a wait strategy that times out reports what it waited for, what it saw, and the log tail; the sandbox is removed', async (t) => {
    if (!requireRootless(t, 'Wait time-out')) return;
    const root = await newStore(t);
    const out = await runScript(t, root, `${ERROR_OF}
out.err = await errorOf(Sandbox.start({
  image: 'host',
  command: ['sh', '-c', 'for i in $(seq 1 30); do echo "line $i"; done; echo "listen: address 0.0.0.0:8080 already in use" >&2; exec sleep infinity'],
  ports: [8080],
  waitFor: Wait.forListeningPort(8080),
  startupTimeoutMs: 3000,
}));`);
    const err = out.err as { thrown: boolean; isSandboxError: boolean; code: string; message: string; hint: string };
    assert.equal(err.thrown, true);
    assert.equal(err.isSandboxError, true);
    assert.equal(err.code, 'startup-timeout');
    assert.match(err.message, /^sandbox \S+ was not ready within 3000 ms: waited for listening port 8080\/tcp \(last seen: nothing listens on 8080\/tcp inside\)\n/);
    // The last 20 lines, stderr's too: what a developer needs to see why it never got ready.
    assert.match(err.message, /its last log lines:\nline 12\n[^]*\nline 30\nlisten: address 0\.0\.0\.0:8080 already in use$/);
    assert.doesNotMatch(err.message, /line 11\n/);
    assert.match(err.hint, /startupTimeoutMs[^]*already in use/);
    await noSandboxesLeft(root, 'a failed start');
  });

  it('each strategy waits until its condition holds in a real sandbox', async (t) => {
    if (!requireRootless(t, 'Wait strategies')) return;
    const root = await newStore(t);
    // busybox httpd starts after a pause; each strategy must hold start() back until it can
    // be used: checked right after start() returns, from the host and from inside.
    const slowHttpd = "['sh', '-c', 'echo starting; sleep 1; echo ready 1; echo ready 2; exec busybox httpd -f -p 8080 -h /srv/www']";
    const out = await runScript(t, root, `${ERROR_OF}
const www = new URL('./www', import.meta.url).pathname;
const common = { image: 'host', command: ${slowHttpd}, mounts: [{ source: www, target: '/srv/www', readonly: true }], startupTimeoutMs: 60000 };
const get = async (box) => { const r = await fetch('http://' + box.host + ':' + box.mappedPort(8080) + '/index.html'); return r.status + ' ' + (await r.text()); };
const [port, http, exec, log, all] = await Promise.all([
  Sandbox.start({ ...common, ports: [8080], waitFor: Wait.forListeningPort(8080) }),
  Sandbox.start({ ...common, ports: [8080], waitFor: Wait.forHttp('/index.html', 8080) }),
  Sandbox.start({ ...common, network: 'none', command: ['sh', '-c', 'sleep 1; touch /tmp/ok; exec sleep infinity'], waitFor: Wait.forExec(['test', '-e', '/tmp/ok']) }),
  Sandbox.start({ ...common, network: 'none', waitFor: Wait.forLogMessage(/^ready \\d$/, 2) }),
  Sandbox.start({ ...common, ports: [8080], waitFor: Wait.forAll(Wait.forLogMessage('ready 1'), Wait.forListeningPort()) }),
]);
out.port = await get(port);
out.http = await get(http);
out.exec = (await exec.exec(['test', '-e', '/tmp/ok'])).exitCode;
out.log = await log.logs();
out.all = await get(all);
out.allLog = await all.logs();
out.healthy = await errorOf(Sandbox.start({ image: 'host', network: 'none', command: ['sleep', 'infinity'], waitFor: Wait.forHealthy(), startupTimeoutMs: 20000 }));
out.unpublished = await errorOf(Sandbox.start({ image: 'host', network: 'none', command: ['sleep', 'infinity'], waitFor: Wait.forHttp('/', 80) }));
await Promise.all([port, http, exec, log, all].map((b) => b.dispose()));
`, { 'www/index.html': 'hello from the sandbox\n' });
    assert.equal(out.port, '200 hello from the sandbox\n', 'forListeningPort: the published port answers at once');
    assert.equal(out.http, '200 hello from the sandbox\n', 'forHttp');
    assert.equal(out.exec, 0, 'forExec');
    assert.match(out.log as string, /^starting\nready 1\nready 2\n/, 'forLogMessage(re, 2)');
    assert.equal(out.all, '200 hello from the sandbox\n', 'forAll(log, port)');
    const healthy = out.healthy as { code: string; message: string };
    assert.equal(healthy.code, 'invalid-option', JSON.stringify(healthy));
    assert.match(healthy.message, /did not become ready \(health check to pass\): sandbox \S+ has no health check/);
    const unpublished = out.unpublished as { code: string; message: string; hint: string };
    assert.equal(unpublished.code, 'port-not-published', JSON.stringify(unpublished));
    assert.match(unpublished.hint, /ports: \[80\]/);
    await noSandboxesLeft(root, 'the strategies');
  });

  it("forHealthy waits for the image's HEALTHCHECK to pass", async (t) => {
    if (!requireRootless(t, 'Wait.forHealthy')) return;
    const root = await newStore(t);
    // An OCI image of busybox whose HEALTHCHECK passes once /tmp/ok exists (every 200 ms).
    const layout = await newUserDir(t, 'sandbox-e2e-hc-');
    await writeOciLayout(layout, 'v1', [{
      layers: [{ tar: readFileSync(await busyboxRootfsTar()), compression: 'gzip' }],
      config: { Cmd: ['sh', '-c', 'sleep 1; touch /tmp/ok; exec sleep 1000'], Healthcheck: { Test: ['CMD-SHELL', 'test -e /tmp/ok'], Interval: 200_000_000, Retries: 100 } },
    }]);
    const archive = join(await newUserDir(t, 'sandbox-e2e-hc-tar-'), 'hc.tar');
    const tar = await asUser('tar', ['-cf', archive, '-C', layout, '.'], {});
    assert.equal(tar.code, 0, show(tar));
    const load = await runSandbox(['load', '-q', '-i', archive], { root });
    assert.equal(load.code, 0, show(load));
    const tag = await runSandbox(['tag', lines(load.stdout).at(-1)!.replace(/^Loaded image: /, ''), 'hc:1'], { root });
    assert.equal(tag.code, 0, show(tag));
    const out = await runScript(t, root, `
const box = await Sandbox.start({ image: 'hc:1', network: 'none', waitFor: Wait.forHealthy(), startupTimeoutMs: 60000 });
out.ok = (await box.exec(['test', '-e', '/tmp/ok'])).exitCode;
out.health = await box.health();
await box.dispose();`);
    assert.equal(out.ok, 0, 'ready only once the check can pass');
    assert.equal(out.health, 'healthy');
    await noSandboxesLeft(root, 'forHealthy');
  });

  it('sandbox/testing removes a test\'s sandbox when it fails, times out, or ends while the sandbox still starts', async (t) => {
    if (!requireRootless(t, 'sandbox/testing')) return;
    const root = await newStore(t);
    const dir = await userProject(t, {
      'ids': '',
      'runner.test.mjs': `
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { Wait, sandboxFixture, withSandbox } from 'sandbox/testing';
const ids = new URL('./ids', import.meta.url).pathname;
const idle = { image: 'host', command: ['sleep', 'infinity'], network: 'none' };
const note = (what, box) => appendFileSync(ids, what + ' ' + box.id + '\\n');

test('passes', async (t) => {
  const a = await withSandbox(t, idle);
  const b = await withSandbox(t, idle);
  note('pass', a); note('pass', b);
  assert.notEqual(a.id, b.id);
});
test('fails', async (t) => {
  note('fail', await withSandbox(t, idle));
  throw new Error('deliberate failure');
});
test('times out holding its sandbox', { timeout: 4000 }, async (t) => {
  note('timeout', await withSandbox(t, idle));
  await new Promise((resolve) => setTimeout(resolve, 8000));
});
test('times out while its sandbox still starts', { timeout: 500 }, async (t) => {
  await withSandbox(t, { ...idle, labels: { late: 'yes' }, command: ['sh', '-c', 'sleep 3; touch /tmp/ok; exec sleep infinity'], waitFor: Wait.forExec(['test', '-e', '/tmp/ok']) });
});
describe('a suite', () => {
  const fixture = sandboxFixture(idle, { per: 'suite' });
  it('one', () => note('suite', fixture.sandbox));
  it('two fails', () => { note('suite', fixture.sandbox); assert.fail('deliberate'); });
});
describe('per test', () => {
  const fixture = sandboxFixture(idle);
  it('one', () => note('each', fixture.sandbox));
  it('two', () => note('each', fixture.sandbox));
});
`,
    });
    const r: RunResult = await asUser(process.execPath, ['--test', '--test-reporter=spec', 'runner.test.mjs'], { root, cwd: dir, timeoutMs: 180_000 });
    assert.notEqual(r.code, 0, `the deliberate failures fail the run: ${show(r)}`);
    const report = `${r.stdout}${r.stderr}`;
    assert.match(report, /deliberate failure/, show(r));
    assert.match(report, /timed out after 4000ms/, show(r));
    assert.match(report, /timed out after 500ms/, show(r));
    const count = (what: string) => Number(new RegExp(`^ℹ ${what} (\\d+)$`, 'm').exec(report)?.[1] ?? NaN);
    assert.equal(count('pass'), 4, show(r));
    // Node counts a timed-out test as cancelled, not failed.
    assert.equal(count('fail') + count('cancelled'), 4, show(r));
    const noted = lines(readFileSync(join(dir, 'ids'), 'utf8')).map((l) => l.split(' '));
    const byWhat = (w: string) => [...new Set(noted.filter(([what]) => what === w).map(([, id]) => id))];
    assert.equal(byWhat('pass').length, 2, 'two sandboxes in one test');
    assert.equal(byWhat('fail').length, 1);
    assert.equal(byWhat('timeout').length, 1);
    assert.equal(byWhat('suite').length, 1, 'one sandbox for the whole suite');
    assert.equal(byWhat('each').length, 2, 'one sandbox for each test');
    // Every one of them is gone (and the one that finished starting after its test had ended).
    await noSandboxesLeft(root, 'the node:test run');
    for (const [, id] of noted) {
      const inspect = await runSandbox(['inspect', id!], { root });
      assert.notEqual(inspect.code, 0, `sandbox ${id} still exists`);
    }
  });
});
