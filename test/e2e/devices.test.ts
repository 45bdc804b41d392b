/**
 * Issue 16, item 4, as the unprivileged test user: host devices (`--device`, none
 * without it), Podman's masked and read-only paths (`--security-opt mask=/unmask=`),
 * `--privileged`, and the capability sets of /proc/self/status for run and exec.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { lines, newStore, requireRoot, requireRootless, runSandbox, show, testUser } from './harness.js';

const NET = ['--network', 'none'];

/** Podman 4.3's masked and read-only paths (read from the OCI spec it writes, `podman create` here). */
const PODMAN_MASKED = ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/fs/selinux', '/sys/dev/block'];
const PODMAN_READONLY = ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The mount points of the sandbox's /proc/self/mountinfo, with their per-mount options. */
function mountsOf(mountinfo: string): Map<string, string> {
  return new Map(lines(mountinfo).map((l) => l.split(' ')).map((f) => [f[4] ?? '', f[5] ?? '']));
}

/** Prints `PATH BYTES` (a file) or `PATH ENTRIES` (a directory) for each path that exists, then the mountinfo. */
const READ_EACH = (paths: string[]) => `for p in ${paths.join(' ')}; do
  if [ -d "$p" ]; then echo "$p $(ls -A "$p" | wc -l)"; elif [ -e "$p" ]; then echo "$p $(cat "$p" 2>/dev/null | wc -c)"; fi
done; echo ---; cat /proc/self/mountinfo`;

test('a sandbox without --device has only the standard nodes in /dev', async (t) => {
  if (!requireRootless(t, 'default /dev')) return;
  const root = await newStore(t);
  const r = await runSandbox(['run', '--rm', ...NET, 'host', 'sh', '-c',
    // find's -type trusts readdir's type, which is the mount point's (a file), not the node bound there.
    'for f in $(find /dev -path /dev/pts -prune -o -print); do if [ ! -L "$f" ] && { [ -c "$f" ] || [ -b "$f" ]; }; then echo "$f"; fi; done | sort; echo ---; ls -A /dev | sort'], { root });
  assert.equal(r.code, 0, show(r));
  const [nodes = '', entries = ''] = r.stdout.split('---\n');
  assert.deepEqual(lines(nodes), ['/dev/full', '/dev/null', '/dev/random', '/dev/tty', '/dev/urandom', '/dev/zero'], show(r));
  assert.deepEqual(lines(entries).filter((e) => !['core', 'fd', 'mqueue', 'ptmx', 'pts', 'shm', 'stderr', 'stdin', 'stdout'].includes(e)),
    ['full', 'null', 'random', 'tty', 'urandom', 'zero'], show(r));
});

/** A character device under /dev the test user cannot open at all, if the host has one. */
function unopenableDevice(): string | undefined {
  const user = testUser();
  for (const name of readdirSync('/dev')) {
    const p = `/dev/${name}`;
    try {
      const st = statSync(p);
      // As root here, access() would say yes: the mode decides (the test user has no supplementary group).
      if (!st.isCharacterDevice() || st.uid === user.uid || st.gid === user.gid || (st.mode & 0o006) !== 0) continue;
      return p;
    } catch { /* gone meanwhile */ }
  }
  return undefined;
}

