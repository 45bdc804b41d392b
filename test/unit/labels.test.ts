/** Labels set with -l KEY[=VALUE] and matched by label=KEY[=VALUE] filters (src/labels.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { labelMatches, parseLabel, parseLabels } from '../../src/labels.js';

describe('labels', () => {
  it('parseLabels: KEY=VALUE, KEY alone is empty, the last value wins', () => {
    assert.deepEqual(parseLabels(['a=1', 'b', 'c=x=y', 'a=2']), { a: '2', b: '', c: 'x=y' });
    assert.deepEqual(parseLabels(), {});
    assert.deepEqual(parseLabel('k='), ['k', '']);
  });

  it('an empty or blank key, or a NUL in it, is a one-line error with a hint', () => {
    for (const arg of ['=v', '', ' =v', 'a\0b=c']) {
      assert.throws(() => parseLabels([arg]), (e: unknown) => e instanceof SandboxError && /empty key/.test(e.message) && !!e.hint, JSON.stringify(arg));
    }
  });

  it('labelMatches: KEY is presence, KEY=VALUE is that value, own keys only', () => {
    const labels = { tier: 'web', empty: '' };
    assert.ok(labelMatches(labels, 'tier'));
    assert.ok(labelMatches(labels, 'tier=web'));
    assert.ok(!labelMatches(labels, 'tier=db'));
    assert.ok(labelMatches(labels, 'empty'));
    assert.ok(labelMatches(labels, 'empty='));
    assert.ok(!labelMatches(labels, 'tier='));
    assert.ok(!labelMatches(labels, 'team'));
    assert.ok(!labelMatches(labels, 'toString'), 'not a key of Object.prototype');
    assert.ok(!labelMatches(labels, 'constructor='));
  });
});
