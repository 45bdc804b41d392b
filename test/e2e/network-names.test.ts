/**
 * Issue 15, item 4 and the names of item 3, as the unprivileged test user: the names of
 * /etc/hosts resolve inside (the sandbox's own, --add-host, host.containers.internal),
 * host-gateway reaches a service of the host, --dns/--dns-search/--dns-option make a
 * resolv.conf the resolver inside uses, --no-hosts and --dns none keep the image's files,
 * each mode's resolv.conf answers as the host's does, and start/restart write it all again.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { asUser, importImage, lines, newStore, requireRootless, runSandbox, show } from './harness.js';

async function storeWithBusybox(t: TestContext): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

/** The host's first address off the loopback (IPv4 first), computed here on its own. */
function hostAddress(): string {
  const all = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((a) => !a.internal);
  return (all.find((a) => a.family === 'IPv4') ?? all.find((a) => !a.address.startsWith('fe80')))?.address ?? '';
}

/** What busybox ping resolves each name to (its first line: `PING name (ADDRESS)`), by name. */
const RESOLVE = 'for n in "$@"; do a=$(ping -c1 -W1 "$n" 2>/dev/null | head -n1 | sed -n "s/^PING [^ ]* (\\([^)]*\\)).*/\\1/p"); echo "$n=${a:-none}"; done';

function resolved(stdout: string): Record<string, string> {
  return Object.fromEntries(lines(stdout).map((l) => l.split('=') as [string, string]));
}

for (const mode of ['slirp4netns', 'none', 'host'] as const) {
  test(`--network ${mode}: its own names, --add-host names and host.containers.internal resolve inside`, async (t) => {
    if (!requireRootless(t, `names with --network ${mode}`)) return;
    const root = await storeWithBusybox(t);
    const name = `names-${mode}`;
    const r = await runSandbox(['run', '--rm', '--name', name, '-h', 'box', '--network', mode,
      '--add-host', 'db:10.1.2.3', '--add-host', 'cache;queue:10.1.2.4', '--add-host', 'gw:host-gateway',
      'bb', 'sh', '-c', RESOLVE, 'sh', 'box', name, 'db', 'cache', 'queue', 'gw', 'host.containers.internal', 'localhost', 'nosuch.invalid'], { root });
    assert.equal(r.code, 0, show(r));
    const own = mode === 'slirp4netns' ? '10.0.2.100' : '127.0.1.1';
    const host = hostAddress();
    assert.deepEqual(resolved(r.stdout), {
      box: own, [name]: own, db: '10.1.2.3', cache: '10.1.2.4', queue: '10.1.2.4',
      gw: host, 'host.containers.internal': host, localhost: '127.0.0.1', 'nosuch.invalid': 'none',
    }, show(r));
  });
}

test('host-gateway and host.containers.internal reach a service of the host (slirp4netns and host)', async (t) => {
  if (!requireRootless(t, 'host-gateway')) return;
  const root = await storeWithBusybox(t);
  // A service of the host on all its addresses (its loopback stays closed to slirp4netns:
  // the host-loopback option is part pasta's).
  const server = createServer((s) => s.end('hello from the host\n'));
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  for (const mode of ['slirp4netns', 'host']) {
    const r = await runSandbox(['run', '--rm', '--network', mode, '--add-host', 'gw:host-gateway', 'bb', 'sh', '-c',
      `nc -w 5 gw ${port} </dev/null; nc -w 5 host.containers.internal ${port} </dev/null`], { root });
    assert.equal(r.code, 0, `${mode}\n${show(r)}`);
    assert.equal(r.stdout, 'hello from the host\n'.repeat(2), `${mode}\n${show(r)}`);
  }
});

