/** The launch plan: command, environment and the helper's ordered argument list. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRequest } from '../../src/types.js';
import { SandboxError } from '../../src/errors.js';
import {
  DEFAULT_PATH,
  buildEnv,
  buildLaunchArgs,
  cpRootArgs,
  execArgs,
  type ExecImageConfig,
  type ExecPlanRequest,
  type ExecSandbox,
  dirsToCreate,
  resolveCommand,
  type ImageRunConfig,
  type LaunchInput,
  type RootSource,
  type SandboxDirs,
} from '../../src/runtime/plan.js';

function request(over: Partial<RunRequest> = {}): RunRequest {
  return {
    image: 'busybox',
    command: [],
    remove: false,
    detach: false,
    interactive: false,
    tty: false,
    env: {},
    volumes: [],
    tmpfs: [],
    readOnly: false,
    network: 'none',
    capAdd: [],
    capDrop: [],
    noNewPrivileges: false,
    labels: {},
    ...over,
  };
}

const image: ImageRunConfig = { env: ['PATH=/image/bin'], cmd: ['sh'] };

// Not annotated, so that it fits SandboxDirs with or without the fuse-mode `merged` field.
const dirs = {
  dir: '/store/c/ID',
  upper: '/store/c/ID/upper',
  work: '/store/c/ID/work',
  merged: '/store/c/ID/merged',
  hostDirs: '/store/c/ID/host',
  hosts: '/store/c/ID/hosts',
  hostname: '/store/c/ID/hostname',
  resolvConf: '/store/c/ID/resolv.conf',
  containerEnv: '/store/c/ID/containerenv',
};
const sandboxDirs: SandboxDirs = dirs;

const layers: RootSource = { kind: 'layers', lowers: ['/store/l/top', '/store/l/base'] };

function launch(over: Partial<LaunchInput> = {}, req: Partial<RunRequest> = {}): LaunchInput {
  return {
    request: request(req),
    image,
    root: layers,
    dirs: sandboxDirs,
    hostname: 'box',
    uidMaps: [{ inside: 0, outside: 1000, count: 1 }],
    gidMaps: [{ inside: 0, outside: 1000, count: 1 }],
    capabilities: [0, 1, 5],
    cleanup: false,
    ...over,
  };
}

/** Index of the first occurrence of `seq` as consecutive elements of `args`, or -1. */
function indexOfSeq(args: string[], seq: string[]): number {
  outer: for (let i = 0; i + seq.length <= args.length; i++) {
    for (let j = 0; j < seq.length; j++) if (args[i + j] !== seq[j]) continue outer;
    return i;
  }
  return -1;
}

function at(args: string[], seq: string[]): number {
  const i = indexOfSeq(args, seq);
  assert.notEqual(i, -1, `expected ${JSON.stringify(seq)} in ${JSON.stringify(args)}`);
  return i;
}

/** The triples `--tmpfs PATH OPTIONS` in order. */
function tmpfsTargets(args: string[]): string[] {
  const out: string[] = [];
  args.forEach((a, i) => { if (a === '--tmpfs') out.push(args[i + 1]!); });
  return out;
}

function beforeSeparator(args: string[]): string[] {
  return args.slice(0, at(args, ['--']));
}

