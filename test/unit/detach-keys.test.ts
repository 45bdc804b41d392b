import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../src/runtime/detach-keys.js';
import { SandboxError } from '../../src/errors.js';

test('detach keys: the default is ctrl-p then ctrl-q', () => {
  assert.deepEqual(parseDetachKeys(DEFAULT_DETACH_KEYS), [0x10, 0x11]);
});

test('detach keys: ctrl-letters (either case), ctrl-specials, plain characters; empty is none', () => {
  assert.deepEqual(parseDetachKeys('ctrl-a,d'), [1, 100]);
  assert.deepEqual(parseDetachKeys('ctrl-A,ctrl-z'), [1, 26]);
  assert.deepEqual(parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_'), [0, 27, 28, 29, 30, 31]);
  assert.deepEqual(parseDetachKeys(''), []);
});

test('detach keys: what is not a key is refused with a hint', () => {
  for (const bad of ['ctrl-', 'ctrl-1', 'ab', 'ctrl-p,,x', 'alt-x']) {
    assert.throws(() => parseDetachKeys(bad), (e: unknown) => e instanceof SandboxError && /invalid detach keys/.test(e.message) && !!e.hint, bad);
  }
});