test('--device: the host node bound in (at its own path or another, a directory expanded); what cannot be enforced is refused', async (t) => {
  if (!requireRootless(t, '--device')) return;
  const root = await newStore(t);
  const r = await runSandbox(['run', '--rm', ...NET, '--device', '/dev/full:/dev/xfull', '--device', '/dev/net', 'host', 'sh', '-c',
    'stat -c "%n %F %t:%T" /dev/xfull /dev/net/tun; head -c 3 /dev/xfull | od -An -tx1; echo x > /dev/xfull || echo write-refused'], { root });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^\/dev\/xfull character special file 1:7$/m, show(r));
  assert.match(r.stdout, /^\/dev\/net\/tun character special file a:c8$/m, show(r));
  assert.match(r.stdout, /^ 00 00 00$/m, 'reads as /dev/full does');
  assert.match(r.stdout, /write-refused/, '/dev/full refuses writes (ENOSPC): it is the host\'s node');

  // create keeps the expanded list; inspect shows it as Podman does.
  const c = await runSandbox(['create', '--name', 'dev1', '--device', '/dev/net:/dev/n2:rw', 'host', 'true'], { root });
  assert.equal(c.code, 0, show(c));
  const i = await runSandbox(['inspect', '--format', '{{json .HostConfig.Devices}}', 'dev1'], { root });
  assert.deepEqual(JSON.parse(i.stdout), [{ PathOnHost: '/dev/net/tun', PathInContainer: '/dev/n2/tun', CgroupPermissions: 'rw' }], show(i));

  // Read-only cannot be enforced on a node the user may write: refused, with the reason.
  const ro = await runSandbox(['run', '--rm', '--device', '/dev/null:r', 'host', 'true'], { root });
  assert.equal(ro.code, 125, show(ro));
  assert.match(ro.stderr, /^sandbox: cannot pass device \/dev\/null in as r: .*read-only bind does not stop writes/m, show(ro));
  assert.match(ro.stderr, /^hint: /m, show(ro));
  const none = await runSandbox(['run', '--rm', '--device', '/dev/sandbox-e2e-no-such-device', 'host', 'true'], { root });
  assert.equal(none.code, 125, show(none));
  const rule = await runSandbox(['run', '--rm', '--device-cgroup-rule', 'c 1:3 rwm', 'host', 'true'], { root });
  assert.equal(rule.code, 125, show(rule));
  assert.match(rule.stderr, /no device cgroup/, show(rule));
  const bad = await runSandbox(['run', '--rm', '--device', '/dev/null:/x:rwz', 'host', 'true'], { root });
  assert.equal(bad.code, 125, show(bad));

  const closed = unopenableDevice();
  if (closed) {
    const d = await runSandbox(['run', '--rm', '--device', closed, 'host', 'true'], { root });
    assert.equal(d.code, 125, show(d));
    const st = statSync(closed);
    assert.match(d.stderr, new RegExp(`^sandbox: cannot pass device ${closed} \\(c[-rwx]{9}, owner ${st.uid}, group ${st.gid}\\) in: you may neither read nor write it$`, 'm'), show(d));
    assert.equal(lines(d.stderr).length, 2, 'one line and a hint');
  }
  await runSandbox(['rm', '-f', 'dev1'], { root });
});

test("masked and read-only paths are Podman's: masked ones read empty, read-only ones refuse writes, unmask= lifts them", async (t) => {
  if (!requireRootless(t, 'masked paths')) return;
  const root = await newStore(t);
  const r = await runSandbox(['run', '--rm', ...NET, 'host', 'sh', '-c', READ_EACH(PODMAN_MASKED)], { root });
  assert.equal(r.code, 0, show(r));
  const [reads = '', mountinfo = ''] = r.stdout.split('---\n');
  const mounts = mountsOf(mountinfo);
  const seen = lines(reads);
  // These exist on every kernel this runs on: a test that finds nothing to check fails.
  for (const must of ['/proc/keys', '/proc/timer_list']) assert.ok(seen.some((l) => l.startsWith(`${must} `)), `${must} exists: ${show(r)}`);
  for (const line of seen) {
    const [path = '', size] = line.split(' ');
    assert.equal(size, '0', `${path} reads empty inside`);
    assert.ok(mounts.has(path), `${path} is hidden by a mount:\n${mountinfo}`);
  }
  for (const path of PODMAN_READONLY) {
    if (mounts.has(path)) assert.match(mounts.get(path)!, /^ro\b/, `${path} is read-only`);
  }
  assert.ok(mounts.has('/proc/sys'), 'the read-only paths are mounts of their own');

  // A write the sandbox could otherwise make (a sysctl of its own network namespace, with CAP_NET_ADMIN there).
  const write = 'echo "0 0" > /proc/sys/net/ipv4/ping_group_range && echo wrote; cat /proc/sys/net/ipv4/ping_group_range';
  const ro = await runSandbox(['run', '--rm', ...NET, '--cap-add', 'NET_ADMIN', 'host', 'sh', '-c', write], { root });
  assert.doesNotMatch(ro.stdout, /wrote/, show(ro));
  assert.match(ro.stderr, /Read-only file system/, show(ro));
  const rw = await runSandbox(['run', '--rm', ...NET, '--cap-add', 'NET_ADMIN', '--security-opt', 'unmask=/proc/sys', 'host', 'sh', '-c', write], { root });
  assert.match(rw.stdout, /^wrote\n0\s+0$/m, show(rw));

  // unmask=ALL: nothing hidden (the session keyring shows in /proc/keys); mask= hides more.
  const all = await runSandbox(['run', '--rm', ...NET, '--security-opt', 'unmask=ALL', '--security-opt', 'mask=/proc/cpuinfo:/etc/os-release',
    'host', 'sh', '-c', `${READ_EACH(['/proc/keys', '/proc/cpuinfo', '/etc/os-release'])}`], { root });
  assert.equal(all.code, 0, show(all));
  const [allReads = '', allInfo = ''] = all.stdout.split('---\n');
  assert.doesNotMatch(allReads, /^\/proc\/keys 0$/m, show(all));
  assert.match(allReads, /^\/proc\/cpuinfo 0$/m, show(all));
  assert.match(allReads, /^\/etc\/os-release 0$/m, show(all));
  const allMounts = mountsOf(allInfo);
  for (const p of [...PODMAN_MASKED, ...PODMAN_READONLY]) assert.ok(!allMounts.has(p), `${p} is not masked with unmask=ALL`);
});

