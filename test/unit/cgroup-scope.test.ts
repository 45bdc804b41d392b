/**
 * cgroup v2 from outside user@UID.service (src/runtime/cgroup/scope.ts): whether the
 * user's manager can start a scope for us, whether we are inside the delegated subtree,
 * the words, and what the mechanisms and the refusal say then.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { insideUserService, scopeWords, userManager } from '../../src/runtime/cgroup/scope.js';
import { limitMechanisms, refusal, type CgroupHost } from '../../src/runtime/cgroup/limits.js';

const dir = mkdtempSync(join(tmpdir(), 'sandbox-scope-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the user manager', () => {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'systemd-run'), '#!/bin/sh\n');
  chmodSync(join(bin, 'systemd-run'), 0o755);
  const runtime = join(dir, 'run');
  mkdirSync(join(runtime, 'systemd'), { recursive: true });

  it('reachable: systemd-run on PATH and the manager\'s private socket (or the user bus) in XDG_RUNTIME_DIR', () => {
    assert.ok('why' in userManager(1000, { PATH: bin, XDG_RUNTIME_DIR: runtime }), 'no socket yet');
    writeFileSync(join(runtime, 'systemd', 'private'), '');
    assert.deepEqual(userManager(1000, { PATH: `/nonexistent:${bin}`, XDG_RUNTIME_DIR: runtime }), { systemdRun: join(bin, 'systemd-run') });
  });
  it('out of reach: why, and the fix', () => {
    assert.deepEqual(userManager(1000, { PATH: bin }), { why: 'XDG_RUNTIME_DIR is not set, so your systemd user manager cannot be reached', fix: 'export XDG_RUNTIME_DIR=/run/user/1000' });
    assert.match((userManager(1000, { PATH: '/nonexistent', XDG_RUNTIME_DIR: runtime }) as { why: string }).why, /systemd-run is not installed/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    assert.match((userManager(1000, { PATH: bin, XDG_RUNTIME_DIR: empty }) as { fix: string }).fix, /loginctl enable-linger 1000/);
  });
});

describe('inside the delegated subtree', () => {
  it('by /proc/self/cgroup\'s 0:: line', () => {
    assert.equal(insideUserService(1000, '0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope\n'), true);
    assert.equal(insideUserService(1000, '0::/user.slice/user-1000.slice/session-3.scope\n'), false);
    assert.equal(insideUserService(1000, '0::/user.slice/user-1001.slice/user@1001.service/app.slice/x.scope\n'), false, 'another user\'s');
    assert.equal(insideUserService(1000, '12:pids:/user.slice\n'), false, 'cgroup v1 only');
  });
  it('the scope\'s words: systemd-run execs the helper in place', () => {
    assert.deepEqual(scopeWords('/usr/bin/systemd-run', 'sandbox-run-abc.scope'),
      ['/usr/bin/systemd-run', '--user', '--scope', '--quiet', '--collect', '--unit=sandbox-run-abc.scope', '--']);
  });
});

describe('mechanisms from outside', () => {
  const v2 = { dir: '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service', controllers: ['memory', 'pids'], inside: false, swap: true };
  const host = (extra: object): CgroupHost => ({ fsRoot: '/sys/fs/cgroup', layout: 'unified', uid: 1000, v2: { ...v2, ...extra } });
  it('cgroup-v2 through a scope when the manager is reachable; none, and its fix, when not', () => {
    assert.deepEqual(limitMechanisms({ memory: 1, pidsLimit: 9 }, host({ viaScope: true }), true), { memory: 'cgroup-v2', pidsLimit: 'cgroup-v2' });
    const noScope = { why: 'XDG_RUNTIME_DIR is not set, so your systemd user manager cannot be reached', fix: 'export XDG_RUNTIME_DIR=/run/user/1000' };
    assert.deepEqual(limitMechanisms({ memory: 1 }, host({ noScope }), true), { memory: 'none' });
    const e = refusal(['memory'], host({ noScope }));
    assert.match(e.message, /outside your systemd user session's delegated cgroup .* and XDG_RUNTIME_DIR is not set/);
    assert.match(e.hint!, /^export XDG_RUNTIME_DIR=\/run\/user\/1000; or add --unenforced-limits/);
  });
});
