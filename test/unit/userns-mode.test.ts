import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocateSlice, autoSize, checkUserMaps, checkUsernsJoin, idsNamedIn, insideId, keepIdMaps, nomapMaps, parseIdMapOption, parseUsernsMode,
  usernsRequest, withEntry,
} from '../../src/runtime/userns-mode.js';
import { SandboxError } from '../../src/errors.js';

describe('--userns', () => {
  it('parses the modes as Podman spells them', () => {
    assert.deepEqual(parseUsernsMode(undefined), { kind: 'default' });
    assert.deepEqual(parseUsernsMode('host'), { kind: 'default' });
    assert.deepEqual(parseUsernsMode('keep-id'), { kind: 'keep-id' });
    assert.deepEqual(parseUsernsMode('keep-id:uid=1000,gid=100'), { kind: 'keep-id', uid: 1000, gid: 100 });
    assert.deepEqual(parseUsernsMode('auto:size=2048'), { kind: 'auto', size: 2048 });
    assert.deepEqual(parseUsernsMode('nomap'), { kind: 'nomap' });
    assert.deepEqual(parseUsernsMode(undefined, true), { kind: 'maps' });
  });
  it('refuses what it does not know, with a hint', () => {
    for (const bad of ['bogus', 'keep-id:uid=x', 'keep-id:size=3', 'auto:size=0', 'auto:nope', 'ns:/proc/1/ns/user']) {
      assert.throws(() => parseUsernsMode(bad), (e: unknown) => e instanceof SandboxError && !!e.hint, bad);
    }
    assert.throws(() => parseUsernsMode('keep-id', true), SandboxError);
    assert.throws(() => usernsRequest(undefined, ['0:1'], []), SandboxError);
    assert.deepEqual(usernsRequest('', [], []), {});
    assert.throws(() => usernsRequest('keep-id', ['0:1:10'], []), SandboxError);
    assert.deepEqual(usernsRequest(undefined, ['0:1:10'], []), { uidMap: ['0:1:10'] });
  });
  it('--uidmap CONTAINER:HOST:SIZE', () => {
    assert.deepEqual(parseIdMapOption('0:1:65536', '--uidmap'), { inside: 0, outside: 1, count: 65536 });
    assert.throws(() => parseIdMapOption('0:1:0', '--uidmap'), SandboxError);
    assert.throws(() => parseIdMapOption('0:-1:5', '--uidmap'), SandboxError);
  });
});

describe('maps', () => {
  it('keep-id: the id is the caller (0 outside), the rest the subordinate range in order', () => {
    assert.deepEqual(keepIdMaps(1000, 65537), [
      { inside: 0, outside: 1, count: 1000 }, { inside: 1000, outside: 0, count: 1 }, { inside: 1001, outside: 1001, count: 64536 },
    ]);
    assert.deepEqual(keepIdMaps(0, 11), [{ inside: 0, outside: 0, count: 1 }, { inside: 1, outside: 1, count: 10 }]);
    // An id past the range: the range below it, the id alone.
    assert.deepEqual(keepIdMaps(100000, 11), [{ inside: 0, outside: 1, count: 10 }, { inside: 100000, outside: 0, count: 1 }]);
    const maps = keepIdMaps(1000, 65537);
    assert.equal(insideId(maps, 0), 1000);
    assert.equal(insideId(maps, 1), 0);
  });
  it('nomap leaves the caller out', () => {
    assert.deepEqual(nomapMaps(65537), [{ inside: 0, outside: 1, count: 65536 }]);
  });
  it('user maps must fit the default namespace and not overlap', () => {
    checkUserMaps([{ inside: 0, outside: 1, count: 65536 }], 65537, '--uidmap');
    assert.throws(() => checkUserMaps([{ inside: 0, outside: 2, count: 65536 }], 65537, '--uidmap'), SandboxError);
    assert.throws(() => checkUserMaps([{ inside: 0, outside: 1, count: 10 }, { inside: 5, outside: 100, count: 10 }], 65537, '--uidmap'), /overlap/);
  });
});

describe('auto', () => {
  it('sizes as Podman: the highest id named + 1, at least 1024, nobody left out', () => {
    assert.equal(autoSize([]), 1024);
    assert.equal(autoSize([0, 1000, 65534]), 1024);
    assert.equal(autoSize([5000]), 5001);
    assert.deepEqual(idsNamedIn('root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\napp:x:3000:3001::/:/bin/sh\n', 'root:x:0:\nnogroup:x:65534:\n'), [0, 0, 3000, 3001, 0]);
  });
  it('allocates the first free slice, never id 0, and says when none is left', () => {
    assert.deepEqual(allocateSlice([], 1024, 65537), { start: 1, size: 1024 });
    assert.deepEqual(allocateSlice([{ start: 1, size: 1024 }], 1024, 65537), { start: 1025, size: 1024 });
    assert.deepEqual(allocateSlice([{ start: 1025, size: 1024 }], 1024, 65537), { start: 1, size: 1024 });
    assert.deepEqual(allocateSlice([{ start: 1025, size: 1024 }], 2000, 65537), { start: 2049, size: 2000 });
    assert.equal(allocateSlice([{ start: 1, size: 65536 }], 1, 65537), undefined);
    // Two default-sized sandboxes fit a 65536-id range, as Podman's must.
    const a = allocateSlice([], autoSize([]), 65537)!;
    assert.ok(allocateSlice([a], autoSize([]), 65537));
  });
});

describe('keep-id passwd entry', () => {
  it('is added only when the image has none for the id', () => {
    assert.equal(withEntry('root:x:0:0::/root:/bin/sh\n', 1001, 'me:*:1001:1001:me:/home/me:/bin/sh', 2), 'root:x:0:0::/root:/bin/sh\nme:*:1001:1001:me:/home/me:/bin/sh\n');
    assert.equal(withEntry('me:x:1001:1001::/:/bin/sh', 1001, 'other', 2), 'me:x:1001:1001::/:/bin/sh');
    assert.equal(withEntry('', 5, 'x:*:5:5::/:/bin/sh', 2), 'x:*:5:5::/:/bin/sh\n');
  });
});

describe('--userns with another sandbox\'s namespaces', () => {
  it('refuses an id mode of its own with --pod or --network container:', () => {
    assert.throws(() => checkUsernsJoin({ userns: 'keep-id' }, { pod: 'p' }), (e: unknown) => e instanceof SandboxError && /--userns=keep-id cannot be given with --pod/.test(e.message));
    assert.throws(() => checkUsernsJoin({ userns: 'auto:size=2048' }, { container: 'db' }), (e: unknown) => e instanceof SandboxError && /--userns=auto:size=2048 cannot be given with --network container:db/.test(e.message));
    assert.throws(() => checkUsernsJoin({ uidMap: ['0:1:100'] }, { container: 'db' }), /--uidmap\/--gidmap cannot be given/);
  });
  it('lets the default, host, and a sandbox that joins nothing through', () => {
    checkUsernsJoin({}, { pod: 'p' });
    checkUsernsJoin({ userns: 'host' }, { container: 'db' });
    checkUsernsJoin({ userns: 'keep-id' }, {});
  });
});

