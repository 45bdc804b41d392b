/** Issue 16 part opts16: the parsing and the cgroup files of Podman's I/O, memory and placement options; --seccomp-policy, --gpus. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitArgsFrom, parseCgroupOptions, parseLimitOptions, type LimitHost } from '../../src/cli/limit-options.js';
import { mergeLimitOptions } from '../../src/cli/update-options.js';
import { limitMechanisms, limitWrites, blkioToIoWeight, type CgroupHost } from '../../src/runtime/cgroup/limits.js';
import { resolveCgroupParent } from '../../src/runtime/cgroup/parent.js';
import { imageSeccompProfile, parseSeccompPolicy, IMAGE_SECCOMP } from '../../src/runtime/seccomp/image-policy.js';
import { checkGpusValue } from '../../src/runtime/gpus.js';
import { parseUsernsMode } from '../../src/runtime/userns-mode.js';
import type { RunRequest } from '../../src/types.js';
import { throwsSandbox } from './assert-sandbox-error.js';

const here: LimitHost = {
  memNodes: () => 2,
  blockDevice: (path) => {
    if (path === '/dev/sda') return { major: 8, minor: 0 };
    if (path === '/dev/vdb') return { major: 254, minor: 16 };
    throw new Error(`no ${path}`);
  },
};
const cpus = () => 4;

describe('opts16: parsing as Podman', () => {
  it('memory swappiness, cpuset mems, blkio weight, oom kill disable', () => {
    assert.deepEqual(parseLimitOptions({ memorySwappiness: '10', cpusetMems: '0-1', blkioWeight: '500', oomKillDisable: 'true' }, cpus, here),
      { memorySwappiness: 10, cpusetMems: '0-1', blkioWeight: 500, oomKillDisable: true });
    assert.equal(parseLimitOptions({ memorySwappiness: '-1' }, cpus, here), undefined, '-1 is the system\'s: nothing to set');
    throwsSandbox(() => parseLimitOptions({ memorySwappiness: '101' }, cpus, here), 'invalid value: 101, valid memory swappiness range is 0-100');
    throwsSandbox(() => parseLimitOptions({ cpusetMems: '2' }, cpus, here), "invalid value '2' for --cpuset-mems");
    throwsSandbox(() => parseLimitOptions({ blkioWeight: '5' }, cpus, here), 'invalid --blkio-weight 5: the range is 10 to 1000');
    throwsSandbox(() => parseLimitOptions({ blkioWeight: '1001' }, cpus, here), 'invalid --blkio-weight 1001: the range is 10 to 1000');
  });
  it('per-device limits: units, numbers, the last for a device wins', () => {
    const l = parseLimitOptions({ deviceReadBps: ['/dev/sda:1mb', '/dev/vdb:512k', '/dev/sda:2m'], deviceWriteIops: ['/dev/sda:1000'], blkioWeightDevice: ['/dev/vdb:200'] }, cpus, here)!;
    assert.deepEqual(l.deviceReadBps, [{ path: '/dev/sda', major: 8, minor: 0, value: 2 * 1024 * 1024 }, { path: '/dev/vdb', major: 254, minor: 16, value: 512 * 1024 }]);
    assert.deepEqual(l.deviceWriteIops, [{ path: '/dev/sda', major: 8, minor: 0, value: 1000 }]);
    assert.deepEqual(l.blkioWeightDevice, [{ path: '/dev/vdb', major: 254, minor: 16, value: 200 }]);
    throwsSandbox(() => parseLimitOptions({ deviceWriteIops: ['/dev/sda:x'] }, cpus, here), 'invalid rate for device: /dev/sda:x');
    throwsSandbox(() => parseLimitOptions({ deviceReadIops: ['/dev/sda:0'] }, cpus, here), 'invalid rate for device: /dev/sda:0: the number must be a positive integer');
    throwsSandbox(() => parseLimitOptions({ deviceReadBps: ['/dev/sda'] }, cpus, here), "invalid value '/dev/sda' for --device-read-bps");
    throwsSandbox(() => parseLimitOptions({ blkioWeightDevice: ['/dev/sda:5'] }, cpus, here), 'invalid weight for device /dev/sda:5: the range is 10 to 1000');
  });
  it('limitArgsFrom: the last of a single option, all of a list, a switch only when on', () => {
    const opts: Record<string, unknown> = { memory: ['1g', '2g'], deviceReadBps: ['/dev/sda:1mb', '/dev/vdb:2mb'], oomKillDisable: false };
    assert.deepEqual(limitArgsFrom((k) => opts[k]), { memory: '2g', deviceReadBps: ['/dev/sda:1mb', '/dev/vdb:2mb'] });
    assert.deepEqual(limitArgsFrom((k) => ({ oomKillDisable: true } as Record<string, unknown>)[k]), { oomKillDisable: 'true' });
  });
  it('update keeps the device limits and replaces one device\'s', () => {
    const current = parseLimitOptions({ deviceReadBps: ['/dev/sda:1mb', '/dev/vdb:1mb'], memory: '64m' }, cpus, here);
    const after = mergeLimitOptions(current, { deviceReadBps: ['/dev/sda:2mb'] }, cpus, here);
    assert.deepEqual(after.deviceReadBps, [{ path: '/dev/sda', major: 8, minor: 0, value: 2 * 1024 * 1024 }]);
    assert.equal(after.memory, 64 * 1024 * 1024);
  });
  it('--oom-score-adj and --cgroup-parent', () => {
    assert.deepEqual(parseCgroupOptions('ci', '500'), { cgroupParent: 'ci', oomScoreAdj: 500 });
    throwsSandbox(() => parseCgroupOptions(undefined, '1001'), '--oom-score-adj 1001 is out of range');
    throwsSandbox(() => parseCgroupOptions(undefined, '-1001'), '--oom-score-adj -1001 is out of range');
    throwsSandbox(() => parseCgroupOptions(' ', undefined), '--cgroup-parent needs a cgroup path');
  });
});

const v1: CgroupHost = { fsRoot: '/sys/fs/cgroup', layout: 'hybrid', uid: 1001, v1: { dirs: { memory: '/m', pids: '/p', cpuset: '/s', blkio: '/b' }, memsw: false } };
const v2: CgroupHost = { fsRoot: '/sys/fs/cgroup', layout: 'unified', uid: 1001, v2: { dir: '/sys/fs/cgroup/user.slice/user-1001.slice/user@1001.service', controllers: ['memory', 'pids', 'cpu', 'cpuset', 'io'], inside: true, swap: true, ioWeight: 'io.weight' } };

describe('opts16: mechanisms and cgroup files', () => {
  const limits = parseLimitOptions({ memorySwappiness: '10', oomKillDisable: 'true', cpusetMems: '0', blkioWeight: '500', deviceReadBps: ['/dev/sda:1mb'], deviceWriteIops: ['/dev/sda:100'] }, cpus, here)!;
  it('v1: blkio and memory files; a weight needs a weight file', () => {
    assert.deepEqual(limitMechanisms(limits, v1, true), {
      memorySwappiness: 'cgroup-v1', oomKillDisable: 'cgroup-v1', cpusetMems: 'cgroup-v1', blkioWeight: 'none', deviceReadBps: 'cgroup-v1', deviceWriteIops: 'cgroup-v1',
    });
    assert.equal(limitMechanisms(limits, { ...v1, v1: { ...v1.v1!, blkioWeight: 'blkio.bfq.weight' } }, true).blkioWeight, 'cgroup-v1');
    const w = limitWrites(limits, 1, { swap: false, weight: 'blkio.bfq.weight' }).map((x) => `${x.controller} ${x.file} ${x.value}`);
    assert.deepEqual(w, [
      'memory memory.swappiness 10', 'memory memory.oom_control 1', 'cpuset cpuset.mems 0', 'blkio blkio.bfq.weight 500',
      'blkio blkio.throttle.read_bps_device 8:0 1048576', 'blkio blkio.throttle.write_iops_device 8:0 100',
    ]);
  });
  it('v2: io.max, io.weight converted; swappiness and the OOM switch ignored, as Podman', () => {
    const m = limitMechanisms(limits, v2, true);
    assert.equal(m.memorySwappiness, 'ignored');
    assert.equal(m.oomKillDisable, 'ignored');
    assert.equal(m.deviceReadBps, 'cgroup-v2');
    assert.equal(m.blkioWeight, 'cgroup-v2');
    assert.equal(limitMechanisms(limits, { ...v2, v2: { ...v2.v2!, controllers: ['memory'] } }, true).deviceReadBps, 'none');
    const w = limitWrites(limits, 2, { swap: true, weight: 'io.weight' }).map((x) => `${x.file} ${x.value}`);
    assert.deepEqual(w, ['cpuset.mems 0', `io.weight default ${blkioToIoWeight(500)}`, 'io.max 8:0 rbps=1048576 wiops=100']);
    assert.equal(blkioToIoWeight(10), 1);
    assert.equal(blkioToIoWeight(1000), 10000);
  });
  it('--cgroup-parent: inside the delegated subtree only', () => {
    assert.equal(resolveCgroupParent('ci/jobs', v1, 1), 'ci/jobs');
    assert.equal(resolveCgroupParent('/sandbox/1001/ci', v1, 1), 'ci');
    assert.equal(resolveCgroupParent('/user.slice/user-1001.slice/user@1001.service/app.slice', v2, 2), 'app.slice');
    assert.equal(resolveCgroupParent('app.slice', v2, 2), 'app.slice');
    throwsSandbox(() => resolveCgroupParent('/foo', v1, 1), '--cgroup-parent /foo is outside the cgroup subtree delegated to you (/sandbox/1001): you may create cgroups only inside it', /--cgroup-parent \/sandbox\/1001\/ci/);
    throwsSandbox(() => resolveCgroupParent('/user.slice', v2, 2), '--cgroup-parent /user.slice is outside the cgroup subtree delegated to you (/user.slice/user-1001.slice/user@1001.service): you may create cgroups only inside it');
    throwsSandbox(() => resolveCgroupParent('../x', v1, 1), '--cgroup-parent ../x: no . or .. components');
  });
});

describe('opts16: --seccomp-policy, --gpus, --userns=private', () => {
  it('the policy, and the image\'s profile', () => {
    assert.deepEqual(parseSeccompPolicy('default'), {});
    assert.deepEqual(parseSeccompPolicy('image'), { seccompPolicy: 'image' });
    throwsSandbox(() => parseSeccompPolicy('bogus'), 'invalid seccomp policy "bogus": valid policies are "default" and "image"');
    const req = { image: 'bb', seccompPolicy: 'image' } as RunRequest;
    throwsSandbox(() => imageSeccompProfile(req, {}, 'bb'), 'no seccomp policy defined by image bb: it has no io.containers.seccomp.profile label');
    const got = imageSeccompProfile(req, { 'io.containers.seccomp.profile': '{"defaultAction":"SCMP_ACT_ALLOW"}' }, 'bb')!;
    assert.equal(got.request.seccomp, IMAGE_SECCOMP);
    assert.equal(got.text, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    assert.equal(imageSeccompProfile({ ...req, seccomp: 'unconfined' }, {}, 'bb'), undefined, 'an explicit profile wins');
    assert.equal(imageSeccompProfile({ image: 'bb' } as RunRequest, {}, 'bb'), undefined);
  });
  it('--gpus values', () => {
    for (const v of ['all', '2', 'device=0', '"device=0,1"']) checkGpusValue(v);
    throwsSandbox(() => checkGpusValue('some'), 'invalid --gpus value: some');
  });
  it('--userns=private is the default', () => {
    assert.deepEqual(parseUsernsMode('private'), { kind: 'default' });
    assert.deepEqual(parseUsernsMode('private', true), { kind: 'maps' });
  });
});

describe('opts16: id modes', () => {
  it('auto:uidmapping=/gidmapping= parse (repeatable) and maps', async () => {
    const { autoMaps, subordinateNameMaps } = await import('../../src/runtime/userns-mode.js');
    assert.deepEqual(parseUsernsMode('auto:size=100,uidmapping=0:1:1,uidmapping=10:20:2,gidmapping=5:6:1'), {
      kind: 'auto', size: 100, uidMapping: [{ inside: 0, outside: 1, count: 1 }, { inside: 10, outside: 20, count: 2 }], gidMapping: [{ inside: 5, outside: 6, count: 1 }],
    });
    throwsSandbox(() => parseUsernsMode('auto:uidmapping=0:1'), '--userns=auto:uidmapping= 0:1: not CONTAINER:HOST:SIZE');
    // Slice 1..10 (size 10); container 3 forced to default-namespace id 100; id 5 of the slice given to another container id.
    assert.deepEqual(autoMaps({ start: 1, size: 10 }, [{ inside: 3, outside: 100, count: 1 }]), [
      { inside: 0, outside: 1, count: 3 }, { inside: 3, outside: 100, count: 1 }, { inside: 4, outside: 4, count: 6 },
    ]);
    assert.deepEqual(autoMaps({ start: 1, size: 4 }, [{ inside: 0, outside: 2, count: 1 }]), [
      { inside: 0, outside: 2, count: 1 }, { inside: 1, outside: 1, count: 1 }, { inside: 2, outside: 3, count: 2 },
    ]);
    assert.deepEqual(autoMaps({ start: 7, size: 3 }), [{ inside: 0, outside: 7, count: 3 }]);
    // --subuidname: the caller's ranges, in default-namespace ids; another's refused.
    const defaults = [{ inside: 0, outside: 1001, count: 1 }, { inside: 1, outside: 100000, count: 65536 }, { inside: 65537, outside: 300000, count: 1000 }];
    assert.deepEqual(subordinateNameMaps('1001', [{ start: 300000, count: 1000 }], defaults, '--subuidname', 'me or 1001'), [{ inside: 0, outside: 65537, count: 1000 }]);
    throwsSandbox(() => subordinateNameMaps('other', [{ start: 200000, count: 10 }], defaults, '--subuidname', 'me or 1001'),
      '--subuidname other: its range 200000-200009 in /etc/subuid is not yours, and newuidmap maps only the ranges /etc/subuid gives you');
    throwsSandbox(() => parseUsernsMode('ns:/proc/1/ns/user'), '--userns=ns: joining an existing user namespace is not supported yet');
  });
});
