/**
 * Issue 15, modes and host access: `--network slirp4netns[:OPTS]` and `pasta[:OPTS]` end
 * to end as the unprivileged test user. The host's loopback is closed by default and
 * opened only by the explicit option (slirp4netns:allow_host_loopback=true: the host at
 * 10.0.2.2; pasta:--map-gw: the host at pasta's gateway address); pasta:-T,PORT opens one
 * port of the host's loopback at the sandbox's own; the options survive create, start and
 * restart; bad options are one line (exit 125); pasta ends with its sandbox, also when the
 * monitor is killed with SIGKILL.
 *
 * A service of the test on the host's 127.0.0.1 answers each connection with a token and
 * closes; the sandbox reads it with `sleep 1 | nc` (the pasta of Debian 12 passes nothing
 * on to a client that has half-closed its side: nc's stdin stays open; README).
 *
 * pasta's gateway: by default pasta copies the host's addresses and gateway into the
 * sandbox; with the host's loopback closed, a connection to the gateway would go out to
 * the real gateway. The tests never send there: they give the sandbox an address of its
 * own and the host's own address as its gateway (`-a,ADDR,-n,PREFIX,-g,HOST`), so that
 * "closed" reaches the host's own address (where the service does not listen) and "open"
 * reaches its 127.0.0.1, both on this machine.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { eventually, importImage, lines, newStore, requireRootless, runSandbox, sandboxIdsIn, show } from './harness.js';

async function storeWithBusybox(t: TestContext): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

/** A TCP service on the host's 127.0.0.1 that writes `token` to each connection and closes it. */
async function loopbackService(t: TestContext, token: string): Promise<number> {
  const server: Server = createServer((s) => { s.on('error', () => {}); s.end(`${token}\n`); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** What the sandbox reads from ADDR:PORT (empty when it cannot connect). */
function fetchScript(addr: string, port: number): string {
  return `sleep 1 | nc -w 3 ${addr} ${port} 2>/dev/null; true`;
}

/** The host's first IPv4 address that is not loopback, with an address of its network for the sandbox. */
function hostAddress(): { host: string; prefix: number; sandbox: string } {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      const prefix = Number(a.cidr?.split('/')[1] ?? 24);
      const n = a.address.split('.').reduce((x, b) => x * 256 + Number(b), 0);
      const size = 2 ** (32 - prefix);
      const base = Math.floor(n / size) * size;
      // Another host number of the same network (not the network or broadcast address).
      const other = base + ((n - base + 7) % (size - 2)) + 1;
      const sandbox = [24, 16, 8, 0].map((s) => Math.floor(other / 2 ** s) % 256).join('.');
      if (sandbox !== a.address && prefix <= 30) return { host: a.address, prefix, sandbox };
    }
  }
  throw new Error('the host has no IPv4 address besides the loopback: pasta needs one to copy');
}

interface HostAccessCase {
  mode: 'slirp4netns' | 'pasta';
  closed: string;
  open: string;
  /** Where the sandbox finds the host. */
  target: string;
}

function hostAccessCases(): HostAccessCase[] {
  const h = hostAddress();
  const pastaAddr = `-a,${h.sandbox},-n,${h.prefix},-g,${h.host}`;
  return [
    { mode: 'slirp4netns', closed: 'slirp4netns', open: 'slirp4netns:allow_host_loopback=true', target: '10.0.2.2' },
    { mode: 'pasta', closed: `pasta:${pastaAddr}`, open: `pasta:${pastaAddr},--map-gw`, target: h.host },
  ];
}

for (const mode of ['slirp4netns', 'pasta'] as const) {
  test(`${mode}: the host's 127.0.0.1 is closed by default and open with the explicit option`, async (t) => {
    if (!requireRootless(t, `--network ${mode}`)) return;
    const c = hostAccessCases().find((x) => x.mode === mode)!;
    const root = await storeWithBusybox(t);
    const token = `host-service-${mode}-${process.pid}`;
    const port = await loopbackService(t, token);

    const closed = await runSandbox(['run', '--rm', '--network', c.closed, 'bb', 'sh', '-c', fetchScript(c.target, port)], { root });
    assert.equal(closed.code, 0, show(closed));
    assert.ok(!closed.stdout.includes(token), `--network ${c.closed} reached the host's loopback:\n${show(closed)}`);

    const open = await runSandbox(['run', '--rm', '--network', c.open, 'bb', 'sh', '-c', fetchScript(c.target, port)], { root });
    assert.equal(open.code, 0, show(open));
    assert.deepEqual(lines(open.stdout), [token], `--network ${c.open} should reach the host's 127.0.0.1:${port}\n${show(open)}`);
  });
}

test('pasta:-T,PORT opens that one port of the host\'s loopback at the sandbox\'s 127.0.0.1, no other', async (t) => {
  if (!requireRootless(t, '--network pasta:-T')) return;
  const root = await storeWithBusybox(t);
  const token = `one-port-${process.pid}`;
  const port = await loopbackService(t, token);
  const other = await loopbackService(t, `${token}-other`);
  const r = await runSandbox(['run', '--rm', '--network', `pasta:-T,${port}`, 'bb', 'sh', '-c',
    `${fetchScript('127.0.0.1', port)}; echo ---; ${fetchScript('127.0.0.1', other)}`], { root });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(lines(r.stdout), [token, '---'], show(r));
});

test('the options are kept: create, start and restart bring the same network back; inspect shows the mode', async (t) => {
  if (!requireRootless(t, 'network options across restarts')) return;
  const c = hostAccessCases();
  const root = await storeWithBusybox(t);
  const token = `kept-${process.pid}`;
  const port = await loopbackService(t, token);
  for (const { mode, open, target } of c) {
    const name = `keep-${mode}`;
    t.after(async () => { await runSandbox(['rm', '-f', name], { root }); });
    const create = await runSandbox(['create', '--name', name, '--network', open, 'bb', 'sleep', '600'], { root });
    assert.equal(create.code, 0, show(create));
    const reach = async (when: string) => {
      const r = await runSandbox(['exec', name, 'sh', '-c', fetchScript(target, port)], { root });
      assert.equal(r.code, 0, show(r));
      assert.deepEqual(lines(r.stdout), [token], `${mode} after ${when}: ${show(r)}`);
    };
    const start = await runSandbox(['start', name], { root });
    assert.equal(start.code, 0, show(start));
    await reach('start');
    const restart = await runSandbox(['restart', '-t', '1', name], { root });
    assert.equal(restart.code, 0, show(restart));
    await reach('restart');
    const inspect = await runSandbox(['inspect', '--format', '{{.HostConfig.NetworkMode}}', name], { root });
    assert.equal(inspect.stdout.trim(), mode, show(inspect)); // as Podman: the mode, not its options
  }
});

test('slirp4netns:cidr= and mtu= reach slirp4netns: the address, gateway, DNS and MTU inside, and inspect\'s address', async (t) => {
  if (!requireRootless(t, 'slirp4netns options')) return;
  const root = await storeWithBusybox(t);
  const name = 'cidr';
  t.after(async () => { await runSandbox(['rm', '-f', name], { root }); });
  const run = await runSandbox(['run', '-d', '--name', name, '--network', 'slirp4netns:cidr=10.0.7.0/24,mtu=1400,port_handler=slirp4netns', 'bb', 'sleep', '600'], { root });
  assert.equal(run.code, 0, show(run));
  const r = await runSandbox(['exec', name, 'sh', '-c', 'ip -4 -o addr show tap0; ip route show default; ip link show tap0; grep nameserver /etc/resolv.conf'], { root });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /inet 10\.0\.7\.100\/24/, r.stdout);
  assert.match(r.stdout, /^default via 10\.0\.7\.2 /m, r.stdout);
  assert.match(r.stdout, /mtu 1400 /, r.stdout);
  assert.match(r.stdout, /^nameserver 10\.0\.7\.3$/m, r.stdout);
  const inspect = await runSandbox(['inspect', '--format', '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}}', name], { root });
  assert.equal(inspect.stdout.trim(), '10.0.7.100 10.0.7.2', show(inspect));
});

