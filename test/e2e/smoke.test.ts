/**
 * First e2e test: the real binary, as the unprivileged test user, as a person would run it.
 */
import assert from 'node:assert/strict';
import { chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  newStore, newUserDir, requireRootless, requireTestUser, runSandbox, testUser,
} from './harness.js';

function show(r: { code: number; stdout: string; stderr: string }): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

test('sandbox --help exits 0 and prints usage', async (t) => {
  if (!requireTestUser(t, '--help')) return;
  const r = await runSandbox(['--help'], { root: await newStore(t) });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /sandbox <command>/, show(r));
  assert.equal(r.stderr, '', show(r));
});

test('run --rm host: the caller is root inside', async (t) => {
  if (!requireRootless(t, 'run --rm host')) return;
  const r = await runSandbox(['run', '--rm', 'host', 'sh', '-c', 'id -u'], { root: await newStore(t) });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout.trim(), '0', show(r));
});

test('import a busybox rootfs, run it with a bind mount: output and exit status come through', async (t) => {
  if (!requireRootless(t, 'import + run bb')) return;
  const root = await newStore(t);
  const tar = await busyboxRootfsTar();

  const imp = await runSandbox(['import', tar, 'bb'], { root });
  assert.equal(imp.code, 0, show(imp));

  const dir = await newUserDir(t);
  const marker = join(dir, 'hello-from-host.txt');
  await writeFile(marker, 'hi\n');
  const user = testUser();
  if (user.switchUser) await chown(marker, user.uid, user.gid);

  const r = await runSandbox(
    ['run', '--rm', '--network', 'none', '-v', `${dir}:/src`, '-w', '/src', 'bb', 'sh', '-c', 'ls; exit 3'],
    { root },
  );
  assert.equal(r.code, 3, show(r));
  assert.match(r.stdout, /^hello-from-host\.txt$/m, show(r));
});
