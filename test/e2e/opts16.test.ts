/**
 * Issue 16, part opts16: Podman's limit options that scripts use (--memory-swappiness,
 * --cpuset-mems, --device-read-bps and the other I/O limits, --oom-kill-disable,
 * --oom-score-adj, --cgroup-parent), --seccomp-policy, --gpus and --userns=private, as
 * the unprivileged test user. The cgroup files are read from the host, as the kernel
 * holds them; on this machine (cgroup v1) with the subtree `.ci/run` delegates.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { cgroupDirOf, requireLimits } from './limits-host.js';
import { importImage, newStore, newUserDir, requireRootless, runSandbox, show, testUser } from './harness.js';

async function inspect(root: string, id: string): Promise<Record<string, any>> {
  const r = await runSandbox(['inspect', id], { root });
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout)[0];
}

/** A block device of this host: its path and MAJ:MIN. */
function blockDevice(): { path: string; dev: string } {
  for (const name of readdirSync('/sys/block').sort()) {
    if (name.startsWith('loop') || !existsSync(`/dev/${name}`)) continue;
    return { path: `/dev/${name}`, dev: readFileSync(`/sys/block/${name}/dev`, 'utf8').trim() };
  }
  throw new Error('no block device on this host');
}

const read = (file: string) => readFileSync(file, 'utf8').trim();

test('--memory-swappiness, --oom-kill-disable, --cpuset-mems, --device-*-bps/iops and --cgroup-parent: written to the cgroups, shown by inspect, changed by update', async (t) => {
  const kind = requireLimits(t, 'I/O and memory options');
  if (!kind) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const { path, dev } = blockDevice();
  const r = await runSandbox(['run', '-d', '--name', 'io', '--memory', '64m', '--memory-swappiness', '10', '--oom-kill-disable', '--cpuset-mems', '0',
    '--device-read-bps', `${path}:1mb`, '--device-write-iops', `${path}:100`, '--cgroup-parent', 'opts16-ci', 'bb', 'sleep', '60'], { root });
  assert.equal(r.code, 0, show(r));
  t.after(() => runSandbox(['rm', '-f', 'io'], { root }));
  const info = await inspect(root, 'io');
  const pid = info.State.Pid as number;
  const uid = testUser().uid;
  const hc = info.HostConfig;
  assert.equal(hc.CgroupParent, 'opts16-ci');
  assert.equal(hc.CpusetMems, '0');
  assert.deepEqual(hc.BlkioDeviceReadBps, [{ Path: path, Rate: 1024 * 1024 }]);
  assert.deepEqual(hc.BlkioDeviceWriteIOps, [{ Path: path, Rate: 100 }]);
  if (kind === 'v1') {
    const mem = cgroupDirOf(pid, 'memory');
    assert.ok(mem.endsWith(`/sandbox/${uid}/opts16-ci/${info.Id}`), `the sandbox's cgroup is under --cgroup-parent: ${mem}`);
    assert.equal(read(join(mem, 'memory.swappiness')), '10');
    assert.match(read(join(mem, 'memory.oom_control')), /oom_kill_disable 1/);
    assert.equal(read(join(cgroupDirOf(pid, 'cpuset'), 'cpuset.mems')), '0');
    const blkio = cgroupDirOf(pid, 'blkio');
    assert.equal(read(join(blkio, 'blkio.throttle.read_bps_device')), `${dev} 1048576`);
    assert.equal(read(join(blkio, 'blkio.throttle.write_iops_device')), `${dev} 100`);
    assert.equal(hc.MemorySwappiness, 10);
    assert.equal(hc.OomKillDisable, true);
    assert.deepEqual(hc.LimitsEnforcedBy, {
      Memory: 'cgroup-v1', MemorySwappiness: 'cgroup-v1', OomKillDisable: 'cgroup-v1', CpusetMems: 'cgroup-v1', BlkioDeviceReadBps: 'cgroup-v1', BlkioDeviceWriteIOps: 'cgroup-v1',
    });
    const up = await runSandbox(['update', '--device-read-bps', `${path}:2mb`, '--memory-swappiness', '20', 'io'], { root });
    assert.equal(up.code, 0, show(up));
    assert.equal(read(join(blkio, 'blkio.throttle.read_bps_device')), `${dev} 2097152`);
    assert.equal(read(join(mem, 'memory.swappiness')), '20');
    assert.deepEqual((await inspect(root, 'io')).HostConfig.BlkioDeviceReadBps, [{ Path: path, Rate: 2 * 1024 * 1024 }]);
  } else {
    // cgroup v2: no swappiness and no OOM-killer switch; Podman ignores both there with a warning, and so do we.
    assert.match(r.stderr, /--memory-swappiness, --oom-kill-disable ignored: cgroup v2 has no such setting/);
    const dir = cgroupDirOf(pid, '');
    assert.ok(dir.includes(`/user@${uid}.service/opts16-ci/`), `the sandbox's cgroup is under --cgroup-parent: ${dir}`);
    assert.equal(read(join(dir, 'cpuset.mems')), '0');
    assert.match(read(join(dir, 'io.max')), new RegExp(`^${dev} rbps=1048576 wbps=max riops=max wiops=100$`, 'm'));
    assert.equal(hc.LimitsEnforcedBy.MemorySwappiness, 'ignored');
  }
});