describe('resolveCommand', () => {
  it('is entrypoint + cmd of the image by default', () => {
    assert.deepEqual(resolveCommand({ env: [], entrypoint: ['/init'], cmd: ['--serve'] }, request()), ['/init', '--serve']);
    assert.deepEqual(resolveCommand({ env: [], cmd: ['sh', '-l'] }, request()), ['sh', '-l']);
  });

  it('arguments replace the image Cmd but keep its entrypoint', () => {
    assert.deepEqual(
      resolveCommand({ env: [], entrypoint: ['/init'], cmd: ['--serve'] }, request({ command: ['echo', 'hi'] })),
      ['/init', 'echo', 'hi'],
    );
  });

  it('--entrypoint replaces the image entrypoint and drops the image Cmd', () => {
    assert.deepEqual(
      resolveCommand({ env: [], entrypoint: ['/init'], cmd: ['--serve'] }, request({ entrypoint: ['/bin/ls'] })),
      ['/bin/ls'],
    );
  });

  it('--entrypoint with arguments: both given ones', () => {
    assert.deepEqual(
      resolveCommand({ env: [], entrypoint: ['/init'], cmd: ['--serve'] }, request({ entrypoint: ['/bin/ls'], command: ['-l', '/'] })),
      ['/bin/ls', '-l', '/'],
    );
  });

  it('an empty --entrypoint clears the entrypoint, arguments still run', () => {
    assert.deepEqual(
      resolveCommand({ env: [], entrypoint: ['/init'], cmd: ['--serve'] }, request({ entrypoint: [], command: ['true'] })),
      ['true'],
    );
  });

  it('nothing to run is a SandboxError, exit 125, with a hint naming the image', () => {
    const cases: [ImageRunConfig, RunRequest][] = [
      [{ env: [] }, request({ image: 'scratchy' })],
      [{ env: [], entrypoint: ['/init'], cmd: ['x'] }, request({ image: 'scratchy', entrypoint: [] })],
    ];
    for (const [img, req] of cases) {
      assert.throws(() => resolveCommand(img, req), (err: unknown) => {
        assert.ok(err instanceof SandboxError);
        assert.equal(err.exitCode, 125);
        assert.match(err.message, /no command specified/);
        assert.ok(err.hint?.includes('sandbox run --rm -it scratchy sh'), err.hint);
        return true;
      });
    }
  });
});

describe('buildEnv', () => {
  it('defaults PATH, then container and HOSTNAME, no TERM without a tty', () => {
    assert.deepEqual(buildEnv({ env: [] }, request(), 'box'), [`PATH=${DEFAULT_PATH}`, 'container=podman', 'HOSTNAME=box']);
  });

  it('image env overrides the default PATH and adds its variables; entries without "=" are ignored', () => {
    assert.deepEqual(
      buildEnv({ env: ['PATH=/opt/bin', 'LANG=C.UTF-8', 'NOEQUALS', '=novalue', 'EMPTY=', 'EQ=a=b'] }, request(), 'box'),
      ['PATH=/opt/bin', 'LANG=C.UTF-8', 'EMPTY=', 'EQ=a=b', 'container=podman', 'HOSTNAME=box'],
    );
  });

  it('TERM=xterm only with a tty', () => {
    const env = buildEnv({ env: [] }, request({ tty: true }), 'box');
    assert.ok(env.includes('TERM=xterm'));
    assert.ok(!buildEnv({ env: [] }, request({ interactive: true }), 'box').some((e) => e.startsWith('TERM=')));
  });

  it('-e wins over the image, ours and the default, each variable once', () => {
    const env = buildEnv(
      { env: ['PATH=/opt/bin', 'LANG=C'] },
      request({ tty: true, env: { PATH: '/mine', LANG: 'fr_FR.UTF-8', HOSTNAME: 'me', TERM: 'dumb', container: 'x', NEW: '1' } }),
      'box',
    );
    assert.deepEqual(env, ['PATH=/mine', 'LANG=fr_FR.UTF-8', 'container=x', 'HOSTNAME=me', 'TERM=dumb', 'NEW=1']);
  });
});

