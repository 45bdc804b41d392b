/** Rendering for people: byte counts (one humanSize for every command that shows one). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { humanSize } from '../../src/cli/format.js';

describe('humanSize', () => {
  it('is Docker\'s units.HumanSize by default (volume/container/system prune, system df, load)', () => {
    assert.equal(humanSize(0), '0B');
    assert.equal(humanSize(12), '12B');
    assert.equal(humanSize(1234), '1.234kB');
    assert.equal(humanSize(1_000_000), '1MB');
    assert.equal(humanSize(56_789_012), '56.79MB');
  });

  it('binary units and three digits for stats (memory binary, I/O decimal)', () => {
    assert.equal(humanSize(1536, { binary: true, precision: 3 }), '1.5KiB');
    assert.equal(humanSize(1000, { binary: true, precision: 3 }), '1000B');
    assert.equal(humanSize(123_456_789, { binary: true, precision: 3 }), '118MiB');
    assert.equal(humanSize(1234, { precision: 3 }), '1.23kB');
    assert.equal(humanSize(999, { precision: 3 }), '999B');
  });

  it('one fixed decimal for pull/push progress', () => {
    const bytes = { binary: true, fixed: 1 };
    assert.equal(humanSize(512, bytes), '512B');
    assert.equal(humanSize(1536, bytes), '1.5KiB');
    assert.equal(humanSize(20 * 1024 * 1024, bytes), '20.0MiB');
  });
});