test('--cgroup-parent outside the delegated subtree, and a limit without its controller: refused with the fix', async (t) => {
  const kind = requireLimits(t, '--cgroup-parent refusal');
  if (!kind) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const out = await runSandbox(['run', '--rm', '--cgroup-parent', '/elsewhere', 'bb', 'true'], { root });
  assert.equal(out.code, 125, show(out));
  assert.match(out.stderr, /^sandbox: --cgroup-parent \/elsewhere is outside the cgroup subtree delegated to you \(\/\S+\)/);
  assert.match(out.stderr, /\nhint: e\.g\. --cgroup-parent \/\S+\/ci/);
  // A v1 host whose blkio is not delegated (a cgroup root of its own): --device-read-bps is refused as the other limits are.
  const fake = await newUserDir(t, 'sandbox-e2e-opts16-cgfs-');
  for (const c of ['memory', 'pids', 'blkio']) { mkdirSync(join(fake, c)); writeFileSync(join(fake, c, 'cgroup.procs'), ''); }
  const { path } = blockDevice();
  const io = await runSandbox(['run', '--rm', '--device-read-bps', `${path}:1mb`, 'bb', 'true'], { root, env: { SANDBOX_CGROUP_FS: fake } });
  assert.equal(io.code, 125, show(io));
  assert.match(io.stderr, /^sandbox: --device-read-bps cannot be enforced for you: this host has cgroup v1 and no cgroup subtree delegated to you/);
  assert.match(io.stderr, /\nhint: .*sandbox doctor.*--unenforced-limits/);
  // --blkio-weight needs a weight file (the BFQ scheduler); where there is none, the refusal says so.
  const hasWeight = kind === 'v1' && ['blkio.weight', 'blkio.bfq.weight'].some((f) => existsSync(join('/sys/fs/cgroup/blkio', f)));
  if (kind === 'v1' && !hasWeight) {
    const w = await runSandbox(['run', '--rm', '--blkio-weight', '500', 'bb', 'true'], { root });
    assert.equal(w.code, 125, show(w));
    assert.match(w.stderr, /^sandbox: --blkio-weight cannot be enforced for you: the kernel offers no I\/O weight here .*BFQ/);
  }
});