describe('buildLaunchArgs', () => {
  it('puts the root first, then /proc /dev /sys, the masks, then /etc files, then the command', () => {
    const args = buildLaunchArgs(launch());
    const root = at(args, ['--root-overlay', '/store/l/top:/store/l/base', dirs.upper, dirs.work]);
    const proc = at(args, ['--proc', '/proc', '--dev', '/dev', '--sys', '/sys']);
    const firstMask = at(args, ['--mask', '/proc/acpi']);
    const lastMask = at(args, ['--mask', '/sys/dev/block']);
    const roSelf = at(args, ['--ro-self', '/proc/sys']);
    const hosts = at(args, ['--bind', dirs.hosts, '/etc/hosts']);
    const hostname = at(args, ['--bind', dirs.hostname, '/etc/hostname']);
    const resolv = at(args, ['--bind', dirs.resolvConf, '/etc/resolv.conf']);
    const sep = at(args, ['--']);
    assert.ok(root < proc && proc < firstMask && firstMask < lastMask && lastMask < roSelf && roSelf < hosts, JSON.stringify(args));
    assert.ok(hosts < hostname && hostname < resolv && resolv < sep);
    assert.deepEqual(args.slice(sep), ['--', 'sh']);
    assert.equal(args.filter((a) => a === '--root-overlay').length, 1);
    assert.deepEqual(tmpfsTargets(args), [], 'no tmpfs for an image root without --read-only');
    assert.ok(!args.includes('--remount-ro'));
  });

  it('the options before the mounts: hostname, and no map arguments without map tools', () => {
    const args = buildLaunchArgs(launch());
    assert.ok(at(args, ['--hostname', 'box']) < at(args, ['--root-overlay']));
    assert.ok(!args.includes('--uid-map') && !args.includes('--uidmap-cmd'));
    assert.ok(!args.includes('--status-fd') && !args.includes('--die-with-parent'));
  });

  it('with map tools: the tools and one --uid-map / --gid-map per mapping', () => {
    const args = buildLaunchArgs(launch({
      mapTools: { newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap' },
      uidMaps: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }],
      gidMaps: [{ inside: 0, outside: 1001, count: 1 }],
      statusFd: 3,
      dieWithParent: 4242,
    }));
    assert.deepEqual(args.slice(0, 14), [
      '--uidmap-cmd', '/usr/bin/newuidmap', '--gidmap-cmd', '/usr/bin/newgidmap',
      '--uid-map', '0 1000 1', '--uid-map', '1 100000 65536', '--gid-map', '0 1001 1',
      '--status-fd', '3', '--die-with-parent', '4242',
    ]);
  });

  it('an id mode: its maps as --inner-uid-map / --inner-gid-map after the default ones; none without', () => {
    const args = buildLaunchArgs(launch({
      mapTools: { newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap' },
      uidMaps: [{ inside: 0, outside: 1000, count: 1 }],
      gidMaps: [{ inside: 0, outside: 1000, count: 1 }],
      innerMaps: { uid: [{ inside: 0, outside: 1, count: 1000 }, { inside: 1000, outside: 0, count: 1 }], gid: [{ inside: 5, outside: 0, count: 1 }] },
    }));
    assert.deepEqual(args.slice(8, 14), ['--inner-uid-map', '0 1 1000', '--inner-uid-map', '1000 0 1', '--inner-gid-map', '5 0 1']);
    assert.ok(!buildLaunchArgs(launch()).includes('--inner-uid-map'));
  });

  it('a tmpfs with U is mounted with the command\'s ids; without U its options stay', () => {
    const tmpfs = [{ target: '/t', options: ['rw', 'uid=7'], chown: true }, { target: '/u', options: ['rw'] }];
    const args = buildLaunchArgs(launch({ userIds: { uid: 1000, gid: 100 } }, { tmpfs }));
    at(args, ['--tmpfs', '/t', 'rw,uid=1000,gid=100']);
    at(args, ['--tmpfs', '/u', 'rw']);
  });

  it('network none and host name their driver; neither passes a network program', () => {
    const none = buildLaunchArgs(launch({}, { network: 'none' }));
    at(none, ['--network', 'none']);
    assert.ok(!none.includes('--network-cmd'));
    const host = buildLaunchArgs(launch({}, { network: 'host' }));
    at(host, ['--network', 'host']);
    assert.ok(!host.includes('--network-cmd'));
    for (const args of [none, host]) assert.equal(args.filter((a) => a === '--network').length, 1);
  });

  it('network slirp4netns passes its path and a log in the sandbox directory', () => {
    const args = buildLaunchArgs(launch({ networkTools: { slirp4netns: '/usr/bin/slirp4netns' } }, { network: 'slirp4netns' }));
    at(args, ['--network', 'slirp4netns', '--network-cmd', '/usr/bin/slirp4netns', '--net-log', '/store/c/ID/network.log']);
  });

  it('network helpers learn where their pid files go and whose they are (--net-helpers DIR OWNER), for every mode', () => {
    const netHelpers = { dir: '/run/user/1000/sandbox/net-helpers', owner: 'ID' };
    for (const network of ['none', 'slirp4netns'] as const) {
      const args = buildLaunchArgs(launch({ networkTools: { slirp4netns: '/usr/bin/slirp4netns' }, netHelpers }, { network }));
      at(args, ['--net-helpers', netHelpers.dir, 'ID']);
    }
    assert.ok(!buildLaunchArgs(launch({})).includes('--net-helpers'));
  });

  it('network slirp4netns without the path is an internal error', () => {
    assert.throws(() => buildLaunchArgs(launch({}, { network: 'slirp4netns' })), /slirp4netns path missing/);
  });

  it('the monitor file always; the name to give back only with --rm', () => {
    const monitorFile = '/store/c/ID/monitor';
    const releaseName = { file: '/store/names/web', id: 'ID' };
    at(buildLaunchArgs(launch({ monitorFile })), ['--monitor-file', monitorFile]);
    at(buildLaunchArgs(launch({ cleanup: true, releaseName })), ['--release-name', '/store/names/web', 'ID']);
    assert.ok(!buildLaunchArgs(launch({ cleanup: false, releaseName })).includes('--release-name'));
    assert.ok(!buildLaunchArgs(launch()).includes('--monitor-file'));
  });

  it('--rm adds --cleanup with the sandbox directory', () => {
    at(buildLaunchArgs(launch({ cleanup: true })), ['--cleanup', '/store/c/ID']);
    assert.ok(!buildLaunchArgs(launch({ cleanup: false })).includes('--cleanup'));
  });

  it('--tty, and --stdin only with both -i and -t', () => {
    const it_ = buildLaunchArgs(launch({}, { tty: true, interactive: true }));
    assert.ok(it_.includes('--tty') && it_.includes('--stdin'));
    const t = buildLaunchArgs(launch({}, { tty: true }));
    assert.ok(t.includes('--tty') && !t.includes('--stdin'));
    const i = buildLaunchArgs(launch({}, { interactive: true }));
    assert.ok(!i.includes('--tty') && !i.includes('--stdin'));
  });

  it('detached -i keeps stdin for attachers (--keep-stdin, never --stdin); the attach socket when given', () => {
    const it_ = buildLaunchArgs(launch({ detached: true, attachSocket: '/store/c/ID/attach' }, { tty: true, interactive: true }));
    assert.ok(it_.includes('--keep-stdin') && !it_.includes('--stdin'));
    at(it_, ['--attach-socket', '/store/c/ID/attach']);
    assert.ok(buildLaunchArgs(launch({ detached: true }, { interactive: true })).includes('--keep-stdin'));
    assert.ok(!buildLaunchArgs(launch({ detached: true }, { tty: true })).includes('--keep-stdin'));
    assert.ok(!buildLaunchArgs(launch()).includes('--attach-socket'));
  });

  it('a foreground -it run gets its detach keys (ctrl-p ctrl-q unless told), --sig-proxy=false --detach-on-signal', () => {
    at(buildLaunchArgs(launch({ dieWithParent: 7 }, { tty: true, interactive: true })), ['--detach-keys', '1011']);
    at(buildLaunchArgs(launch({ dieWithParent: 7 }, { tty: true, interactive: true, detachKeys: [1, 100] })), ['--detach-keys', '0164']);
    assert.ok(!buildLaunchArgs(launch({ dieWithParent: 7 }, { tty: true, interactive: true, detachKeys: [] })).includes('--detach-keys'));
    assert.ok(!buildLaunchArgs(launch({ dieWithParent: 7 }, { tty: true })).includes('--detach-keys'), 'no input, no keys');
    assert.ok(!buildLaunchArgs(launch({ detached: true }, { tty: true, interactive: true })).includes('--detach-keys'), 'detached: the attacher has the keys');
    assert.ok(buildLaunchArgs(launch({ dieWithParent: 7 }, { sigProxy: false })).includes('--detach-on-signal'));
    assert.ok(!buildLaunchArgs(launch({ dieWithParent: 7 })).includes('--detach-on-signal'));
  });

  it('joins the capabilities with commas; --no-new-privs when asked', () => {
    const args = buildLaunchArgs(launch({ capabilities: [0, 1, 5, 21] }, { noNewPrivileges: true }));
    at(args, ['--caps', '0,1,5,21']);
    assert.ok(args.includes('--no-new-privs'));
    at(buildLaunchArgs(launch({ capabilities: [] })), ['--caps', '']);
    assert.ok(!buildLaunchArgs(launch()).includes('--no-new-privs'));
  });

  it('gives the seccomp filter\'s words, before the command; none without a filter', () => {
    const words = ['--seccomp', '/d/seccomp.rules', '/d/seccomp.bpf', '/k/seccomp/x'];
    const args = buildLaunchArgs(launch({ seccomp: words }));
    at(args, words);
    assert.ok(args.indexOf('--seccomp') < args.indexOf('--'));
    assert.ok(!buildLaunchArgs(launch()).includes('--seccomp'));
    const e = execArgs(execSandbox(), execImage, execReq(), 1, words);
    at(e, words);
    assert.ok(e.indexOf('--seccomp') < e.indexOf('--'));
    assert.ok(!execArgs(execSandbox(), execImage, execReq(), 1).includes('--seccomp'));
  });

  it('-u and -w are passed, and beat the image user and working dir', () => {
    const img: ImageRunConfig = { env: [], cmd: ['sh'], user: 'nobody', workingDir: '/srv' };
    const fromImage = buildLaunchArgs(launch({ image: img }));
    at(fromImage, ['--chdir', '/srv', '--create-cwd']);
    at(fromImage, ['--user', 'nobody']);
    const given = buildLaunchArgs(launch({ image: img }, { user: '1000:1000', workdir: '/work' }));
    at(given, ['--chdir', '/work', '--create-cwd']);
    at(given, ['--user', '1000:1000']);
    assert.ok(!given.includes('/srv') && !given.includes('nobody'));
    const neither = buildLaunchArgs(launch());
    assert.ok(!neither.includes('--chdir') && !neither.includes('--user'));
  });

  it('passes the environment as --env pairs, and the command after "--" last', () => {
    const args = buildLaunchArgs(launch({}, { env: { A: '1' }, command: ['echo', '--env', 'x'] }));
    const envs = beforeSeparator(args).flatMap((a, i, all) => (a === '--env' ? [all[i + 1]!] : []));
    assert.deepEqual(envs, ['PATH=/image/bin', 'container=podman', 'HOSTNAME=box', 'A=1']);
    assert.deepEqual(args.slice(at(args, ['--'])), ['--', 'echo', '--env', 'x']);
  });

  it('user mounts come after /etc files, parents before children whatever the given order', () => {
    const args = buildLaunchArgs(launch({}, {
      volumes: [
        { kind: 'bind', source: '/h/deep', target: '/data/a/b', readOnly: false },
        { kind: 'bind', source: '/h/ro', target: '/data/a', readOnly: true },
        { kind: 'bind', source: '/h/other', target: '/other', readOnly: false },
      ],
      tmpfs: [{ target: '/data', options: ['size=64m', 'mode=1777'] }],
    }));
    const resolv = at(args, ['--bind', dirs.resolvConf, '/etc/resolv.conf']);
    const data = at(args, ['--tmpfs', '/data', 'size=64m,mode=1777']);
    const other = at(args, ['--bind', '/h/other', '/other']);
    const a = at(args, ['--ro-bind', '/h/ro', '/data/a']);
    const ab = at(args, ['--bind', '/h/deep', '/data/a/b']);
    assert.ok(resolv < data && resolv < other, 'user mounts after the /etc files');
    assert.ok(data < a && a < ab, `parents first: ${JSON.stringify(args)}`);
    assert.ok(other < a, 'shallower first');
    assert.ok(ab < at(args, ['--']));
  });

  it('user mounts at the same depth keep the given order, volumes before tmpfs', () => {
    const args = buildLaunchArgs(launch({}, {
      volumes: [
        { kind: 'bind', source: '/h/z', target: '/z', readOnly: false },
        { kind: 'bind', source: '/h/a', target: '/a', readOnly: false },
      ],
      tmpfs: [{ target: '/m', options: [] }],
    }));
    assert.ok(at(args, ['--bind', '/h/z', '/z']) < at(args, ['--bind', '/h/a', '/a']));
    assert.ok(at(args, ['--bind', '/h/a', '/a']) < at(args, ['--tmpfs', '/m', '']));
  });

  it('an unresolved named or anonymous volume is an internal SandboxError (volumes become binds at creation)', () => {
    for (const [name, shown] of [['cache', 'cache'], ['', '(anonymous)']] as const) {
      assert.throws(
        () => buildLaunchArgs(launch({}, { volumes: [{ kind: 'volume', name, target: '/var/cache', readOnly: false }] })),
        (err: unknown) => {
          assert.ok(err instanceof SandboxError);
          assert.equal(err.exitCode, 125);
          assert.equal(err.message, `internal: unresolved volume ${shown}:/var/cache`);
          assert.equal(err.hint, 'volumes are resolved to binds when the sandbox is created (resolveVolumeMounts)');
          return true;
        },
      );
    }
  });

  it('--read-only: tmpfs on /tmp /var/tmp /run after the masks, and --remount-ro / after the user mounts', () => {
    const args = buildLaunchArgs(launch({}, {
      readOnly: true,
      volumes: [{ kind: 'bind', source: '/h/d', target: '/data', readOnly: false }],
    }));
    assert.deepEqual(tmpfsTargets(args), ['/tmp', '/var/tmp', '/run']);
    const tmp = at(args, ['--tmpfs', '/tmp', 'mode=1777,nosuid,nodev']);
    at(args, ['--tmpfs', '/var/tmp', 'mode=1777,nosuid,nodev']);
    at(args, ['--tmpfs', '/run', 'mode=1777,nosuid,nodev']);
    const bind = at(args, ['--bind', '/h/d', '/data']);
    const remount = at(args, ['--remount-ro', '/']);
    assert.ok(at(args, ['--ro-self', '/proc/sysrq-trigger']) < tmp);
    assert.ok(tmp < bind && bind < remount && remount < at(args, ['--']));
    assert.equal(args.filter((a) => a === '--remount-ro').length, 1);
  });

  it('--read-only: no automatic tmpfs where the user mounts something', () => {
    const args = buildLaunchArgs(launch({}, {
      readOnly: true,
      volumes: [{ kind: 'bind', source: '/h/run', target: '/run', readOnly: false }],
      tmpfs: [{ target: '/tmp', options: ['size=1m'] }],
    }));
    assert.deepEqual(tmpfsTargets(args), ['/var/tmp', '/tmp']);
    at(args, ['--tmpfs', '/tmp', 'size=1m']);
    at(args, ['--bind', '/h/run', '/run']);
  });

  it('host root: per-directory layers, symlinks, fresh /tmp and /run; proc sys dev tmp run not taken from the host', () => {
    const root: RootSource = {
      kind: 'host',
      entries: [
        { name: 'usr', type: 'dir' },
        { name: 'bin', type: 'symlink', target: 'usr/bin' },
        { name: 'proc', type: 'dir' },
        { name: 'tmp', type: 'dir' },
        { name: 'run', type: 'dir' },
        { name: 'dev', type: 'dir' },
        { name: 'sys', type: 'dir' },
        { name: 'vmlinuz', type: 'other' },
        { name: 'broken', type: 'symlink' },
      ],
    };
    const args = buildLaunchArgs(launch({ root }));
    const usr = at(args, ['--host-dir', '/usr', '/store/c/ID/host/usr/upper', '/store/c/ID/host/usr/work', '/usr']);
    const bin = at(args, ['--symlink', 'usr/bin', '/bin']);
    const proc = at(args, ['--proc', '/proc']);
    assert.ok(usr < bin && bin < proc);
    assert.equal(args.filter((a) => a === '--host-dir').length, 1);
    assert.equal(args.filter((a) => a === '--symlink').length, 1);
    assert.ok(!args.includes('--root-overlay'));
    assert.ok(!args.includes('/vmlinuz') && !args.includes('/broken'));
    at(args, ['--tmpfs', '/tmp', 'mode=1777,nosuid,nodev', '--tmpfs', '/run', 'mode=0755,nosuid,nodev']);
    assert.deepEqual(tmpfsTargets(args), ['/tmp', '/run']);

    const ro = buildLaunchArgs(launch({ root }, { readOnly: true }));
    assert.deepEqual(tmpfsTargets(ro), ['/tmp', '/run', '/var/tmp'], 'host root already has /tmp and /run');
  });
});

