/**
 * User-defined networks (README "User-defined networks"; api/networks.ts,
 * helpers/netswitch.c), end to end as the unprivileged test user: members talk by name
 * and alias, and only they (not a sandbox of the default network, nor of another
 * network); --internal has no outside access where a normal network has; connect and
 * disconnect of a running sandbox; rm of a network in use refused, -f removing its
 * sandboxes; and the network's switch gone, with its socket, once its last member
 * stops, is killed, is removed, or its monitor is SIGKILLed; a member's published port
 * (-p) is reached from the host while its network's members still reach it by name.
 *
 * Reachability is judged by a token the listener sends, never by nc's exit status: a
 * connection to an address nobody here serves may still be taken by something of the
 * machine's (a proxy on the default route).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { asUser, eventually, importImage, lines, newStore, requireRootless, runSandbox, show } from './harness.js';

async function storeWithBusybox(t: TestContext): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

/** Runs `sandbox ARGS` in `root`, asserting exit 0; its stdout. */
async function ok(root: string, args: string[]): Promise<string> {
  const r = await runSandbox(args, { root });
  assert.equal(r.code, 0, `sandbox ${args.join(' ')}\n${show(r)}`);
  return r.stdout;
}

/** A sandbox on `network` that answers each TCP connection on 8080 with `token`. */
function serving(name: string, token: string, extra: string[]): string[] {
  return ['run', '-d', '--name', name, ...extra, 'bb', 'sh', '-c', `while :; do echo ${token} | nc -l -p 8080; done`];
}

/** What a connection to HOST:8080 from the sandbox `from` (exec) or a new one (run args) gets. */
async function fetchFrom(root: string, how: string[], host: string): Promise<string> {
  const r = await runSandbox([...how, 'sh', '-c', `nc -w 3 ${host} 8080 </dev/null 2>&1; true`], { root });
  assert.equal(r.code, 0, show(r));
  return r.stdout;
}

/** The switch processes of the store at `root` (their command line names its runtime directory). */
function switches(root: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'sandbox-netswitch' && argv[2]?.startsWith(join(root, 'run'))) out.push(Number(e));
    } catch { /* gone */ }
  }
  return out;
}

/** '' once no switch of `root` runs and its networks left nothing under the runtime directory. */
async function noSwitchLeft(root: string): Promise<string> {
  return eventually(() => {
    const left = switches(root);
    if (left.length) return `switch still running: ${left.join(' ')}`;
    const dir = join(root, 'run', 'networks');
    const files = existsSync(dir) ? readdirSync(dir) : [];
    return files.length ? `left in ${dir}: ${files.join(' ')}` : '';
  });
}

/** The address /etc/hosts of sandbox `member` gives `name`. */
async function addressOf(root: string, member: string, name: string): Promise<string> {
  const hosts = await ok(root, ['exec', member, 'cat', '/etc/hosts']);
  const line = lines(hosts).find((l) => l.split(/\s+/).slice(1).includes(name));
  assert.ok(line, `${name} in the /etc/hosts of ${member}:\n${hosts}`);
  return line.split(/\s+/)[0]!;
}