// A name server for one name (web.test.internal: 10.9.8.7; NXDOMAIN for others, no IPv6),
// run inside the sandbox on its own 127.0.0.1:53 (root there may bind it: the namespace is its own).
const DNS_SERVER = `
const d = require('dgram').createSocket('udp4');
d.on('message', (m, from) => {
  let i = 12; const labels = [];
  while (m[i]) { labels.push(m.toString('latin1', i + 1, i + 1 + m[i])); i += m[i] + 1; }
  const qtype = m.readUInt16BE(i + 1); const name = labels.join('.').toLowerCase();
  console.error('query ' + name);
  const known = name === 'web.test.internal'; const hit = known && qtype === 1;
  const h = Buffer.alloc(12); m.copy(h, 0, 0, 2);
  h.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); h.writeUInt16BE(1, 4); h.writeUInt16BE(hit ? 1 : 0, 6);
  const answer = hit ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 8, 7]) : Buffer.alloc(0);
  d.send(Buffer.concat([h, m.subarray(12, i + 5), answer]), from.port, from.address);
});
d.bind(53, '127.0.0.1');`;

test('--dns, --dns-search and --dns-option: the resolver inside asks that server, with those domains and options', async (t) => {
  if (!requireRootless(t, '--dns')) return;
  const root = await newStore(t);
  // The host image (the host's own node and getent, read-only), without a network: only the server inside answers.
  const r = await runSandbox(['run', '--rm', '--network', 'none', '--dns', '127.0.0.1', '--dns-search', 'test.internal',
    '--dns-option', 'ndots:3', '--dns-option', 'attempts:1', '-e', `DNS=${DNS_SERVER}`, 'host', 'sh', '-c',
    'cat /etc/resolv.conf; node -e "$DNS" & for i in $(seq 50); do getent hosts web && break; sleep 0.2; done; getent hosts web.test.internal; kill $!'], { root, timeoutMs: 60_000 });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^search test\.internal\nnameserver 127\.0\.0\.1\noptions ndots:3 attempts:1\n/, show(r));
  // The short name is found through the search domain, then the full one (getent hosts:
  // getaddrinfo's AI_ADDRCONFIG would ask nobody on a loopback-only network).
  assert.equal(lines(r.stdout).filter((l) => /^10\.9\.8\.7\s+web\.test\.internal$/.test(l)).length, 2, show(r));
  // ndots:3: a name with fewer dots is tried with the search domain first.
  assert.match(r.stderr, /^query web\.test\.internal\.test\.internal$/m, show(r));
});

test('resolv.conf of each mode answers as the host\'s resolver does', async (t) => {
  if (!requireRootless(t, 'resolv.conf per mode')) return;
  const root = await storeWithBusybox(t);
  // Whether the host's own resolver answers at all (a reply, even NXDOMAIN) is what each mode must match.
  const query = 'nslookup -timeout=3 -retry=1 sandbox-e2e.invalid 2>&1; true';
  const answered = (text: string) => /NXDOMAIN|SERVFAIL|REFUSED|Non-authoritative answer|^Name:/m.test(text);
  const onHost = await asUser('busybox', ['sh', '-c', query]);
  const hostAnswers = answered(onHost.stdout);
  for (const mode of ['slirp4netns', 'host']) {
    const r = await runSandbox(['run', '--rm', '--network', mode, 'bb', 'sh', '-c', query], { root, timeoutMs: 60_000 });
    assert.equal(r.code, 0, show(r));
    assert.equal(answered(r.stdout), hostAnswers, `${mode}: the host's resolver ${hostAnswers ? 'answers' : 'does not answer'}\n${show(r)}\nhost: ${show(onHost)}`);
    if (mode === 'slirp4netns') assert.match(r.stdout, /^Server:\s+10\.0\.2\.3$/m, show(r));
  }
  const none = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'cat', '/etc/resolv.conf'], { root });
  assert.equal(none.code, 0, show(none));
  assert.doesNotMatch(none.stdout, /nameserver/, show(none));
});

