/**
 * Pods and `--network container:NAME` (api/pods.ts, api/network-join.ts,
 * helpers/launch/network.c clone_joined), end to end as the unprivileged test user:
 * members of a pod talk over localhost and share its hostname; a sandbox joining
 * another's network sees its interfaces and its localhost services, and exec into it
 * lands in that namespace; pod stop/start/rm; nothing of a pod runs after `pod rm -f`;
 * one-line errors for a missing pod or target; a pod's published port reaches a member's
 * server from the host, and its forwarder ends with `pod rm -f`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { asUser, eventually, importImage, lines, newStore, requireRootless, runSandbox, show } from './harness.js';

async function storeWithBusybox(t: TestContext): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

/** A busybox httpd serving `text` on PORT, as a shell line. */
const httpd = (text: string, port: number) => `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p ${port} -h /www`;

/** The command's host pid (the first child of the init: the init is not dumpable). */
function commandOf(initPid: number): number {
  const children = readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8').trim().split(' ');
  return Number(children[0]);
}

async function ok(root: string, args: string[]): Promise<string> {
  const r = await runSandbox(args, { root });
  assert.equal(r.code, 0, `${args.join(' ')}: ${show(r)}`);
  return r.stdout;
}

/** Host pids of processes whose command line holds `word` as one argument, or which are `pids`. */
function alive(pids: number[]): number[] {
  return pids.filter((p) => { try { readFileSync(`/proc/${p}/stat`); return true; } catch { return false; } });
}

function pidsWithArg(word: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try { if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(word)) out.push(Number(e)); } catch { /* gone */ }
  }
  return out;
}

test('pod: two members talk over localhost, share the pod\'s hostname; ps --pod, --filter pod=, inspect', async (t) => {
  if (!requireRootless(t, 'pods')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['pod', 'rm', '-f', 'pd'], { root }); });
  const podId = (await ok(root, ['pod', 'create', '--name', 'pd', '--label', 'team=a'])).trim();
  assert.match(podId, /^[0-9a-f]{64}$/);
  // Port 80: root of a member keeps CAP_NET_BIND_SERVICE in the shared namespace.
  await ok(root, ['run', '-d', '--pod', 'pd', '--name', 'web', 'bb', 'sh', '-c', httpd('from-web', 80)]);
  const got = await eventually(async () => {
    const r = await runSandbox(['run', '--rm', '--pod', 'pd', 'bb', 'sh', '-c', 'wget -qO- http://localhost/index.html && hostname'], { root });
    return r.code === 0 ? r.stdout : `not yet: ${show(r)}`;
  });
  assert.deepEqual(lines(got), ['from-web', 'pd']);
  assert.equal((await ok(root, ['exec', 'web', 'hostname'])).trim(), 'pd');
  // As Podman's pods (--share ipc,net,uts by default): members share the infra's uts, ipc and network namespaces.
  const nsOf = 'for n in uts ipc net; do readlink /proc/self/ns/$n; done';
  const member = lines(await ok(root, ['exec', 'web', 'sh', '-c', nsOf]));
  assert.equal(member.length, 3);
  assert.deepEqual(lines(await ok(root, ['run', '--rm', '--pod', 'pd', 'bb', 'sh', '-c', nsOf])), member);
  const own = await runSandbox(['run', '--rm', '--pod', 'pd', '-h', 'other', 'bb', 'true'], { root });
  assert.equal(own.code, 125, show(own));
  assert.match(own.stderr, /^sandbox: --hostname cannot be given to a member of pod pd: it shares the pod's uts namespace\n/);

  const ls = await ok(root, ['pod', 'ls', '--format', '{{.Name}} {{.Status}} {{.NumberOfContainers}}']);
  assert.equal(ls.trim(), 'pd Running 2');
  assert.deepEqual(lines(await ok(root, ['pod', 'ls', '-q'])), [podId.slice(0, 12)]);
  assert.equal((await ok(root, ['pod', 'ls', '--filter', 'label=team=b', '-q'])).trim(), '');
  const inspect = JSON.parse(await ok(root, ['pod', 'inspect', 'pd'])) as { Id: string; InfraContainerID: string; Containers: { Name: string }[] }[];
  assert.equal(inspect[0]!.Id, podId);
  assert.deepEqual(inspect[0]!.Containers.map((c) => c.Name).sort(), [`${podId.slice(0, 12)}-infra`, 'web']);
  // The infra is listed (as Podman 4 lists it); both carry the pod.
  const ps = await ok(root, ['ps', '--filter', 'pod=pd', '--format', '{{.Names}} {{.PodName}}']);
  assert.deepEqual(lines(ps).sort(), [`${podId.slice(0, 12)}-infra pd`, 'web pd']);
  assert.match(await ok(root, ['ps', '--pod']), /POD ID\s+PODNAME[\s\S]*\bweb\b.*\bpd$/m);
  assert.equal((await ok(root, ['inspect', '-f', '{{.Pod}} {{.HostConfig.NetworkMode}}', 'web'])).trim(), `${podId} container:${inspect[0]!.InfraContainerID}`);
  assert.equal((await runSandbox(['pod', 'exists', 'pd'], { root })).code, 0);
  assert.equal((await runSandbox(['pod', 'exists', 'nope'], { root })).code, 1);
});

