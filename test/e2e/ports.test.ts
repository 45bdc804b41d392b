/**
 * Published ports (-p, -P, `sandbox port`; src/network/port-spec.ts and
 * helpers/launch/ports.c), end to end as the unprivileged test user: a busybox httpd
 * inside fetched with curl from the host (on every address and on [::1]), UDP through a
 * `/udp` port, a host port chosen for us and found with `sandbox port`, two sandboxes
 * serving at once, a taken port refused in one line (exit 125) before the command starts,
 * the same ports after a restart, and the forwarder gone after stop, kill, rm -f and a
 * SIGKILL of the monitor; with --network pasta, pasta's own forwarding (no forwarder), the
 * same one-line refusal of a taken port, and the port back after a restart.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { asUser, eventually, importImage, lines, newStore, requireRootless, runSandbox, sandboxIdsIn, show, testUser } from './harness.js';

async function storeWithBusybox(t: TestContext): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

/** A port of the host that nothing listens on right now (the kernel's pick). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A busybox httpd serving `text` at / on port 80 inside. */
const httpd = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

/** GET / through the host's address, as the test user; '' when nothing answers. */
async function fetchText(url: string): Promise<string> {
  const r = await asUser('curl', ['-sS', '-g', '--max-time', '5', url]);
  return r.code === 0 ? r.stdout.trim() : '';
}

/** Waits until `url` answers `text` (the server inside may take a moment to listen). */
async function expectServed(url: string, text: string): Promise<void> {
  let got = '';
  const wrong = await eventually(async () => ((got = await fetchText(url)) === text ? '' : `${url} gave ${JSON.stringify(got)}`), 10_000, 200);
  assert.equal(wrong, '', `expected ${text} from ${url}`);
}

/** The monitor of the sandbox `id` (its file in the sandbox's directory), or 0 when none is recorded. */
function monitorOf(root: string, id: string): number {
  try {
    return Number(readFileSync(join(root, 'data', 'containers', id, 'monitor'), 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

/** Processes named sandbox-ports (the forwarder, launch/ports.c) whose parent is `monitor`, or all of them (0). */
function forwarders(monitor = 0): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat = '';
    try { stat = readFileSync(`/proc/${e}/stat`, 'utf8'); } catch { continue; /* gone */ }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (comm === 'sandbox-ports' && (!monitor || ppid === monitor)) out.push(Number(e));
  }
  return out;
}

/** Whether the host port can be bound (nobody holds it). */
async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ port, exclusive: true }, () => resolve(true));
  });
  if (ok) await new Promise((resolve) => server.close(resolve));
  return ok;
}

test('-p: a busybox httpd inside, fetched with curl on every address and on [::1]; ps, port and inspect show the ports', async (t) => {
  if (!requireRootless(t, '-p')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'web'], { root }); });
  const [p4, p6] = [await freePort(), await freePort()];
  const run = await runSandbox(['run', '-d', '--name', 'web', '-p', `${p4}:80`, '-p', `[::1]:${p6}:80`, 'bb', ...httpd('hello-web')], { root });
  assert.equal(run.code, 0, show(run));
  await expectServed(`http://127.0.0.1:${p4}/`, 'hello-web');
  await expectServed(`http://[::1]:${p6}/`, 'hello-web');
  // [::1] only: not on the host's IPv4 loopback.
  assert.equal(await fetchText(`http://127.0.0.1:${p6}/`), '');

  const ps = await runSandbox(['ps', '--format', '{{.Names}} {{.Ports}}'], { root });
  assert.equal(ps.stdout.trim(), `web 0.0.0.0:${p4}->80/tcp, ::1:${p6}->80/tcp`, show(ps));
  const table = await runSandbox(['ps'], { root });
  assert.match(lines(table.stdout)[0]!, /\bPORTS\b/);
  assert.ok(table.stdout.includes(`0.0.0.0:${p4}->80/tcp`), show(table));
  const port = await runSandbox(['port', 'web'], { root });
  assert.deepEqual(lines(port.stdout), [`80/tcp -> 0.0.0.0:${p4}`, `80/tcp -> ::1:${p6}`], show(port));
  const one = await runSandbox(['port', 'web', '80/tcp'], { root });
  assert.deepEqual(lines(one.stdout), [`0.0.0.0:${p4}`, `::1:${p6}`], show(one));
  const missing = await runSandbox(['port', 'web', '81'], { root });
  assert.equal(missing.code, 125, show(missing));
  assert.match(missing.stderr, /^sandbox: failed to find published port "81"\n/);
  const inspect = await runSandbox(['inspect', '--format', '{{json .NetworkSettings.Ports}} {{json .HostConfig.PortBindings}}', 'web'], { root });
  const bindings = { '80/tcp': [{ HostIp: '', HostPort: String(p4) }, { HostIp: '::1', HostPort: String(p6) }] };
  assert.equal(inspect.stdout.trim(), `${JSON.stringify(bindings)} ${JSON.stringify(bindings)}`, show(inspect));
});

