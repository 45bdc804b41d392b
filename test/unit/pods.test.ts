/** Pods and `--network container:NAME`: the pure parts and the pod records of the store. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunArgv } from '../../src/cli/run-option-table.js';
import { toRunRequest } from '../../src/cli/run-request.js';
import { sandboxNameFiles } from '../../src/network/name-files.js';
import { containerDriver, containerNetworkTarget } from '../../src/network/container.js';
import { infraName, parseShare, podStatus } from '../../src/api/pods.js';
import { sandboxesJoining } from '../../src/api/network-join.js';
import {
  createPodRecord, findPod, listPods, lookupPod, pauseRoot, podsDir, readPod, removePodRecord, updatePod, type PodRecord,
} from '../../src/state/pods.js';
import type { SandboxRecord } from '../../src/state/sandboxes.js';
import type { RunRequest } from '../../src/types.js';
import { throwsSandbox } from './assert-sandbox-error.js';
import { tempStores } from './temp-store.js';

const req = (argv: string[]) => toRunRequest(parseRunArgv(argv, 'run'), { env: {}, cwd: '/', readFile: () => '' });

describe('--network container:NAME and --pod, as run parses them', () => {
  it('container:NAME: mode container, the name kept for the api to resolve', () => {
    const r = req(['--network', 'container:web', 'bb']);
    assert.equal(r.network, 'container');
    assert.equal(r.networkContainer, 'web');
    assert.equal(containerNetworkTarget('slirp4netns'), undefined);
    assert.equal(containerNetworkTarget('container:0123abcd'), '0123abcd');
  });
  it('container without a name is refused, with the spelling', () => {
    throwsSandbox(() => req(['--network', 'container', 'bb']), '--network container needs the sandbox whose network to join', 'use --network container:NAME (a name or id of a sandbox)');
    throwsSandbox(() => req(['--network=container:', 'bb']), '--network container: needs a sandbox name or id', 'use --network container:NAME');
  });
  it('--pod NAME and new:NAME are kept as given; --network with --pod is refused', () => {
    assert.equal(req(['--pod', 'p1', 'bb']).pod, 'p1');
    assert.equal(req(['--pod=new:p2', 'bb']).pod, 'new:p2');
    assert.equal(req(['bb']).pod, undefined);
    throwsSandbox(() => req(['--pod', '', 'bb']), '--pod needs a pod name or id');
    throwsSandbox(() => req(['--pod', 'p', '--network', 'none', 'bb']), "--network cannot be given with --pod: the network is the pod's");
  });
  it('ports are the owner\'s: -p and -P are refused with --pod and container:NAME (whatever part parses them)', () => {
    const direct = (args: Record<string, unknown>) => toRunRequest({ image: 'bb', ...args } as Parameters<typeof toRunRequest>[0], { env: {}, cwd: '/', readFile: () => '' });
    throwsSandbox(() => direct({ pod: 'p', publish: ['8080:80'] }), 'ports cannot be published by a sandbox that joins a pod', 'publish them when you create the pod: sandbox pod create -p ...');
    throwsSandbox(() => direct({ network: 'container:web', publishAll: true }), "ports cannot be published by a sandbox that joins another's network", 'publish them when you create web');
    assert.equal(direct({ pod: 'p' }).pod, 'p');
  });
});

describe('the container network driver', () => {
  const request = { network: 'container', networkContainer: 'f'.repeat(64) } as RunRequest;
  it('asks the helper to join the pid it is given, and nothing without one', () => {
    assert.deepEqual(containerDriver.launchArgs({ request, tools: {}, dir: '/d', joinPid: 42 }), ['--network-join', '42']);
    assert.deepEqual(containerDriver.launchArgs({ request, tools: {}, dir: '/d', joinPid: 7, joinNamespaces: ['uts', 'ipc'] }), ['--network-join', '7', '--join-ns', 'uts', '--join-ns', 'ipc']);
    assert.throws(() => containerDriver.launchArgs({ request, tools: {}, dir: '/d' }), /internal/);
  });
  it('names the joined sandbox in inspect; resolv.conf is the joined one\'s, hosts its own', () => {
    assert.equal(containerDriver.inspectMode(request), `container:${'f'.repeat(64)}`);
    const joined = { resolvConf: () => 'nameserver 10.0.2.3\n', hosts: () => 'HOST LINES\n', address: () => '192.0.2.5' };
    const files = sandboxNameFiles({ request: {}, hostname: 'me', name: 'box', host: joined, network: containerDriver.names({ request, host: joined }) });
    assert.equal(files.resolvConf, 'nameserver 10.0.2.3\n');
    assert.match(files.hosts!, /^127\.0\.1\.1\tme box$/m);
  });
});

describe('podStatus: Podman\'s pod states from its sandboxes\'', () => {
  it('Created, Running, Degraded, Exited', () => {
    assert.equal(podStatus([]), 'Created');
    assert.equal(podStatus(['created', 'created']), 'Created');
    assert.equal(podStatus(['running', 'running']), 'Running');
    assert.equal(podStatus(['running', 'exited']), 'Degraded');
    assert.equal(podStatus(['running', 'created']), 'Degraded');
    assert.equal(podStatus(['exited', 'created']), 'Exited');
    assert.equal(podStatus(['exited']), 'Exited');
  });
  it('the infra is named as Podman names it', () => {
    assert.equal(infraName('0123456789abcdef'.repeat(4)), '0123456789ab-infra');
  });
});

describe('parseShare: pod create --share', () => {
  it('ipc, net, uts in any order, once each; none or nothing shares nothing', () => {
    assert.deepEqual(parseShare('ipc,net,uts'), ['ipc', 'net', 'uts']);
    assert.deepEqual(parseShare('uts, net,uts'), ['uts', 'net']);
    assert.deepEqual(parseShare('none'), []);
    assert.deepEqual(parseShare(''), []);
  });
  it('pid and cgroup are refused, uts or ipc without net too, typos named', () => {
    throwsSandbox(() => parseShare('net,pid'), '--share pid is not supported');
    throwsSandbox(() => parseShare('uts'), '--share uts without net is not supported');
    throwsSandbox(() => parseShare('net,utz'), 'invalid --share "utz"', 'a comma-separated list of ipc, net, uts (or none)');
  });
});

describe('sandboxesJoining', () => {
  const rec = (id: string, request: Partial<RunRequest>) => ({ id, name: `n-${id}`, request: { network: 'slirp4netns', ...request } }) as unknown as SandboxRecord;
  it('the sandboxes whose network is the given one\'s, not itself nor others', () => {
    const records = [
      rec('a', {}),
      rec('b', { network: 'container', networkContainer: 'a' }),
      rec('c', { network: 'container', networkContainer: 'x' }),
      rec('d', { network: 'none', networkContainer: 'a' }),
      rec('e', { network: 'container', networkContainer: 'a' }),
    ];
    assert.deepEqual(sandboxesJoining(records, 'a').map((r) => r.id), ['b', 'e']);
    assert.deepEqual(sandboxesJoining(records, 'b'), []);
  });
});

describe('pod records in the store', () => {
  const newStore = tempStores('sandbox-unit-pods-');
  const pod = (name: string, id: string): PodRecord => ({ id, name, created: new Date().toISOString(), hostname: name, labels: {}, network: 'slirp4netns' });

  it('a name is taken once; found by name, id or unique prefix; private directory', () => {
    const paths = newStore();
    createPodRecord(paths, pod('one', 'aa11'.repeat(16)));
    createPodRecord(paths, pod('two', 'aa22'.repeat(16)));
    throwsSandbox(() => createPodRecord(paths, pod('one', 'bb'.repeat(32))), 'the pod name "one" is already in use');
    assert.equal(readPod(paths, 'one')?.id, 'aa11'.repeat(16));
    assert.equal(lookupPod(paths, 'aa22')?.name, 'two');
    throwsSandbox(() => lookupPod(paths, 'aa'), 'pod id prefix aa is ambiguous');
    assert.equal(lookupPod(paths, 'cc'), undefined);
    throwsSandbox(() => findPod(paths, 'nope'), 'no such pod: nope', 'list them with `sandbox pod ls`');
    assert.deepEqual(listPods(paths).map((p) => p.name), ['one', 'two']);
    throwsSandbox(() => createPodRecord(paths, pod('bad name', 'cc'.repeat(32))), 'invalid pod name "bad name"');
  });

  it('updates under the lock; removal frees the name and leaves nothing', async () => {
    const paths = newStore();
    createPodRecord(paths, pod('p', 'dd'.repeat(32)));
    await updatePod(paths, 'p', (p) => ({ ...p, infraId: 'ee'.repeat(32) }));
    assert.equal(readPod(paths, 'p')?.infraId, 'ee'.repeat(32));
    assert.equal(removePodRecord(paths, 'p'), true);
    assert.equal(removePodRecord(paths, 'p'), false);
    assert.deepEqual(readdirSync(podsDir(paths)), []);
    await assert.rejects(updatePod(paths, 'p', (x) => x), /no such pod: p/);
    createPodRecord(paths, pod('p', 'ff'.repeat(32)));
  });

  it('the pause root: a copy of the helper, made once, made again when the helper changed', () => {
    const paths = newStore();
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-unit-pause-'));
    const bin = join(dir, 'sandbox-pause');
    writeFileSync(bin, 'v1');
    chmodSync(bin, 0o755);
    const root = pauseRoot(paths, bin);
    assert.equal(readFileSync(join(root, 'pause'), 'utf8'), 'v1');
    assert.equal(pauseRoot(paths, bin), root);
    writeFileSync(bin, 'v2!');
    utimesSync(bin, new Date(), new Date(Date.now() + 5000));
    pauseRoot(paths, bin);
    assert.equal(readFileSync(join(root, 'pause'), 'utf8'), 'v2!');
    assert.deepEqual(readdirSync(root), ['pause'], 'no temporary file left');
    assert.ok(existsSync(join(root, 'pause')));
    assert.equal(listPods(paths).length, 0, 'the pause root is no pod');
  });
});