/** The capability lines of /proc/self/status as a map: CapEff -> 00000000800405fb. */
function caps(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)].map((m) => [m[1], m[2]]));
}

/** Podman 4.3's default set for root (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP), measured here. */
const DEFAULT = 0x800405fbn;
const ALL = (1n << 41n) - 1n; // CAP_CHOWN .. CAP_CHECKPOINT_RESTORE
const hex = (n: bigint) => n.toString(16).padStart(16, '0');
const sets = (eff: bigint, bnd = eff) => ({ CapInh: hex(0n), CapPrm: hex(eff), CapEff: hex(eff), CapBnd: hex(bnd), CapAmb: hex(0n) });

test('capability sets in /proc/self/status follow the flags, for run and exec (as Podman)', async (t) => {
  if (!requireRootless(t, 'capabilities')) return;
  const root = await newStore(t);
  const status = ['host', 'grep', '^Cap', '/proc/self/status'];
  const cases: [string, string[], ReturnType<typeof sets>][] = [
    ['default', [], sets(DEFAULT)],
    ['--cap-add NET_ADMIN', ['--cap-add', 'NET_ADMIN'], sets(DEFAULT | (1n << 12n))],
    ['--cap-drop CHOWN', ['--cap-drop', 'chown'], sets(DEFAULT & ~1n)],
    ['--cap-drop ALL', ['--cap-drop', 'ALL'], sets(0n)],
    ['--cap-drop ALL --cap-add KILL', ['--cap-drop', 'ALL', '--cap-add', 'CAP_KILL'], sets(1n << 5n)],
    ['--privileged', ['--privileged'], sets(ALL)],
    ['--user 1000', ['--user', '1000'], sets(0n, DEFAULT)],
  ];
  for (const [what, flags, want] of cases) {
    const r = await runSandbox(['run', '--rm', ...NET, ...flags, ...status], { root });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(caps(r.stdout), want, `run ${what}`);
  }

  const up = await runSandbox(['run', '-d', '--name', 'caps', ...NET, '--cap-add', 'SYS_PTRACE', '--cap-drop', 'KILL', 'host', 'sleep', '120'], { root });
  assert.equal(up.code, 0, show(up));
  t.after(async () => { await runSandbox(['rm', '-f', 'caps'], { root }); });
  const own = (DEFAULT | (1n << 19n)) & ~(1n << 5n);
  const execCases: [string, string[], ReturnType<typeof sets>][] = [
    ['exec', [], sets(own)],
    ['exec --user 1000', ['--user', '1000'], sets(0n, own)],
    ['exec --privileged', ['--privileged'], sets(ALL)],
  ];
  for (const [what, flags, want] of execCases) {
    const r = await runSandbox(['exec', ...flags, 'caps', 'grep', '^Cap', '/proc/self/status'], { root });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(caps(r.stdout), want, what);
  }
  const i = await runSandbox(['inspect', '--format', '{{.HostConfig.Privileged}} {{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{json .EffectiveCaps}}', 'caps'], { root });
  assert.equal(i.stdout.trim(), 'false ["CAP_SYS_PTRACE"] ["CAP_KILL"] ' +
    '["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_FSETID","CAP_SETGID","CAP_SETUID","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_SYS_PTRACE","CAP_SETFCAP"]', show(i));
});