test('-p .../udp: datagrams reach a UDP server inside and its replies come back to each sender', async (t) => {
  if (!requireRootless(t, '-p /udp')) return;
  const root = await newStore(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'echo'], { root }); });
  const port = await freePort();
  // busybox's nc has no -u here: the host image's node (this very one) echoes instead.
  const server = "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('echo:'+m,r.port,r.address));s.bind(53)";
  const run = await runSandbox(['run', '-d', '--name', 'echo', '-p', `${port}:53/udp`, 'host', process.execPath, '-e', server], { root });
  assert.equal(run.code, 0, show(run));
  const ask = async (text: string): Promise<string> => {
    const sock = createSocket('udp4');
    try {
      return await new Promise<string>((resolve) => {
        const timer = setInterval(() => sock.send(text, port, '127.0.0.1'), 200);
        sock.on('message', (m) => { clearInterval(timer); resolve(String(m)); });
        setTimeout(() => { clearInterval(timer); resolve(''); }, 10_000);
        sock.send(text, port, '127.0.0.1');
      });
    } finally {
      sock.close();
    }
  };
  assert.equal(await ask('one'), 'echo:one');
  // A second sender (its own flow inside) gets its own answer.
  assert.equal(await ask('two'), 'echo:two');
  const ps = await runSandbox(['ps', '--format', '{{.Ports}}'], { root });
  assert.equal(ps.stdout.trim(), `0.0.0.0:${port}->53/udp`, show(ps));
});

test('TCP through -p: 8 MiB in, a half-close passed on, the answer after it comes back whole', async (t) => {
  if (!requireRootless(t, '-p half-close')) return;
  const root = await newStore(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'count'], { root }); });
  const port = await freePort();
  // Counts what comes until the client's end (its FIN), then answers the count and 4 MiB
  // (a client's reset, passed on by the forwarder, is an error of that connection only).
  const server = "require('net').createServer((c)=>{let n=0;c.on('error',()=>{});c.on('data',(d)=>{n+=d.length});c.on('end',()=>c.end(n+'\\n'+'x'.repeat(4<<20)))}).listen(80)";
  const run = await runSandbox(['run', '-d', '--name', 'count', '-p', `${port}:80`, 'host', process.execPath, '-e', server], { root });
  assert.equal(run.code, 0, show(run));
  const exchange = () => new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    const c = connect(port, '127.0.0.1', () => c.end(Buffer.alloc(8 << 20, 7)));
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('close', () => resolve(Buffer.concat(chunks).toString()));
    c.on('error', () => { /* not listening yet: close follows */ });
  });
  let answer = '';
  const wrong = await eventually(async () => ((answer = await exchange()) ? '' : 'no answer yet'), 10_000, 200);
  assert.equal(wrong, '');
  assert.equal(answer.slice(0, answer.indexOf('\n')), String(8 << 20));
  assert.equal(answer.length - answer.indexOf('\n') - 1, 4 << 20);
  // Clients that reset while the answer is on its way (EPIPE in the forwarder's splice) end only their own connection.
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve) => {
      const c = connect(port, '127.0.0.1', () => c.end('x'));
      c.once('data', () => c.resetAndDestroy());
      c.on('close', () => resolve());
      c.on('error', () => { /* reset: ours */ });
    });
  }
  assert.equal((await exchange()).length, String(8 << 20).length + 1 + (4 << 20), 'served after the resets');
});

