/**
 * Issue 12, items 5 and 6 (the image index): killed and failed operations leave nothing
 * that prune and `system check --repair` do not collect and count; work in progress is
 * never collected; a damaged images.json locks nobody out. As the unprivileged test user:
 * - a store on a small tmpfs filled with imports until the disk is full: the failed
 *   import leaves nothing, `image prune -a` and `system check --repair` (after a killed
 *   import) bring the used space back to what it was, and say how much they freed;
 * - a killed commit and a killed import of a large-ish file: prune reclaims and counts;
 * - a commit that runs out of space takes back what it stored; rmi -a -f collects what
 *   a killed one left;
 * - an import running while prune and --repair run: it survives, and its image runs;
 * - garbage in images.json: `images` and `run` work, changing commands say what to do,
 *   `system check` names the file, `--repair` restores the images and their tags;
 * - stale name reservations go with `container prune` and `system prune`.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsDir, busyboxRootfsTar } from './fixtures.js';
import {
  collect, eventually, importImage, killGroup, lines, newStore, requireRootless, runSandbox, sharedTmp, show, spawnSandbox, testUser,
  requireRoot, type RunResult,
} from './harness.js';

interface Problem { kind: string; severity: string; path: string; detail: string; repaired: boolean }
interface CheckReport { consistent: boolean; problems: Problem[] }

const GARBAGE_KINDS = ['unused-blob', 'unused-layer', 'blob-temp', 'layer-staging', 'layer-link', 'stale-lease', 'gc-trash'];

/** A tmpfs of `mib` MiB owned by the test user (the store's root); unmounted after the test. */
function smallDisk(t: TestContext, mib: number): string | undefined {
  if (!requireRoot(t, 'a small disk', 'mounting a tmpfs')) return undefined;
  const dir = mkdtempSync(join(sharedTmp(), 'sandbox-e2e-disk-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  assert.equal(m.status, 0, `mount a tmpfs: ${m.stderr}`);
  const user = testUser();
  chownSync(dir, user.uid, user.gid);
  t.after(() => {
    spawnSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Bytes in use on the filesystem holding `dir`. */
function usedBytes(dir: string): number {
  const s = statfsSync(dir);
  return (s.blocks - s.bfree) * s.bsize;
}

/** Bytes under `dir` (du as root: it reads the layers' subordinate-owned files too). */
function duBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]);
}

/**
 * A rootfs tarball the test user can read: busybox plus `mib` MiB of random bytes in
 * /big (random: each tarball is a different image, and compresses to nothing less).
 */
async function bigTarball(t: TestContext, mib: number): Promise<string> {
  const dir = mkdtempSync(join(sharedTmp(), 'sandbox-e2e-big-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const extra = join(dir, 'extra');
  const mk = spawnSync('sh', ['-c', `mkdir ${extra} && head -c ${mib << 20} /dev/urandom > ${extra}/big && tar -C ${await busyboxRootfsDir()} -cf ${dir}/rootfs.tar . && tar -C ${extra} -rf ${dir}/rootfs.tar big`], { encoding: 'utf8' });
  assert.equal(mk.status, 0, mk.stderr);
  chmodSync(join(dir, 'rootfs.tar'), 0o644);
  return join(dir, 'rootfs.tar');
}

function entries(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

/** Waits until `ready()` (polled every 20 ms), or fails after `ms`. */
async function until(what: string, ready: () => boolean, child: ChildProcess, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (child.exitCode !== null || child.signalCode !== null) assert.fail(`${what}: the command ended before that`);
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Kills the command (its process only, as a `kill -9` from outside would) and waits for its processes to end. */
async function killNow(child: ChildProcess, store: string): Promise<void> {
  const done = collect(child, { timeoutMs: 30_000 });
  child.kill('SIGKILL');
  await done;
  // Its helpers see their pipes close and end too; wait for that, so the store is still.
  const wrong = await eventually(() => (processesMentioning(store).length ? `processes still at work in ${store}` : ''), 20_000);
  assert.equal(wrong, '');
  killGroup(child);
}

function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const p of entries('/proc').filter((x) => /^\d+$/.test(x))) {
    if (Number(p) === process.pid) continue;
    let text = '';
    try { text += readFileSync(`/proc/${p}/cmdline`, 'utf8'); } catch { continue; }
    if (text.includes(needle)) out.push(Number(p));
  }
  return out;
}

/** The bytes a "Reclaimed 12.3MB" / "Total reclaimed space: 4kB" line says. */
function reclaimedBytes(text: string): number {
  const m = /[Rr]eclaimed(?: space:)? (\d+(?:\.\d+)?)(B|kB|MB|GB)/.exec(text);
  assert.ok(m, `a reclaimed line in: ${text}`);
  return Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'B'];
}

async function check(root: string, repair = false): Promise<{ result: RunResult; report: CheckReport }> {
  const result = await runSandbox(['system', 'check', ...(repair ? ['--repair'] : []), '--format', 'json'], { root, timeoutMs: 120_000 });
  assert.ok(result.code === 0 || result.code === 1, show(result));
  return { result, report: JSON.parse(result.stdout) as CheckReport };
}

function noInternalError(r: RunResult): void {
  assert.doesNotMatch(r.stdout + r.stderr, /internal error/, show(r));
}

test('a full disk: a failed import leaves nothing; prune -a and --repair after a killed import give the space back, counted', async (t) => {
  const disk = smallDisk(t, 48);
  if (!disk) return;
  const root = disk;
  const empty = await runSandbox(['images'], { root });
  assert.equal(empty.code, 0, show(empty));
  const before = usedBytes(disk);

  // 14 MiB of random bytes: ~18 MB of tarball, stored twice (the blob and the unpacked
  // layer): the second import cannot fit, at whatever point it runs out.
  const tars = await Promise.all([bigTarball(t, 14), bigTarball(t, 14), bigTarball(t, 14)]);
  let failed: RunResult | undefined;
  const imported: string[] = [];
  for (const [i, tar] of tars.entries()) {
    const r = await runSandbox(['import', tar, `big:${i}`], { root, timeoutMs: 120_000 });
    if (r.code !== 0) { failed = r; break; }
    imported.push(`big:${i}`);
  }
  assert.ok(failed, 'the disk filled up');
  assert.ok(imported.length >= 1, 'the first import fits');
  assert.equal(failed.code, 125, show(failed));
  assert.match(failed.stderr, /no space left/i, show(failed));
  noInternalError(failed);

  // The failed import took back what it had stored: nothing to collect.
  const after = await check(root);
  assert.deepEqual(after.report.problems.filter((p) => GARBAGE_KINDS.includes(p.kind)), [], show(after.result));
  assert.deepEqual(entries(join(root, 'data', 'blobs', 'tmp')), []);
  assert.deepEqual(entries(join(root, 'data', 'layers')).filter((n) => n.startsWith('.')), []);

  const prune = await runSandbox(['image', 'prune', '-a', '-f'], { root });
  assert.equal(prune.code, 0, show(prune));
  assert.ok(reclaimedBytes(prune.stderr) > 30e6, `prune counts the images it removed: ${prune.stderr}`);
  assert.ok(usedBytes(disk) - before < 256 << 10, `the space is back: ${usedBytes(disk) - before} bytes more than before`);

  // A killed import (its blob stored, its layer being unpacked): --repair finds, removes and measures it.
  const importing = spawnSandbox(['import', tars[0]!, 'killed:1'], { root });
  await until('the import unpacks its layer', () => entries(join(root, 'data', 'layers')).some((n) => n.startsWith('.unpack-')), importing);
  await killNow(importing, root);
  assert.ok(usedBytes(disk) - before > 10e6, 'the killed import left its data');
  const found = await check(root);
  assert.equal(found.result.code, 1, show(found.result));
  const kinds = new Set(found.report.problems.map((p) => p.kind));
  assert.ok(kinds.has('unused-blob') && kinds.has('layer-staging') && kinds.has('stale-lease'), show(found.result));
  const repaired = await check(root, true);
  assert.equal(repaired.result.code, 0, show(repaired.result));
  assert.ok(usedBytes(disk) - before < 256 << 10, `--repair gives the space back: ${usedBytes(disk) - before} bytes more than before`);
  const text = await runSandbox(['system', 'check'], { root });
  assert.equal(text.code, 0, show(text));

  // And the store works: the same import fits again.
  const again = await runSandbox(['import', tars[1]!, 'again:1'], { root, timeoutMs: 120_000 });
  assert.equal(again.code, 0, show(again));
});

test('killed commit and killed import: prune reclaims what they left and counts it', async (t) => {
  if (!requireRootless(t, 'commit')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const made = await runSandbox(['run', '--name', 'writer', '--network', 'none', 'bb', 'sh', '-c', 'head -c 41943040 /dev/urandom > /big'], { root });
  assert.equal(made.code, 0, show(made));
  const data = join(root, 'data');
  const baseline = duBytes(join(data, 'blobs')) + duBytes(join(data, 'layers'));

  // The commit is killed while it writes its layer blob (a gzip of 40 MiB of random bytes).
  const committing = spawnSandbox(['commit', 'writer', 'snap:1'], { root });
  await until('the commit writes its blob', () => entries(join(data, 'blobs', 'tmp')).some((n) => statSync(join(data, 'blobs', 'tmp', n)).size > 4 << 20), committing);
  await killNow(committing, root);

  // The import is killed after its blob is stored, while its layer is unpacked.
  const tar = await bigTarball(t, 30);
  const importing = spawnSandbox(['import', tar, 'big:1'], { root });
  await until('the import unpacks its layer', () => entries(join(data, 'layers')).some((n) => n.startsWith('.unpack-')), importing);
  await killNow(importing, root);

  const left = duBytes(join(data, 'blobs')) + duBytes(join(data, 'layers')) - baseline;
  assert.ok(left > 30e6, `the killed commands left their data (${left} bytes)`);
  const images = await runSandbox(['images', '--format', 'json'], { root });
  assert.equal((JSON.parse(images.stdout) as unknown[]).length, 1, 'no image of theirs');

  const prune = await runSandbox(['image', 'prune', '-f'], { root });
  assert.equal(prune.code, 0, show(prune));
  const reclaimed = reclaimedBytes(prune.stderr);
  assert.ok(reclaimed > 0.9 * left, `prune counts what it freed: ${prune.stderr} (${left} bytes were left)`);
  const now = duBytes(join(data, 'blobs')) + duBytes(join(data, 'layers'));
  assert.ok(now - baseline < 64 << 10, `the space is back: ${now - baseline} bytes more than before`);
  const clean = await check(root);
  assert.equal(clean.result.code, 0, show(clean.result));

  // The image they were made from still runs.
  const runs = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'true'], { root });
  assert.equal(runs.code, 0, show(runs));
});

test('an import survives prune and --repair running while it stores its layer', async (t) => {
  if (!requireRootless(t, 'run of an imported image')) return;
  const root = await newStore(t);
  const data = join(root, 'data');
  const tar = await bigTarball(t, 30);
  const importing = spawnSandbox(['import', tar, 'busy:1'], { root });
  const done = collect(importing, { timeoutMs: 120_000 });
  // Its blob is in the store (no image names it yet) and its layer is being unpacked.
  await until('the import unpacks its layer', () => entries(join(data, 'layers')).some((n) => n.startsWith('.unpack-')), importing);
  let rounds = 0;
  while (importing.exitCode === null && rounds < 20) {
    // (not -a: that would remove the image as soon as it is there, as it should)
    const [prune, repair] = await Promise.all([runSandbox(['image', 'prune', '-f'], { root }), check(root, true)]);
    assert.equal(prune.code, 0, show(prune));
    assert.ok(!repair.report.problems.some((p) => GARBAGE_KINDS.includes(p.kind)), `nothing of a live import is garbage: ${show(repair.result)}`);
    rounds++;
  }
  const imported = await done;
  assert.equal(imported.code, 0, show(imported));
  assert.ok(rounds >= 1, 'prune ran while the import did');
  const runs = await runSandbox(['run', '--rm', '--network', 'none', 'busy:1', 'sh', '-c', 'wc -c < /big'], { root });
  assert.equal(runs.code, 0, show(runs));
  assert.equal(runs.stdout.trim(), String(30 << 20));
  const clean = await check(root);
  assert.equal(clean.result.code, 0, show(clean.result));
});

test('garbage in images.json: images and run work, changes say what to do, --repair restores images and tags', async (t) => {
  if (!requireRootless(t, 'run from a damaged index')) return;
  const root = await newStore(t);
  const data = join(root, 'data');
  const id = await importImage(root, await busyboxRootfsTar(), 'bb:1');
  for (const name of ['bb:2', 'other/app:v3']) {
    const tag = await runSandbox(['tag', 'bb:1', name], { root });
    assert.equal(tag.code, 0, show(tag));
  }
  const listing = async (): Promise<string[]> => {
    const r = await runSandbox(['images', '--format', 'json'], { root });
    assert.equal(r.code, 0, show(r));
    return (JSON.parse(r.stdout) as { Names: string[] }[]).flatMap((e) => e.Names).sort();
  };
  const good = await listing();
  assert.equal(good.length, 3);

  writeFileSync(join(data, 'images.json'), '{"images": {"sha256:\u0000garbage');
  const images = await runSandbox(['images'], { root });
  assert.equal(images.code, 0, show(images));
  assert.match(images.stderr, /images\.json is damaged/);
  assert.match(images.stderr, /sandbox system check --repair/);
  assert.deepEqual(await listing(), good, 'the images and tags, recovered from the backup');
  const run = await runSandbox(['run', '--rm', '--network', 'none', 'bb:2', 'echo', 'ok'], { root });
  assert.equal(run.code, 0, show(run));
  assert.equal(run.stdout, 'ok\n');
  for (const args of [['tag', 'bb:1', 'x'], ['rmi', 'bb:1'], ['image', 'prune', '-a', '-f'], ['import', await busyboxRootfsTar(), 'new:1']]) {
    const r = await runSandbox(args, { root });
    assert.equal(r.code, 125, show(r));
    assert.equal(lines(r.stderr).length, 2, `one line and a hint: ${show(r)}`);
    assert.match(r.stderr, new RegExp(`^sandbox: the image index ${join(data, 'images.json')} is damaged`));
    assert.match(r.stderr, /hint: run `sandbox system check --repair`/);
  }
  const found = await check(root);
  assert.equal(found.result.code, 1);
  assert.deepEqual(found.report.problems.map((p) => [p.kind, p.path]), [['damaged-index', join(data, 'images.json')]]);
  const repaired = await check(root, true);
  assert.equal(repaired.result.code, 0, show(repaired.result));
  const clean = await runSandbox(['images'], { root });
  assert.equal(clean.stderr, '', 'no warning any more');
  assert.deepEqual(await listing(), good);
  assert.doesNotThrow(() => JSON.parse(readFileSync(join(data, 'images.json'), 'utf8')));

  // Both copies damaged: the image is rebuilt from its manifest, untagged, and the lost tags are reported.
  writeFileSync(join(data, 'images.json'), 'garbage');
  writeFileSync(join(data, 'images.backup.json'), '[');
  const untagged = await runSandbox(['images', '--format', 'json'], { root });
  assert.equal(untagged.code, 0, show(untagged));
  assert.deepEqual((JSON.parse(untagged.stdout) as { Id: string }[]).map((e) => e.Id), [id.slice(7)]);
  const byId = await runSandbox(['run', '--rm', '--network', 'none', id.slice(7, 19), 'true'], { root });
  assert.equal(byId.code, 0, show(byId));
  const lost = await check(root, true);
  assert.equal(lost.result.code, 0, show(lost.result));
  const loss = lost.report.problems.find((p) => p.kind === 'index-loss');
  assert.ok(loss && loss.detail.includes(join(data, 'images.backup.json')), show(lost.result));
  const retag = await runSandbox(['tag', id.slice(7, 19), 'bb:1'], { root });
  assert.equal(retag.code, 0, show(retag));
  for (const r of [images, run, found.result, repaired.result, untagged, lost.result]) noInternalError(r);
});

test('stale name reservations: system check reports them, container prune and system prune release them', async (t) => {
  if (!requireRootless(t, 'create')) return;
  const root = await newStore(t);
  const data = join(root, 'data');
  await importImage(root, await busyboxRootfsTar(), 'bb');
  /** A reservation whose sandbox directory is gone, as a killed `run --rm` leaves it. */
  const stale = async (name: string) => {
    const c = await runSandbox(['create', '--name', name, '--network', 'none', 'bb', 'true'], { root });
    assert.equal(c.code, 0, show(c));
    rmSync(join(data, 'containers', c.stdout.trim()), { recursive: true, force: true });
    assert.ok(existsSync(join(data, 'names', name)));
  };
  await stale('ghost1');
  const found = await check(root);
  assert.deepEqual(found.report.problems.map((p) => p.kind), ['stale-name'], show(found.result));
  const prune = await runSandbox(['container', 'prune', '-f'], { root });
  assert.equal(prune.code, 0, show(prune));
  assert.ok(!existsSync(join(data, 'names', 'ghost1')), 'container prune released it');

  await stale('ghost2');
  const sys = await runSandbox(['system', 'prune', '-f'], { root });
  assert.equal(sys.code, 0, show(sys));
  assert.match(sys.stdout, /Total reclaimed space: /);
  assert.ok(!existsSync(join(data, 'names', 'ghost2')), 'system prune released it');
  const reuse = await runSandbox(['run', '--rm', '--name', 'ghost2', '--network', 'none', 'bb', 'true'], { root });
  assert.equal(reuse.code, 0, show(reuse));
  const clean = await check(root);
  assert.equal(clean.result.code, 0, show(clean.result));
});

test('a commit that runs out of space takes back what it stored; rmi -a -f collects what a killed one left', async (t) => {
  if (!requireRootless(t, 'commit')) return;
  const disk = smallDisk(t, 48);
  if (!disk) return;
  const root = disk;
  const before = usedBytes(disk);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  // 15 MiB of random bytes in the writable layer; its commit needs them twice more (blob and unpacked layer).
  const made = await runSandbox(['run', '--name', 'writer', '--network', 'none', 'bb', 'sh', '-c', 'head -c 15728640 /dev/urandom > /big'], { root });
  assert.equal(made.code, 0, show(made));
  const filled = usedBytes(disk);
  const fill = asRootFile(disk, 'filler', Math.max(0, 48 * 2 ** 20 - filled - 24 * 2 ** 20));
  const loaded = usedBytes(disk);

  const commit = await runSandbox(['commit', 'writer', 'snap:1'], { root, timeoutMs: 120_000 });
  assert.equal(commit.code, 125, show(commit));
  assert.match(commit.stderr, /no space left/i, show(commit));
  noInternalError(commit);
  assert.ok(usedBytes(disk) - loaded < 256 << 10, `the failed commit took back what it stored: ${usedBytes(disk) - loaded} bytes more`);
  const after = await check(root);
  assert.deepEqual(after.report.problems.filter((p) => GARBAGE_KINDS.includes(p.kind)), [], show(after.result));

  // With room again, a commit killed while it writes its blob: rmi -a -f removes the
  // image, its sandbox and what the commit left.
  rmSync(fill);
  const committing = spawnSandbox(['commit', 'writer', 'snap:2'], { root });
  const data = join(root, 'data');
  await until('the commit writes its blob', () => entries(join(data, 'blobs', 'tmp')).some((n) => statSync(join(data, 'blobs', 'tmp', n)).size > 2 << 20), committing);
  await killNow(committing, root);
  assert.ok(usedBytes(disk) - filled > 2e6, 'the killed commit left its blob');
  const rmi = await runSandbox(['rmi', '-a', '-f'], { root });
  assert.equal(rmi.code, 0, show(rmi));
  assert.ok(usedBytes(disk) - before < 256 << 10, `everything is gone: ${usedBytes(disk) - before} bytes more than before`);
});

/** A file of `bytes` zero bytes (written as root: it takes room the test user cannot free by mistake). */
function asRootFile(dir: string, name: string, bytes: number): string {
  const path = join(dir, name);
  const r = spawnSync('sh', ['-c', `head -c ${bytes} /dev/zero > ${path}`]);
  assert.equal(r.status, 0);
  return path;
}