describe('dirsToCreate', () => {
  it('layers root: the upper and work dirs', () => {
    assert.deepEqual(dirsToCreate(layers, dirs), [dirs.upper, dirs.work]);
  });

  it('host root: upper and work of each host directory except the fresh ones', () => {
    const root: RootSource = {
      kind: 'host',
      entries: [
        { name: 'etc', type: 'dir' },
        { name: 'lib', type: 'symlink', target: 'usr/lib' },
        { name: 'proc', type: 'dir' },
        { name: 'tmp', type: 'dir' },
        { name: 'usr', type: 'dir' },
        { name: 'swapfile', type: 'other' },
      ],
    };
    assert.deepEqual(dirsToCreate(root, dirs), [
      '/store/c/ID/host/etc/upper', '/store/c/ID/host/etc/work',
      '/store/c/ID/host/usr/upper', '/store/c/ID/host/usr/work',
    ]);
  });
});

describe('cpRootArgs', () => {
  const hostRoot: RootSource = {
    kind: 'host',
    entries: [
      { name: 'bin', type: 'symlink', target: 'usr/bin' },
      { name: 'etc', type: 'dir' },
      { name: 'proc', type: 'dir' },
      { name: 'run', type: 'dir' },
      { name: 'swapfile', type: 'other' },
    ],
  };

  it("mounts a layered root on the sandbox's merged dir: the launch's overlay, base and writable layer", () => {
    const root: RootSource = { ...layers, base: '/store/l' };
    const launchArgs = buildLaunchArgs(launch({ root }));
    const overlay = ['--root-base', '/store/l', '--root-overlay', '/store/l/top:/store/l/base', dirs.upper, dirs.work];
    assert.ok(at(launchArgs, overlay) >= 0);
    assert.deepEqual(cpRootArgs(root, dirs), ['--mountpoint', dirs.merged, ...overlay]);
  });

  it("the host image: the launch's host directories and symlinks (not the fresh ones), in the launch's words", () => {
    assert.deepEqual(cpRootArgs(hostRoot, dirs), [
      '--mountpoint', dirs.merged,
      '--symlink', 'usr/bin', '/bin',
      '--host-dir', '/etc', '/store/c/ID/host/etc/upper', '/store/c/ID/host/etc/work', '/etc',
    ]);
    const launchArgs = buildLaunchArgs(launch({ root: hostRoot }));
    assert.ok(at(launchArgs, ['--symlink', 'usr/bin', '/bin']) >= 0);
    assert.ok(at(launchArgs, ['--host-dir', '/etc', '/store/c/ID/host/etc/upper', '/store/c/ID/host/etc/work', '/etc']) >= 0);
    // What cp mounts is what the launch plan creates the writable layers for.
    assert.deepEqual(dirsToCreate(hostRoot, dirs), ['/store/c/ID/host/etc/upper', '/store/c/ID/host/etc/work']);
  });
});

