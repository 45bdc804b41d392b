/** Pure parts of `diff`, `unshare` and the plan's mount points (issue 14, item 8). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyChanges } from '../../src/api/diff.js';
import { utilLinuxUnshareArgs } from '../../src/api/unshare.js';
import { mountPoints } from '../../src/runtime/plan.js';

test('classifyChanges: whiteouts are D, paths the image has are C, the rest A; opaque markers and hidden paths left out', () => {
  const image = new Set(['/etc', '/etc/group', '/usr', '/usr/lib']);
  const entries = ['etc/', 'etc/.wh.passwd', 'etc/group', 'etc/hosts', 'new/', 'new/f', 'usr/', 'usr/lib/', 'usr/lib/.wh..wh..opq', '.wh.home'];
  assert.deepEqual(classifyChanges(entries, '', (p) => image.has(p), new Set(['/etc/hosts'])), [
    { kind: 'C', path: '/etc' },
    { kind: 'D', path: '/etc/passwd' },
    { kind: 'C', path: '/etc/group' },
    { kind: 'A', path: '/new' },
    { kind: 'A', path: '/new/f' },
    { kind: 'C', path: '/usr' },
    { kind: 'C', path: '/usr/lib' },
    { kind: 'D', path: '/home' },
  ]);
});

test('classifyChanges: a prefix puts a host directory\'s layer under its name', () => {
  assert.deepEqual(classifyChanges(['x', '.wh.y'], 'opt', () => false), [{ kind: 'A', path: '/opt/x' }, { kind: 'D', path: '/opt/y' }]);
});

test('utilLinuxUnshareArgs: your id as root, one subordinate range; more ranges are left to the helper', () => {
  const own = { inside: 0, outside: 1001, count: 1 };
  const range = { inside: 1, outside: 100000, count: 65536 };
  assert.deepEqual(utilLinuxUnshareArgs({ uid: [own, range], gid: [own, range] }), [
    '--user', '--mount', '--map-root-user', '--map-users=100000,1,65536', '--map-groups=100000,1,65536',
  ]);
  const second = { inside: 65537, outside: 300000, count: 1000 };
  assert.equal(utilLinuxUnshareArgs({ uid: [own, range, second], gid: [own, range] }), undefined);
  assert.equal(utilLinuxUnshareArgs({ uid: [own], gid: [own] }), undefined);
});

test('mountPoints: the file systems, /etc\'s three files, volumes and tmpfs; the read-only scratch places with --read-only', () => {
  const base = ['/proc', '/dev', '/sys', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/run/.containerenv'];
  assert.deepEqual(mountPoints({ volumes: [], tmpfs: [], readOnly: false }), base);
  const withMounts = mountPoints({
    volumes: [{ kind: 'volume', name: 'v', target: '/data', readOnly: false }] as never,
    tmpfs: [{ target: '/scratch', options: [] }],
    readOnly: true,
  });
  assert.deepEqual(withMounts, [...base, '/tmp', '/var/tmp', '/run', '/data', '/scratch']);
});

test('classifyChanges: a directory copied up only for a mount point of ours (/run for /run/.containerenv) is no change; with a change of its own it is', () => {
  const image = new Set(['/run', '/etc']);
  const hidden = new Set(['/run/.containerenv', '/etc/hosts']);
  assert.deepEqual(classifyChanges(['run/', 'run/.containerenv', 'etc/', 'etc/hosts'], '', (p) => image.has(p), hidden), []);
  assert.deepEqual(classifyChanges(['run/', 'run/.containerenv', 'run/x'], '', (p) => image.has(p), hidden), [
    { kind: 'C', path: '/run' },
    { kind: 'A', path: '/run/x' },
  ]);
});