test('--privileged: every capability, the host devices the user can open, no masked or read-only paths', async (t) => {
  if (!requireRootless(t, '--privileged')) return;
  const root = await newStore(t);
  const user = testUser();
  // What the user can open outside (by owner or "other" bits: the caller's groups stay outside), and what not.
  const usable: string[] = [];
  const closed: string[] = [];
  const own = new Set(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'console']);
  for (const name of readdirSync('/dev')) {
    const st = statSync(`/dev/${name}`, { throwIfNoEntry: false });
    if (!st || !(st.isCharacterDevice() || st.isBlockDevice()) || own.has(name) || name.startsWith('tty')) continue;
    const bits = (st.mode >> (st.uid === user.uid ? 6 : st.gid === user.gid ? 3 : 0)) & 6;
    (bits ? usable : closed).push(`/dev/${name}`);
  }
  const r = await runSandbox(['run', '--rm', ...NET, '--privileged', 'host', 'sh', '-c',
    `grep ^CapEff /proc/self/status; ls -d ${[...usable, ...closed].join(' ')} 2>/dev/null; echo ---; cat /proc/self/mountinfo`], { root });
  assert.equal(r.code, 0, show(r));
  const [head = '', mountinfo = ''] = r.stdout.split('---\n');
  assert.match(head, new RegExp(`^CapEff:\\s+${hex(ALL)}$`, 'm'), show(r));
  const present = new Set(lines(head).slice(1));
  for (const d of usable) assert.ok(present.has(d), `${d} (usable by the user) is passed in: ${show(r)}`);
  for (const d of closed) assert.ok(!present.has(d), `${d} (the user cannot open it) is not passed in`);
  const mounts = mountsOf(mountinfo);
  for (const p of [...PODMAN_MASKED, ...PODMAN_READONLY]) assert.ok(!mounts.has(p), `${p} is neither masked nor read-only`);
  // As Podman's privileged sandbox with a network namespace of its own: a writable sysfs (read-only otherwise).
  assert.match(mounts.get('/sys') ?? '', /^rw\b/, mountinfo);
  const plain = await runSandbox(['run', '--rm', ...NET, 'host', 'cat', '/proc/self/mountinfo'], { root });
  assert.match(mountsOf(plain.stdout).get('/sys') ?? '', /^ro\b/, plain.stdout);

  const c = await runSandbox(['create', '--name', 'priv', '--privileged', 'host', 'true'], { root });
  assert.equal(c.code, 0, show(c));
  const i = await runSandbox(['inspect', '--format', '{{.HostConfig.Privileged}} {{len .EffectiveCaps}}', 'priv'], { root });
  assert.equal(i.stdout, 'true 41\n', show(i));
  await runSandbox(['rm', '-f', 'priv'], { root });
});

test('--device: a node of the caller\'s own group opens inside (root\'s gid is the caller\'s); one gone since the create is named at start', async (t) => {
  if (!requireRootless(t, '--device nodes') || !requireRoot(t, '--device nodes', 'it makes device nodes under /dev')) return;
  const root = await newStore(t);
  const user = testUser();
  const group = `/dev/sandbox-e2e-grp-${process.pid}`;
  const gone = `/dev/sandbox-e2e-gone-${process.pid}`;
  t.after(async () => {
    for (const p of [group, gone]) rmSync(p, { force: true });
    await runSandbox(['rm', '-f', 'devgone'], { root });
  });
  // Both are /dev/null's numbers: a group-only node (0660, root:the user's primary group), and one removed later.
  for (const p of [group, gone]) assert.equal(spawnSync('mknod', ['-m', '0660', p, 'c', '1', '3']).status, 0, `mknod ${p}`);
  chownSync(group, 0, user.gid);
  chmodSync(gone, 0o666);
  const r = await runSandbox(['run', '--rm', ...NET, '--device', `${group}:/dev/g`, 'host', 'sh', '-c', 'echo hi > /dev/g && echo wrote'], { root });
  assert.equal(r.stdout, 'wrote\n', show(r));

  const c = await runSandbox(['create', '--name', 'devgone', ...NET, '--device', gone, 'host', 'true'], { root });
  assert.equal(c.code, 0, show(c));
  rmSync(gone);
  const s = await runSandbox(['start', 'devgone'], { root });
  assert.equal(s.code, 125, show(s));
  assert.match(s.stderr, new RegExp(`^sandbox: device ${gone}, passed in with --device, is no longer on this host\\nhint: `, 'm'), show(s));
});
