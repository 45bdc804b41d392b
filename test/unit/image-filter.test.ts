/** `images --filter` parsing and matching (src/cli/image-filter.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { globToRegExp, matchesImageFilters, parseImageFilters, sortImageRows } from '../../src/cli/image-filter.js';
import type { ImageSummary } from '../../src/api/images.js';

const row = (over: Partial<ImageSummary>): ImageSummary => ({
  id: `sha256:${'a'.repeat(64)}`, repository: 'localhost:5000/team/app', tag: 'v1', created: '2026-01-02T00:00:00Z',
  size: 1, sandboxes: 0, dangling: false, names: ['localhost:5000/team/app:v1'], ...over,
});
const created: Record<string, string> = { old: '2026-01-01T00:00:00Z', new: '2026-01-03T00:00:00Z' };
const parse = (...f: string[]) => parseImageFilters(f, (i) => created[i]!);

describe('image filters', () => {
  it('globs stay within a path component unless **', () => {
    assert.ok(globToRegExp('team/*').test('team/app'));
    assert.ok(!globToRegExp('*').test('team/app'));
    assert.ok(globToRegExp('**app').test('localhost:5000/team/app'));
    assert.ok(globToRegExp('a?c').test('abc'));
    assert.ok(!globToRegExp('a.c').test('abc'));
  });

  it('reference matches the name, NAME:TAG, or the last path component', () => {
    assert.ok(matchesImageFilters(row({}), {}, parse('reference=app')));
    assert.ok(matchesImageFilters(row({}), {}, parse('reference=app:v*')));
    assert.ok(matchesImageFilters(row({}), {}, parse('reference=localhost:5000/team/*')));
    assert.ok(!matchesImageFilters(row({}), {}, parse('reference=app:v2')));
    assert.ok(!matchesImageFilters(row({ dangling: true, repository: '<none>', tag: '<none>' }), {}, parse('reference=*')));
  });

  it('dangling, label, before and since', () => {
    assert.ok(matchesImageFilters(row({ dangling: true }), {}, parse('dangling=true')));
    assert.ok(!matchesImageFilters(row({}), {}, parse('dangling=true')));
    assert.ok(matchesImageFilters(row({}), { team: 'a' }, parse('label=team')));
    assert.ok(matchesImageFilters(row({}), { team: 'a' }, parse('label=team=a')));
    assert.ok(!matchesImageFilters(row({}), { team: 'a' }, parse('label=team=b')));
    assert.ok(matchesImageFilters(row({}), {}, parse('since=old', 'before=new')));
    assert.ok(!matchesImageFilters(row({}), {}, parse('before=old')));
  });

  it('refuses unknown keys and bad values with a hint', () => {
    for (const f of ['colour=red', 'dangling=maybe', 'reference']) {
      assert.throws(() => parse(f), (err: unknown) => err instanceof SandboxError && !!err.hint, f);
    }
  });
});

describe('images --sort', () => {
  it("orders as Podman's: created newest first, the rest ascending, stable", () => {
    const rows = [
      row({ id: 'sha256:b', repository: 'bb', tag: 'latest', created: '2026-01-01T00:00:00Z', size: 5 }),
      row({ id: 'sha256:b', repository: 'aaa', tag: '2', created: '2026-01-01T00:00:00Z', size: 5 }),
      row({ id: 'sha256:a', repository: 'zzz', tag: '1', created: '2026-01-03T00:00:00Z', size: 1 }),
    ];
    const names = (key: Parameters<typeof sortImageRows>[1]) => sortImageRows(rows, key).map((r) => `${r.repository}:${r.tag}`);
    assert.deepEqual(names('created'), ['zzz:1', 'bb:latest', 'aaa:2']);
    assert.deepEqual(names('repository'), ['aaa:2', 'bb:latest', 'zzz:1']);
    assert.deepEqual(names('tag'), ['zzz:1', 'aaa:2', 'bb:latest']);
    assert.deepEqual(names('id'), ['zzz:1', 'bb:latest', 'aaa:2']);
    assert.deepEqual(names('size'), ['zzz:1', 'bb:latest', 'aaa:2']);
  });
});
