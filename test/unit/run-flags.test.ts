/**
 * The run/create flags Podman scripts copy (issue 14, item 7): --mount, --security-opt
 * label/mask/unmask/seccomp/apparmor, --group-add, --annotation, --env-host, --init,
 * --init-path, --replace, --cidfile, --pull newer; and how the plan renders them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunArgv } from '../../src/cli/run-option-table.js';
import { toRunRequest, parseSecurityOpts, parseGroupAdd, type RunOptionsContext } from '../../src/cli/run-request.js';
import { parseMount, parseSize } from '../../src/cli/mount-option.js';
import { buildLaunchArgs, execArgs, maskedPaths, type LaunchInput } from '../../src/runtime/plan.js';
import { inspectHostConfig, inspectMounts, inspectNetworkSettings } from '../../src/cli/inspect-fields.js';
import { sandboxDirs } from '../../src/state/sandbox-dir.js';
import type { SandboxRecord } from '../../src/state/sandboxes.js';
import type { RunRequest } from '../../src/types.js';
import { throwsSandbox } from './assert-sandbox-error.js';

const ctx = (over: Partial<RunOptionsContext> = {}): RunOptionsContext => ({
  env: { HOME: '/home/u', FOO: 'host', PATH: '/host/bin' },
  cwd: '/w',
  readFile: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); },
  ...over,
});
const req = (argv: string[], over: Partial<RunOptionsContext> = {}) => toRunRequest(parseRunArgv(argv), ctx(over));
const mountOf = (spec: string) => parseMount(spec, ctx());

describe('--mount', () => {
  it('type=bind: src/source, dst/destination/target, ro/readonly, propagation, non-recursive', () => {
    assert.deepEqual(mountOf('type=bind,src=./d,dst=/data'), { volume: { kind: 'bind', source: '/w/d', target: '/data', readOnly: false } });
    assert.deepEqual(mountOf('type=bind,source=/a,target=/b/,readonly'), { volume: { kind: 'bind', source: '/a', target: '/b', readOnly: true } });
    assert.deepEqual(mountOf('type=bind,src=/a,destination=/b,ro=true,bind-propagation=rshared,bind-nonrecursive'),
      { volume: { kind: 'bind', source: '/a', target: '/b', readOnly: true, propagation: 'rshared', nonRecursive: true } });
    assert.deepEqual(mountOf('type=bind,src=/a,dst=/b,ro=false,relabel=shared,z'), { volume: { kind: 'bind', source: '/a', target: '/b', readOnly: false } });
    assert.deepEqual(mountOf('type=bind,src=/a,dst=/b,rw=false'), { volume: { kind: 'bind', source: '/a', target: '/b', readOnly: true } });
    assert.deepEqual(mountOf('type=bind,src=~/x,dst=/b'), { volume: { kind: 'bind', source: '/home/u/x', target: '/b', readOnly: false } });
  });

  it('type=volume: named, anonymous, read-only', () => {
    assert.deepEqual(mountOf('type=volume,src=data,dst=/v,ro=true'), { volume: { kind: 'volume', name: 'data', target: '/v', readOnly: true } });
    assert.deepEqual(mountOf('type=volume,dst=/v'), { volume: { kind: 'volume', name: '', target: '/v', readOnly: false } });
    assert.deepEqual(mountOf('type=volume,target=/v,nocopy'), { volume: { kind: 'volume', name: '', target: '/v', readOnly: false } });
  });

  it('type=tmpfs: size in bytes, mode, ro; rw,nosuid,nodev as Podman', () => {
    assert.deepEqual(mountOf('type=tmpfs,dst=/t'), { tmpfs: { target: '/t', options: ['rw', 'nosuid', 'nodev', 'tmpcopyup'] } });
    assert.deepEqual(mountOf('type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=0700,ro'),
      { tmpfs: { target: '/t', options: ['ro', 'nosuid', 'nodev', 'tmpcopyup', `size=${64 * 1024 * 1024}`, 'mode=0700'] } });
    assert.deepEqual(mountOf('type=tmpfs,dst=/t,notmpcopyup'), { tmpfs: { target: '/t', options: ['rw', 'nosuid', 'nodev', 'notmpcopyup'] } });
    assert.deepEqual(mountOf('type=tmpfs,dst=/t,tmpcopyup'), { tmpfs: { target: '/t', options: ['rw', 'nosuid', 'nodev', 'tmpcopyup'] } });
  });

  it('sizes', () => {
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize('1k'), 1024);
    assert.equal(parseSize('512M'), 512 * 1024 ** 2);
    assert.equal(parseSize('1GiB'), 1024 ** 3);
    assert.equal(parseSize('1.5m'), 1.5 * 1024 ** 2);
    assert.equal(parseSize('abc'), undefined);
    assert.equal(parseSize('-1'), undefined);
  });

  it('bad input: one line each, with what to do', () => {
    const bad = (spec: string, why: string) => throwsSandbox(() => mountOf(spec), `invalid --mount ${JSON.stringify(spec)}: ${why}`);
    bad('dst=/x', 'no type=');
    bad('type=nope,dst=/x', 'unknown type "nope"');
    bad('type=bind,src=/a,dst=/x,foo=1', 'unknown option "foo" for type=bind');
    bad('type=bind,dst=/x', 'a bind needs a source (src=HOST-PATH)');
    bad('type=bind,src=/a', 'no destination (dst=/PATH)');
    bad('type=bind,src=/a,dst=/', 'cannot mount over "/"');
    bad('type=bind,src=/a,dst=/x,ro=maybe', 'ro takes true or false, not "maybe"');
    bad('type=bind,src=/a,dst=/x,ro,rw', 'both ro and rw');
    bad('type=bind,src=/a,dst=/x,src=/b', 'src given twice');
    bad('type=bind,src=/a,dst=/x,bind-propagation=weird', 'unknown bind-propagation "weird"');
    bad('type=bind,src=/a,dst=/x,,ro', 'an empty field');
    bad('type=tmpfs,src=/a,dst=/t', 'a tmpfs takes no source');
    bad('type=tmpfs,dst=/t,tmpfs-size=abc', 'bad tmpfs-size "abc"');
    bad('type=tmpfs,dst=/t,tmpfs-mode=999', 'bad tmpfs-mode "999"');
    bad('type=tmpfs,dst=/t,tmpcopyup,notmpcopyup', 'both tmpcopyup and notmpcopyup');
    bad('type=volume,src=v,dst=/v,volume-opt=o=x', 'volume-opt is not supported: volumes here are plain directories of the store (no volume drivers)');
    bad('type=volume,src=/host,dst=/v', '"/host" is not a volume name');
    assert.equal((mountOf('type=bind,src=/a,dst=/x,U=true') as { volume?: { chown?: boolean } }).volume?.chown, true, 'U: chowned at start');
    assert.equal((mountOf('type=tmpfs,dst=/t,chown') as { tmpfs?: { chown?: boolean } }).tmpfs?.chown, true);
    bad('type=image,src=bb,dst=/x', 'type=image is not supported yet');
    throwsSandbox(() => mountOf('type=bind,src=/a,dst=rel'), '--mount destination "rel" must be an absolute path inside the sandbox');
  });

  it('joins -v and --tmpfs in the request', () => {
    const r = req(['-v', '/a:/a', '--mount', 'type=bind,src=/b,dst=/b', '--tmpfs', '/t', '--mount', 'type=tmpfs,dst=/u', 'bb']);
    assert.deepEqual(r.volumes.map((v) => v.target), ['/b', '/a'], '--mount first, as Podman');
    assert.deepEqual(r.tmpfs.map((t) => t.target), ['/u', '/t']);
  });
});

describe('--security-opt', () => {
  it('label=..., seccomp=unconfined, apparmor=unconfined are accepted and kept for inspect', () => {
    const s = parseSecurityOpts(['label=disable', 'label=type:spc_t', 'label:nested', 'seccomp=unconfined', 'apparmor=unconfined', 'no-new-privileges']);
    assert.equal(s.noNewPrivileges, true);
    assert.deepEqual(s.given, ['label=disable', 'label=type:spc_t', 'label:nested', 'seccomp=unconfined', 'apparmor=unconfined', 'no-new-privileges']);
  });

  it('mask= and unmask=', () => {
    const s = parseSecurityOpts(['mask=/etc/shadow:/proc/cpuinfo', 'unmask=/proc/kcore']);
    assert.deepEqual(s.maskPaths, ['/etc/shadow', '/proc/cpuinfo']);
    assert.deepEqual(s.unmaskPaths, ['/proc/kcore']);
    assert.deepEqual(parseSecurityOpts(['unmask=ALL']).unmaskPaths, ['ALL']);
    const m = maskedPaths({ maskPaths: ['/etc/shadow'], unmaskPaths: ['/proc/kcore', '/proc/sys'] });
    assert.ok(m.masked.includes('/etc/shadow') && !m.masked.includes('/proc/kcore') && m.masked.includes('/proc/keys'));
    assert.ok(!m.readOnly.includes('/proc/sys') && m.readOnly.includes('/proc/bus'));
    assert.deepEqual(maskedPaths({ unmaskPaths: ['ALL'] }), { masked: [], readOnly: [] });
  });

  it('seccomp profiles; AppArmor profiles and unknown values: one line, with what to do meanwhile', () => {
    assert.equal(parseSecurityOpts(['seccomp=/p.json']).seccomp, '/p.json');
    assert.equal(parseSecurityOpts(['seccomp=p.json'], { env: {}, cwd: '/work' }).seccomp, '/work/p.json', 'relative to the caller\'s directory');
    throwsSandbox(() => parseSecurityOpts(['seccomp=']), '--security-opt "seccomp=": needs unconfined or a profile file');
    throwsSandbox(() => parseSecurityOpts(['apparmor=docker-default']), '--security-opt "apparmor=docker-default": apparmor profiles are not supported yet');
    throwsSandbox(() => parseSecurityOpts(['label=bogus']), '--security-opt "label=bogus": not a label option');
    throwsSandbox(() => parseSecurityOpts(['mask=relative']), 'invalid --security-opt "mask=relative": "relative" is not an absolute path');
    throwsSandbox(() => parseSecurityOpts(['proc-opts=hidepid=2']), '--security-opt "proc-opts=hidepid=2": proc-opts is not supported yet');
  });
});

describe('the other flags', () => {
  it('--group-add', () => {
    assert.deepEqual(parseGroupAdd(['10', 'wheel', '10']), ['10', 'wheel']);
    assert.deepEqual(parseGroupAdd(['keep-groups']), ['keep-groups']);
    throwsSandbox(() => parseGroupAdd(['keep-groups', '10']), '--group-add keep-groups cannot be combined with other --group-add options');
    throwsSandbox(() => parseGroupAdd(['4294967296']), 'invalid --group-add "4294967296": not below 2^32');
    throwsSandbox(() => parseGroupAdd(['a:b']), 'invalid --group-add "a:b": not a group id or name');
    assert.deepEqual(req(['--group-add', '10', 'bb']).groupAdd, ['10']);
  });

  it('--annotation, --init, --init-path (a warning), --env-host', () => {
    const warnings: string[] = [];
    const r = req(['--annotation', 'a=b=c', '--annotation', 'e=', '--init', '--init-path', '/x', '--env-host', '-e', 'FOO=mine', 'bb'], { warn: (m) => warnings.push(m) });
    assert.deepEqual(r.annotations, { a: 'b=c', e: '' });
    assert.equal(r.init, true);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /--init-path is ignored/);
    assert.deepEqual(r.env, { HOME: '/home/u', FOO: 'mine', PATH: '/host/bin' });
    assert.deepEqual(req(['bb']).env, {});
    throwsSandbox(() => req(['--annotation', 'novalue', 'bb']), 'invalid --annotation "novalue": annotations must be KEY=VALUE');
  });

  it('--replace needs --name; --cidfile is a host path; --pull newer', () => {
    assert.equal(req(['--replace', '--name', 'x', 'bb']).replace, true);
    throwsSandbox(() => req(['--replace', 'bb']), '--replace needs --name');
    assert.equal(req(['--cidfile', 'id.txt', 'bb']).cidFile, '/w/id.txt');
    throwsSandbox(() => req(['--cidfile', '', 'bb']), '--cidfile needs a file name');
    assert.equal(req(['--pull=newer', 'bb']).pull, 'newer');
  });
});

const dirs = sandboxDirs('/store/containers/abc');
function launch(over: Partial<RunRequest>): string[] {
  const request: RunRequest = {
    image: 'bb', command: ['true'], remove: false, detach: false, interactive: false, tty: false, env: {},
    volumes: [], tmpfs: [], readOnly: false, network: 'none', capAdd: [], capDrop: [], noNewPrivileges: false, labels: {}, ...over,
  };
  const input: LaunchInput = {
    request, image: { env: [] }, root: { kind: 'layers', lowers: ['/l'] }, dirs, hostname: 'h', uidMaps: [], gidMaps: [], capabilities: [0], cleanup: false,
  };
  return buildLaunchArgs(input);
}
const after = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 3)] : []));

describe('the plan', () => {
  it('propagation follows its bind; a non-recursive bind; ro on it', () => {
    const args = launch({ volumes: [
      { kind: 'bind', source: '/a', target: '/x', readOnly: false, propagation: 'rshared' },
      { kind: 'bind', source: '/b', target: '/y', readOnly: true, nonRecursive: true },
      { kind: 'bind', source: '/c', target: '/z', readOnly: false, propagation: 'rprivate' },
    ] });
    const x = args.indexOf('/x');
    assert.deepEqual(args.slice(x - 2, x + 4), ['--bind', '/a', '/x', '--propagation', '/x', 'rshared']);
    const y = args.indexOf('/y');
    assert.deepEqual(args.slice(y - 2, y + 3), ['--bind-nonrec', '/b', '/y', '--remount-ro', '/y']);
    assert.deepEqual(after(args, '--propagation'), [['/x', 'rshared']]);
  });

  it('groups: each --group-add, or --keep-groups; exec gets them too', () => {
    assert.deepEqual(after(launch({ groupAdd: ['10', 'wheel'] }), '--group-add').map((a) => a[0]), ['10', 'wheel']);
    const keep = launch({ groupAdd: ['keep-groups'] });
    assert.ok(keep.includes('--keep-groups') && !keep.includes('--group-add'));
    const request = { image: 'bb', command: [], remove: false, detach: false, interactive: false, tty: false, env: {}, volumes: [], tmpfs: [], readOnly: false,
      network: 'none' as const, capAdd: [], capDrop: [], noNewPrivileges: false, labels: {}, groupAdd: ['10'] };
    const e = execArgs({ request, hostname: 'h' }, { env: [] }, { command: ['id'], interactive: false, tty: false, env: {} }, 5);
    assert.deepEqual(after(e, '--group-add'), [['10', '--env']]);
  });

  it('a tmpfs over /etc gets the sandbox\'s hosts, hostname and resolv.conf on top again, unless the user mounted one', () => {
    const tmpfs = [{ target: '/etc', options: ['rw', 'notmpcopyup'] }];
    const args = launch({ tmpfs, volumes: [{ kind: 'bind', source: '/mine', target: '/etc/hosts', readOnly: false }] });
    const tmpfsAt = args.indexOf('/etc');
    assert.ok(tmpfsAt > 0);
    const late = args.flatMap((a, i) => (a === '--bind' && i > tmpfsAt ? [`${args[i + 1]} ${args[i + 2]}`] : []));
    assert.deepEqual(late, ['/mine /etc/hosts', `${dirs.hostname} /etc/hostname`, `${dirs.resolvConf} /etc/resolv.conf`]);
    assert.equal(after(launch({}), '--bind').length, 4, 'without a tmpfs on /etc: once each (and /run/.containerenv)');
  });

  it('/run/.containerenv is bound with the name files, and again over a tmpfs on /run', () => {
    assert.deepEqual(after(launch({}), '--bind').map((a) => a.slice(0, 2)).at(-1), [dirs.containerEnv, '/run/.containerenv']);
    const args = launch({ tmpfs: [{ target: '/run', options: [] }] });
    const late = args.flatMap((a, i) => (a === '--bind' && i > args.indexOf('/run') ? [`${args[i + 1]} ${args[i + 2]}`] : []));
    assert.deepEqual(late, [`${dirs.containerEnv} /run/.containerenv`]);
  });

  it('masks: user masks after the user mounts; unmasked defaults gone', () => {
    const args = launch({ maskPaths: ['/data/secret'], unmaskPaths: ['/proc/kcore'], volumes: [{ kind: 'bind', source: '/a', target: '/data', readOnly: false }] });
    const masks = after(args, '--mask').map((a) => a[0]);
    assert.ok(!masks.includes('/proc/kcore') && masks.includes('/proc/keys'));
    assert.ok(args.lastIndexOf('--mask') > args.indexOf('/data'), 'the user mask comes after the bind it hides a path of');
    assert.equal(masks[masks.length - 1], '/data/secret');
  });
});

describe('inspect fields', () => {
  const record = (over: Partial<RunRequest>, status: 'running' | 'exited' = 'running'): SandboxRecord => ({
    id: 'f'.repeat(64), name: 'n', created: '', image: 'bb', command: ['true'], hostname: 'h',
    request: { image: 'bb', command: [], remove: true, detach: true, interactive: false, tty: false, env: {}, volumes: [], tmpfs: [], readOnly: false,
      network: 'slirp4netns', capAdd: [], capDrop: [], noNewPrivileges: false, labels: {}, ...over },
    state: status === 'running' ? { status, pid: 42 } : { status, exitCode: 0 },
  } as SandboxRecord);

  it('Mounts in Docker\'s shape, HostConfig.Binds as Podman writes them', () => {
    const r = record({ volumes: [
      { kind: 'bind', source: '/h', target: '/a', readOnly: true },
      { kind: 'bind', source: '/s/volumes/v/_data', target: '/v', readOnly: false, volume: 'v' } as RunRequest['volumes'][number],
      { kind: 'bind', source: '/h', target: '/b', readOnly: false, propagation: 'rslave', nonRecursive: true },
    ] });
    assert.deepEqual(inspectMounts(r.request), [
      { Type: 'volume', Name: 'v', Source: '/s/volumes/v/_data', Destination: '/v', Driver: 'local', Mode: '', Options: ['rbind'], RW: true, Propagation: 'rprivate' },
      { Type: 'bind', Source: '/h', Destination: '/a', Driver: '', Mode: '', Options: ['rbind'], RW: false, Propagation: 'rprivate' },
      { Type: 'bind', Source: '/h', Destination: '/b', Driver: '', Mode: '', Options: ['bind'], RW: true, Propagation: 'rslave' },
    ]);
    assert.deepEqual(inspectHostConfig(r).Binds, ['v:/v:rw,rprivate,rbind', '/h:/a:ro,rprivate,rbind', '/h:/b:rslave,rw,bind']);
  });

  it('HostConfig: restart policy, auto-remove, groups, security options, annotations', () => {
    const h = inspectHostConfig(record({ restart: 'on-failure:3', groupAdd: ['10'], securityOpt: ['label=disable'], annotations: { a: 'b' }, cidFile: '/c', init: true }));
    assert.deepEqual(h.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
    assert.equal(h.AutoRemove, true);
    assert.deepEqual(h.GroupAdd, ['10']);
    assert.deepEqual(h.SecurityOpt, ['label=disable']);
    assert.deepEqual(h.Annotations, { a: 'b' });
    assert.equal(h.ContainerIDFile, '/c');
    assert.equal(h.Init, true);
    assert.deepEqual(inspectHostConfig(record({})).RestartPolicy, { Name: '', MaximumRetryCount: 0 });
  });

  it('NetworkSettings: slirp4netns\'s address while running, nothing once stopped', () => {
    const n = inspectNetworkSettings(record({}), { status: 'running', pid: 42 });
    assert.equal(n.IPAddress, '10.0.2.100');
    assert.equal(n.Gateway, '10.0.2.2');
    assert.equal(n.SandboxKey, '/proc/42/ns/net');
    assert.equal((n.Networks as Record<string, { IPAddress: string }>).slirp4netns!.IPAddress, '10.0.2.100');
    const stopped = inspectNetworkSettings(record({}, 'exited'), { status: 'exited', exitCode: 0 });
    assert.equal(stopped.IPAddress, '');
    const none = inspectNetworkSettings(record({ network: 'none' }), { status: 'running', pid: 42 });
    assert.equal(none.IPAddress, '');
    assert.deepEqual(Object.keys(none.Networks as object), ['none']);
    assert.equal(inspectNetworkSettings(record({ network: 'host' }), { status: 'running', pid: 42 }).SandboxKey, '');
  });
});