test('pod stop, start, restart, rm: members first, the infra last; starting a member starts the infra; nothing left after rm -f', async (t) => {
  if (!requireRootless(t, 'pods')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['pod', 'rm', '-f', 'life'], { root }); });
  await ok(root, ['pod', 'create', '--name', 'life']);
  await ok(root, ['create', '--pod', 'life', '--name', 'member', 'bb', 'sleep', '600']);
  assert.equal((await ok(root, ['pod', 'ls', '--format', '{{.Status}}'])).trim(), 'Created');
  // A member's start starts the infra.
  await ok(root, ['start', 'member']);
  assert.equal((await ok(root, ['pod', 'ls', '--format', '{{.Status}}'])).trim(), 'Running');
  await ok(root, ['pod', 'stop', '-t', '1', 'life']);
  assert.equal((await ok(root, ['pod', 'ls', '--format', '{{.Status}}'])).trim(), 'Exited');
  await ok(root, ['pod', 'start', 'life']);
  await ok(root, ['pod', 'restart', 'life']);
  const states = await ok(root, ['ps', '-a', '--format', '{{.Names}} {{.State}}']);
  assert.ok(lines(states).every((l) => l.endsWith(' running')), states);

  // A running pod is removed only with -f.
  const refused = await runSandbox(['pod', 'rm', 'life'], { root });
  assert.equal(refused.code, 125, show(refused));
  assert.match(refused.stderr, /^sandbox: cannot remove pod life: it has running sandboxes\nhint: /);
  // Nor is its infra on its own, as Podman.
  const infraName = lines(states).map((l) => l.split(' ')[0]!).find((n) => n.endsWith('-infra'))!;
  const infraRm = await runSandbox(['rm', '-f', infraName], { root });
  assert.equal(infraRm.code, 125, show(infraRm));
  assert.match(infraRm.stderr, /^sandbox: sandbox .*-infra is the infra of pod life and cannot be removed without the pod\nhint: remove the pod: sandbox pod rm -f life\n$/);

  const pidOf = async (name: string) => Number((await ok(root, ['inspect', '-f', '{{.State.Pid}}', name])).trim());
  const infraPid = await pidOf(infraName);
  const inits = [infraPid, await pidOf('member')];
  const helpers = [...inits, ...pidsWithArg(`--userns-path=/proc/${infraPid}/ns/user`)];
  assert.equal(helpers.length, 3, `two inits and the infra's slirp4netns: ${helpers.join(' ')}`);
  await ok(root, ['pod', 'rm', '-f', '-t', '1', 'life']);
  assert.equal(await eventually(() => { const left = alive(helpers); return left.length ? `still running: ${left.join(' ')}` : ''; }), '');
  assert.equal((await ok(root, ['ps', '-a', '-q'])).trim(), '');
  assert.equal((await ok(root, ['pod', 'ls', '-q'])).trim(), '');
});

