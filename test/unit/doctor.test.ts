/**
 * `sandbox doctor`: the pure checks over hand-made HostFacts. Each broken situation must
 * give the right status and the exact command that fixes it.
 */
import { WORKING_NETWORK_MODES } from '../../src/network/driver.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildReport,
  checkCgroup,
  checkImageTools,
  checkCow,
  checkFuse,
  checkHelper,
  checkNetwork,
  checkStore,
  checkSubids,
  checkTun,
  checkUidmap,
  checkUserns,
  checkXdgRuntime,
  freeSubIdRange,
  parseSubIds,
  runChecks,
  type DoctorCheck,
  type HostFacts,
  type NodeFact,
  type ToolFact,
} from '../../src/doctor/checks.js';
import { parseCgroupMounts, parseGetcap, parseToolVersion } from '../../src/doctor/probe.js';
import { checkNetworkMode } from '../../src/doctor/network-checks.js';
import { formatDoctorReport } from '../../src/cli/commands/doctor.js';

const tool = (path: string, over: Partial<ToolFact> = {}): ToolFact => ({ path, uid: 0, mode: 0o755, caps: [], ...over });
const dir = (path: string, over: Partial<NodeFact> = {}): NodeFact => ({
  path, exists: true, type: 'dir', uid: 1000, gid: 1000, mode: 0o700, access: true, search: true, ...over,
});
const dev = (path: string, over: Partial<NodeFact> = {}): NodeFact => ({
  path, exists: true, type: 'char', uid: 0, gid: 0, mode: 0o666, access: true, ...over,
});
const missing = (path: string): NodeFact => ({ path, exists: false });