test('--no-hosts and --dns none keep the image\'s files; without them ours are bound over', async (t) => {
  if (!requireRootless(t, '--no-hosts')) return;
  const root = await storeWithBusybox(t);
  // An image with files of its own: written through --no-hosts --dns none, where nothing is bound over them.
  const mk = await runSandbox(['run', '--name', 'mk', '--no-hosts', '--dns', 'none', 'bb', 'sh', '-c',
    'echo "10.7.7.7 imagehost" > /etc/hosts; echo "nameserver 10.7.7.8" > /etc/resolv.conf'], { root });
  assert.equal(mk.code, 0, show(mk));
  const commit = await runSandbox(['commit', 'mk', 'bb-files'], { root });
  assert.equal(commit.code, 0, show(commit));
  const kept = await runSandbox(['run', '--rm', '--no-hosts', '--dns', 'none', 'bb-files', 'cat', '/etc/hosts', '/etc/resolv.conf'], { root });
  assert.equal(kept.code, 0, show(kept));
  assert.equal(kept.stdout, '10.7.7.7 imagehost\nnameserver 10.7.7.8\n');
  const ours = await runSandbox(['run', '--rm', '--network', 'slirp4netns', 'bb-files', 'cat', '/etc/hosts', '/etc/resolv.conf'], { root });
  assert.equal(ours.code, 0, show(ours));
  assert.doesNotMatch(ours.stdout, /10\.7\.7\./, show(ours));
  assert.match(ours.stdout, /^nameserver 10\.0\.2\.3$/m, show(ours));
  // Only one of them: --no-hosts keeps the image's hosts, resolv.conf is ours.
  const one = await runSandbox(['run', '--rm', '--no-hosts', '--network', 'none', '--dns', '1.1.1.1', 'bb-files', 'cat', '/etc/hosts', '/etc/resolv.conf'], { root });
  assert.equal(one.code, 0, show(one));
  assert.match(one.stdout, /^10\.7\.7\.7 imagehost\n(.*\n)*nameserver 1\.1\.1\.1\n/, show(one));
});

test('create keeps the options; start and restart write the files again from them', async (t) => {
  if (!requireRootless(t, 'names after restart')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'kept'], { root }); });
  const create = await runSandbox(['create', '--name', 'kept', '--add-host', 'db:10.1.2.3', '--dns', '9.9.9.9',
    '--dns-search', 'corp.example', '--dns-option', 'ndots:2', 'bb', 'sleep', '600'], { root });
  assert.equal(create.code, 0, show(create));
  const check = async (when: string) => {
    const r = await runSandbox(['exec', 'kept', 'cat', '/etc/hosts', '/etc/resolv.conf'], { root });
    assert.equal(r.code, 0, `${when}\n${show(r)}`);
    assert.match(r.stdout, /^10\.1\.2\.3\tdb\n/, `${when}\n${show(r)}`);
    assert.match(r.stdout, /^search corp\.example\nnameserver 9\.9\.9\.9\noptions ndots:2$/m, `${when}\n${show(r)}`);
  };
  for (const [verb, args] of [['start', ['start', 'kept']], ['restart', ['restart', '-t', '1', 'kept']]] as const) {
    const r = await runSandbox([...args], { root });
    assert.equal(r.code, 0, show(r));
    await check(verb);
  }
  const inspect = await runSandbox(['inspect', '--format', '{{json .HostConfig.ExtraHosts}} {{json .HostConfig.Dns}} {{json .HostConfig.DnsSearch}} {{json .HostConfig.DnsOptions}}', 'kept'], { root });
  assert.equal(inspect.stdout.trim(), '["db:10.1.2.3"] ["9.9.9.9"] ["corp.example"] ["ndots:2"]', show(inspect));
  // The host's /etc/hosts is Podman's base: its lines are there too.
  const hosts = await runSandbox(['exec', 'kept', 'cat', '/etc/hosts'], { root });
  assert.ok(hosts.stdout.includes(readFileSync('/etc/hosts', 'utf8').replace(/\n*$/, '\n')), show(hosts));
});
