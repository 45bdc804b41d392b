/** Host devices (`--device`, `--privileged`): parsing, what can be enforced, the plan words, the capabilities. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Stats } from 'node:fs';
import { accessOf, deviceProblem, parseDevice, type Access } from '../../src/runtime/devices.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeviceOptions } from '../../src/cli/run-request.js';
import { commandCapabilities, defaultCapabilities, LINUX_CAPABILITIES } from '../../src/runtime/capabilities.js';
import { buildLaunchArgs, execArgs, maskedPaths, type LaunchInput } from '../../src/runtime/plan.js';
import type { RunRequest } from '../../src/types.js';

describe('parseDevice', () => {
  it("takes Podman's four forms", () => {
    assert.deepEqual(parseDevice('/dev/fuse'), { host: '/dev/fuse', container: '/dev/fuse', permissions: 'rwm' });
    assert.deepEqual(parseDevice('/dev/fuse:/dev/f2'), { host: '/dev/fuse', container: '/dev/f2', permissions: 'rwm' });
    assert.deepEqual(parseDevice('/dev/fuse:rw'), { host: '/dev/fuse', container: '/dev/fuse', permissions: 'rw' });
    assert.deepEqual(parseDevice('/dev/fuse:/dev/f2:r'), { host: '/dev/fuse', container: '/dev/f2', permissions: 'r' });
  });

  it('refuses what Podman refuses, with a hint', () => {
    for (const bad of ['fuse', '/etc/passwd', '/dev/fuse:x', '/dev/fuse:/f:rwz', '/dev/fuse:/f:rr', '/dev/fuse:/f:', '/dev/a:/b:r:w', '/dev/fuse:/dev']) {
      assert.throws(() => parseDevice(bad), (e: Error & { hint?: string }) => /invalid --device/.test(e.message) && !!e.hint, bad);
    }
  });
});

/** A fake stat of a character device. */
function node(mode: number, uid = 0, gid = 0): Stats {
  return { mode: 0o020000 | mode, uid, gid, isBlockDevice: () => false } as unknown as Stats;
}
const dev = (permissions = 'rwm') => ({ host: '/dev/x', container: '/dev/x', permissions });
const access = (read: boolean, write: boolean, inside = true): Access => ({ read, write, insideRead: inside && read, insideWrite: inside && write });

describe('deviceProblem', () => {
  it('accepts what the kernel checks by itself: a node the user may open, asked for rwm or for what the user may do', () => {
    assert.equal(deviceProblem(dev(), node(0o666), access(true, true), false), null);
    assert.equal(deviceProblem(dev(), node(0o644), access(true, false), false), null); // writes fail inside, as outside
    assert.equal(deviceProblem(dev('r'), node(0o644), access(true, false), false), null);
  });

  it('refuses a node the user cannot open, naming its mode and owner', () => {
    const e = deviceProblem(dev(), node(0o600), access(false, false), false);
    assert.match(e?.message ?? '', /^cannot pass device \/dev\/x \(crw-------, owner 0, group 0\) in: you may neither read nor write it$/);
  });

  it('refuses a permission it cannot enforce (no device cgroup; a read-only bind lets writes through)', () => {
    assert.match(deviceProblem(dev('r'), node(0o666), access(true, true), false)?.message ?? '', /as r: .*cannot take that away/);
    assert.match(deviceProblem(dev('w'), node(0o666), access(true, true), false)?.hint ?? '', /give it as rw/);
  });

  it('asks for keep-groups when only a supplementary group opens it', () => {
    const e = deviceProblem(dev(), node(0o660, 0, 44), access(true, true, false), false);
    assert.match(e?.hint ?? '', /--group-add keep-groups/);
    assert.equal(deviceProblem(dev(), node(0o660, 0, 44), access(true, true, false), true), null);
  });
});

