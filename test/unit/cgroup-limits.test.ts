/** Resource limits, the pure parts: the options as Podman parses them, the mechanism of each limit on a host, the refusal, the cgroup files, inspect's fields, the plan words. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { throwsSandbox } from './assert-sandbox-error.js';
import { parseLimitOptions, parseMemory } from '../../src/cli/limit-options.js';
import {
  activeLimits, cgroupVersion, limitMechanisms, limitWrites, refusal, sharesToWeight, unenforcedLimits, v1DelegationCommands, type CgroupHost,
} from '../../src/runtime/cgroup/limits.js';
import { ownV2Path, userServicePrefix } from '../../src/runtime/cgroup/detect.js';
import { planCgroup } from '../../src/runtime/cgroup/manage.js';
import { withPidsRlimit } from '../../src/runtime/cgroup/sandbox.js';
import { inspectLimits } from '../../src/cli/inspect-fields.js';
import { cgroupWords, execArgs } from '../../src/runtime/plan.js';
import type { RunRequest } from '../../src/types.js';

const MiB = 1024 * 1024;
const four = () => 4;

describe('limit options', () => {
  it('sizes as Podman (binary units)', () => {
    assert.equal(parseMemory('64m', '--memory'), 64 * MiB);
    assert.equal(parseMemory('1g', '--memory'), 1024 * MiB);
    assert.equal(parseMemory('1.5G', '--memory'), 1536 * MiB);
    assert.equal(parseMemory('512MiB', '--memory'), 512 * MiB);
    assert.equal(parseMemory('100000000', '--memory'), 100000000);
    throwsSandbox(() => parseMemory('lots', '--memory'), "invalid size: 'lots' for --memory", /512m/);
  });
  it('each option, and the checks Podman makes', () => {
    assert.equal(parseLimitOptions({}, () => { throw new Error('not asked'); }), undefined);
    assert.deepEqual(parseLimitOptions({ memory: '64m', memorySwap: '-1', cpus: '0.5', cpuShares: '512', cpusetCpus: '0-1,3', pidsLimit: '64' }, four),
      { memory: 64 * MiB, memorySwap: -1, cpus: 0.5, cpuShares: 512, cpusetCpus: '0-1,3', pidsLimit: 64 });
    assert.deepEqual(parseLimitOptions({ cpuPeriod: '50000', cpuQuota: '25000' }, four), { cpuPeriod: 50000, cpuQuota: 25000 });
    throwsSandbox(() => parseLimitOptions({ memory: '3m' }, four), '--memory 3m: the minimum memory limit is 6MB', /64m/);
    throwsSandbox(() => parseLimitOptions({ memorySwap: '1g' }, four), '--memory-swap needs --memory', /--memory-swap -1/);
    throwsSandbox(() => parseLimitOptions({ memory: '1g', memorySwap: '512m' }, four), '--memory-swap 512m is less than --memory 1g', /at least --memory/);
    throwsSandbox(() => parseLimitOptions({ cpus: '8' }, four), '--cpus 8: the range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available', 'at most --cpus 4');
    throwsSandbox(() => parseLimitOptions({ cpus: 'half' }, four), "invalid value 'half' for --cpus", /0\.5/);
    throwsSandbox(() => parseLimitOptions({ cpus: '1', cpuQuota: '5000' }, four), '--cpus cannot be given with --cpu-period or --cpu-quota', /one form/);
    throwsSandbox(() => parseLimitOptions({ cpuShares: '1' }, four), '--cpu-shares 1 is out of range', /2 to 262144/);
    throwsSandbox(() => parseLimitOptions({ cpusetCpus: '0-7' }, four), "invalid value '0-7' for --cpuset-cpus", /0 to 3/);
    throwsSandbox(() => parseLimitOptions({ cpusetCpus: '2-1' }, four), "invalid value '2-1' for --cpuset-cpus", /0-1,3/);
    throwsSandbox(() => parseLimitOptions({ pidsLimit: 'many' }, four), "invalid value 'many' for --pids-limit: not an integer", /-1 or 0/);
  });
});

const v2: CgroupHost = { fsRoot: '/sys/fs/cgroup', layout: 'unified', uid: 1000, v2: { dir: '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service', controllers: ['memory', 'pids', 'cpu'], inside: true, swap: false } };
const v1: CgroupHost = { fsRoot: '/sys/fs/cgroup', layout: 'hybrid', uid: 1000, v1: { dirs: { memory: '/sys/fs/cgroup/memory/sandbox/1000', pids: '/sys/fs/cgroup/pids/sandbox/1000' }, memsw: true } };
const none: CgroupHost = { fsRoot: '/sys/fs/cgroup', layout: 'hybrid', uid: 1000 };

describe('mechanisms', () => {
  it('v2 when inside the delegated subtree with the controller, else v1, else rlimit for pids, else none', () => {
    const limits = { memory: 64 * MiB, memorySwap: 128 * MiB, cpus: 0.5, cpusetCpus: '0', pidsLimit: 64 };
    assert.deepEqual(limitMechanisms(limits, v2, false), { memory: 'cgroup-v2', memorySwap: 'none', cpus: 'cgroup-v2', cpusetCpus: 'none', pidsLimit: 'cgroup-v2' });
    assert.deepEqual(limitMechanisms(limits, v1, true), { memory: 'cgroup-v1', memorySwap: 'cgroup-v1', cpus: 'none', cpusetCpus: 'none', pidsLimit: 'cgroup-v1' });
    assert.deepEqual(limitMechanisms(limits, none, true), { memory: 'none', memorySwap: 'none', cpus: 'none', cpusetCpus: 'none', pidsLimit: 'rlimit' });
    const outside = { ...v2, v2: { ...v2.v2!, inside: false } };
    assert.equal(limitMechanisms({ memory: 1 }, outside, true).memory, 'none');
    assert.deepEqual(activeLimits({ pidsLimit: -1, memorySwap: -1, cpuQuota: -1 }), [], 'unlimited values ask for nothing');
    assert.equal(cgroupVersion({ pidsLimit: 'rlimit' }), undefined);
    assert.equal(cgroupVersion({ memory: 'cgroup-v1', pidsLimit: 'rlimit' }), 1);
    assert.deepEqual(unenforcedLimits({ memory: 'none', pidsLimit: 'rlimit' }), ['memory']);
  });
  it('the refusal names the options and the fix', () => {
    const e = refusal(['memory', 'cpus'], none);
    assert.equal(e.message, '--memory, --cpus cannot be enforced for you: this host has cgroup v1 and no cgroup subtree delegated to you (/sys/fs/cgroup/CONTROLLER/sandbox/1000)');
    assert.equal(e.hint, 'an administrator delegates one once: `sandbox doctor` prints the commands; or add --unenforced-limits to run without them (with a warning)');
    assert.match(refusal(['memory'], { ...v2, v2: { ...v2.v2!, inside: false } }).hint!, /^run sandbox inside it: systemd-run --user --scope/);
  });
  it('--pids-limit by RLIMIT_NPROC: among the ulimits, the lower of it and a --ulimit nproc', () => {
    const base = { limits: { pidsLimit: 64 } } as RunRequest;
    const rl = { limitMechanisms: { pidsLimit: 'rlimit' as const } };
    assert.deepEqual(withPidsRlimit(base, rl).ulimits, [{ name: 'nproc', soft: 64, hard: 64 }]);
    assert.deepEqual(withPidsRlimit({ ...base, ulimits: [{ name: 'nproc', soft: 32, hard: -1 }, { name: 'nofile', soft: 9, hard: 9 }] }, rl).ulimits,
      [{ name: 'nofile', soft: 9, hard: 9 }, { name: 'nproc', soft: 32, hard: 64 }]);
    assert.equal(withPidsRlimit(base, { limitMechanisms: { pidsLimit: 'cgroup-v1' } }), base);
  });
});

describe('cgroup files', () => {
  it('v2: memory.max, swap as the difference, cpu.max, weight, cpuset, pids', () => {
    assert.deepEqual(limitWrites({ memory: 64 * MiB, cpus: 0.5, cpuShares: 1024, cpusetCpus: '0', pidsLimit: 64, memoryReservation: 32 * MiB }, 2, { swap: true }).map((w) => `${w.file}=${w.value}`), [
      `memory.max=${64 * MiB}`, `memory.swap.max=${64 * MiB}`, `memory.low=${32 * MiB}`, 'cpu.max=50000 100000', 'cpu.weight=39', 'cpuset.cpus=0', 'pids.max=64',
    ]);
    assert.deepEqual(limitWrites({ memory: 64 * MiB, memorySwap: -1 }, 2, { swap: true }).map((w) => w.value), [String(64 * MiB), 'max']);
    assert.deepEqual(limitWrites({ memory: 64 * MiB }, 2, { swap: false }).map((w) => w.file), ['memory.max'], 'no swap accounting: no swap file');
    assert.deepEqual(limitWrites({ cpuPeriod: 50000, cpuQuota: 10000 }, 2, { swap: false }).map((w) => w.value), ['10000 50000']);
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(262144), 10000);
  });
  it('v1: limit_in_bytes before memsw, period before quota', () => {
    assert.deepEqual(limitWrites({ memory: 64 * MiB, cpus: 1.5, cpuShares: 512, pidsLimit: 10 }, 1, { swap: true }).map((w) => `${w.controller}:${w.file}=${w.value}`), [
      `memory:memory.limit_in_bytes=${64 * MiB}`, `memory:memory.memsw.limit_in_bytes=${128 * MiB}`,
      'cpu:cpu.cfs_period_us=100000', 'cpu:cpu.cfs_quota_us=150000', 'cpu:cpu.shares=512', 'pids:pids.max=10',
    ]);
  });
  it('where they go, and the plan words (run and exec alike)', () => {
    const id = 'a'.repeat(64);
    assert.deepEqual(planCgroup(v2, 2, id), { version: 2, paths: { unified: `${v2.v2!.dir}/sandbox.slice/${id}` } });
    assert.deepEqual(planCgroup(v1, 1, id), { version: 1, paths: { memory: `/sys/fs/cgroup/memory/sandbox/1000/${id}`, pids: `/sys/fs/cgroup/pids/sandbox/1000/${id}` } });
    assert.deepEqual(cgroupWords(['/a', '/b']), ['--cgroup', '/a', '--cgroup', '/b']);
    const request = { command: [], env: {}, capAdd: [], capDrop: [], network: 'none' } as unknown as RunRequest;
    const words = execArgs({ request, hostname: 'h', cgroup: { paths: { memory: '/m', pids: '/p' } } }, { env: [] }, { command: ['true'], interactive: false, tty: false, env: {} }, 7);
    assert.deepEqual(words.slice(4, 8), ['--cgroup', '/m', '--cgroup', '/p']);
  });
  it('the v1 delegation an administrator runs', () => {
    const c = v1DelegationCommands('/sys/fs/cgroup', 1001, 'bob', ['memory', 'cpuset']);
    assert.equal(c.now, "sudo sh -c 'for c in memory cpuset; do mkdir -p /sys/fs/cgroup/$c/sandbox/1001; done; for d in sandbox sandbox/1001; do cat /sys/fs/cgroup/cpuset/cpuset.cpus > /sys/fs/cgroup/cpuset/$d/cpuset.cpus; cat /sys/fs/cgroup/cpuset/cpuset.mems > /sys/fs/cgroup/cpuset/$d/cpuset.mems; done; for c in memory cpuset; do chown -R bob /sys/fs/cgroup/$c/sandbox/1001; done'");
    assert.match(c.boot, /ExecStart=\/bin\/sh -c "for c in memory cpuset; do mkdir -p \/sys\/fs\/cgroup\/\$\$c\/sandbox\/1001/);
    assert.match(c.boot, /systemctl enable sandbox-cgroup-bob.service$/);
  });
});

describe('detection and inspect', () => {
  it('the user\'s delegated systemd cgroup from /proc/self/cgroup', () => {
    assert.equal(ownV2Path('0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-x.scope\n'), '/user.slice/user-1000.slice/user@1000.service/app.slice/run-x.scope');
    assert.equal(ownV2Path('9:pids:/\n'), undefined);
    assert.equal(userServicePrefix('/user.slice/user-1000.slice/user@1000.service/app.slice/run-x.scope', 1000), '/user.slice/user-1000.slice/user@1000.service');
    assert.equal(userServicePrefix('/user.slice/user-1000.slice/session-3.scope', 1000), undefined);
  });
  it('HostConfig as Podman shows the limits, and what enforces each', () => {
    const request = { limits: { memory: 64 * MiB, cpus: 0.5, pidsLimit: 64, cpusetCpus: '1' } } as RunRequest;
    assert.deepEqual(inspectLimits({ request, limitMechanisms: { memory: 'cgroup-v1', cpus: 'cgroup-v1', pidsLimit: 'rlimit', cpusetCpus: 'cgroup-v1' } }), {
      Memory: 64 * MiB, MemorySwap: 128 * MiB, MemoryReservation: 0, NanoCpus: 500000000, CpuShares: 0, CpuPeriod: 100000, CpuQuota: 50000,
      CpusetCpus: '1', PidsLimit: 64, MemorySwappiness: 0, CpusetMems: '', BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: [], BlkioDeviceWriteBps: [], BlkioDeviceReadIOps: [], BlkioDeviceWriteIOps: [], OomKillDisable: false, OomScoreAdj: 0, CgroupParent: '',
      LimitsEnforcedBy: { Memory: 'cgroup-v1', NanoCpus: 'cgroup-v1', PidsLimit: 'rlimit', CpusetCpus: 'cgroup-v1' },
    });
    assert.deepEqual(inspectLimits({ request: {} as RunRequest }), {
      Memory: 0, MemorySwap: 0, MemoryReservation: 0, NanoCpus: 0, CpuShares: 0, CpuPeriod: 0, CpuQuota: 0, CpusetCpus: '', PidsLimit: 0, MemorySwappiness: 0, CpusetMems: '', BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: [], BlkioDeviceWriteBps: [], BlkioDeviceReadIOps: [], BlkioDeviceWriteIOps: [], OomKillDisable: false, OomScoreAdj: 0, CgroupParent: '', LimitsEnforcedBy: {},
    });
  });
});
