import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_NETWORK, parseRunArgv } from '../../src/cli/run-option-table.js';
import { parseEntrypoint, parseTmpfs, toRunRequest, type RunOptionsContext } from '../../src/cli/run-request.js';
import { LINUX_CAPABILITIES, defaultCapabilities, effectiveCapabilities, normalizeCapability } from '../../src/runtime/capabilities.js';
import { throwsSandbox } from './assert-sandbox-error.js';
import { parseEnvFile } from '../../src/cli/env-file.js';
import { SandboxError } from '../../src/errors.js';

const files: Record<string, string> = {};
const readCalls: string[] = [];
function ctx(over: Partial<RunOptionsContext> = {}): RunOptionsContext {
  return {
    env: { HOME: '/home/u', FOO: 'from-host', EMPTY: '' },
    cwd: '/w',
    readFile: (p) => {
      readCalls.push(p);
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return text;
    },
    ...over,
  };
}
const req = (argv: string[], over: Partial<RunOptionsContext> = {}) => toRunRequest(parseRunArgv(argv, over.verb), ctx(over));

describe('toRunRequest', () => {
  it('the defaults', () => {
    assert.deepEqual(req(['bb']), {
      image: 'bb',
      command: [],
      remove: false,
      detach: false,
      interactive: false,
      tty: false,
      env: {},
      volumes: [],
      tmpfs: [],
      readOnly: false,
      network: 'slirp4netns',
      capAdd: [],
      capDrop: [],
      noNewPrivileges: false,
      labels: {},
    });
    assert.equal(DEFAULT_NETWORK, 'slirp4netns');
  });

  it('a full command line', () => {
    assert.deepEqual(
      req(['--rm', '-itd', '--name', 'web-1', '-w', '/src/', '-u', '1000:1000', '--hostname', 'box',
        '--read-only', '--network', 'none', 'bb', 'sh', '-c', 'ls -l']),
      {
        image: 'bb', command: ['sh', '-c', 'ls -l'], remove: true, detach: true, interactive: true, tty: true,
        env: {}, volumes: [], tmpfs: [], readOnly: true, network: 'none', capAdd: [], capDrop: [],
        noNewPrivileges: false, labels: {}, name: 'web-1', workdir: '/src', user: '1000:1000', hostname: 'box',
      },
    );
  });

  it('missing image', () => {
    throwsSandbox(() => req([]), '"run" requires an image', 'sandbox run [OPTIONS] IMAGE [COMMAND...]');
    throwsSandbox(() => req(['--rm', '-it']), '"run" requires an image');
    throwsSandbox(() => req([], { verb: 'create' }), '"create" requires an image', 'sandbox create [OPTIONS] IMAGE [COMMAND...]');
  });

  it('takes yargs-shaped input: a repeated single option is the last one', () => {
    const r = toRunRequest({ name: ['a', 'b'] as unknown as string, image: 'bb', command: [] }, ctx());
    assert.equal(r.name, 'b');
  });

  describe('environment', () => {
    it('-e K=V, -e K from the caller, unset K left out, K= empty', () => {
      assert.deepEqual(req(['-e', 'A=1', '-e', 'FOO', '-e', 'NOPE', '-e', 'B=', '-e', 'EMPTY', '-e', 'C=x=y', 'bb']).env, {
        A: '1', FOO: 'from-host', B: '', EMPTY: '', C: 'x=y',
      });
    });

    it('env files first, then -e; later wins; paths relative to cwd', () => {
      files['/w/a.env'] = 'A=file\nB=file\n';
      files['/etc/b.env'] = 'B=second\n';
      readCalls.length = 0;
      const r = req(['--env-file', 'a.env', '-e', 'A=flag', '--env-file', '/etc/b.env', 'bb']);
      assert.deepEqual(r.env, { A: 'flag', B: 'second' });
      assert.deepEqual(Object.keys(r.env), ['A', 'B']);
      assert.deepEqual(readCalls, ['/w/a.env', '/etc/b.env']);
    });

    it('env file syntax: comments, blanks, BOM, CRLF, no quote processing', () => {
      const text = '\uFEFF# comment\nA="quoted"\r\n\n  # indented comment\nFOO\nNOPE\nC=\n\tD=tab\nE=x  \nF=\'single\' # not a comment\n';
      assert.deepEqual(parseEnvFile(text, { FOO: 'host' }, 'x.env'), [
        ['A', '"quoted"'],
        ['FOO', 'host'],
        ['C', ''],
        ['D', 'tab'],
        ['E', 'x  '],
        ['F', "'single' # not a comment"],
      ]);
    });

    it('env file errors name the file and line', () => {
      throwsSandbox(() => parseEnvFile('A=1\nB C=2\n', {}, 'x.env'), 'invalid variable name "B C" in env file x.env line 2',
        'a variable is NAME=VALUE or NAME (copied from your environment); NAME may not be empty or contain "=", whitespace or NUL');
      throwsSandbox(() => parseEnvFile('=v\n', {}, 'x.env'), 'missing variable name in env file x.env line 1');
      throwsSandbox(() => parseEnvFile('K \n', {}, 'x.env'), 'invalid variable name "K " in env file x.env line 1');
      throwsSandbox(() => parseEnvFile('# c\n\n  B = spaced\n', {}, 'x.env'), 'invalid variable name "B " in env file x.env line 3');
    });

    it('-e errors', () => {
      throwsSandbox(() => req(['-e', '=x', 'bb']), 'missing variable name in -e "=x"');
      throwsSandbox(() => req(['-e', 'A B=1', 'bb']), 'invalid variable name "A B" in -e "A B=1"');
      throwsSandbox(() => req(['-e', 'A\0B', 'bb']), 'invalid variable name "A\\u0000B" in -e "A\\u0000B"');
      throwsSandbox(() => req(['-e', 'A=x\0y', 'bb']), 'the value of A in -e "A=x\\u0000y" contains a NUL byte');
    });

    it('an unreadable env file', () => {
      throwsSandbox(() => req(['--env-file', 'missing.env', 'bb']), 'cannot read env file missing.env (ENOENT)',
        'check that /w/missing.env exists and is readable');
    });
  });

  describe('volumes', () => {
    it('binds, named and anonymous volumes', () => {
      assert.deepEqual(
        req(['-v', '/data:/data', '-v', './src:/src:ro', '-v', '..:/up:rw', '-v', '.:/cur:z', '-v', '~/x:/x:ro,Z',
          '-v', 'cache:/cache', '-v', '/anon/', '-v', '/a//b/:/b/c/../d/', 'bb']).volumes,
        [
          { kind: 'bind', source: '/data', target: '/data', readOnly: false },
          { kind: 'bind', source: '/w/src', target: '/src', readOnly: true },
          { kind: 'bind', source: '/', target: '/up', readOnly: false },
          { kind: 'bind', source: '/w', target: '/cur', readOnly: false },
          { kind: 'bind', source: '/home/u/x', target: '/x', readOnly: true },
          { kind: 'volume', name: 'cache', target: '/cache', readOnly: false },
          { kind: 'volume', name: '', target: '/anon', readOnly: false },
          { kind: 'bind', source: '/a/b', target: '/b/d', readOnly: false },
        ],
      );
      assert.deepEqual(req(['-v', '~:/h', 'bb']).volumes, [{ kind: 'bind', source: '/home/u', target: '/h', readOnly: false }]);
      assert.deepEqual(req(['-v', '/d:/d:U,ro', '-v', 'vol:/v:U', 'bb']).volumes.map((v) => v.chown), [true, true], ':U: chowned at start');
    });

    it('errors', () => {
      throwsSandbox(() => req(['-v', '/a:b', 'bb']), 'volume destination "b" must be an absolute path inside the sandbox',
        'use -v /host/dir:/dir[:ro], -v ./relative:/dir, -v NAME:/dir (a named volume) or -v /dir (an anonymous one)');
      throwsSandbox(() => req(['-v', 'rel', 'bb']), 'volume destination "rel" must be an absolute path inside the sandbox');
      throwsSandbox(() => req(['-v', 'foo/bar:/x', 'bb']), 'invalid volume "foo/bar:/x": "foo/bar" is neither a path nor a volume name',
        'a host directory starts with "/", "./", "../" or "~/"; a volume name matches [a-zA-Z0-9][a-zA-Z0-9_.-]*');
      throwsSandbox(() => req(['-v', '~bob/x:/x', 'bb']), 'invalid volume "~bob/x:/x": "~bob/x" is neither a path nor a volume name');
      throwsSandbox(() => req(['-v', '/a:/b:xyz', 'bb']), 'invalid volume "/a:/b:xyz": unknown option "xyz"',
        'volume options are ro, rw, z, Z and U (comma-separated)');
      throwsSandbox(() => req(['-v', '/a:/b:O', 'bb']), 'invalid volume "/a:/b:O": unknown option "O"');
      throwsSandbox(() => req(['-v', '/a:/b:', 'bb']), 'invalid volume "/a:/b:": unknown option ""');
      throwsSandbox(() => req(['-v', '/a:/b:ro,rw', 'bb']), 'invalid volume "/a:/b:ro,rw": more than one of ro and rw');
      throwsSandbox(() => req(['-v', '/a:/b:z,Z', 'bb']), 'invalid volume "/a:/b:z,Z": more than one of z and Z');
      throwsSandbox(() => req(['-v', '/a:/b:ro:x', 'bb']), 'invalid volume "/a:/b:ro:x": too many ":"');
      throwsSandbox(() => req(['-v', '/data:ro', 'bb']), 'invalid volume "/data:ro": an anonymous volume takes no options',
        'give a source: -v NAME:/dir:ro or -v /host/dir:/dir:ro');
      throwsSandbox(() => req(['-v', ':/x', 'bb']), 'invalid volume ":/x": empty source');
      throwsSandbox(() => req(['-v', '/x:', 'bb']), 'invalid volume "/x:": empty destination');
      throwsSandbox(() => req(['-v', '', 'bb']), 'invalid volume "": empty');
      throwsSandbox(() => req(['-v', '/a:/', 'bb']), 'invalid volume "/a:/": cannot mount over "/"');
      throwsSandbox(() => req(['-v', '~/x:/x', 'bb'], { env: {} }), 'cannot expand "~" in -v ~/x:/x: HOME is not set',
        'give an absolute path instead');
    });

    it('duplicate mount points, across -v and --tmpfs', () => {
      throwsSandbox(() => req(['-v', '/a:/x', '-v', 'vol:/x/', 'bb']), 'duplicate mount point: /x',
        'give each -v / --mount / --tmpfs destination once');
      throwsSandbox(() => req(['-v', '/a:/tmp', '--tmpfs', '/tmp', 'bb']), 'duplicate mount point: /tmp');
      throwsSandbox(() => req(['-v', '/a:/m', '--mount', 'type=tmpfs,dst=/m', 'bb']), 'duplicate mount point: /m');
      throwsSandbox(() => req(['--tmpfs', '/t', '--tmpfs', '/t:size=1m', 'bb']), 'duplicate mount point: /t');
    });
  });

  describe('tmpfs', () => {
    it('defaults and options', () => {
      assert.deepEqual(req(['--tmpfs', '/tmp', '--tmpfs', '/run/:size=64m,mode=1777', 'bb']).tmpfs, [
        { target: '/tmp', options: ['rw', 'noexec', 'nosuid', 'nodev', 'tmpcopyup'] },
        { target: '/run', options: ['size=64m', 'mode=1777', 'rw', 'nosuid', 'nodev', 'tmpcopyup'] },
      ]);
      assert.deepEqual(parseTmpfs('/x:ro,exec,suid,dev,uid=1000,gid=0,nr_inodes=10k,size=50%'), {
        target: '/x',
        options: ['ro', 'exec', 'suid', 'dev', 'uid=1000', 'gid=0', 'nr_inodes=10k', 'size=50%', 'tmpcopyup'],
      });
      assert.deepEqual(parseTmpfs('/x:noexec,nodev').options, ['noexec', 'nodev', 'rw', 'nosuid', 'tmpcopyup']);
      assert.deepEqual(parseTmpfs('/x:notmpcopyup').options, ['notmpcopyup', 'rw', 'nosuid', 'nodev']);
    });

    it('errors', () => {
      const hint = 'tmpfs options: size=N[k|m|g|%], mode=OCTAL, uid=N, gid=N, nr_inodes=N, ro|rw, exec|noexec, suid|nosuid, dev|nodev, tmpcopyup|notmpcopyup';
      throwsSandbox(() => parseTmpfs('tmp'), '--tmpfs path "tmp" must be an absolute path inside the sandbox',
        'use --tmpfs /PATH[:OPTIONS], e.g. --tmpfs /run:size=64m');
      throwsSandbox(() => parseTmpfs('/'), 'invalid --tmpfs "/": cannot mount over "/"');
      throwsSandbox(() => parseTmpfs('/x:bogus'), 'invalid --tmpfs "/x:bogus": unknown option "bogus"', hint);
      throwsSandbox(() => parseTmpfs('/x:foo=1'), 'invalid --tmpfs "/x:foo=1": unknown option "foo=1"');
      throwsSandbox(() => parseTmpfs('/x:size=lots'), 'invalid --tmpfs "/x:size=lots": bad value in "size=lots"');
      throwsSandbox(() => parseTmpfs('/x:mode=888'), 'invalid --tmpfs "/x:mode=888": bad value in "mode=888"');
      throwsSandbox(() => parseTmpfs('/x:uid=4294967296'), 'invalid --tmpfs "/x:uid=4294967296": uid 4294967296 is not below 2^32');
      throwsSandbox(() => parseTmpfs('/x:ro,rw'), 'invalid --tmpfs "/x:ro,rw": more than one of rw and ro');
      throwsSandbox(() => parseTmpfs('/x:exec,exec'), 'invalid --tmpfs "/x:exec,exec": more than one of exec and noexec');
      throwsSandbox(() => parseTmpfs('/x:size=1m,size=2m'), 'invalid --tmpfs "/x:size=1m,size=2m": size= given twice');
      throwsSandbox(() => parseTmpfs('/x:'), 'invalid --tmpfs "/x:": empty option');
    });
  });

  describe('user, hostname, name, workdir', () => {
    it('accepted users are kept as given', () => {
      for (const u of ['0', '1000:1000', 'nobody', 'nobody:nogroup', '0:wheel', '4294967295']) {
        assert.equal(req(['-u', u, 'bb']).user, u);
      }
    });

    it('rejected users', () => {
      const hint = 'use -u UID[:GID] or -u NAME[:GROUP], e.g. -u 1000:1000 or -u nobody';
      throwsSandbox(() => req(['-u', ':1', 'bb']), 'invalid user ":1": empty user', hint);
      throwsSandbox(() => req(['-u', '1:', 'bb']), 'invalid user "1:": empty group');
      throwsSandbox(() => req(['-u', '', 'bb']), 'invalid user "": empty user');
      throwsSandbox(() => req(['-u', '1:2:3', 'bb']), 'invalid user "1:2:3": more than one ":"');
      throwsSandbox(() => req(['-u', '4294967296', 'bb']), 'invalid user "4294967296": 4294967296 is not below 2^32');
      throwsSandbox(() => req(['-u', 'a b', 'bb']), 'invalid user "a b": "a b" is not a user or group name');
    });

    it('hostnames', () => {
      assert.equal(req(['--hostname', 'my-host.example', 'bb']).hostname, 'my-host.example');
      assert.equal(req(['--hostname', 'a'.repeat(63), 'bb']).hostname, 'a'.repeat(63));
      const hint = 'at most 64 characters: labels of letters, digits and "-" (not at either end), separated by "."';
      throwsSandbox(() => req(['--hostname', '-bad', 'bb']), 'invalid hostname "-bad"', hint);
      throwsSandbox(() => req(['--hostname', 'a_b', 'bb']), 'invalid hostname "a_b"');
      throwsSandbox(() => req(['--hostname', 'a..b', 'bb']), 'invalid hostname "a..b"');
      throwsSandbox(() => req(['--hostname', '', 'bb']), 'invalid hostname ""');
      throwsSandbox(() => req(['--hostname', 'a'.repeat(64), 'bb']), `invalid hostname "${'a'.repeat(64)}"`);
      const long = `${'a'.repeat(32)}.${'b'.repeat(32)}`;
      throwsSandbox(() => req(['--hostname', long, 'bb']), `hostname "${long.slice(0, 61)}..." is 65 characters long: the limit is 64 (HOST_NAME_MAX)`);
    });

    it('names', () => {
      assert.equal(req(['--name', 'Web_1.x-y', 'bb']).name, 'Web_1.x-y');
      const hint = 'sandbox names start with a letter or digit and continue with letters, digits, "_", "." or "-" ([a-zA-Z0-9][a-zA-Z0-9_.-]*)';
      throwsSandbox(() => req(['--name', '_x', 'bb']), 'invalid sandbox name "_x"', hint);
      throwsSandbox(() => req(['--name', 'a b', 'bb']), 'invalid sandbox name "a b"');
      throwsSandbox(() => req(['--name', '', 'bb']), 'invalid sandbox name ""');
      throwsSandbox(() => req(['--name', 'a/b', 'bb']), 'invalid sandbox name "a/b"');
    });

    it('workdir', () => {
      assert.equal(req(['-w', '/src/../app/', 'bb']).workdir, '/app');
      throwsSandbox(() => req(['-w', 'src', 'bb']), 'working directory "src" must be an absolute path inside the sandbox',
        'use -w /absolute/path (the path inside the sandbox)');
    });
  });

  describe('entrypoint and rootfs', () => {
    it('entrypoint like Docker, JSON arrays like Podman', () => {
      assert.deepEqual(req(['--entrypoint', '', 'bb']).entrypoint, []);
      assert.deepEqual(req(['--entrypoint=/bin/sh -c', 'bb']).entrypoint, ['/bin/sh -c']);
      assert.deepEqual(req(['--entrypoint', '["/bin/sh","-c"]', 'bb']).entrypoint, ['/bin/sh', '-c']);
      assert.deepEqual(parseEntrypoint('[]'), []);
      assert.deepEqual(parseEntrypoint('[not json'), ['[not json']);
      assert.deepEqual(parseEntrypoint('[1,2]'), ['[1,2]']);
      assert.equal(req(['bb']).entrypoint, undefined);
    });

    it('--rootfs: the first word is the command', () => {
      const r = req(['--rootfs', './r', 'ls', '-l']);
      assert.equal(r.rootfs, '/w/r');
      assert.equal(r.image, '');
      assert.deepEqual(r.command, ['ls', '-l']);
      assert.deepEqual(req(['--rootfs', '~/r', '--', 'ls', '--', 'x']).command, ['ls', '--', 'x']);
      assert.deepEqual(req(['--rootfs', '/r', '--entrypoint', '/bin/true']).command, []);
      throwsSandbox(() => req(['--rootfs', '/r']), '"run" with --rootfs requires a command',
        'sandbox run --rootfs DIR COMMAND [ARG...]');
      throwsSandbox(() => req(['--rootfs=', 'ls']), '--rootfs needs a directory');
    });
  });

  describe('network, security, labels', () => {
    it('network', () => {
      assert.equal(req(['--net', 'host', 'bb']).network, 'host');
      assert.equal(req(['--network=pasta', 'bb']).network, 'pasta');
      throwsSandbox(() => req(['--network', 'bridge', 'bb']), '--network bridge (Podman\'s default network, "podman") does not exist here', /sandbox network create NET/);
      const slirp = req(['--network', 'slirp4netns:allow_host_loopback=true', 'bb']);
      assert.deepEqual([slirp.network, slirp.networkOptions], ['slirp4netns', ['allow_host_loopback=true']]);
      assert.deepEqual(req(['--network', 'pasta:-T,8080', 'bb']).networkOptions, ['-T', '8080']);
      assert.equal(req(['bb']).networkOptions, undefined);
      throwsSandbox(() => req(['--network', 'slirp4netns:bogus=1', 'bb']), '--network slirp4netns: unknown option "bogus=1"', /^slirp4netns takes /);
      throwsSandbox(() => req(['--network', 'no/such', 'bb']), 'unknown network mode "no/such"', /network name/);
      assert.deepEqual(req(['--network', 'front', '--network', 'back', '--network-alias', 'www', 'bb']).networks,
        [{ name: 'front', aliases: ['www'] }, { name: 'back', aliases: ['www'] }]);
      assert.equal(req(['--network', 'front', 'bb']).network, 'bridge');
      assert.equal(req(['bb']).networks, undefined);
    });

    it('capabilities are normalised and checked', () => {
      const r = req(['--cap-add', 'net_admin', '--cap-add', 'CAP_NET_ADMIN', '--cap-add', 'sys_ptrace', '--cap-drop', 'all', 'bb']);
      assert.deepEqual(r.capAdd, ['CAP_NET_ADMIN', 'CAP_SYS_PTRACE']);
      assert.deepEqual(r.capDrop, ['ALL']);
      throwsSandbox(() => req(['--cap-add', 'FLY', 'bb']), 'unknown capability "FLY"',
        'capabilities are named like NET_ADMIN or CAP_NET_ADMIN (any case; see capabilities(7)), or ALL');
    });

    it('security options', () => {
      assert.equal(req(['--security-opt', 'no-new-privileges', 'bb']).noNewPrivileges, true);
      assert.equal(req(['--security-opt', 'no-new-privileges=true', 'bb']).noNewPrivileges, true);
      assert.equal(req(['--security-opt', 'no-new-privileges:true', 'bb']).noNewPrivileges, true);
      assert.equal(req(['--security-opt', 'no-new-privileges', '--security-opt', 'no-new-privileges=false', 'bb']).noNewPrivileges, false);
      throwsSandbox(() => req(['--security-opt', 'no-new-privileges=yes', 'bb']), '--security-opt "no-new-privileges=yes": takes true or false');
      throwsSandbox(() => req(['--security-opt', 'bogus', 'bb']), 'unsupported --security-opt "bogus"');
    });

    it('labels', () => {
      assert.deepEqual(req(['-l', 'a=b', '--label', 'flag', '-l', 'x=y=z', '-l', 'a=c', 'bb']).labels, { a: 'c', flag: '', x: 'y=z' });
      throwsSandbox(() => req(['-l', '=x', 'bb']), 'invalid label "=x": empty key', 'use -l KEY=VALUE or -l KEY');
    });
  });

  describe('terminal', () => {
    it('-it without a terminal on stdin warns (as Podman), -t alone and -d do not', () => {
      const warnings: string[] = [];
      const warn = (m: string) => warnings.push(m);
      req(['-it', 'bb'], { stdinIsTTY: false, warn });
      assert.deepEqual(warnings, ['the input is not a terminal: -t gives the command a terminal anyway; use -i without -t to pipe data']);
      req(['-t', 'bb'], { stdinIsTTY: false, warn });
      req(['-itd', 'bb'], { stdinIsTTY: false, warn });
      req(['-it', 'bb'], { stdinIsTTY: true, warn });
      req(['-it', 'bb'], { warn });
      assert.equal(warnings.length, 1);
    });

    it('--rm with -d is allowed', () => {
      const r = req(['--rm', '-d', 'bb']);
      assert.equal(r.remove, true);
      assert.equal(r.detach, true);
    });
  });
});