describe('accessOf: what the sandbox\'s root may do with a node the caller may open', () => {
  // A file this process may read and write stands in for the node; the stat decides the rest.
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-unit-dev-'));
  const path = join(dir, 'node');
  writeFileSync(path, '');
  const me = { uid: 1000, gid: 1000, groups: [1000, 44] };
  it('owner and primary group bits count inside (root inside is the caller\'s uid and gid)', () => {
    assert.equal(accessOf(path, { uid: 1000, gid: 0, mode: 0o600 }, me).insideWrite, true);
    assert.equal(accessOf(path, { uid: 0, gid: 1000, mode: 0o660 }, me).insideWrite, true);
    assert.equal(accessOf(path, { uid: 0, gid: 0, mode: 0o666 }, me).insideRead, true);
  });
  it('a supplementary group does not (it is dropped); an ACL entry for the caller does', () => {
    assert.deepEqual(accessOf(path, { uid: 0, gid: 44, mode: 0o660 }, me), { read: true, write: true, insideRead: false, insideWrite: false });
    assert.equal(accessOf(path, { uid: 0, gid: 45, mode: 0o660 }, me).insideWrite, true); // access(2) said yes: not through our groups
  });
  it('cleans up', () => rmSync(dir, { recursive: true }));
});

describe('parseDeviceOptions', () => {
  it('--device-cgroup-rule is refused with the reason; --privileged is kept', () => {
    assert.throws(() => parseDeviceOptions([], ['c 1:3 rwm'], false), /no device cgroup/);
    assert.deepEqual(parseDeviceOptions(['/dev/fuse'], [], true), { devices: [parseDevice('/dev/fuse')], privileged: true });
    assert.deepEqual(parseDeviceOptions([], [], false), {});
  });
});

function request(over: Partial<RunRequest> = {}): RunRequest {
  return {
    image: 'busybox', command: ['true'], remove: false, detach: false, interactive: false, tty: false, env: {}, volumes: [], tmpfs: [],
    readOnly: false, network: 'none', capAdd: [], capDrop: [], noNewPrivileges: false, labels: {}, ...over,
  };
}

describe('the plan', () => {
  const dirs = { dir: '/s', upper: '/s/u', work: '/s/w', merged: '/s/m', hostDirs: '/s/h', hosts: '/s/hosts', hostname: '/s/hostname', resolvConf: '/s/r', containerEnv: '/s/ce' };
  const input = (req: Partial<RunRequest>, over: Partial<LaunchInput> = {}): LaunchInput => ({
    request: request(req), image: { env: [] }, root: { kind: 'layers', lowers: ['/l'] }, dirs, hostname: 'h',
    uidMaps: [], gidMaps: [], capabilities: [], cleanup: false, ...over,
  });

  it('binds the devices after /dev, read-only without w', () => {
    const args = buildLaunchArgs(input({}, { devices: [{ host: '/dev/fuse', container: '/dev/f', permissions: 'rwm' }, { host: '/dev/kmsg', container: '/dev/kmsg', permissions: 'r' }] }));
    const devAt = args.indexOf('--dev');
    const bindAt = args.findIndex((a, i) => a === '--bind' && args[i + 1] === '/dev/fuse' && args[i + 2] === '/dev/f');
    const roAt = args.findIndex((a, i) => a === '--ro-bind' && args[i + 1] === '/dev/kmsg' && args[i + 2] === '/dev/kmsg');
    assert.ok(devAt >= 0 && bindAt > devAt && roAt > devAt, JSON.stringify(args));
  });

  it('--privileged lifts the default masks and read-only paths; mask= still applies', () => {
    assert.deepEqual(maskedPaths({ privileged: true, maskPaths: ['/proc/cpuinfo'] }), { masked: ['/proc/cpuinfo'], readOnly: [] });
    const args = buildLaunchArgs(input({ privileged: true }));
    assert.ok(!args.includes('--mask') && !args.includes('--ro-self'), JSON.stringify(args));
  });

  it('capabilities: --privileged is all but the dropped; exec --privileged all', () => {
    const all = Object.values(LINUX_CAPABILITIES).sort((a, b) => a - b);
    assert.deepEqual(commandCapabilities({ capAdd: [], capDrop: [], privileged: true }), all);
    assert.deepEqual(commandCapabilities({ capAdd: [], capDrop: ['CAP_KILL'], privileged: true }), all.filter((c) => c !== 5));
    assert.deepEqual(commandCapabilities({ capAdd: [], capDrop: ['CAP_KILL'] }, true), all);
    assert.deepEqual(commandCapabilities({ capAdd: [], capDrop: [] }), defaultCapabilities().map((c) => LINUX_CAPABILITIES[c]).sort((a, b) => a! - b!));
    const words = execArgs({ request: request(), hostname: 'h' }, { env: [] }, { command: ['id'], interactive: false, tty: false, env: {}, privileged: true }, 9);
    assert.equal(words[words.indexOf('--caps') + 1], all.join(','));
  });
});