test('bad options are one line and exit 125: Podman\'s unknown slirp4netns option before anything runs, pasta\'s own complaint', async (t) => {
  if (!requireRootless(t, 'network option errors')) return;
  const root = await storeWithBusybox(t);
  const unknown = await runSandbox(['run', '--rm', '--network', 'slirp4netns:allow_host_loopback=yes', 'no-such-image', 'true'], { root });
  assert.equal(unknown.code, 125, show(unknown));
  assert.deepEqual(lines(unknown.stderr), [
    'sandbox: --network slirp4netns: invalid value of allow_host_loopback "yes": true or false',
    'hint: slirp4netns takes allow_host_loopback=, cidr=, enable_ipv6=, mtu=, outbound_addr=, outbound_addr6=, port_handler= (e.g. slirp4netns:allow_host_loopback=true)',
  ]);
  const key = await runSandbox(['create', '--network', 'slirp4netns:foo=bar', 'bb', 'true'], { root });
  assert.equal(key.code, 125, show(key));
  assert.equal(lines(key.stderr)[0], 'sandbox: --network slirp4netns: unknown option "foo=bar"');
  assert.equal(sandboxIdsIn(root).length, 0, 'nothing recorded');

  const pasta = await runSandbox(['run', '--rm', '--network', 'pasta:--no-such-option', 'bb', 'echo', 'never'], { root });
  assert.equal(pasta.code, 125, show(pasta));
  assert.equal(pasta.stdout, '');
  const [first, hint, ...rest] = lines(pasta.stderr);
  assert.equal(first, "sandbox: pasta could not set up the network of the sandbox: pasta: unrecognized option '--no-such-option'");
  assert.match(hint ?? '', /^hint: check the --network options/);
  assert.deepEqual(rest, []);
});

