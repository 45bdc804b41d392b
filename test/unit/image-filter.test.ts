/** `images --filter` parsing and matching (src/cli/image-filter.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { globToRegExp, matchesImageFilters, parseImageFilters } from '../../src/cli/image-filter.js';
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