test('members of a network talk by name and alias; a sandbox of the default network or of another network cannot reach them', async (t) => {
  if (!requireRootless(t, 'user-defined networks')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'web', 'client', 'stranger'], { root }); });
  await ok(root, ['network', 'create', 'front']);
  await ok(root, ['network', 'create', 'back']);
  await ok(root, serving('web', 'TOKEN-web', ['--network', 'front', '--network-alias', 'www']));
  await ok(root, ['run', '-d', '--name', 'client', '--network', 'front', 'bb', 'sleep', '600']);

  assert.equal((await ok(root, ['inspect', '--format', '{{.HostConfig.NetworkMode}}', 'web'])).trim(), 'bridge');
  for (const host of ['web', 'www']) {
    assert.match(await fetchFrom(root, ['exec', 'client'], host), /TOKEN-web/, `client -> ${host}`);
  }
  // Both directions: web's /etc/hosts knows the client too (added when it joined).
  const ip = await addressOf(root, 'client', 'www');
  assert.equal(await addressOf(root, 'web', 'web'), ip);
  await addressOf(root, 'web', 'client');

  // Not from the default network, nor from another network, by address or by name.
  assert.doesNotMatch(await fetchFrom(root, ['run', '--rm', 'bb'], ip), /TOKEN-web/);
  assert.doesNotMatch(await fetchFrom(root, ['run', '--rm', '--network', 'back', 'bb'], ip), /TOKEN-web/);
  assert.doesNotMatch(await fetchFrom(root, ['run', '--rm', '--network', 'back', 'bb'], 'www'), /TOKEN-web/);
  // The sandbox's inspect (Docker's NetworkSettings.Networks) and the network's list its address.
  assert.equal((await ok(root, ['inspect', '--format', '{{.NetworkSettings.Networks.front.IPAddress}} {{.NetworkSettings.Networks.front.Aliases}}', 'web'])).trim().replace(/ \[www .*\]$/, ''), ip);
  const [front] = JSON.parse(await ok(root, ['network', 'inspect', 'front'])) as { containers: Record<string, { name: string; interfaces: Record<string, { subnets: { ipnet: string }[] }> }> }[];
  const web = Object.values(front!.containers).find((c) => c.name === 'web');
  assert.equal(web?.interfaces.eth0?.subnets[0]?.ipnet, `${ip}/24`, JSON.stringify(front));
  assert.match(await ok(root, ['network', 'inspect', '--format', '{{range .Containers}}{{.Name}} {{end}}', 'front']), /\bclient\b/);

  // A restart joins again (a new namespace, a new device, the same address).
  await ok(root, ['restart', '-t', '0', 'web']);
  assert.match(await fetchFrom(root, ['exec', 'client'], 'www'), /TOKEN-web/, 'after restart');
  assert.equal(await addressOf(root, 'web', 'www'), ip);

  // A rename is told to the others at once: web now knows the client by its new name only.
  const clientIp = await addressOf(root, 'web', 'client');
  await ok(root, ['rename', 'client', 'customer']);
  assert.equal(await addressOf(root, 'web', 'customer'), clientIp);
  assert.doesNotMatch(await ok(root, ['exec', 'web', 'cat', '/etc/hosts']), /\bclient\b/);
  await ok(root, ['rename', 'customer', 'client']);
});

/** A TCP server on the host's first non-loopback IPv4 address, answering `token`. */
async function hostService(t: TestContext, token: string): Promise<{ host: string; port: number }> {
  const host = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  assert.ok(host, 'the host has a non-loopback IPv4 address');
  const server: Server = createServer((s) => s.end(`${token}\n`));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.after(() => { server.close(); });
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { host, port: address.port };
}

test('--internal: members reach each other and nothing outside; a normal network reaches the outside', async (t) => {
  if (!requireRootless(t, 'user-defined networks')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'inner'], { root }); });
  const { host, port } = await hostService(t, 'TOKEN-host');
  await ok(root, ['network', 'create', 'open']);
  await ok(root, ['network', 'create', '--internal', 'closed']);
  assert.equal((await ok(root, ['network', 'inspect', '--format', '{{.Internal}}', 'closed'])).trim(), 'true');
  const outside = ['sh', '-c', `nc -w 3 ${host} ${port} </dev/null 2>&1; true`];
  assert.match(await ok(root, ['run', '--rm', '--network', 'open', 'bb', ...outside]), /TOKEN-host/);
  assert.doesNotMatch(await ok(root, ['run', '--rm', '--network', 'closed', 'bb', ...outside]), /TOKEN-host/);
  // No name server is reachable from an internal network: none is named (slirp4netns' for the open one).
  assert.doesNotMatch(await ok(root, ['run', '--rm', '--network', 'closed', 'bb', 'cat', '/etc/resolv.conf']), /nameserver/);
  assert.match(await ok(root, ['run', '--rm', '--network', 'open', 'bb', 'cat', '/etc/resolv.conf']), /^nameserver 10\.0\.2\.3$/m);
  // Yet its members reach each other.
  await ok(root, serving('inner', 'TOKEN-inner', ['--network', 'closed']));
  assert.match(await fetchFrom(root, ['run', '--rm', '--network', 'closed', 'bb'], 'inner'), /TOKEN-inner/);
});