test('--network container:NAME: the target\'s interfaces and localhost services; exec lands in the shared namespace', async (t) => {
  if (!requireRootless(t, '--network container:NAME')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'joiner'], { root }); await runSandbox(['rm', '-f', 'target'], { root }); });
  await ok(root, ['run', '-d', '--name', 'target', 'bb', 'sh', '-c', httpd('from-target', 8080)]);
  const seen = await eventually(async () => {
    const r = await runSandbox(['run', '--rm', '--network', 'container:target', 'bb', 'sh', '-c', 'ip -o addr show tap0; wget -qO- http://127.0.0.1:8080/index.html'], { root });
    return r.code === 0 ? r.stdout : `not yet: ${show(r)}`;
  });
  assert.match(seen, /tap0\s+inet 10\.0\.2\.100\/24/);
  assert.match(seen, /^from-target$/m);

  await ok(root, ['run', '-d', '--name', 'joiner', '--network', 'container:target', 'bb', 'sleep', '600']);
  const targetNs = readlinkSync(`/proc/${commandOf(Number((await ok(root, ['inspect', '-f', '{{.State.Pid}}', 'target'])).trim()))}/ns/net`);
  assert.equal((await ok(root, ['exec', 'joiner', 'readlink', '/proc/self/ns/net'])).trim(), targetNs);
  assert.equal((await ok(root, ['exec', 'joiner', 'wget', '-qO-', 'http://127.0.0.1:8080/index.html'])).trim(), 'from-target');
  const targetId = (await ok(root, ['inspect', '-f', '{{.Id}}', 'target'])).trim();
  assert.equal((await ok(root, ['inspect', '-f', '{{.HostConfig.NetworkMode}}', 'joiner'])).trim(), `container:${targetId}`);
  // The target cannot be removed while another joins it.
  const rm = await runSandbox(['rm', '-f', 'target'], { root });
  assert.equal(rm.code, 125, show(rm));
  assert.match(rm.stderr, /^sandbox: cannot remove sandbox target: joiner joins its network\nhint: /);

  // A stopped target: one line, exit 125, nothing started.
  await ok(root, ['rm', '-f', 'joiner']);
  await ok(root, ['stop', '-t', '1', 'target']);
  const stopped = await runSandbox(['run', '--rm', '--network', 'container:target', 'bb', 'true'], { root });
  assert.equal(stopped.code, 125, show(stopped));
  assert.match(stopped.stderr, /^sandbox: sandbox target, whose network .* joins, is not running\nhint: start it first: sandbox start target\n$/);
});

test('joining a --network host sandbox or pod is --network host (the host\'s namespace is not ours to enter)', async (t) => {
  if (!requireRootless(t, '--network container:NAME')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'onhost'], { root }); await runSandbox(['pod', 'rm', '-f', 'hostpod'], { root }); });
  const hostNs = readlinkSync('/proc/self/ns/net');
  await ok(root, ['run', '-d', '--name', 'onhost', '--network', 'host', 'bb', 'sleep', '600']);
  await ok(root, ['run', '-d', '--name', 'next', '--network', 'container:onhost', 'bb', 'sleep', '600']);
  t.after(async () => { await runSandbox(['rm', '-f', 'next'], { root }); });
  assert.equal((await ok(root, ['inspect', '-f', '{{.HostConfig.NetworkMode}}', 'next'])).trim(), 'host');
  const pid = Number((await ok(root, ['inspect', '-f', '{{.State.Pid}}', 'next'])).trim());
  assert.equal(readlinkSync(`/proc/${commandOf(pid)}/ns/net`), hostNs);
  await ok(root, ['pod', 'create', '--name', 'hostpod', '--network', 'host']);
  assert.equal((await ok(root, ['run', '--rm', '--pod', 'hostpod', 'bb', 'sh', '-c', 'hostname; readlink /proc/self/ns/net'])).trim(), `hostpod\n${hostNs}`);
});