function execSandbox(over: Partial<RunRequest> = {}): ExecSandbox {
  const request = {
    image: 'bb', command: ['sleep', '600'], remove: false, detach: true, interactive: false, tty: false,
    env: { FROM_RUN: 'r', SHARED: 'run' }, volumes: [], tmpfs: [], readOnly: false, network: 'none',
    capAdd: [], capDrop: [], noNewPrivileges: false, labels: {}, ...over,
  } as RunRequest;
  return { hostname: 'aaaaaaaaaaaa', request };
}

const execReq = (over: Partial<ExecPlanRequest> = {}): ExecPlanRequest => ({ command: ['true'], interactive: false, tty: false, env: {}, ...over });
const execImage: ExecImageConfig = { env: ['PATH=/image/bin', 'SHARED=image'], workingDir: '/srv', user: 'app' };

function envOf(args: string[]): string[] {
  return args.flatMap((a, i) => (args[i - 1] === '--env' ? [a] : []));
}

describe('execArgs', () => {
  it("joins the target; the image's environment, run's -e over it, exec's -e over that", () => {
    const args = execArgs(execSandbox(), execImage, execReq({ env: { SHARED: 'exec', NEW: 'n' } }), 42);
    assert.deepEqual(args.slice(0, 2), ['--target', '42']);
    assert.deepEqual(envOf(args), ['PATH=/image/bin', 'SHARED=exec', 'container=podman', 'HOSTNAME=aaaaaaaaaaaa', 'FROM_RUN=r', 'NEW=n']);
    assert.deepEqual(args.slice(args.indexOf('--')), ['--', 'true']);
  });

  it("takes the working directory and user of exec, else of run, else of the image", () => {
    const fromImage = execArgs(execSandbox(), execImage, execReq(), 1);
    assert.equal(fromImage[fromImage.indexOf('--chdir') + 1], '/srv');
    assert.equal(fromImage[fromImage.indexOf('--user') + 1], 'app');
    const fromRun = execArgs(execSandbox({ workdir: '/run', user: '0' }), execImage, execReq(), 1);
    assert.equal(fromRun[fromRun.indexOf('--chdir') + 1], '/run');
    assert.equal(fromRun[fromRun.indexOf('--user') + 1], '0');
    const fromExec = execArgs(execSandbox({ workdir: '/run' }), execImage, execReq({ workdir: '/x', user: '5:5' }), 1);
    assert.equal(fromExec[fromExec.indexOf('--chdir') + 1], '/x');
    assert.equal(fromExec[fromExec.indexOf('--user') + 1], '5:5');
  });

  it('-t sets TERM and asks for a terminal; -i adds stdin only with -t (without it, stdin is simply passed)', () => {
    const t = execArgs(execSandbox(), execImage, execReq({ tty: true, interactive: true }), 1);
    assert.ok(t.includes('--tty') && t.includes('--stdin'));
    assert.ok(envOf(t).includes('TERM=xterm'));
    const i = execArgs(execSandbox(), execImage, execReq({ interactive: true }), 1);
    assert.ok(!i.includes('--tty') && !i.includes('--stdin'));
  });

  it("keeps the host's network namespace of a --network host sandbox; capabilities and no_new_privs as at run", () => {
    at(execArgs(execSandbox({ network: 'host' }), execImage, execReq(), 1), ['--network', 'host']);
    const other = execArgs(execSandbox(), execImage, execReq(), 1);
    assert.ok(!other.includes('host'));
    at(other, ['--network', 'none']);
    const a = execArgs(execSandbox({ capDrop: ['ALL'], capAdd: ['NET_RAW'], noNewPrivileges: true }), execImage, execReq(), 1);
    assert.equal(a[a.indexOf('--caps') + 1], '13');
    assert.ok(a.includes('--no-new-privs'));
  });
});