test('a server inside listening on ::1 only is reached too (nothing on 127.0.0.1: the forwarder tries [::1])', async (t) => {
  if (!requireRootless(t, '-p to ::1')) return;
  const root = await newStore(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'six'], { root }); });
  const port = await freePort();
  const server = "require('http').createServer((q,s)=>s.end('six-only')).listen(80,'::1')";
  const run = await runSandbox(['run', '-d', '--name', 'six', '-p', `${port}:80`, 'host', process.execPath, '-e', server], { root });
  assert.equal(run.code, 0, show(run));
  await expectServed(`http://127.0.0.1:${port}/`, 'six-only');
});

test('a free host port chosen at create, found with `sandbox port`; two sandboxes serve at once; the same port after restart', async (t) => {
  if (!requireRootless(t, '-p CONTAINERPORT')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'one', 'two'], { root }); });
  const create = await runSandbox(['create', '--name', 'one', '-p', '80', 'bb', ...httpd('from-one')], { root });
  assert.equal(create.code, 0, show(create));
  // Chosen at create: in inspect before it ever ran; `port` shows running ones only, as Podman's.
  const before = await runSandbox(['inspect', '--format', '{{json .HostConfig.PortBindings}}', 'one'], { root });
  assert.equal(before.code, 0, show(before));
  const chosen = Number((JSON.parse(before.stdout) as Record<string, { HostPort: string }[]>)['80/tcp']?.[0]?.HostPort);
  assert.ok(chosen > 0, before.stdout);
  const notYet = await runSandbox(['port', 'one', '80'], { root });
  assert.deepEqual([notYet.code, notYet.stdout], [0, ''], show(notYet));
  assert.equal((await runSandbox(['start', 'one'], { root })).code, 0);
  const address = (await runSandbox(['port', 'one', '80'], { root })).stdout.trim();
  assert.equal(address, `0.0.0.0:${chosen}`);
  const p2 = await freePort();
  const two = await runSandbox(['run', '-d', '--name', 'two', '-p', `${p2}:80`, 'bb', ...httpd('from-two')], { root });
  assert.equal(two.code, 0, show(two));
  await expectServed(`http://127.0.0.1:${chosen}/`, 'from-one');
  await expectServed(`http://127.0.0.1:${p2}/`, 'from-two');
  const all = await runSandbox(['port', '-a'], { root });
  assert.deepEqual(lines(all.stdout).map((l) => l.split('\t')[1]).sort(), [`80/tcp -> 0.0.0.0:${chosen}`, `80/tcp -> 0.0.0.0:${p2}`].sort(), show(all));

  // restart: a fresh forwarder on the same port.
  const [id] = sandboxIdsIn(root).filter((i) => readFileSync(join(root, 'data', 'containers', i, 'config.json'), 'utf8').includes('"one"'));
  const firstForwarder = forwarders(monitorOf(root, id!));
  assert.equal(firstForwarder.length, 1, `one forwarder for one's monitor: ${firstForwarder.join(' ')}`);
  const restart = await runSandbox(['restart', '-t', '1', 'one'], { root });
  assert.equal(restart.code, 0, show(restart));
  assert.equal((await runSandbox(['port', 'one', '80'], { root })).stdout.trim(), address);
  await expectServed(`http://127.0.0.1:${chosen}/`, 'from-one');
  const again = forwarders(monitorOf(root, id!));
  assert.equal(again.length, 1);
  assert.ok(!firstForwarder.includes(again[0]!), 'a new forwarder after the restart');
});