test('errors: a missing pod, a missing target, container without a name, --network with --pod', async (t) => {
  if (!requireRootless(t, 'pod errors')) return;
  const root = await storeWithBusybox(t);
  const cases: [string[], RegExp][] = [
    [['run', '--rm', '--pod', 'nope', 'bb', 'true'], /^sandbox: no such pod: nope\nhint: /],
    [['run', '--rm', '--network', 'container:nope', 'bb', 'true'], /^sandbox: no such sandbox: nope\nhint: /],
    [['run', '--rm', '--network', 'container', 'bb', 'true'], /^sandbox: --network container needs the sandbox whose network to join\nhint: /],
    [['run', '--rm', '--pod', 'x', '--network', 'none', 'bb', 'true'], /^sandbox: --network cannot be given with --pod/],
    [['pod', 'start', 'nope'], /^sandbox: no such pod: nope\nhint: /],
    [['pod', 'rm', 'nope'], /^sandbox: no such pod: nope\nhint: /],
  ];
  for (const [args, message] of cases) {
    const r = await runSandbox(args, { root });
    assert.equal(r.code, 125, `${args.join(' ')}: ${show(r)}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  assert.equal((await ok(root, ['ps', '-a', '-q'])).trim(), '', 'nothing was recorded');
});

test('run --pod new:NAME creates the pod; pod create --infra=false shares nothing', async (t) => {
  if (!requireRootless(t, 'pods')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['pod', 'rm', '-f', 'fresh'], { root }); await runSandbox(['pod', 'rm', '-f', 'bare'], { root }); });
  assert.equal((await ok(root, ['run', '--rm', '--pod', 'new:fresh', 'bb', 'hostname'])).trim(), 'fresh');
  // --pod-id-file: written by pod create (never over a file that exists), read by run.
  const idFile = `${root}/pod.id`;
  await ok(root, ['pod', 'create', '--name', 'byfile', '--pod-id-file', idFile]);
  const again = await runSandbox(['pod', 'create', '--name', 'byfile2', '--pod-id-file', idFile], { root });
  assert.equal(again.code, 125, show(again));
  assert.match(again.stderr, /^sandbox: the id file .*pod\.id exists: another pod may be using it\n/);
  assert.equal((await ok(root, ['run', '--rm', '--pod-id-file', idFile, 'bb', 'hostname'])).trim(), 'byfile');
  assert.equal((await ok(root, ['pod', 'inspect', '-f', '{{.Id}}', 'byfile'])).trim(), readFileSync(idFile, 'utf8'));
  await ok(root, ['pod', 'rm', '-f', 'byfile']);
  assert.equal((await ok(root, ['pod', 'ls', '--format', '{{.Name}} {{.NumberOfContainers}}'])).trim(), 'fresh 1');
  await ok(root, ['pod', 'create', '--name', 'bare', '--infra=false']);
  // --share net: the network only; each member keeps its own uts namespace and hostname.
  t.after(async () => { await runSandbox(['pod', 'rm', '-f', 'netonly'], { root }); });
  await ok(root, ['pod', 'create', '--name', 'netonly', '--share', 'net']);
  assert.equal((await ok(root, ['run', '--rm', '--pod', 'netonly', '-h', 'mine', 'bb', 'hostname'])).trim(), 'mine');
  assert.equal((await ok(root, ['pod', 'inspect', '-f', '{{.SharedNamespaces}}', 'netonly'])).trim(), '[net]');
  await ok(root, ['pod', 'rm', '-f', 'netonly']);
  assert.equal((await ok(root, ['pod', 'inspect', '-f', '{{.InfraContainerID}}', 'bare'])).trim(), '');
  assert.equal((await ok(root, ['run', '--rm', '--pod', 'bare', '--name', 'alone', 'bb', 'sh', '-c', 'ip -o link | wc -l'])).trim(), '2');
  // prune takes pods with nothing running: the bare one; fresh's infra runs on (as Podman's does after its last member).
  const bareId = (await ok(root, ['pod', 'inspect', '-f', '{{.Id}}', 'bare'])).trim();
  assert.deepEqual(lines(await ok(root, ['pod', 'prune', '-f'])), [bareId]);
  assert.equal((await ok(root, ['pod', 'ls', '--format', '{{.Name}} {{.Status}}'])).trim(), 'fresh Running');
  // container prune leaves a stopped pod's infra to its pod.
  await ok(root, ['pod', 'stop', '-t', '1', 'fresh']);
  await ok(root, ['container', 'prune', '-f']);
  assert.match(await ok(root, ['ps', '-a', '--format', '{{.Names}}']), /^[0-9a-f]{12}-infra$/m);
  await ok(root, ['pod', 'start', 'fresh']);
  assert.equal((await ok(root, ['pod', 'ls', '--format', '{{.Name}} {{.Status}}'])).trim(), 'fresh Running');
});

test('SIGKILL of the infra\'s monitor: its slirp4netns goes with it; pod start puts the members on the new network', async (t) => {
  if (!requireRootless(t, 'pods')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['pod', 'rm', '-f', 'killed'], { root }); });
  await ok(root, ['pod', 'create', '--name', 'killed']);
  await ok(root, ['run', '-d', '--pod', 'killed', '--name', 'km', 'bb', 'sleep', '600']);
  const infraId = (await ok(root, ['pod', 'inspect', '-f', '{{.InfraContainerID}}', 'killed'])).trim();
  const infraPid = Number((await ok(root, ['inspect', '-f', '{{.State.Pid}}', infraId])).trim());
  const slirp = () => pidsWithArg(`--userns-path=/proc/${infraPid}/ns/user`);
  assert.equal(slirp().length, 1);
  const monitor = Number(readFileSync(`${root}/data/containers/${infraId}/monitor`, 'utf8').split(' ')[0]);
  process.kill(monitor, 'SIGKILL');
  assert.equal(await eventually(() => { const left = [...alive([infraPid]), ...slirp()]; return left.length ? `still running: ${left.join(' ')}` : ''; }), '');
  assert.equal((await ok(root, ['pod', 'ls', '--format', '{{.Status}}'])).trim(), 'Degraded');
  await ok(root, ['pod', 'start', 'killed']);
  assert.equal((await ok(root, ['pod', 'ls', '--format', '{{.Status}}'])).trim(), 'Running');
  assert.match(await ok(root, ['exec', 'km', 'ip', '-o', 'addr', 'show', 'tap0']), /inet 10\.0\.2\.100\/24/);
});

test('pod create -p: a member\'s httpd on 80 is fetched from the host with curl; pod rm -f leaves no forwarder and frees the port', async (t) => {
  if (!requireRootless(t, 'pod create -p')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['pod', 'rm', '-f', 'pw'], { root }); });
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
  await ok(root, ['pod', 'create', '-p', `${port}:80`, '--name', 'pw']);
  await ok(root, ['run', '-d', '--pod', 'pw', '--name', 'web', 'bb', 'sh', '-c', httpd('from-pod', 80)]);
  const got = await eventually(async () => {
    const r = await asUser('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${port}/`]);
    return r.code === 0 && r.stdout.trim() === 'from-pod' ? '' : `not yet: ${show(r)}`;
  }, 10_000, 200);
  assert.equal(got, '', `the pod's port ${port}`);

  // The forwarder (launch/ports.c, named sandbox-ports) is the infra's monitor's child.
  const infraId = JSON.parse(await ok(root, ['pod', 'inspect', 'pw']))[0].InfraContainerID as string;
  const monitor = Number(readFileSync(join(root, 'data', 'containers', infraId, 'monitor'), 'utf8').split(' ')[0]);
  const forwarders = () => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'sandbox-ports' && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === monitor;
    } catch { return false; }
  });
  const before = forwarders();
  assert.equal(before.length, 1, `one forwarder for the pod: ${before.join(' ')}`);
  await ok(root, ['pod', 'rm', '-f', '-t', '1', 'pw']);
  assert.equal(await eventually(() => { const left = alive(before); return left.length ? `forwarder still running: ${left.join(' ')}` : ''; }), '');
  const free = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, exclusive: true }, () => s.close(() => resolve(true)));
  });
  assert.ok(free, `port ${port} still held after pod rm -f`);
});