test('pasta: DNS through its forwarder, and it ends with the sandbox: stop, rm -f, SIGKILL of the monitor', async (t) => {
  if (!requireRootless(t, '--network pasta lifetime')) return;
  const root = await storeWithBusybox(t);
  const pastas = () => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      return argv[0] === 'pasta' && argv.some((w) => w.startsWith(join(root, 'data')));
    } catch {
      return false; // gone
    }
  });
  const gone = async (what: string) => assert.equal(await eventually(() => (pastas().length ? `pasta still runs after ${what}: ${pastas().join(' ')}` : '')), '');

  // A name is resolved inside through pasta's --dns-forward to the host's resolver.
  const dns = await runSandbox(['run', '--rm', '--network', 'pasta', 'bb', 'nslookup', 'registry.npmjs.org'], { root });
  assert.equal(dns.code, 0, show(dns));
  assert.match(dns.stdout, /^Server:\s+169\.254\.1\.1$/m, dns.stdout);
  assert.match(dns.stdout, /^Address:? \d+\.\d+\.\d+\.\d+$/m, dns.stdout);
  await gone('run --rm');

  const start = async (name: string) => {
    const r = await runSandbox(['run', '-d', '--name', name, '--network', 'pasta', 'bb', 'sleep', '600'], { root });
    assert.equal(r.code, 0, show(r));
    assert.equal(pastas().length, 1, `one pasta for ${name}`);
    return r.stdout.trim();
  };
  await start('p1');
  assert.equal((await runSandbox(['stop', '-t', '1', 'p1'], { root })).code, 0);
  await gone('stop');
  assert.equal((await runSandbox(['rm', 'p1'], { root })).code, 0);

  await start('p2');
  assert.equal((await runSandbox(['rm', '-f', 'p2'], { root })).code, 0);
  await gone('rm -f');

  const id = await start('p3');
  t.after(async () => { await runSandbox(['rm', '-f', 'p3'], { root }); });
  const monitor = Number(readFileSync(join(root, 'data', 'containers', id, 'monitor'), 'utf8').split(' ')[0]);
  process.kill(monitor, 'SIGKILL');
  await gone('SIGKILL of the monitor');
});

/** A service on the host's 127.0.0.1 that answers `token` only once the client has half-closed (sent its FIN). */
async function replyAfterFinService(t: TestContext, token: string): Promise<number> {
  const server: Server = createServer((s) => {
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('end', () => s.end(`${token}\n`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

test('a client that half-closes first gets its reply and the end through slirp4netns (the default); with Debian 12\'s pasta it hangs', async (t) => {
  if (!requireRootless(t, 'half-close through the user-mode networks')) return;
  const root = await storeWithBusybox(t);
  const token = `after-fin-${process.pid}`;
  const port = await replyAfterFinService(t, token);
  // nc's input is empty: it sends its FIN at once, then waits for the reply and the server's FIN.
  const ask = (target: string) => `timeout 5 nc ${target} ${port} </dev/null; echo "exit $?"`;
  const [slirp, pasta] = hostAccessCases();
  const viaSlirp = await runSandbox(['run', '--rm', '--network', slirp!.open, 'bb', 'sh', '-c', ask(slirp!.target)], { root });
  assert.deepEqual(lines(viaSlirp.stdout), [token, 'exit 0'], show(viaSlirp));
  // This is why slirp4netns stays the default (README, "Network modes"). When this part
  // fails, the pasta installed passes the reply on: time to measure again and revisit
  // DEFAULT_NETWORK.
  const viaPasta = await runSandbox(['run', '--rm', '--network', pasta!.open, 'bb', 'sh', '-c', ask(pasta!.target)], { root });
  // (Here, through the gateway to the host's loopback, the reply arrives and the server's
  // FIN does not; to the host's address not even the reply does.) timeout ends nc: 143.
  assert.equal(viaPasta.code, 0, show(viaPasta));
  assert.equal(lines(viaPasta.stdout).at(-1), 'exit 143', `pasta ended the exchange after the client's FIN: revisit DEFAULT_NETWORK\n${show(viaPasta)}`);
});