test('network connect and disconnect of a running sandbox', async (t) => {
  if (!requireRootless(t, 'user-defined networks')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'late', 'peer'], { root }); });
  await ok(root, ['network', 'create', 'mesh']);
  await ok(root, serving('late', 'TOKEN-late', []));
  await ok(root, ['run', '-d', '--name', 'peer', '--network', 'mesh', 'bb', 'sleep', '600']);
  assert.doesNotMatch(await fetchFrom(root, ['exec', 'peer'], 'late'), /TOKEN-late/, 'before connect');

  await ok(root, ['network', 'connect', '--alias', 'latecomer', 'mesh', 'late']);
  assert.match(await fetchFrom(root, ['exec', 'peer'], 'latecomer'), /TOKEN-late/, 'after connect');
  assert.match(await ok(root, ['exec', 'late', 'ip', '-o', 'addr', 'show', 'eth0']), /inet 10\.89\./);
  const again = await runSandbox(['network', 'connect', 'mesh', 'late'], { root });
  assert.equal(again.code, 125, show(again));
  assert.match(again.stderr, /^sandbox: sandbox late is already connected to network mesh$/m);

  const ip = await addressOf(root, 'peer', 'latecomer');
  await ok(root, ['network', 'disconnect', 'mesh', 'late']);
  assert.doesNotMatch(await fetchFrom(root, ['exec', 'peer'], ip), /TOKEN-late/, 'after disconnect');
  const dev = await runSandbox(['exec', 'late', 'ip', 'link', 'show', 'eth0'], { root });
  assert.notEqual(dev.code, 0, `eth0 gone from late: ${show(dev)}`);
  assert.doesNotMatch(await ok(root, ['exec', 'peer', 'cat', '/etc/hosts']), /latecomer/);
  // Its outside link (the default mode's) stayed: it still has tap0.
  await ok(root, ['exec', 'late', 'ip', 'link', 'show', 'tap0']);
});

test('rm of a network in use is refused; -f removes its sandboxes, then the network', async (t) => {
  if (!requireRootless(t, 'user-defined networks')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'user1', 'user2'], { root }); });
  await ok(root, ['network', 'create', 'busy']);
  await ok(root, ['run', '-d', '--name', 'user1', '--network', 'busy', 'bb', 'sleep', '600']);
  await ok(root, ['create', '--name', 'user2', '--network', 'busy', 'bb', 'true']);
  const refused = await runSandbox(['network', 'rm', 'busy'], { root });
  assert.equal(refused.code, 125, show(refused));
  assert.match(lines(refused.stderr)[0]!, /^sandbox: network busy is in use by sandbox (user1, user2|user2, user1)$/);
  assert.match(lines(refused.stderr)[1]!, /^hint: /);
  assert.equal((await ok(root, ['network', 'ls', '-q'])).trim(), 'busy');

  assert.equal((await ok(root, ['network', 'rm', '-f', '-t', '0', 'busy'])).trim(), 'busy');
  assert.equal((await ok(root, ['ps', '-a', '-q'])).trim(), '');
  assert.equal((await ok(root, ['network', 'ls', '-q'])).trim(), '');
  assert.equal(await noSwitchLeft(root), '');
});

test('the switch lives as long as its members: gone after stop, kill, rm -f, and a SIGKILL of the monitors', async (t) => {
  if (!requireRootless(t, 'user-defined networks')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'm1', 'm2'], { root }); });
  await ok(root, ['network', 'create', 'life']);
  const start = async () => {
    for (const m of ['m1', 'm2']) await ok(root, ['run', '-d', '--name', m, '--network', 'life', 'bb', 'sleep', '600']);
    assert.equal(switches(root).length, 1, 'one switch for the network');
  };
  const ends: [string, () => Promise<void>][] = [
    ['stop', async () => { await ok(root, ['stop', '-t', '0', 'm1', 'm2']); }],
    ['kill', async () => { await ok(root, ['kill', 'm1', 'm2']); }],
    ['rm -f', async () => { await ok(root, ['rm', '-f', 'm1', 'm2']); }],
    ['SIGKILL of the monitors', async () => {
      for (const m of ['m1', 'm2']) {
        const id = (await ok(root, ['inspect', '--format', '{{.Id}}', m])).trim();
        const monitor = Number(readFileSync(join(root, 'data', 'containers', id, 'monitor'), 'utf8').split(' ')[0]);
        process.kill(monitor, 'SIGKILL');
      }
    }],
  ];
  for (const [how, end] of ends) {
    await start();
    // One member gone: the switch stays for the other.
    if (how === 'stop') {
      await ok(root, ['stop', '-t', '0', 'm1']);
      assert.equal(switches(root).length, 1, 'the switch stays while m2 runs');
    }
    await end();
    assert.equal(await noSwitchLeft(root), '', `after ${how}`);
    await runSandbox(['rm', '-f', 'm1', 'm2'], { root });
  }
});

