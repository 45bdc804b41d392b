/**
 * The README's install line for the tests installs what the tests need: every package
 * `.ci/run` installs for them (its `packages=(...)` list).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

test("README's test install line has every package .ci/run installs", () => {
  const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
  const list = /^packages=\(([^)]*)\)/m.exec(ci);
  assert.ok(list, '.ci/run has a packages=(...) list');
  const wanted = list[1]!.split(/\s+/).filter((w) => w !== '' && !w.startsWith('#'));
  assert.ok(wanted.length > 10);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => /apt-get install/.test(l) && /npm test/.test(l));
  assert.ok(line, 'README.md has an `apt-get install ... && npm test` line');
  const missing = wanted.filter((p) => !line.split(/\s+/).includes(p));
  assert.deepEqual(missing, [], `README.md's test install line lacks ${missing.join(' ')}`);
});
