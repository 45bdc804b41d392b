/**
 * Issue 12, item 7: bad input gets one line and exit 125, never an internal error.
 * - A full disk is "no space left on PATH" (a path in the store), not a malformed archive:
 *   a store on a small tmpfs, filled up, then import, load, commit and cp into it.
 * - Values over a system limit (names, hostname, tags, paths, env) name the limit.
 * - `-v` with a host path through a symlink binds the symlink's target, as Podman does.
 * - `--format` templates see only the documented fields, no JavaScript prototype names.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  importImage, lines, newStore, newUserDir, requireRootless, runSandbox, sharedTmp, show, testUser, type RunResult,
} from './harness.js';

/** One line `sandbox: ...`, one `hint: ...`, exit 125. */
function assertOneLineError(r: RunResult, message: RegExp): void {
  assert.equal(r.code, 125, show(r));
  const l = lines(r.stderr);
  assert.equal(l.length, 2, `one line and a hint:\n${show(r)}`);
  assert.match(l[0]!, message, show(r));
  assert.match(l[1]!, /^hint: \S/, show(r));
  assert.doesNotMatch(r.stderr, /internal error|malformed|malicious|corrupt|ENOSPC/, show(r));
}

/** A tmpfs of `mb` MiB owned by the test user, unmounted after the test. */
function smallDisk(t: TestContext, mb: number): string {
  const dir = mkdtempSync(join(sharedTmp(), 'sandbox-e2e-full-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m,mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount a tmpfs: ${r.stderr}`);
  t.after(() => {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const u = testUser();
  chownSync(dir, u.uid, u.gid);
  return dir;
}

/** Fills the file system of `dir` (as root, outside the store), then gives `leaveMb` MiB back. */
function fill(dir: string, leaveMb: number): void {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  ftruncateSync(fd, Math.max(0, written - leaveMb * (1 << 20)));
  closeSync(fd);
}

function freeMb(dir: string): number {
  const s = statfsSync(dir);
  return (s.bavail * s.bsize) / (1 << 20);
}

const NO_SPACE = /^sandbox: no space left on (\/\S+)/;

function assertNoSpaceIn(r: RunResult, store: string): void {
  assertOneLineError(r, NO_SPACE);
  const path = NO_SPACE.exec(lines(r.stderr)[0]!)![1]!;
  assert.ok(path.startsWith(`${store}/`), `the path ${path} is in the store ${store}\n${show(r)}`);
}

test('a full store: import, load, commit, cp, volume create, run say "no space left on" a path in the store; save -o, export -o, cp out name their file; exit 125', async (t) => {
  if (!requireRootless(t, 'a store on a full disk')) return;
  if (process.getuid?.() !== 0) { t.skip('mounting a small tmpfs needs root (the CI runs as root)'); return; }
  const disk = smallDisk(t, 48);
  const root = join(disk, 'store');
  mkdirSync(root, { mode: 0o700 });
  chownSync(root, testUser().uid, testUser().gid);
  // Nothing in it runs detached: the tmpfs goes with all of it (smallDisk).
  const tar = await busyboxRootfsTar();
  await importImage(root, tar, 'bb');
  const archive = join(await newUserDir(t), 'bb.tar');
  let r = await runSandbox(['save', '-o', archive, 'bb'], { root });
  assert.equal(r.code, 0, show(r));
  // A sandbox whose own writable layer (in the store) holds 4 MiB to commit.
  r = await runSandbox(['run', '--name', 'big', 'bb', 'dd', 'if=/dev/urandom', 'of=/big', 'bs=1M', 'count=4'], { root });
  assert.equal(r.code, 0, show(r));
  const bigHostFile = join(await newUserDir(t), 'big');
  writeFileSync(bigHostFile, randomBytes(8 << 20));
  chownSync(bigHostFile, testUser().uid, testUser().gid);
  // A tarball of new content (8 MiB that no stored layer has): its import must write it all.
  const bigTar = join(await newUserDir(t), 'big.tar');
  const made = spawnSync('tar', ['-cf', bigTar, '-C', join(bigHostFile, '..'), 'big']);
  assert.equal(made.status, 0, String(made.stderr));
  chownSync(bigTar, testUser().uid, testUser().gid);
  // An archive of an image the store no longer has: its load must write 8 MiB again.
  const bigArchive = join(await newUserDir(t), 'big-image.tar');
  for (const args of [['import', bigTar, 'bigimg'], ['save', '-o', bigArchive, 'bigimg'], ['rmi', 'bigimg']]) {
    r = await runSandbox(args, { root });
    assert.equal(r.code, 0, show(r));
  }

  // Room for a 4 MiB blob, not for it and its unpacked layer: the unpacker (helpers/layer.c) hits the wall.
  fill(disk, 6);
  assert.ok(freeMb(disk) < 7, `the disk is nearly full: ${freeMb(disk)} MiB free`);
  r = await runSandbox(['commit', 'big', 'big-image'], { root, timeoutMs: 120_000 });
  assertNoSpaceIn(r, root);
  r = await runSandbox(['import', bigTar, 'bb2'], { root });
  assertNoSpaceIn(r, root);
  r = await runSandbox(['load', '-i', bigArchive], { root });
  assertNoSpaceIn(r, root);
  // cp into the sandbox writes its writable layer (helpers/cp.c); it must end, not hang.
  r = await runSandbox(['cp', bigHostFile, 'big:/copied'], { root, timeoutMs: 60_000 });
  assertNoSpaceIn(r, root);

  // Nothing left at all: the first write of anything (a record, a blob) fails alike.
  fill(disk, 0);
  r = await runSandbox(['commit', 'big', 'big-image'], { root });
  assertNoSpaceIn(r, root);
  r = await runSandbox(['import', bigTar, 'bb3'], { root });
  assertNoSpaceIn(r, root);
  r = await runSandbox(['volume', 'create', 'v'], { root });
  assertNoSpaceIn(r, root);
  r = await runSandbox(['run', '--rm', 'bb', 'true'], { root });
  assertNoSpaceIn(r, root);
  // An output file outside the store is named as it is.
  r = await runSandbox(['save', '-o', join(disk, 'out.tar'), 'bb'], { root });
  assertOneLineError(r, new RegExp(`^sandbox: no space left on ${join(disk, 'out.tar')}$`));
  r = await runSandbox(['export', '-o', join(disk, 'export.tar'), 'big'], { root });
  assertOneLineError(r, new RegExp(`^sandbox: no space left on ${join(disk, 'export.tar')}$`));
  r = await runSandbox(['cp', 'big:/bin/busybox', join(disk, 'busybox')], { root });
  assertOneLineError(r, new RegExp(`^sandbox: no space left on ${join(disk, 'busybox')}$`));
  // Space back: the store works again.
  rmSync(join(disk, 'filler'));
  r = await runSandbox(['run', '--rm', 'bb', 'true'], { root });
  assert.equal(r.code, 0, show(r));
});

test('-v through a symlink binds its target, as Podman does (a directory, a file, a store reached by a symlink); a missing one says so', async (t) => {
  if (!requireRootless(t, 'binds')) return;
  const root = await newStore(t);
  const dir = await newUserDir(t, 'sandbox-e2e-links-');
  // Absolute symlinks, as /var/run -> /run: the helper reaches host paths from aside, where they broke.
  const u = testUser();
  mkdirSync(join(dir, 'real'));
  writeFileSync(join(dir, 'real', 'f'), 'through the link\n');
  chownSync(join(dir, 'real'), u.uid, u.gid);
  chownSync(join(dir, 'real', 'f'), u.uid, u.gid);
  const link = (name: string, to: string) => { symlinkSync(to, join(dir, name)); spawnSync('chown', ['-h', `${u.uid}:${u.gid}`, join(dir, name)]); return join(dir, name); };
  const dirLink = link('dir-link', join(dir, 'real'));
  const fileLink = link('file-link', join(dir, 'real', 'f'));
  const dangling = link('dangling', join(dir, 'gone'));
  await importImage(root, await busyboxRootfsTar(), 'bb');

  let r = await runSandbox(['run', '--rm', '-v', `${dirLink}:/d`, 'bb', 'cat', '/d/f'], { root });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'through the link\n');
  r = await runSandbox(['run', '--rm', '-v', `${fileLink}:/f:ro`, 'bb', 'cat', '/f'], { root });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'through the link\n');
  // A store reached through a symlink (a home directory that is one): its layers, its
  // sandboxes' directories and its volumes are reached from aside by the helpers too.
  const storeLink = link('store-link', root);
  r = await runSandbox(['run', '--rm', '-v', 'vol:/v', 'bb', 'sh', '-c', 'echo kept > /v/x'], { root: storeLink });
  assert.equal(r.code, 0, show(r));
  r = await runSandbox(['run', '--rm', '-v', 'vol:/v', 'bb', 'cat', '/v/x'], { root: storeLink });
  assert.equal(r.stdout, 'kept\n', show(r));
  r = await runSandbox(['run', '--name', 'linked', 'bb', 'sh', '-c', 'echo in-layer > /f'], { root: storeLink });
  assert.equal(r.code, 0, show(r));
  r = await runSandbox(['cp', 'linked:/f', '-'], { root: storeLink });
  assert.match(r.stdout, /in-layer/, show(r));
  // The host's own /var/run -> /run, where it is one.
  if (spawnSync('test', ['-L', '/var/run']).status === 0) {
    r = await runSandbox(['run', '--rm', '-v', '/var/run:/hostrun:ro', 'bb', 'ls', '-d', '/hostrun/lock'], { root });
    assert.equal(r.code, 0, show(r));
  }
  // What is really missing says so, once; a dangling symlink says where it points.
  r = await runSandbox(['run', '--rm', '-v', `${join(dir, 'nope')}:/d`, 'bb', 'true'], { root });
  assertOneLineError(r, new RegExp(`^sandbox: bind source ${join(dir, 'nope')}: no such file or directory$`));
  r = await runSandbox(['run', '--rm', '-v', `${dangling}:/d`, 'bb', 'true'], { root });
  assertOneLineError(r, /^sandbox: bind source \S+dangling: no such file or directory \(a symlink to \S+gone, which does not exist\)$/);
});

test('--format templates see only documented fields: no JavaScript prototype names, one line for any mistake', async (t) => {
  if (!requireRootless(t, 'a sandbox to list')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  let r = await runSandbox(['create', '--name', 'listed', 'bb', 'true'], { root });
  assert.equal(r.code, 0, show(r));
  for (const template of ['{{.constructor}}', '{{.__proto__}}', '{{.Names.length}}', '{{.toString}}', '{{constructor}}', '{{.Id | hasOwnProperty}}']) {
    r = await runSandbox(['ps', '-a', '--format', template], { root });
    assertOneLineError(r, /^sandbox: invalid --format template .*(no field|unknown function|neither a field)/);
  }
  r = await runSandbox(['ps', '-a', '--format', '{{index . "constructor"}}|{{.Names}}'], { root });
  assert.equal(r.stdout, '<no value>|listed\n', show(r));
  r = await runSandbox(['inspect', '--format', '{{.Config.constructor}}', 'listed'], { root });
  assertOneLineError(r, /no field constructor/);
});

test('values over a system limit: one line naming the limit, exit 125, nothing kept', async (t) => {
  if (!requireRootless(t, 'sandboxes to name')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const long = 'n'.repeat(300);
  const cases: [string[], RegExp][] = [
    [['run', '--rm', '--name', long, 'bb', 'true'], /^sandbox: sandbox name "n+\.\.\." is 300 characters long: the limit is 200$/],
    [['create', '--hostname', 'h'.repeat(65), 'bb', 'true'], /^sandbox: hostname "h+\.\.\." is 65 characters long: the limit is 64 \(HOST_NAME_MAX\)$/],
    [['volume', 'create', long], /^sandbox: volume name "n+\.\.\." is 300 characters long: the limit is 200$/],
    [['run', '--rm', '-v', `${long}:/data`, 'bb', 'true'], /^sandbox: volume name .* the limit is 200$/],
    [['tag', 'bb', `bb:${'t'.repeat(129)}`], /^sandbox: image tag "t+\.\.\." is 129 characters long: the limit is 128$/],
    [['tag', 'bb', 'r'.repeat(256)], /^sandbox: image name "r+\.\.\." is 256 characters long: the limit is 255$/],
    [['run', '--rm', '-w', `/${'c'.repeat(256)}`, 'bb', 'true'], /^sandbox: working directory .* has a component of 256 bytes: the limit is 255 \(NAME_MAX\)$/],
    [['run', '--rm', '-v', `/tmp:/${'p/'.repeat(2100)}`, 'bb', 'true'], /^sandbox: volume destination .* the limit is 4095 \(PATH_MAX\)$/],
  ];
  for (const [args, message] of cases) assertOneLineError(await runSandbox(args, { root }), message);
  let r = await runSandbox(['run', '-d', '--name', 'short', 'bb', 'sleep', '60'], { root });
  assert.equal(r.code, 0, show(r));
  assertOneLineError(await runSandbox(['rename', 'short', long], { root }), /^sandbox: sandbox name .* the limit is 200$/);
  // An environment entry over MAX_ARG_STRLEN (only a file can carry one): refused, not "command not found".
  const envFile = join(await newUserDir(t), 'big.env');
  writeFileSync(envFile, `BIG=${'x'.repeat(140_000)}\n`);
  chownSync(envFile, testUser().uid, testUser().gid);
  r = await runSandbox(['run', '--rm', '--env-file', envFile, 'bb', 'true'], { root });
  assertOneLineError(r, /^sandbox: environment variable BIG is 140004 bytes long: the limit is 131071 \(MAX_ARG_STRLEN, per string\)$/);
  r = await runSandbox(['exec', '--env-file', envFile, 'short', 'true'], { root });
  assertOneLineError(r, /^sandbox: environment variable BIG .*MAX_ARG_STRLEN/);
  r = await runSandbox(['ps', '-a', '--format', '{{.Names}}'], { root });
  assert.equal(r.stdout, 'short\n', `only the sandbox made on purpose is kept\n${show(r)}`);
});