/** A healthy host for user alice (uid 1000): every check is ok. */
function healthy(): HostFacts {
  return {
    user: { uid: 1000, gid: 1000, name: 'alice' },
    kernelRelease: '6.1.0-18-amd64',
    sysctl: { maxUserNamespaces: 62000, unprivilegedUsernsClone: null, apparmorRestrictUnprivilegedUserns: null },
    apparmorSandboxProfile: false,
    tools: {
      unshare: tool('/usr/bin/unshare'),
      nsenter: tool('/usr/bin/nsenter'),
      mount: tool('/usr/bin/mount'),
      setpriv: tool('/usr/bin/setpriv'),
      prlimit: tool('/usr/bin/prlimit'),
      newuidmap: tool('/usr/bin/newuidmap', { mode: 0o4755 }),
      newgidmap: tool('/usr/bin/newgidmap', { mode: 0o4755 }),
      'fuse-overlayfs': tool('/usr/bin/fuse-overlayfs'),
      slirp4netns: tool('/usr/bin/slirp4netns'),
      pasta: tool('/usr/bin/pasta'),
      cc: tool('/usr/bin/cc'),
      make: tool('/usr/bin/make'),
      tar: tool('/usr/bin/tar'),
      zstd: tool('/usr/bin/zstd'),
    },
    subuid: [{ owner: 'alice', start: 100000, count: 65536 }],
    subgid: [{ owner: 'alice', start: 100000, count: 65536 }],
    devFuse: dev('/dev/fuse'),
    devNetTun: dev('/dev/net/tun'),
    tries: { userns: { ok: true }, overlay: { ok: true }, fuseOverlay: { ok: true }, idmap: { ok: true } },
    xdgRuntimeDir: '/run/user/1000',
    xdgRuntimeNode: dir('/run/user/1000'),
    runUserDir: dir('/run/user/1000'),
    systemd: true,
    cgroup: {
      layout: 'unified',
      v2Mount: '/sys/fs/cgroup',
      ownPath: '/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope',
      delegated: { path: '/user.slice/user-1000.slice/user@1000.service', controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'] },
      limits: {
        host: { fsRoot: '/sys/fs/cgroup', layout: 'unified', uid: 1000, v2: { dir: '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service', controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'], inside: true, swap: true } },
        v1Controllers: [],
      },
    },
    repoRoot: '/opt/sandbox',
    helper: { path: '/opt/sandbox/helpers/build/sandbox-launch', exists: true, type: 'file', uid: 1000, gid: 1000, mode: 0o755, access: true },
    store: {
      data: { role: 'data', path: '/home/alice/.local/share/sandbox', node: dir('/home/alice/.local/share/sandbox'), ancestor: null },
      runtime: { role: 'runtime', path: '/run/user/1000/sandbox', node: missing('/run/user/1000/sandbox'), ancestor: dir('/run/user/1000') },
      runtimeIsFallback: false,
      overridden: false,
    },
    network: { unprivilegedPortStart: 80 },
  };
}

function with_(change: (f: HostFacts) => void): HostFacts {
  const f = healthy();
  change(f);
  return f;
}

function expect(c: DoctorCheck, status: DoctorCheck['status'], fix?: string): void {
  assert.equal(c.status, status, `${c.id}: ${c.detail}`);
  assert.equal(c.fix, fix, `${c.id}: ${c.detail}`);
}

const asRoot = (f: HostFacts) => {
  f.user = { uid: 0, gid: 0, name: 'root' };
};

test('a healthy host: every check ok, run can work', () => {
  const r = buildReport(healthy());
  for (const c of r.checks) assert.equal(c.status, 'ok', `${c.id}: ${c.detail}`);
  assert.equal(r.canRun, true);
  assert.equal(r.problems, 0);
  assert.deepEqual(r.notes, []);
});

test('userns: max_user_namespaces = 0', () => {
  const f = with_((f) => {
    f.sysctl.maxUserNamespaces = 0;
    f.tries.userns = { ok: false, error: 'unshare failed: No space left on device' };
  });
  const c = checkUserns(f);
  expect(c, 'fail', 'sudo sysctl -w user.max_user_namespaces=15000 && echo user.max_user_namespaces=15000 | sudo tee /etc/sysctl.d/60-sandbox-userns.conf');
  assert.match(c.detail, /No space left on device/);
});

test('userns: Debian unprivileged_userns_clone = 0', () => {
  const f = with_((f) => {
    f.sysctl.unprivilegedUsernsClone = 0;
    f.tries.userns = { ok: false, error: 'unshare failed: Operation not permitted' };
  });
  expect(checkUserns(f), 'fail',
    'sudo sysctl -w kernel.unprivileged_userns_clone=1 && echo kernel.unprivileged_userns_clone=1 | sudo tee /etc/sysctl.d/60-sandbox-userns.conf');
  // Not tried at all: the sysctl alone decides.
  f.tries.userns = null;
  assert.equal(checkUserns(f).status, 'fail');
});

test('userns: Ubuntu AppArmor restriction gets a profile for our helpers', () => {
  const f = with_((f) => {
    f.sysctl.apparmorRestrictUnprivilegedUserns = 1;
    f.tries.userns = { ok: false, error: 'write failed /proc/self/uid_map: Operation not permitted' };
  });
  const c = checkUserns(f);
  assert.equal(c.status, 'fail');
  assert.equal(
    c.fix,
    "printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile sandbox /opt/sandbox/helpers/build/sandbox-* flags=(unconfined) {\\n  userns,\\n}\\n'" +
      ' | sudo tee /etc/apparmor.d/sandbox >/dev/null && sudo apparmor_parser -r /etc/apparmor.d/sandbox',
  );
  assert.match(c.detail, /apparmor_restrict_unprivileged_userns=0/); // the system-wide alternative is explained
  assert.match(c.detail, /uid_map: Operation not permitted/);
  // With the profile installed (and so nothing tried), it is fine.
  f.apparmorSandboxProfile = true;
  f.tries.userns = null;
  assert.equal(checkUserns(f).status, 'ok');
});

test('userns: unshare fails for a reason no sysctl explains', () => {
  const c = checkUserns(with_((f) => (f.tries.userns = { ok: false, error: 'unshare failed: Operation not permitted' })));
  expect(c, 'fail', undefined);
  assert.match(c.detail, /Operation not permitted/);
});

test('userns as root: allowed for root, but says when unprivileged users are blocked, without sudo', () => {
  const f = with_((f) => {
    asRoot(f);
    f.sysctl.unprivilegedUsernsClone = 0;
  });
  const c = runChecks(f).find((c) => c.id === 'userns')!;
  expect(c, 'warn', 'sysctl -w kernel.unprivileged_userns_clone=1 && echo kernel.unprivileged_userns_clone=1 | tee /etc/sysctl.d/60-sandbox-userns.conf');
  assert.match(c.detail, /unprivileged users cannot/);
});

test('uidmap: missing tools are a warning (single mapping still works)', () => {
  const c = checkUidmap(with_((f) => delete f.tools.newgidmap));
  expect(c, 'warn', 'sudo apt-get install uidmap');
  assert.match(c.detail, /newgidmap not found/);
});

test('uidmap: neither setuid nor file capabilities', () => {
  const f = with_((f) => {
    f.tools.newuidmap = tool('/usr/bin/newuidmap', { mode: 0o755, caps: [] });
  });
  expect(checkUidmap(f), 'warn', 'sudo chown root:root /usr/bin/newuidmap && sudo chmod u+s /usr/bin/newuidmap');
  // File capabilities are as good as setuid.
  f.tools.newuidmap = tool('/usr/bin/newuidmap', { mode: 0o755, caps: ['cap_setuid'] });
  assert.equal(checkUidmap(f).status, 'ok');
});

test('uidmap: the real newuidmap attempt failed', () => {
  const c = checkUidmap(with_((f) => (f.tries.idmap = { ok: false, error: 'newuidmap: write to uid_map failed: Operation not permitted' })));
  assert.equal(c.status, 'fail');
  assert.match(c.detail, /write to uid_map failed/);
});

test('subids: no entry at all -> warning with a usermod for a free range', () => {
  const c = checkSubids(with_((f) => {
    f.subuid = [];
    f.subgid = null; // file missing
  }));
  expect(c, 'warn', 'sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice');
  assert.match(c.detail, /only your own ids/);
});

test('subids: the suggested range avoids everybody else\'s entries in both files', () => {
  const c = checkSubids(with_((f) => {
    f.subuid = [{ owner: 'bob', start: 100000, count: 65536 }];
    f.subgid = [{ owner: 'bob', start: 100000, count: 65536 }, { owner: 'carol', start: 165536, count: 65536 }];
  }));
  expect(c, 'warn', 'sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 alice');
});

test('subids: matched by numeric uid too; a missing gid range only adds gids', () => {
  const f = with_((f) => {
    f.subuid = [{ owner: '1000', start: 200000, count: 65536 }];
    f.subgid = [{ owner: 'bob', start: 100000, count: 65536 }];
  });
  // Only /etc/subgid gets a range, so only its entries (bob's) are avoided.
  expect(checkSubids(f), 'warn', 'sudo usermod --add-subgids 165536-231071 alice');
  f.subgid = [{ owner: '1000', start: 200000, count: 65536 }];
  assert.equal(checkSubids(f).status, 'ok');
});

test('subids: a small range is a warning; the fix adds a full non-overlapping one', () => {
  const c = checkSubids(with_((f) => {
    f.subuid = [{ owner: 'alice', start: 100000, count: 1000 }];
  }));
  expect(c, 'warn', 'sudo usermod --add-subuids 101000-166535 alice');
  assert.match(c.detail, /fewer than 65536/);
});

test('subids: a uid without a passwd entry gets a line appended to the files', () => {
  const c = checkSubids(with_((f) => {
    f.user.name = null;
    f.subuid = [];
    f.subgid = [];
  }));
  expect(c, 'warn', 'echo 1000:100000:65536 | sudo tee -a /etc/subuid /etc/subgid');
});

test('subids as root: not needed, lists who has ranges', () => {
  const c = checkSubids(with_(asRoot));
  assert.equal(c.status, 'ok');
  assert.match(c.detail, /not needed as root.*alice 100000-165535/);
});

test('freeSubIdRange and parseSubIds', () => {
  assert.deepEqual(freeSubIdRange([null, []]), { start: 100000, end: 165535 });
  assert.deepEqual(freeSubIdRange([[{ owner: 'x', start: 0, count: 100 }, { owner: 'y', start: 300000, count: 10 }]]), { start: 100000, end: 165535 });
  assert.deepEqual(freeSubIdRange([[{ owner: 'x', start: 150000, count: 10 }]]), { start: 150010, end: 215545 });
  assert.deepEqual(parseSubIds('# comment\nalice:100000:65536\n\nbroken line\nbob:x:1\n1001:200000:10\n'), [
    { owner: 'alice', start: 100000, count: 65536 },
    { owner: '1001', start: 200000, count: 10 },
  ]);
});

test('/dev/fuse: 0600 is only a warning while native overlay works, a failure otherwise', () => {
  const f = with_((f) => (f.devFuse = dev('/dev/fuse', { mode: 0o600, access: false })));
  expect(checkFuse(f), 'warn', 'sudo chmod 0666 /dev/fuse');
  f.tries.overlay = { ok: false, error: 'mount: permission denied' };
  expect(checkFuse(f), 'fail', 'sudo chmod 0666 /dev/fuse');
  f.devFuse = missing('/dev/fuse');
  expect(checkFuse(f), 'fail', 'sudo modprobe fuse');
});

test('/dev/fuse as root: usable, but says that unprivileged users cannot open it', () => {
  const c = checkFuse(with_((f) => {
    asRoot(f);
    f.devFuse = dev('/dev/fuse', { mode: 0o600, access: true });
  }));
  assert.equal(c.status, 'ok');
  assert.match(c.detail, /unprivileged users cannot/);
});

test('copy-on-write: native, fuse-overlayfs fallback, neither', () => {
  assert.equal(checkCow(healthy()).status, 'ok');
  const f = with_((f) => (f.tries.overlay = { ok: false, error: 'mount: wrong fs type' }));
  const fb = checkCow(f);
  assert.equal(fb.status, 'ok');
  assert.match(fb.detail, /fuse-overlayfs works/);
  // Neither: fuse-overlayfs not installed.
  delete f.tools['fuse-overlayfs'];
  f.tries.fuseOverlay = null;
  expect(checkCow(f), 'fail', 'sudo apt-get install fuse-overlayfs');
  // Neither: fuse-overlayfs installed but /dev/fuse closed.
  f.tools['fuse-overlayfs'] = tool('/usr/bin/fuse-overlayfs');
  f.tries.fuseOverlay = { ok: false, error: 'fuse: failed to open /dev/fuse: Permission denied' };
  f.devFuse = dev('/dev/fuse', { mode: 0o600, access: false });
  expect(checkCow(f), 'fail', 'sudo chmod 0666 /dev/fuse');
  const r = buildReport(f);
  assert.equal(r.canRun, false);
});

test('networking: neither slirp4netns nor pasta', () => {
  const c = checkNetwork(with_((f) => { delete f.tools.slirp4netns; delete f.tools.pasta; }));
  expect(c, 'warn', 'sudo apt-get install slirp4netns');
  assert.match(c.detail, /--network none/);
  assert.equal(checkNetwork(with_((f) => {
    delete f.tools.slirp4netns;
    f.tools.pasta = tool('/usr/bin/pasta');
  })).status, 'ok');
});

test('each user-mode network: its helper, version and /dev/net/tun, with the exact fix', () => {
  const f = with_((x) => {
    x.tools.pasta = tool('/usr/bin/pasta');
    x.networkVersions = { slirp4netns: '1.2.0', pasta: '(Debian package passt 0.0~git20230309.7c7625d-1)' };
  });
  const slirp = checkNetworkMode(f, 'slirp4netns');
  expect(slirp, 'ok');
  assert.match(slirp.detail, /slirp4netns 1\.2\.0\)$/);
  assert.match(checkNetworkMode(f, 'pasta').detail, /\/usr\/bin\/pasta \(Debian package passt 0\.0~git20230309/);
  expect(checkNetworkMode(with_((x) => { delete x.tools.pasta; }), 'pasta'), 'warn', 'sudo apt-get install passt');
  expect(checkNetworkMode(with_((x) => { delete x.tools.slirp4netns; }), 'slirp4netns'), 'warn', 'sudo apt-get install slirp4netns');
  const old = checkNetworkMode(with_((x) => { x.networkVersions = { slirp4netns: '0.4.3' }; }), 'slirp4netns');
  expect(old, 'warn', 'sudo apt-get install --only-upgrade slirp4netns');
  assert.match(old.detail, /older than 1\.1\.0/);
  const closed = with_((x) => {
    x.tools.pasta = tool('/usr/bin/pasta');
    x.devNetTun = dev('/dev/net/tun', { mode: 0o600, access: false });
  });
  for (const mode of ['slirp4netns', 'pasta'] as const) {
    const c = checkNetworkMode(closed, mode);
    expect(c, 'warn', 'sudo chmod 0666 /dev/net/tun');
    assert.match(c.detail, /^will not work: \/dev\/net\/tun is mode 0600, not read-writable by you/);
  }
  assert.match(checkNetworkMode(closed, 'pasta').detail, /\(version unknown\)/);
});

test('network helper versions as they print them', () => {
  assert.equal(parseToolVersion('slirp4netns', 'slirp4netns version 1.2.0\ncommit: 656041d\nlibslirp: 4.7.0\n'), '1.2.0');
  assert.equal(parseToolVersion('pasta', 'Failed to send 51 bytes to syslog\npasta unknown version\nCopyright Red Hat\n'), null);
  assert.equal(parseToolVersion('pasta', 'pasta 2024_03_20.71dd405\n'), '2024_03_20.71dd405');
  assert.equal(parseToolVersion('pasta', ''), null);
});

test('/dev/net/tun: not accessible or missing', () => {
  expect(checkTun(with_((f) => (f.devNetTun = dev('/dev/net/tun', { mode: 0o600, access: false })))), 'warn', 'sudo chmod 0666 /dev/net/tun');
  expect(checkTun(with_((f) => (f.devNetTun = missing('/dev/net/tun')))), 'warn', 'sudo modprobe tun');
  // Root: it works for root, the warning is about everybody else; root needs no sudo.
  const root = runChecks(with_((f) => {
    asRoot(f);
    f.devNetTun = dev('/dev/net/tun', { mode: 0o600, access: true });
  })).find((c) => c.id === 'tun')!;
  expect(root, 'warn', 'chmod 0666 /dev/net/tun');
});

test('XDG_RUNTIME_DIR: unset, another user\'s, wrong mode', () => {
  // systemd: a lingering user gets /run/user/UID.
  expect(checkXdgRuntime(with_((f) => {
    f.xdgRuntimeDir = null;
    f.runUserDir = missing('/run/user/1000');
  })), 'warn', 'sudo loginctl enable-linger alice && export XDG_RUNTIME_DIR=/run/user/1000');
  // No systemd, nothing there: make it.
  expect(checkXdgRuntime(with_((f) => {
    f.xdgRuntimeDir = null;
    f.systemd = false;
    f.runUserDir = missing('/run/user/1000');
  })), 'warn', 'sudo install -d -m 0700 -o alice -g 1000 /run/user/1000 && export XDG_RUNTIME_DIR=/run/user/1000');
  // Exists already: just point at it.
  expect(checkXdgRuntime(with_((f) => (f.xdgRuntimeDir = null))), 'warn', 'export XDG_RUNTIME_DIR=/run/user/1000');
  // Left over from `su`: root's.
  const su = checkXdgRuntime(with_((f) => {
    f.xdgRuntimeDir = '/run/user/0';
    f.xdgRuntimeNode = dir('/run/user/0', { uid: 0, access: false });
  }));
  expect(su, 'warn', 'export XDG_RUNTIME_DIR=/run/user/1000');
  expect(checkXdgRuntime(with_((f) => {
    f.xdgRuntimeDir = '/tmp/xdg';
    f.xdgRuntimeNode = dir('/tmp/xdg', { mode: 0o755 });
  })), 'warn', 'chmod 0700 /tmp/xdg');
});

test('cgroups: the mechanism of each limit; v1 without delegation, v2 outside the session, v2 without delegation, missing controllers', () => {
  const ok = checkCgroup(with_(() => {}));
  expect(ok, 'ok');
  assert.match(ok.detail, /--memory cgroup-v2, --memory-swap cgroup-v2, --cpus cgroup-v2, --cpu-shares cgroup-v2, --cpuset-cpus cgroup-v2, --pids-limit cgroup-v2/);
  const v1host = { fsRoot: '/sys/fs/cgroup', layout: 'hybrid' as const, uid: 1000 };
  const v1 = checkCgroup(with_((f) => (f.cgroup.limits = { host: v1host, v1Controllers: ['memory', 'pids'] })));
  expect(v1, 'warn', "sudo sh -c 'for c in memory pids; do mkdir -p /sys/fs/cgroup/$c/sandbox/1000; done; for c in memory pids; do chown -R alice /sys/fs/cgroup/$c/sandbox/1000; done'");
  assert.match(v1.detail, /cgroup v1 and no cgroup subtree delegated to you.*--memory, --cpus, --cpu-shares, --cpuset-cpus(, --pids-limit)?, --cpuset-mems, --memory-swappiness, --oom-kill-disable, --device-read-bps are refused/);
  assert.match(v1.detail, /across reboots: printf .*systemctl enable sandbox-cgroup-alice.service/);
  const delegatedV1 = checkCgroup(with_((f) => (f.cgroup.limits = { host: { ...v1host, v1: { dirs: { memory: '/m', pids: '/p', cpu: '/c', cpuset: '/s', blkio: '/b' }, memsw: false } }, v1Controllers: [] })));
  expect(delegatedV1, 'ok');
  assert.match(delegatedV1.detail, /--memory cgroup-v1, --memory-swap none/);
  const outside = checkCgroup(with_((f) => (f.cgroup.limits!.host.v2!.inside = false)));
  expect(outside, 'warn', 'systemd-run --user --scope --quiet sandbox run ...');
  const delegate =
    "sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && sudo systemctl daemon-reload";
  expect(checkCgroup(with_((f) => delete f.cgroup.limits!.host.v2)), 'warn', delegate);
  const partial = checkCgroup(with_((f) => (f.cgroup.limits!.host.v2!.controllers = ['memory', 'pids'])));
  expect(partial, 'warn', delegate);
  assert.match(partial.detail, /--cpus, --cpu-shares, --cpuset-cpus, --cpuset-mems, --device-read-bps are refused/);
});

test('C helper: not built, and no compiler', () => {
  const f = with_((f) => (f.helper = missing('/opt/sandbox/helpers/build/sandbox-launch')));
  expect(checkHelper(f), 'fail', 'cd /opt/sandbox && npm run build');
  delete f.tools.cc;
  expect(checkHelper(f), 'fail', 'sudo apt-get install gcc make libc6-dev && cd /opt/sandbox && npm run build');
});

test('state directories: not creatable, or a /tmp fallback owned by someone else', () => {
  const f = with_((f) => {
    f.store.data = { role: 'data', path: '/srv/x/sandbox', node: missing('/srv/x/sandbox'), ancestor: dir('/srv', { uid: 0, access: false }) };
  });
  const c = checkStore(f);
  expect(c, 'fail', 'sudo install -d -m 0700 -o alice -g 1000 /srv/x/sandbox');
  const tmp = checkStore(with_((f) => {
    f.xdgRuntimeDir = null;
    f.xdgRuntimeNode = null;
    f.store.runtimeIsFallback = true;
    f.store.runtime = { role: 'runtime', path: '/tmp/sandbox-1000', node: dir('/tmp/sandbox-1000', { uid: 1234 }), ancestor: null };
  }));
  expect(tmp, 'fail', 'sudo rm -rf /tmp/sandbox-1000');
  // A link planted there (to a directory of ours, even): never followed.
  const link = checkStore(with_((f) => {
    f.xdgRuntimeDir = null;
    f.xdgRuntimeNode = null;
    f.store.runtimeIsFallback = true;
    f.store.runtime = { role: 'runtime', path: '/tmp/sandbox-1000', node: dir('/home/alice/x'), ancestor: null, link: true };
  }));
  expect(link, 'fail', 'sudo rm /tmp/sandbox-1000');
  assert.match(link.detail, /symbolic link/);
  // A runtime dir under someone else's XDG_RUNTIME_DIR: fix the variable.
  const su = checkStore(with_((f) => {
    f.xdgRuntimeDir = '/run/user/0';
    f.xdgRuntimeNode = dir('/run/user/0', { uid: 0, access: false });
    f.store.runtime = { role: 'runtime', path: '/run/user/0/sandbox', node: missing('/run/user/0/sandbox'), ancestor: dir('/run/user', { uid: 0, mode: 0o755, access: false }) };
  }));
  expect(su, 'fail', 'export XDG_RUNTIME_DIR=/run/user/1000');
  // A data directory others can enter (an older version made it 0755): the store is private.
  const open = checkStore(with_((f) => {
    f.store.data = { role: 'data', path: '/home/alice/.local/share/sandbox', node: dir('/home/alice/.local/share/sandbox', { mode: 0o755 }), ancestor: null };
  }));
  expect(open, 'warn', 'chmod 0700 /home/alice/.local/share/sandbox');
  assert.match(open.detail, /mode 0755, should be 0700/);
});

test('report as root: a note, honest statuses, fixes without sudo', () => {
  const r = buildReport(with_((f) => {
    asRoot(f);
    f.subuid = [];
    f.subgid = [];
    delete f.tools.slirp4netns;
    delete f.tools.pasta;
  }));
  assert.equal(r.isRoot, true);
  assert.match(r.notes[0] ?? '', /meant for unprivileged users/);
  assert.equal(r.checks.find((c) => c.id === 'subids')!.status, 'ok');
  assert.equal(r.checks.find((c) => c.id === 'network')!.fix, 'apt-get install slirp4netns');
});

test('probe parsers: getcap output, cgroup mounts', () => {
  assert.deepEqual(parseGetcap('/usr/bin/newuidmap cap_setuid=ep\n'), ['cap_setuid']);
  assert.deepEqual(parseGetcap('/usr/bin/newuidmap = cap_setuid,cap_setgid+ep\n'), ['cap_setuid', 'cap_setgid']);
  assert.deepEqual(parseGetcap(''), []);
  const unified = '30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';
  assert.deepEqual(parseCgroupMounts(unified), { v2: '/sys/fs/cgroup', v1: false });
  const hybrid =
    '31 30 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n' +
    '32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n';
  assert.deepEqual(parseCgroupMounts(hybrid), { v2: '/sys/fs/cgroup/unified', v1: true });
});

test('the human table: marks, fix lines, verdict', () => {
  const f = with_((f) => {
    f.helper = missing('/opt/sandbox/helpers/build/sandbox-launch');
    delete f.tools.slirp4netns;
    delete f.tools.pasta;
  });
  const out = formatDoctorReport(buildReport(f));
  assert.match(out, /^✓ user namespaces /m);
  assert.match(out, /^! user-mode networking /m);
  assert.match(out, /^✗ C helper /m);
  assert.match(out, /^ +fix: cd \/opt\/sandbox && npm run build$/m);
  assert.match(out, /^ +fix: sudo apt-get install slirp4netns$/m);
  // Without slirp4netns: the networking line and the --network slirp4netns line.
  assert.match(out, /^! --network slirp4netns +will not work: slirp4netns not found$/m);
  assert.match(out, /\nsandbox can run: no: 1 problem \(3 warnings\)\n$/);
  assert.match(formatDoctorReport(buildReport(healthy())), /\nsandbox can run: yes\n$/);
});

test('image tools: a missing zstd or tar is a warning naming what fails, with the install command', () => {
  const f = healthy();
  delete f.tools.zstd;
  const c = checkImageTools(f);
  assert.equal(c.status, 'warn');
  assert.match(c.detail, /zstd.*zstd-compressed layers/);
  assert.equal(c.fix, 'sudo apt-get install zstd');
  assert.equal(checkImageTools(healthy()).status, 'ok');
});

test('host ports below 1024: net.ipv4.ip_unprivileged_port_start, with the sysctl and its sysctl.d file', () => {
  const ports = (start: number | null, root = false) => runChecks(with_((f) => {
    f.network = { unprivilegedPortStart: start };
    if (root) asRoot(f);
  })).find((c) => c.id === 'unprivileged-ports')!;
  expect(ports(0), 'ok');
  expect(ports(80), 'ok');
  assert.match(ports(80).detail, /from 80 up/);
  const fix = 'sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80 && echo net.ipv4.ip_unprivileged_port_start=80 | sudo tee /etc/sysctl.d/60-sandbox-ports.conf';
  expect(ports(1024), 'warn', fix);
  assert.match(ports(1024).detail, /is 1024: `-p` with a host port below 1024 fails/);
  expect(ports(1024, true), 'ok');
  expect(ports(null), 'warn');
});

test('one line per network mode: works, or why not with the fix', () => {
  const modes = (change: (f: HostFacts) => void = () => {}) => runChecks(with_(change)).filter((c) => c.id === 'network-mode');
  const healthyModes = modes();
  assert.deepEqual(healthyModes.map((c) => c.title), WORKING_NETWORK_MODES.map((m) => `--network ${m}`));
  for (const c of healthyModes) expect(c, 'ok');
  assert.match(healthyModes.find((c) => c.title === '--network slirp4netns')!.detail, /the default \(\/usr\/bin\/slirp4netns/);

  const noSlirp = modes((f) => { delete f.tools.slirp4netns; });
  expect(noSlirp.find((c) => c.title === '--network slirp4netns')!, 'warn', 'sudo apt-get install slirp4netns');
  expect(noSlirp.find((c) => c.title === '--network none')!, 'ok');

  const noTun = modes((f) => { f.devNetTun = dev('/dev/net/tun', { mode: 0o600, access: false }); });
  const slirp = noTun.find((c) => c.title === '--network slirp4netns')!;
  expect(slirp, 'warn', 'sudo chmod 0666 /dev/net/tun');
  assert.match(slirp.detail, /\/dev\/net\/tun is mode 0600, not read-writable by you/);
  expect(noTun.find((c) => c.title === '--network host')!, 'ok');
});