test('bad values of the new options: one line and a hint, exit 125, as Podman checks them', async (t) => {
  if (!requireRootless(t, 'option checks')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const { path } = blockDevice();
  const cases: [string[], RegExp][] = [
    [['--memory-swappiness', '101'], /valid memory swappiness range is 0-100/],
    [['--blkio-weight', '5'], /invalid --blkio-weight 5: the range is 10 to 1000/],
    [['--device-write-iops', `${path}:x`], /invalid rate for device/],
    [['--device-read-bps', '/dev/nonexistent-opts16:1mb'], /--device-read-bps: cannot use \/dev\/nonexistent-opts16: ENOENT/],
    [['--device-read-bps', '/dev/null:1mb'], /\/dev\/null is not a block device/],
    [['--oom-score-adj', '1001'], /--oom-score-adj 1001 is out of range/],
    [['--seccomp-policy', 'bogus'], /invalid seccomp policy "bogus"/],
    [['--cpuset-mems', '99'], /invalid value '99' for --cpuset-mems/],
  ];
  for (const [args, re] of cases) {
    const r = await runSandbox(['run', '--rm', ...args, 'bb', 'true'], { root });
    assert.equal(r.code, 125, `${args.join(' ')}: ${show(r)}`);
    const [first, hint] = r.stderr.trim().split('\n');
    assert.match(first!, re);
    assert.match(hint!, /^hint: /);
  }
});

test('--oom-score-adj: the command and exec\'d ones get it; lowering it is refused with the reason', async (t) => {
  if (!requireRootless(t, '--oom-score-adj')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const r = await runSandbox(['run', '--rm', '--oom-score-adj', '500', 'bb', 'cat', '/proc/self/oom_score_adj'], { root });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout.trim(), '500');
  const d = await runSandbox(['run', '-d', '--name', 'oom', '--oom-score-adj', '300', 'bb', 'sleep', '60'], { root });
  assert.equal(d.code, 0, show(d));
  t.after(() => runSandbox(['rm', '-f', 'oom'], { root }));
  const e = await runSandbox(['exec', 'oom', 'cat', '/proc/self/oom_score_adj'], { root });
  assert.equal(e.stdout.trim(), '300', show(e));
  assert.equal((await inspect(root, 'oom')).HostConfig.OomScoreAdj, 300);
  const low = await runSandbox(['run', '--rm', '--oom-score-adj', '-500', 'bb', 'true'], { root });
  assert.notEqual(low.code, 0, show(low));
  assert.match(low.stderr, /cannot set --oom-score-adj -500: lowering it needs CAP_SYS_RESOURCE on the host/);
});

test('--seccomp-policy=image: the profile of the image\'s label applies; an image without one is refused', async (t) => {
  if (!requireRootless(t, '--seccomp-policy')) return;
  const root = await newStore(t);
  const tar = await busyboxRootfsTar();
  await importImage(root, tar, 'bb');
  const none = await runSandbox(['run', '--rm', '--seccomp-policy=image', 'bb', 'true'], { root });
  assert.equal(none.code, 125, show(none));
  assert.match(none.stderr, /^sandbox: no seccomp policy defined by image bb/);
  // A profile that refuses mkdir (EPERM), in the image's label.
  const profile = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] });
  const imp = await runSandbox(['import', '--change', `LABEL io.containers.seccomp.profile=${JSON.stringify(profile)}`, tar, 'bbsec'], { root });
  assert.equal(imp.code, 0, show(imp));
  const img = await runSandbox(['run', '--rm', '--seccomp-policy=image', 'bbsec', 'mkdir', '/tmp/x'], { root });
  assert.notEqual(img.code, 0, show(img));
  assert.match(img.stderr, /Operation not permitted/);
  const def = await runSandbox(['run', '--rm', 'bbsec', 'mkdir', '/tmp/x'], { root });
  assert.equal(def.code, 0, `the default policy ignores the label: ${show(def)}`);
});

test('--gpus passes the host\'s GPU device nodes in (a warning where there are none); --userns=private is the default', async (t) => {
  if (!requireRootless(t, '--gpus')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const gpus = existsSync('/dev/dri') || readdirSync('/dev').some((n) => n.startsWith('nvidia'));
  const r = await runSandbox(['run', '--rm', '--gpus', 'all', 'bb', 'ls', '/dev'], { root });
  if (gpus) assert.equal(r.code, 0, show(r));
  else {
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, /--gpus: this host has no GPU device nodes/);
  }
  const bad = await runSandbox(['run', '--rm', '--gpus', 'some', 'bb', 'true'], { root });
  assert.equal(bad.code, 125, show(bad));
  const p = await runSandbox(['run', '--rm', '--userns=private', 'bb', 'sh', '-c', 'id -u; cat /proc/self/uid_map'], { root });
  assert.equal(p.code, 0, show(p));
  assert.equal(p.stdout.trim().split('\n')[0], '0');
  const d = await runSandbox(['run', '--rm', 'bb', 'sh', '-c', 'id -u; cat /proc/self/uid_map'], { root });
  assert.equal(p.stdout, d.stdout, 'the same maps as the default');
});
