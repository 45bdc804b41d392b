/** pause, update, stats: the pure parts (the freezer's files, update's merge and write order, the cgroup stats read). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { freezerFile, isFrozen } from '../../src/runtime/cgroup/freezer.js';
import { mergeLimitOptions } from '../../src/cli/update-options.js';
import { updateWrites } from '../../src/runtime/cgroup/update.js';
import { cgroupStats, statLines } from '../../src/runtime/cgroup/stats.js';
import type { SandboxCgroup } from '../../src/state/sandboxes.js';

const v1: SandboxCgroup = { version: 1, paths: { memory: '/cg/memory/s', pids: '/cg/pids/s', cpu: '/cg/cpu/s', cpuacct: '/cg/cpuacct/s', freezer: '/cg/freezer/s' } };
const v2: SandboxCgroup = { version: 2, paths: { unified: '/cg/u/s' } };
const cpus = () => 4;

describe('the freezer', () => {
  it('is cgroup.freeze on v2, the freezer controller\'s freezer.state on v1, none without', () => {
    assert.deepEqual(freezerFile(v2), { version: 2, file: '/cg/u/s/cgroup.freeze' });
    assert.deepEqual(freezerFile(v1), { version: 1, file: '/cg/freezer/s/freezer.state' });
    assert.equal(freezerFile({ version: 1, paths: { pids: '/cg/pids/s' } }), undefined, 'v1 without the freezer delegated');
    assert.equal(freezerFile(undefined), undefined);
    assert.equal(isFrozen(undefined), false);
    assert.equal(isFrozen({ version: 2, paths: { unified: '/nonexistent/cgroup' } }), false, 'a cgroup that is gone is not paused');
  });
});

describe('update\'s limits', () => {
  it('are the given ones over the current ones, checked as a whole as run checks them', () => {
    assert.deepEqual(mergeLimitOptions({ memory: 64 << 20, pidsLimit: 100 }, { pidsLimit: '20' }, cpus), { memory: 64 << 20, pidsLimit: 20 });
    assert.deepEqual(mergeLimitOptions(undefined, { memory: '128m' }, cpus), { memory: 128 << 20 });
    assert.deepEqual(mergeLimitOptions({ memory: 64 << 20 }, { memorySwap: '256m' }, cpus), { memory: 64 << 20, memorySwap: 256 << 20 }, '--memory-swap with the --memory kept');
    assert.deepEqual(mergeLimitOptions({ cpus: 1 }, { cpuQuota: '50000' }, cpus), { cpuQuota: 50000 }, '--cpu-quota replaces --cpus');
    assert.deepEqual(mergeLimitOptions({ cpuPeriod: 50000, cpuQuota: 20000 }, { cpus: '2' }, cpus), { cpus: 2 }, '--cpus replaces the pair');
    assert.deepEqual(mergeLimitOptions({ pidsLimit: 100 }, { pidsLimit: '-1' }, cpus), { pidsLimit: -1 });
  });
  it('refuse nothing to change, and what run refuses', () => {
    const refused = (fn: () => unknown, why: RegExp) => assert.throws(fn, (e: unknown) => e instanceof SandboxError && why.test(e.message) && !!e.hint);
    refused(() => mergeLimitOptions({ memory: 1 << 30 }, {}, cpus), /update needs at least one option/);
    refused(() => mergeLimitOptions({ memory: 1 << 30 }, { memorySwap: '10m' }, cpus), /--memory-swap 10m is less than --memory/);
    refused(() => mergeLimitOptions(undefined, { cpus: '9' }, cpus), /only 4 CPUs/);
  });
  it('are written in an order the kernel takes; a lifted pids limit writes max', () => {
    const files = (cg: SandboxCgroup, l: Parameters<typeof updateWrites>[1], cur: Record<string, string>) =>
      updateWrites(cg, l, (f) => cur[f]).map((w) => `${w.file}=${w.value}`);
    // v1: raising memory above the memory+swap in force writes memory+swap first.
    assert.deepEqual(files(v1, { memory: 512 << 20 }, { '/cg/memory/s/memory.memsw.limit_in_bytes': String(256 << 20) }),
      [`memory.memsw.limit_in_bytes=${1024 << 20}`, `memory.limit_in_bytes=${512 << 20}`]);
    assert.deepEqual(files(v1, { memory: 64 << 20 }, { '/cg/memory/s/memory.memsw.limit_in_bytes': String(256 << 20) }),
      [`memory.limit_in_bytes=${64 << 20}`, `memory.memsw.limit_in_bytes=${128 << 20}`]);
    assert.deepEqual(files(v1, { memory: 64 << 20 }, {}), [`memory.limit_in_bytes=${64 << 20}`], 'no swap accounting: no memsw file');
    assert.deepEqual(files(v2, { pidsLimit: -1 }, {}), ['pids.max=max']);
    assert.deepEqual(files(v2, { pidsLimit: 30, cpus: 0.5 }, {}), ['cpu.max=50000 100000', 'pids.max=30']);
  });
});

describe('stats from a cgroup', () => {
  const files = (m: Record<string, string>) => (p: string) => m[p];
  it('v1: usage less inactive page cache, the limit unless unlimited, tasks, cpuacct time', () => {
    const s = cgroupStats(v1, files({
      '/cg/memory/s/memory.usage_in_bytes': '10485760\n', '/cg/memory/s/memory.stat': 'cache 1\ntotal_inactive_file 1048576\n',
      '/cg/memory/s/memory.limit_in_bytes': '67108864\n', '/cg/pids/s/pids.current': '7\n', '/cg/cpuacct/s/cpuacct.usage': '123456789\n',
    }));
    assert.deepEqual(s, { source: 'cgroup-v1', memoryBytes: 9437184, memoryLimitBytes: 67108864, pids: 7, cpuNs: 123456789 });
    assert.equal(cgroupStats(v1, files({ '/cg/memory/s/memory.limit_in_bytes': '9223372036854771712' })).memoryLimitBytes, undefined);
  });
  it('v2: memory.current less inactive_file, memory.max unless max, pids.current, cpu.stat usage_usec', () => {
    const s = cgroupStats(v2, files({
      '/cg/u/s/memory.current': '2000000', '/cg/u/s/memory.stat': 'anon 5\ninactive_file 1000000\n', '/cg/u/s/memory.max': 'max\n',
      '/cg/u/s/pids.current': '3', '/cg/u/s/cpu.stat': 'usage_usec 2500\nuser_usec 2000\n',
    }));
    assert.deepEqual(s, { source: 'cgroup-v2', memoryBytes: 1000000, pids: 3, cpuNs: 2500000 });
    assert.deepEqual(cgroupStats(v2, files({})), { source: 'cgroup-v2' }, 'files missing: nothing claimed');
    assert.equal(statLines('a 1\nb x\n c 3').get('c'), 3);
  });
});