test('a taken host port: one line naming it and its holder, exit 125, before the command starts', async (t) => {
  if (!requireRootless(t, '-p conflict')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'holder'], { root }); });
  const port = await freePort();
  const holder = await runSandbox(['run', '-d', '--name', 'holder', '-p', `${port}:80`, 'bb', 'sleep', '600'], { root });
  assert.equal(holder.code, 0, show(holder));
  // Held by another sandbox of the same user: its forwarder is named.
  const clash = await runSandbox(['run', '--rm', '-p', `${port}:80`, 'bb', 'echo', 'started'], { root });
  assert.equal(clash.code, 125, show(clash));
  assert.equal(clash.stdout, '', 'the command never started');
  const [first, hint, ...rest] = lines(clash.stderr);
  assert.match(first!, new RegExp(`^sandbox: port ${port}/tcp is already in use on the host \\(0\\.0\\.0\\.0:${port}\\): sandbox-ports \\(pid \\d+\\) holds it$`));
  assert.match(hint!, /^hint: publish it on another host port/);
  assert.deepEqual(rest, []);
  // Held by a process of another user (this test's own, root when it switches users): its uid is named.
  const foreignPort = await freePort();
  const foreign: Server = createServer();
  await new Promise<void>((resolve) => foreign.listen({ port: foreignPort }, resolve));
  t.after(() => { foreign.close(); });
  const other = await runSandbox(['create', '-p', `${foreignPort}:80`, 'bb', 'true'], { root });
  assert.equal(other.code, 0, show(other));
  const start = await runSandbox(['start', other.stdout.trim()], { root });
  assert.equal(start.code, 125, show(start));
  const holderText = testUser().switchUser ? `a process of uid ${process.getuid?.()}` : `node \\(pid ${process.pid}\\)`;
  assert.match(lines(start.stderr)[0]!, new RegExp(`^sandbox: port ${foreignPort}/tcp is already in use on the host \\(0\\.0\\.0\\.0:${foreignPort}\\): ${holderText} holds it$`));
  await runSandbox(['rm', '-f', other.stdout.trim()], { root });
  // A privileged host port (below net.ipv4.ip_unprivileged_port_start) is refused the same way, with the sysctl that allows it.
  const unprivileged = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  if (unprivileged > 1) {
    const low = await runSandbox(['run', '--rm', '-p', `${unprivileged - 1}:80`, 'bb', 'echo', 'started'], { root });
    assert.equal(low.code, 125, show(low));
    assert.equal(low.stdout, '');
    assert.deepEqual(lines(low.stderr), [
      `sandbox: cannot publish port ${unprivileged - 1}/tcp: host ports below ${unprivileged} are for root only here (net.ipv4.ip_unprivileged_port_start)`,
      `hint: publish on a host port from ${unprivileged} up (-p ${unprivileged - 1 + 8000}:80), or let users bind it: sysctl -w net.ipv4.ip_unprivileged_port_start=${unprivileged - 1} (as root)`,
    ]);
  }
  // A bad spec: one line and a hint, exit 125, nothing created.
  const bad = await runSandbox(['run', '--rm', '-p', '8000-8003:80', 'bb', 'true'], { root });
  assert.equal(bad.code, 125, show(bad));
  assert.deepEqual(lines(bad.stderr).map((l) => l.replace(/:.*/, ':')), ['sandbox:', 'hint:']);
  assert.match(bad.stderr, /^sandbox: invalid -p "8000-8003:80": the host and container port ranges have different lengths: 4 vs 1\n/);
});

