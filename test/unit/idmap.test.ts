/** Id maps: /etc/subuid parsing and the uid_map lines built from it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildIdMappings,
  formatMapping,
  parseSubordinateIds,
} from '../../src/runtime/idmap.js';

const alice = { name: 'alice', id: 1000 };

describe('parseSubordinateIds', () => {
  it('finds a range by user name', () => {
    assert.deepEqual(parseSubordinateIds('alice:100000:65536\n', alice), [{ start: 100000, count: 65536 }]);
  });

  it('finds a range by numeric id, also when the user has no name', () => {
    assert.deepEqual(parseSubordinateIds('1000:200000:1000\n', alice), [{ start: 200000, count: 1000 }]);
    assert.deepEqual(parseSubordinateIds('1000:200000:1000', { id: 1000 }), [{ start: 200000, count: 1000 }]);
  });

  it('ignores other users, including one whose id is a prefix of ours', () => {
    const content = ['bob:100000:65536', '100:300000:10', '10000:400000:10', 'alice2:500000:10', 'alic:600000:10'].join('\n');
    assert.deepEqual(parseSubordinateIds(content, alice), []);
  });

  it('a user without a name is not matched by a line owned by "undefined"', () => {
    assert.deepEqual(parseSubordinateIds('undefined:100000:10', { id: 5 }), []);
  });

  it('returns every range of the user, by name and id, in file order', () => {
    const content = [
      'alice:100000:65536',
      'bob:165536:65536',
      '1000:300000:10',
      'alice:231072:5',
    ].join('\n');
    assert.deepEqual(parseSubordinateIds(content, alice), [
      { start: 100000, count: 65536 },
      { start: 300000, count: 10 },
      { start: 231072, count: 5 },
    ]);
  });

  it('skips comments, blank lines and surrounding white space (CRLF too)', () => {
    const content = '# alice:1:1\n\n   \n  alice:100000:65536  \r\n\t#alice:2:2\n';
    assert.deepEqual(parseSubordinateIds(content, alice), [{ start: 100000, count: 65536 }]);
  });

  it('skips malformed lines and keeps the good ones around them', () => {
    const content = [
      'alice',
      'alice:100000',
      'alice:abc:10',
      'alice:100000:xyz',
      'alice:100000:0',
      'alice:-5:10',
      'alice:100000:-1',
      'alice:1.5:10',
      'alice:100000:2.5',
      'alice:99999999999999999999:10',
      'alice:700000:42',
    ].join('\n');
    assert.deepEqual(parseSubordinateIds(content, alice), [{ start: 700000, count: 42 }]);
  });

  it('empty content gives no ranges', () => {
    assert.deepEqual(parseSubordinateIds('', alice), []);
  });

  // shadow-utils parses the fields with strtoul and requires a non-empty, all-digit
  // field: an empty start is a malformed line. Number('') is 0, so the code takes it as 0.
  it('skips a line with an empty start or count field (shadow-utils: malformed)', () => {
    assert.deepEqual(parseSubordinateIds('alice::65536\nalice: :10\nalice:100000:\nalice:100000:\t\n', alice), []);
  });
});

describe('buildIdMappings', () => {
  it('maps the own id to 0 alone when there are no ranges', () => {
    assert.deepEqual(buildIdMappings(1000, []), [{ inside: 0, outside: 1000, count: 1 }]);
  });

  it('puts the ranges after the own id, back to back', () => {
    assert.deepEqual(
      buildIdMappings(1000, [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }]),
      [
        { inside: 0, outside: 1000, count: 1 },
        { inside: 1, outside: 100000, count: 65536 },
        { inside: 65537, outside: 300000, count: 10 },
      ],
    );
  });

  it('skips a range that contains the own id (start, middle and last id) without leaving a gap', () => {
    for (const containing of [{ start: 1000, count: 5 }, { start: 990, count: 20 }, { start: 900, count: 101 }]) {
      assert.deepEqual(
        buildIdMappings(1000, [containing, { start: 100000, count: 10 }]),
        [
          { inside: 0, outside: 1000, count: 1 },
          { inside: 1, outside: 100000, count: 10 },
        ],
        JSON.stringify(containing),
      );
    }
  });

  it('keeps ranges that end just before or start just after the own id', () => {
    assert.deepEqual(
      buildIdMappings(1000, [{ start: 990, count: 10 }, { start: 1001, count: 3 }]),
      [
        { inside: 0, outside: 1000, count: 1 },
        { inside: 1, outside: 990, count: 10 },
        { inside: 11, outside: 1001, count: 3 },
      ],
    );
  });
});

describe('formatMapping', () => {
  it('is "inside outside count", as /proc/PID/uid_map and newuidmap take it', () => {
    assert.equal(formatMapping({ inside: 1, outside: 100000, count: 65536 }), '1 100000 65536');
    assert.equal(formatMapping({ inside: 0, outside: 1000, count: 1 }), '0 1000 1');
  });
});
