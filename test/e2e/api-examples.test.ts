/**
 * Issue 17: the examples of examples/ (node:test, Vitest, Jest, a service with a port and a
 * wait strategy) type-check against the built package (tsc, the project's own TypeScript)
 * and run, as the unprivileged test user, each in a fresh store, leaving no sandbox behind.
 *
 * Each example is a package of its own depending on this checkout (`file:../..`). Its
 * node_modules come from its package-lock.json (`npm ci`: Vitest and Jest from the npm
 * registry); .ci/run installs them before the tests, and this file does when they are
 * missing (a developer's first run), as whoever runs the tests (the checkout's owner).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { REPO_ROOT, asUser, lines, makeUserDir, newStore, removeUserTree, requireRootless, runSandbox, show } from './harness.js';

const EXAMPLES = join(REPO_ROOT, 'examples');
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** The examples: every directory of examples/ with a package.json. */
function examples(): string[] {
  return readdirSync(EXAMPLES).filter((d) => existsSync(join(EXAMPLES, d, 'package.json'))).sort();
}

/**
 * Installs an example's dependencies from its lock file, unless node_modules is newer than it.
 * --ignore-scripts: npm would run the linked checkout's `prepare` (the whole build) once per
 * example; the tests run after `npm run build`, and Vitest's and Jest's packages need no scripts.
 */
function ensureInstalled(dir: string): void {
  const stamp = join(dir, 'node_modules', '.package-lock.json');
  const lock = join(dir, 'package-lock.json');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= statSync(lock).mtimeMs) return;
  const r = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`npm ci in ${dir} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

describe('examples/', () => {
  before(() => {
    for (const name of examples()) ensureInstalled(join(EXAMPLES, name));
  });

  test('there are the four examples of the README', () => {
    assert.deepEqual(examples(), ['jest', 'node-test', 'service', 'vitest']);
  });

  for (const name of ['node-test', 'vitest', 'jest', 'service']) {
    test(`${name}: type-checks against the built package`, () => {
      assert.ok(existsSync(join(REPO_ROOT, 'dist', 'types', 'api', 'index.d.ts')), 'the package is built with its types (npm run build)');
      const r = spawnSync(process.execPath, [TSC, '-p', join(EXAMPLES, name)], { encoding: 'utf8', cwd: join(EXAMPLES, name) });
      assert.equal(r.status, 0, `tsc -p examples/${name}:\n${r.stdout}${r.stderr}`);
    });

    test(`${name}: npm test passes as the test user and leaves no sandbox`, async (t) => {
      if (!requireRootless(t, `examples/${name}`)) return;
      const root = await newStore(t);
      const scratch = await makeUserDir('sandbox-e2e-example-');
      t.after(() => removeUserTree(scratch));
      const r = await asUser('npm', ['test', '--silent'], {
        root,
        cwd: join(EXAMPLES, name),
        timeoutMs: 240_000,
        env: {
          CI: 'true',
          // npm's logs and cache, Vitest's cache: the test user's, not the checkout's owner's.
          npm_config_cache: join(scratch, 'npm'),
          VITEST_CACHE_DIR: join(scratch, 'vite'),
          TMPDIR: scratch,
          npm_config_update_notifier: 'false',
        },
      });
      assert.equal(r.code, 0, `npm test in examples/${name}:\n${show(r)}`);
      // Every runner says how many tests passed; none may have been skipped or failed.
      assert.match(`${r.stdout}${r.stderr}`, /pass(ed)?\b/i, show(r));
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /\b[1-9]\d* (failed|skipped)\b|^# (fail|skipped) [1-9]/m, show(r));
      const left = await runSandbox(['ps', '-a', '-q', '--no-trunc'], { root });
      assert.deepEqual(lines(left.stdout), [], `sandboxes left by examples/${name}:\n${show(left)}`);
    });
  }
});
