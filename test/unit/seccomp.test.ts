/**
 * The seccomp profiles (src/runtime/seccomp/): the default profile resolved for a
 * sandbox's capabilities and architecture, the Docker/OCI JSON format read with its
 * errors, and which profile a request runs under.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { defaultProfile, DEFAULT_PROFILE_REVISION } from '../../src/runtime/seccomp/default-profile.js';
import { parseSeccompProfile, seccompRules, SeccompProfileError, type SeccompTarget } from '../../src/runtime/seccomp/profile.js';
import { seccompCacheName, seccompProfileOf, seccompProfileShown } from '../../src/runtime/seccomp/sandbox-filter.js';
import { defaultCapabilities, LINUX_CAPABILITIES } from '../../src/runtime/capabilities.js';

const x64 = (caps: readonly string[] = defaultCapabilities()): SeccompTarget => ({ caps, arch: 'x64', kernel: '6.1.0-18-amd64' });
const rulesOf = (text: string) => text.trim().split('\n').filter((l) => l.startsWith('rule ')).map((l) => {
  const [, action, name, ...args] = l.split(' ');
  return { action: action!, name: name!, args: args.join(' ') };
});

describe('the default seccomp profile', () => {
  it('refuses with EPERM what the issue lists, answers ENOSYS to the rest, and filters the x86 ABIs too', () => {
    const text = seccompRules(defaultProfile(), x64());
    assert.match(text, /^default errno:38\n/);
    assert.match(text, /^arch x86$/m);
    assert.match(text, /^arch x32$/m);
    const rules = rulesOf(text);
    const plain = (name: string) => rules.filter((r) => r.name === name && r.args === '').map((r) => r.action);
    for (const name of ['keyctl', 'add_key', 'request_key', 'bpf', 'userfaultfd', 'perf_event_open', 'kexec_load', 'kexec_file_load',
      'open_by_handle_at', 'init_module', 'finit_module', 'delete_module', 'mount', 'umount2', 'fsopen', 'move_mount', 'pivot_root', 'setns']) {
      assert.deepEqual(plain(name), ['errno:1'], name);
    }
    for (const name of ['read', 'write', 'execve', 'ptrace', 'chroot', 'wait4']) assert.deepEqual(plain(name), ['allow'], name);
    assert.deepEqual(plain('clone3'), ['errno:38'], 'clone3: ENOSYS, so that libc uses clone');
  });

  it('refuses TIOCSTI and TIOCLINUX on all 32 bits the kernel reads, and allows other ioctls', () => {
    const ioctl = rulesOf(seccompRules(defaultProfile(), x64())).filter((r) => r.name === 'ioctl');
    assert.deepEqual(ioctl, [
      { action: 'errno:1', name: 'ioctl', args: `1 masked_eq ${0xffffffff} ${0x5412}` },
      { action: 'errno:1', name: 'ioctl', args: `1 masked_eq ${0xffffffff} ${0x541c}` },
      { action: 'allow', name: 'ioctl', args: '1 ge 0 0' },
    ]);
  });

  it('allows clone and unshare without namespace flags, and everything with CAP_SYS_ADMIN', () => {
    const plainRules = rulesOf(seccompRules(defaultProfile(), x64()));
    assert.deepEqual(plainRules.filter((r) => r.name === 'clone').map((r) => `${r.action} ${r.args}`), [`allow 0 masked_eq ${0x7e020000} 0`, 'errno:1 0 ge 0 0']);
    assert.deepEqual(plainRules.filter((r) => r.name === 'unshare').map((r) => `${r.action} ${r.args}`), [`allow 0 masked_eq ${0x7e020080} 0`, 'errno:1 0 ge 0 0']);
    const admin = rulesOf(seccompRules(defaultProfile(), x64([...defaultCapabilities(), 'CAP_SYS_ADMIN'])));
    for (const name of ['clone', 'clone3', 'unshare', 'mount', 'setns', 'bpf', 'syslog']) {
      assert.deepEqual(admin.filter((r) => r.name === name).map((r) => `${r.action}${r.args ? ` ${r.args}` : ''}`), ['allow'], name);
    }
    assert.deepEqual(admin.filter((r) => r.name === 'keyctl').map((r) => r.action), ['errno:1'], 'keyctl: never');
  });

  it('never gives a system call an unconditional rule beside rules of another action (libseccomp would drop them)', () => {
    for (const caps of [defaultCapabilities(), [...defaultCapabilities(), 'CAP_SYS_ADMIN'], Object.keys(LINUX_CAPABILITIES), []]) {
      for (const arch of ['x64', 'arm64', 's390x']) {
        const rules = rulesOf(seccompRules(defaultProfile(), { caps, arch, kernel: '6.1' }));
        for (const r of rules.filter((x) => x.args === '')) {
          const others = rules.filter((x) => x.name === r.name && x !== r);
          assert.deepEqual(others, [], `${r.name} (${arch}, ${caps.length} caps): an unconditional ${r.action} and ${JSON.stringify(others)}`);
        }
      }
    }
  });

  it('is the profile of its revision (the store\'s cache keeps compiled filters under it)', () => {
    const hash = createHash('sha256').update(seccompRules(defaultProfile(), x64())).digest('hex');
    assert.equal(`${DEFAULT_PROFILE_REVISION} ${hash}`, '1 a45e71fbceea609deff70a33552bb174b8b0c22cd62c337a5713f7a036e0d7f2',
      'the default profile changed: add one to DEFAULT_PROFILE_REVISION, and put the new revision and hash here');
  });

  it('takes the ABIs of the host\'s architecture from archMap', () => {
    const arm = seccompRules(defaultProfile(), { caps: [], arch: 'arm64', kernel: '6.1' });
    assert.deepEqual(arm.split('\n').filter((l) => l.startsWith('arch ')), ['arch arm']);
    assert.match(arm, /^rule allow set_tls$/m);
    assert.doesNotMatch(seccompRules(defaultProfile(), x64()), /set_tls/);
  });
});

describe('Docker/OCI seccomp profiles', () => {
  it('reads names, errno by name or number, argument comparisons with 64-bit values, includes and excludes', () => {
    const p = parseSeccompProfile(`{
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "EPERM", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      "comment": "ignored", "syscalls": [
        { "name": "read", "action": "SCMP_ACT_ALLOW" },
        { "names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
        { "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{ "index": 1, "value": 18446744073709551615, "valueTwo": 21522, "op": "SCMP_CMP_MASKED_EQ" }] },
        { "names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": { "minKernel": "4.8", "caps": ["CAP_SYS_PTRACE"] } },
        { "names": ["getpid"], "action": "SCMP_ACT_LOG", "excludes": { "arches": ["amd64"] } },
        { "names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS" }
      ] }`);
    const text = seccompRules(p, x64());
    assert.equal(text, [
      'default errno:1', 'arch x86', 'rule allow read', 'rule errno:13 mkdir',
      'rule allow ioctl 1 masked_eq 18446744073709551615 21522', 'rule kill_process kill', '',
    ].join('\n'));
    assert.match(seccompRules(p, x64(['CAP_SYS_PTRACE'])), /^rule allow ptrace$/m, 'includes.caps held');
    assert.doesNotMatch(seccompRules(p, { caps: ['CAP_SYS_PTRACE'], arch: 'x64', kernel: '4.4.0' }), /ptrace/, 'minKernel not met');
    assert.match(seccompRules(p, { caps: [], arch: 'arm64', kernel: '6.1' }), /^rule log getpid$/m, 'excludes.arches');
  });

  it('refuses what is wrong with one message naming where', () => {
    const bad = (json: string, message: RegExp) => assert.throws(() => parseSeccompProfile(json), (err: unknown) => {
      assert.ok(err instanceof SeccompProfileError);
      assert.match((err as Error).message, message);
      return true;
    });
    bad('{ "defaultAction": ', /^not valid JSON/);
    bad('[]', /not a JSON object/);
    bad('{ "syscalls": [] }', /no defaultAction/);
    bad('{ "defaultAction": "SCMP_ACT_NOTIFY" }', /needs a seccomp agent/);
    bad('{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "names": ["x"], "action": "ALLOW" }] }', /^syscalls\[0\]\.action "ALLOW" is not one of SCMP_ACT_ALLOW/);
    bad('{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "name": "a", "names": ["b"], "action": "SCMP_ACT_LOG" }] }', /both name and names/);
    bad('{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "names": ["a"], "action": "SCMP_ACT_LOG", "args": [{ "index": 6, "value": 1, "op": "SCMP_CMP_EQ" }] }] }', /args\[0\]\.index must be 0 to 5/);
    bad('{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "names": ["a"], "action": "SCMP_ACT_LOG", "args": [{ "index": 0, "value": 1, "op": "SCMP_CMP_BETWEEN" }] }] }', /op "SCMP_CMP_BETWEEN"/);
    bad('{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "names": ["a"], "action": "SCMP_ACT_LOG", "args": [{ "index": 0, "value": 18446744073709551616, "op": "SCMP_CMP_EQ" }] }] }', /unsigned 64-bit/);
    bad('{ "defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "EWHAT" }', /unknown errno "EWHAT"/);
    bad('{ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"] }', /unknown architecture "SCMP_ARCH_Z80"/);
    bad('{ "defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"] }', /flags .* are not supported/);
    bad('{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{ "names": ["rm -rf"], "action": "SCMP_ACT_LOG" }] }', /is not a system call name/);
  });
});

describe('which profile a sandbox runs under', () => {
  it('the default, a file, or none (unconfined, --privileged)', () => {
    const base = { capAdd: [], capDrop: [] };
    assert.equal(seccompProfileOf(base), 'default');
    assert.equal(seccompProfileOf({ ...base, seccomp: '/p.json' }), '/p.json');
    assert.equal(seccompProfileOf({ ...base, seccomp: 'unconfined' }), undefined);
    assert.equal(seccompProfileOf({ ...base, seccomp: '/p.json', privileged: true }), undefined, '--privileged turns it off, as under Podman');
    assert.equal(seccompProfileShown({ ...base, privileged: true }), 'unconfined');
  });

  it('names the default\'s cached filter by what its rules depend on, a file\'s by its rules', () => {
    const paths = { data: '/d', runtime: '/r', config: '/c', cache: '/k' };
    const base = { capAdd: [], capDrop: [] };
    assert.equal(seccompCacheName(paths, base), `/k/seccomp/default-r${DEFAULT_PROFILE_REVISION}-${process.arch}-${(0x800405fb).toString(16)}`);
    assert.notEqual(seccompCacheName(paths, { capAdd: ['SYS_ADMIN'], capDrop: [] }), seccompCacheName(paths, base));
    assert.equal(seccompCacheName(paths, { capAdd: ['BPF'], capDrop: ['ALL'] }), `/k/seccomp/default-r${DEFAULT_PROFILE_REVISION}-${process.arch}-8000000000`, 'CAP_BPF is bit 39');
    assert.equal(seccompCacheName(paths, { ...base, seccomp: '/p.json' }, 'default allow\n'), `/k/seccomp/${createHash('sha256').update('default allow\n').digest('hex')}`);
  });
});