test('the forwarder lives as long as the run: gone after stop, kill, rm -f and a SIGKILL of the monitor', async (t) => {
  if (!requireRootless(t, 'forwarder lifetime')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'life'], { root }); });
  const port = await freePort();
  const run = await runSandbox(['run', '-d', '--name', 'life', '-p', `${port}:80`, 'bb', ...httpd('alive')], { root });
  assert.equal(run.code, 0, show(run));
  const [id] = sandboxIdsIn(root);
  const gone = async (monitor: number, what: string) => {
    const wrong = await eventually(async () => {
      if (forwarders(monitor).length) return `forwarder of monitor ${monitor} still runs after ${what}`;
      return (await bindable(port)) ? '' : `port ${port} still held after ${what}`;
    }, 10_000);
    assert.equal(wrong, '');
  };
  const cycle = async (end: string[], what: string) => {
    await expectServed(`http://127.0.0.1:${port}/`, 'alive');
    const monitor = monitorOf(root, id!);
    assert.equal(forwarders(monitor).length, 1, `a forwarder before ${what}`);
    const r = await runSandbox(end, { root });
    assert.equal(r.code, 0, show(r));
    await gone(monitor, what);
  };
  await cycle(['stop', '-t', '1', 'life'], 'stop');
  assert.equal((await runSandbox(['start', 'life'], { root })).code, 0);
  await cycle(['kill', 'life'], 'kill');
  assert.equal((await runSandbox(['start', 'life'], { root })).code, 0);
  // SIGKILL of the monitor: the forwarder dies with it (PR_SET_PDEATHSIG, and its pipe).
  await expectServed(`http://127.0.0.1:${port}/`, 'alive');
  const monitor = monitorOf(root, id!);
  const forwarder = forwarders(monitor);
  assert.equal(forwarder.length, 1);
  process.kill(monitor, 'SIGKILL');
  const wrong = await eventually(async () => {
    try { process.kill(forwarder[0]!, 0); return `forwarder ${forwarder[0]} outlived its monitor`; } catch { /* gone */ }
    return (await bindable(port)) ? '' : `port ${port} still held after the monitor was killed`;
  }, 10_000);
  assert.equal(wrong, '');
  assert.equal((await runSandbox(['start', 'life'], { root })).code, 0);
  await cycle(['rm', '-f', 'life'], 'rm -f');
});

test('--network host and none discard -p with a warning, as Podman', async (t) => {
  if (!requireRootless(t, '-p with --network host|none')) return;
  const root = await storeWithBusybox(t);
  for (const mode of ['host', 'none']) {
    const r = await runSandbox(['run', '--rm', '--network', mode, '-p', '8080:80', 'bb', 'echo', 'ran'], { root });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'ran\n');
    assert.match(r.stderr, new RegExp(`port mappings have been discarded: --network ${mode} `));
  }
});

test('--network pasta -p: pasta forwards the port itself (no forwarder); a taken port is the same one line, exit 125; the port comes back after restart', async (t) => {
  if (!requireRootless(t, '--network pasta -p')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'pweb'], { root }); });
  const port = await freePort();
  const run = await runSandbox(['run', '-d', '--name', 'pweb', '--network', 'pasta', '-p', `${port}:80`, 'bb', ...httpd('from-pasta')], { root });
  assert.equal(run.code, 0, show(run));
  const id = run.stdout.trim();
  await expectServed(`http://127.0.0.1:${port}/`, 'from-pasta');
  assert.deepEqual(forwarders(monitorOf(root, id)), [], 'pasta serves the port: no sandbox-ports');
  const shown = await runSandbox(['port', 'pweb', '80'], { root });
  assert.equal(shown.stdout.trim(), `0.0.0.0:${port}`, show(shown));

  // Taken (by the first sandbox's pasta): checked before the command starts, as for the
  // forwarder. pasta's open files cannot be read from outside (its /proc/PID/fd is not
  // the user's to list), so the line says a process of ours holds the port, not which.
  const clash = await runSandbox(['run', '--rm', '--network', 'pasta', '-p', `${port}:80`, 'bb', 'echo', 'started'], { root });
  assert.equal(clash.code, 125, show(clash));
  assert.equal(clash.stdout, '', 'the command never started');
  const [first, hint, ...rest] = lines(clash.stderr);
  assert.match(first!, new RegExp(`^sandbox: port ${port}/tcp is already in use on the host \\(0\\.0\\.0\\.0:${port}\\): a process of yours in another namespace holds it$`));
  assert.match(hint!, /^hint: publish it on another host port/);
  assert.deepEqual(rest, []);

  const restart = await runSandbox(['restart', '-t', '1', 'pweb'], { root });
  assert.equal(restart.code, 0, show(restart));
  await expectServed(`http://127.0.0.1:${port}/`, 'from-pasta');
  const stop = await runSandbox(['stop', '-t', '1', 'pweb'], { root });
  assert.equal(stop.code, 0, show(stop));
  assert.equal(await eventually(async () => ((await bindable(port)) ? '' : `${port} still held after stop`)), '');
});
