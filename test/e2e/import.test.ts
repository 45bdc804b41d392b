/**
 * Issue 2, item 4: `sandbox import TARBALL NAME[:TAG]` makes an image from a rootfs
 * tarball; owners and modes in the tarball survive. Run as the unprivileged test user.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { APP_GID, APP_UID, OWNED_FILE_CONTENT, SETUID_PATH, busyboxRootfsTar } from './fixtures.js';
import {
  eventually, lines, newStore, newUserDir, requireRootless, runSandbox, show, testUser, type RunResult,
} from './harness.js';

function assertErrorWithHint(r: RunResult): void {
  const l = lines(r.stderr);
  assert.equal(l.length, 2, `two lines on stderr:\n${show(r)}`);
  assert.match(l[0] ?? '', /^sandbox: \S/, show(r));
  assert.match(l[1] ?? '', /^hint: \S/, show(r));
}

/** Writes a file the test user can read, in a directory of its own. */
async function userFile(t: TestContext, name: string, data: string | Buffer): Promise<string> {
  const dir = await newUserDir(t, 'sandbox-e2e-import-');
  const path = join(dir, name);
  await writeFile(path, data);
  const u = testUser();
  if (u.switchUser) await chown(path, u.uid, u.gid);
  return path;
}

function imagesJson(root: string): string {
  const p = join(root, 'data', 'images.json');
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

/** Half-done imports left in the layer store (staging directories and the like). */
function strayLayers(root: string): string[] {
  const dir = join(root, 'data', 'layers');
  return existsSync(dir) ? readdirSync(dir).filter((e) => e.startsWith('.')) : [];
}

/** Processes whose command line names `path` (pid and command line). */
function processesOn(path: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(path)) out.push(`${pid} ${cmd}`);
    } catch {
      // gone
    }
  }
  return out;
}

const CHECK_SCRIPT = [
  `stat -c '%u:%g %A %n' /home/app /home/app/owned ${SETUID_PATH}`,
  `ls -l ${SETUID_PATH}`,
  'cat /home/app/owned',
].join('; ');

function assertBusyboxOwnership(r: RunResult): void {
  assert.equal(r.code, 0, show(r));
  const out = lines(r.stdout);
  assert.equal(out[0], `${APP_UID}:${APP_GID} drwxr-xr-x /home/app`, show(r));
  assert.equal(out[1], `${APP_UID}:${APP_GID} -rw-r--r-- /home/app/owned`, show(r));
  assert.equal(out[2], `0:0 -rwsr-xr-x ${SETUID_PATH}`, `the setuid bit is kept:\n${show(r)}`);
  assert.match(out[3] ?? '', /^-rwsr-xr-x\s/, `ls -l shows the s:\n${show(r)}`);
  assert.equal(`${out.slice(4).join('\n')}\n`, OWNED_FILE_CONTENT, show(r));
}

test('import a busybox tar: ids and the setuid bit in the tarball survive, uid 1000 owns its files inside', async (t) => {
  if (!requireRootless(t, 'import')) return;
  const root = await newStore(t);
  const imp = await runSandbox(['import', await busyboxRootfsTar(), 'bb'], { root });
  assert.equal(imp.code, 0, show(imp));
  assert.match(imp.stdout, /^sha256:[0-9a-f]{64}\n$/, `prints the image id:\n${show(imp)}`);
  assert.match(imagesJson(root), /"localhost\/bb:latest"/, 'tagged localhost/bb:latest, as Podman names it');

  const r = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'sh', '-c', CHECK_SCRIPT], { root });
  assertBusyboxOwnership(r);

  // The ownership is real, not just displayed: uid 1000 may write its own file, not root's.
  const asApp = await runSandbox(['run', '--rm', '--network', 'none', '-u', `${APP_UID}:${APP_GID}`, 'bb', 'sh', '-c',
    'echo more >> /home/app/owned && echo own-ok; echo x >> /etc/passwd 2>/dev/null || echo etc-denied'], { root });
  assert.equal(asApp.code, 0, show(asApp));
  assert.deepEqual(lines(asApp.stdout), ['own-ok', 'etc-denied'], show(asApp));
});

test('import a gzip-compressed tar, under NAME:TAG', async (t) => {
  if (!requireRootless(t, 'import gzip')) return;
  const root = await newStore(t);
  // No .gz in the name: the compression must be recognised by content.
  const gz = await userFile(t, 'rootfs-compressed', gzipSync(readFileSync(await busyboxRootfsTar())));
  const imp = await runSandbox(['import', gz, 'gz/busybox:v1'], { root });
  assert.equal(imp.code, 0, show(imp));
  assert.match(imp.stdout, /^sha256:[0-9a-f]{64}\n$/, show(imp));
  assert.match(imagesJson(root), /"localhost\/gz\/busybox:v1"/, 'tagged gz/busybox:v1');

  const r = await runSandbox(['run', '--rm', '--network', 'none', 'gz/busybox:v1', 'sh', '-c', CHECK_SCRIPT], { root });
  assertBusyboxOwnership(r);
});

test('import of a file that is not a tar: exit 125, one error line and a hint, nothing left in the store', async (t) => {
  if (!requireRootless(t, 'import non-tar')) return;
  const root = await newStore(t);
  const notTar = await userFile(t, 'not-a-tarball.txt', 'just some text, not an archive\n'.repeat(50));
  const r = await runSandbox(['import', notTar, 'broken'], { root });
  assert.equal(r.code, 125, show(r));
  assertErrorWithHint(r);
  assert.match(r.stderr, /not-a-tarball\.txt/, show(r));
  assert.doesNotMatch(imagesJson(root), /broken/, 'no image is made');
  assert.deepEqual(strayLayers(root), [], 'no half-unpacked layer is left');

  const missing = await runSandbox(['import', join(notTar, '..', 'no-such-file.tar'), 'missing'], { root });
  assert.equal(missing.code, 125, show(missing));
  assertErrorWithHint(missing);
});

test('import under an invalid image name: exit 125, one error line and a hint', async (t) => {
  if (!requireRootless(t, 'import bad name')) return;
  const root = await newStore(t);
  const tar = await busyboxRootfsTar();
  for (const name of ['Bad Name!', 'UPPER', 'a:b:c', ':tag', '']) {
    const r = await runSandbox(['import', tar, name], { root });
    assert.equal(r.code, 125, `name ${JSON.stringify(name)}:\n${show(r)}`);
    assertErrorWithHint(r);
  }
  assert.doesNotMatch(imagesJson(root), /"tags":\s*\{\s*"/, 'no image is tagged');
});

test('import of a truncated gzip tarball: exit 125, one error line and a hint, nothing left in the store', async (t) => {
  if (!requireRootless(t, 'import truncated gzip')) return;
  const root = await newStore(t);
  const whole = gzipSync(readFileSync(await busyboxRootfsTar()));
  const truncated = await userFile(t, 'truncated.tar.gz', whole.subarray(0, Math.floor(whole.length / 2)));
  const r = await runSandbox(['import', truncated, 'cut'], { root });
  // First (so that the store's clean-up does not race with it): once the CLI has exited,
  // nothing it started may still work on the store.
  const stillRunning = await eventually(() => processesOn(root).join('\n'), 10_000);
  assert.equal(r.code, 125, show(r));
  assertErrorWithHint(r);
  assert.doesNotMatch(imagesJson(root), /"cut/, 'no image is made');
  assert.deepEqual(strayLayers(root), [], 'no half-unpacked layer is left');
  assert.equal(stillRunning, '', 'no process of the import outlives the CLI');
});