describe('capabilities', () => {
  it('the table', () => {
    const entries = Object.entries(LINUX_CAPABILITIES);
    assert.equal(entries.length, 41);
    assert.deepEqual(entries.map(([, n]) => n), Array.from({ length: 41 }, (_, i) => i));
    assert.equal(LINUX_CAPABILITIES.CAP_CHOWN, 0);
    assert.equal(LINUX_CAPABILITIES.CAP_NET_BIND_SERVICE, 10);
    assert.equal(LINUX_CAPABILITIES.CAP_SYS_ADMIN, 21);
    assert.equal(LINUX_CAPABILITIES.CAP_SETFCAP, 31);
    assert.equal(LINUX_CAPABILITIES.CAP_CHECKPOINT_RESTORE, 40);
  });

  it('normalizeCapability', () => {
    assert.equal(normalizeCapability('net_admin'), 'CAP_NET_ADMIN');
    assert.equal(normalizeCapability('Cap_Kill'), 'CAP_KILL');
    assert.equal(normalizeCapability('all'), 'ALL');
    throwsSandbox(() => normalizeCapability('CAP_'), 'unknown capability "CAP_"');
  });

  it('the default set', () => {
    assert.deepEqual(defaultCapabilities(), [
      'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
      'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_SETFCAP',
    ]);
  });

  it('effectiveCapabilities follows Docker', () => {
    assert.deepEqual(effectiveCapabilities([], []), [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31]);
    assert.deepEqual(effectiveCapabilities(['net_bind_service'], ['ALL']), [10]);
    assert.deepEqual(effectiveCapabilities([], ['all']), []);
    assert.deepEqual(effectiveCapabilities(['ALL'], ['sys_admin']), Array.from({ length: 41 }, (_, i) => i).filter((n) => n !== 21));
    assert.deepEqual(effectiveCapabilities(['ALL'], ['ALL']).length, 41);
    assert.deepEqual(effectiveCapabilities(['NET_ADMIN'], ['chown']), [1, 3, 4, 5, 6, 7, 8, 10, 12, 18, 31]);
    assert.deepEqual(effectiveCapabilities(['KILL'], ['KILL']), [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31]);
    assert.throws(() => effectiveCapabilities(['nope'], []), SandboxError);
  });
});

describe('--pull, --platform, --tls-verify, -q', () => {
  it('takes the pull policies Podman knows, and leaves the default to the run', () => {
    assert.equal(req(['bb']).pull, undefined);
    assert.equal(req(['--pull', 'always', 'bb']).pull, 'always');
    assert.equal(req(['--pull=never', 'bb']).pull, 'never');
    assert.equal(req(['--pull', 'newer', 'bb']).pull, 'newer');
    assert.equal(req(['--pull', 'missing', 'bb']).pull, 'missing');
    assert.throws(() => req(['--pull', 'sometimes', 'bb']), (e: unknown) => e instanceof SandboxError && /invalid --pull policy/.test(e.message) && !!e.hint);
  });

  it('keeps --platform, --tls-verify=false and -q for the pull, and the image after them', () => {
    const r = req(['--platform', 'linux/arm64', '--tls-verify=false', '-q', 'localhost:5000/bb', 'true']);
    assert.equal(r.platform, 'linux/arm64');
    assert.equal(r.tlsVerify, false);
    assert.equal(r.quiet, true);
    assert.equal(r.image, 'localhost:5000/bb');
    assert.deepEqual(r.command, ['true']);
    assert.equal(req(['--tls-verify', 'bb']).tlsVerify, true);
  });
});