test('system check finds what a killed switch and a lost sandbox leave, and --repair removes it', async (t) => {
  if (!requireRootless(t, 'user-defined networks')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'crash1', 'lost'], { root }); });
  await ok(root, ['network', 'create', 'crashy']);
  await ok(root, ['run', '-d', '--name', 'crash1', '--network', 'crashy', 'bb', 'sleep', '600']);
  const [sw] = switches(root);
  assert.ok(sw, 'the switch runs');
  process.kill(sw, 'SIGKILL');
  await ok(root, ['rm', '-f', 'crash1']);
  const dirs = readdirSync(join(root, 'run', 'networks'));
  assert.equal(dirs.length, 1, 'the killed switch left its directory');
  const dir = join(root, 'run', 'networks', dirs[0]!);
  // Older than a join in progress could be (the check leaves young ones alone).
  const { utimesSync, rmSync } = await import('node:fs');
  utimesSync(dir, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));

  // A member whose sandbox directory vanished without `rm` (a crash): its address stays held.
  // (On another network: a member of crashy would start a new switch there, which tidies up when it ends.)
  await ok(root, ['network', 'create', 'crashy2']);
  await ok(root, ['run', '--name', 'lost', '--network', 'crashy2', 'bb', 'true']);
  const id = (await ok(root, ['inspect', '--format', '{{.Id}}', 'lost'])).trim();
  rmSync(join(root, 'data', 'containers', id), { recursive: true, force: true });

  const check = await runSandbox(['system', 'check'], { root });
  assert.notEqual(check.code, 0, show(check));
  assert.match(check.stdout + check.stderr, /network-leftover/);
  assert.match(check.stdout + check.stderr, /stale-member: network crashy2 keeps the address of 1 removed sandbox \(10\.89\.1\.2\)/);
  const repair = await runSandbox(['system', 'check', '--repair'], { root });
  assert.equal(repair.code, 0, show(repair));
  assert.equal(existsSync(dir), false);
  const after = await runSandbox(['system', 'check'], { root });
  assert.doesNotMatch(after.stdout + after.stderr, /network|member/, show(after));
});

test('members started at once get distinct addresses and one switch', async (t) => {
  if (!requireRootless(t, 'user-defined networks')) return;
  const root = await storeWithBusybox(t);
  const names = ['par1', 'par2', 'par3', 'par4'];
  t.after(async () => { await runSandbox(['rm', '-f', ...names], { root }); });
  await ok(root, ['network', 'create', 'crowd']);
  await Promise.all(names.map((n) => ok(root, serving(n, `TOKEN-${n}`, ['--network', 'crowd']))));
  assert.equal(switches(root).length, 1, 'one switch');
  const addresses = await Promise.all(names.map((n) => addressOf(root, 'par1', n)));
  assert.equal(new Set(addresses).size, names.length, addresses.join(' '));
  for (const n of names.slice(1)) assert.match(await fetchFrom(root, ['exec', 'par1'], n), new RegExp(`TOKEN-${n}`));
  await ok(root, ['rm', '-f', ...names]);
  assert.equal(await noSwitchLeft(root), '');
});

test('-p on a user-defined network: the member\'s httpd is fetched from the host with curl, and by name from another member', async (t) => {
  if (!requireRootless(t, 'user-defined networks with -p')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'pub', 'peer'], { root }); });
  const port = await new Promise<number>((resolve) => {
    const s: Server = createServer().listen(0, () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
  await ok(root, ['network', 'create', 'pubnet']);
  await ok(root, ['run', '-d', '--name', 'pub', '--network', 'pubnet', '-p', `${port}:80`, 'bb', 'sh', '-c',
    'mkdir -p /www && echo from-pubnet > /www/index.html && exec httpd -f -p 80 -h /www']);
  const fromHost = await eventually(async () => {
    const r = await asUser('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${port}/`]);
    return r.code === 0 && r.stdout.trim() === 'from-pubnet' ? '' : `not yet: ${show(r)}`;
  }, 10_000, 200);
  assert.equal(fromHost, '', `port ${port} from the host`);
  assert.equal((await ok(root, ['port', 'pub', '80'])).trim(), `0.0.0.0:${port}`);
  const peer = await runSandbox(['run', '--rm', '--name', 'peer', '--network', 'pubnet', 'bb', 'wget', '-qO-', 'http://pub/'], { root });
  assert.equal(peer.stdout.trim(), 'from-pubnet', show(peer));
  await ok(root, ['rm', '-f', 'pub']);
  assert.equal(await noSwitchLeft(root), '');
});
