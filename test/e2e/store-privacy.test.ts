/**
 * Issue 12, item 1: the store is private to the user. A file owned by root in an image is
 * owned by the user on the host with its setuid bit kept, so in a store that others can
 * enter every setuid file of every image is a setuid-to-the-user program for them.
 *
 * Written as the attack: the test user imports an image holding a setuid-root file; the
 * other user (SANDBOX_NOSUB_USER) looks for it under the store with `find` and runs it by
 * its path. Every top directory (data, run, config, cache) is 0700 for a `--root` store,
 * a SANDBOX_ROOT store and an XDG store; a store an older version left 0755 is reported
 * by `system check` and closed by `--repair`; a runtime directory that another user
 * planted in /tmp (a link, or a directory of theirs) is refused.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, chown } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { SETUID_PATH, busyboxRootfsTar } from './fixtures.js';
import {
  asUser, lines, newStore, otherUser, otherUserProblems, removeUserTree, requireNoProblems, requireRootless, runSandbox,
  show, testUser, type RunOptions, type RunResult, type TestUser,
} from './harness.js';

const ROLES = ['data', 'run', 'config', 'cache'] as const;

function attackerProblems(): string[] {
  return otherUserProblems(process.env.SANDBOX_NOSUB_USER ?? 'sandbox-nosub',
    'SANDBOX_NOSUB_USER (another local user, the attacker; .ci/run makes sandbox-nosub)');
}

function attacker(): TestUser {
  return otherUser(process.env.SANDBOX_NOSUB_USER ?? 'sandbox-nosub');
}

function ready(t: TestContext, what: string): boolean {
  return requireRootless(t, what) && requireNoProblems(t, `${what} (as another user)`, attackerProblems());
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o7777;
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}

/** A directory of the test user that others can enter (as a home or a shared --root parent is). */
async function openUserDir(t: TestContext): Promise<string> {
  const dir = await newStore(t);
  chmodSync(dir, 0o755);
  return dir;
}

async function sandbox(args: string[], opts: RunOptions): Promise<RunResult> {
  return runSandbox(args, { timeoutMs: 120_000, ...opts });
}

/**
 * Fills a store the way a user does: imports the image, runs a sandbox (the overlay probe
 * writes the cache), exports it (export mounts under the runtime directory), removes it.
 */
async function useStore(opts: RunOptions, outDir: string, args: string[] = []): Promise<void> {
  const imp = await sandbox([...args, 'import', await busyboxRootfsTar(), 'bb'], opts);
  assert.equal(imp.code, 0, show(imp));
  const run = await sandbox([...args, 'run', '--name', 'priv', '--network', 'none', 'bb', 'true'], opts);
  assert.equal(run.code, 0, show(run));
  const exp = await sandbox([...args, 'export', '-o', join(outDir, 'priv.tar'), 'priv'], opts);
  assert.equal(exp.code, 0, show(exp));
  rmSync(join(outDir, 'priv.tar'));
  const rm = await sandbox([...args, 'rm', 'priv'], opts);
  assert.equal(rm.code, 0, show(rm));
}

/** Every top directory that exists is 0700 (data, run and cache must exist by now). */
function assertPrivate(dirs: Record<(typeof ROLES)[number], string>, what: string): void {
  for (const role of ROLES) {
    const path = dirs[role];
    if (role === 'config' && !existsSync(path)) continue; // nothing writes a config yet
    assert.equal(octal(modeOf(path)), '0700', `${what}: ${role} directory ${path}`);
    assert.equal(statSync(path).uid, testUser().uid, `${what}: ${path} belongs to the test user`);
  }
}

function rootDirs(root: string): Record<(typeof ROLES)[number], string> {
  return { data: join(root, 'data'), run: join(root, 'run'), config: join(root, 'config'), cache: join(root, 'cache') };
}

/** The setuid files under `dir` as the test user finds them. */
async function ownerFindsSetuid(dir: string): Promise<string[]> {
  const r = await asUser('find', [dir, '-type', 'f', '-perm', '-4000']);
  assert.equal(r.code, 0, show(r));
  return lines(r.stdout);
}

/**
 * Runs the image's setuid busybox (as its `sh` applet) and prints the Uid: line of its
 * /proc status: real, effective, saved, fs. Busybox drops its effective uid for applets,
 * but the saved uid stays the file owner's: the caller can become the owner at will.
 */
function runSetuid(file: string, user?: TestUser): Promise<RunResult> {
  return asUser('bash', ['-c', 'exec -a sh "$1" -c "grep ^Uid: /proc/self/status"', 'bash', file], user ? { user } : {});
}

/** The attack: the other user looks for setuid files under `dir` and runs `file`. */
async function attack(dir: string, file: string): Promise<{ find: RunResult; exec: RunResult }> {
  const user = attacker();
  const find = await asUser('find', [dir, '-type', 'f', '-perm', '-4000'], { user });
  return { find, exec: await runSetuid(file, user) };
}

/** The Uid: line as numbers: real, effective, saved, fs. */
function uids(r: RunResult): number[] {
  return (/^Uid:\s+(.*)$/m.exec(r.stdout)?.[1] ?? '').trim().split(/\s+/).map(Number);
}

function assertRepelled(a: { find: RunResult; exec: RunResult }, file: string): void {
  assert.equal(a.find.stdout, '', `the other user finds no setuid file:\n${show(a.find)}`);
  assert.notEqual(a.find.code, 0, show(a.find));
  assert.match(a.find.stderr, /Permission denied/, show(a.find));
  assert.equal(a.exec.code, 126, `the other user cannot run ${file}:\n${show(a.exec)}`);
  assert.match(a.exec.stderr, /Permission denied/, show(a.exec));
}

test('another user can neither find nor run the setuid files of an image in a --root store', async (t) => {
  if (!ready(t, 'store privacy (--root)')) return;
  const parent = await openUserDir(t);
  const root = join(parent, 'store'); // made by --root itself
  await useStore({ root: parent }, parent, ['--root', root]);

  // The owner finds the setuid file of the image: the attack has a target.
  const found = await ownerFindsSetuid(join(root, 'data'));
  const target = found.find((p) => p.endsWith(SETUID_PATH));
  assert.ok(target, `the image's ${SETUID_PATH} is in the store, setuid:\n${found.join('\n')}`);
  assert.ok((lstatSync(target).mode & 0o4000) !== 0 && lstatSync(target).uid === testUser().uid,
    'on the host it is the test user\'s, setuid');
  const own = await runSetuid(target);
  assert.equal(own.code, 0, `the owner can run it (the path is right):\n${show(own)}`);
  assert.equal(uids(own)[2], testUser().uid, show(own));

  assertRepelled(await attack(parent, target), target);
  assertPrivate(rootDirs(root), '--root store');
});

test('a SANDBOX_ROOT store and an XDG store are private too, and the attack fails on both', async (t) => {
  if (!ready(t, 'store privacy (SANDBOX_ROOT, XDG)')) return;
  // SANDBOX_ROOT (the harness's usual way), in a directory others can enter.
  const parent = await openUserDir(t);
  const root = join(parent, 'store');
  await useStore({ root }, parent);
  assertPrivate(rootDirs(root), 'SANDBOX_ROOT store');
  const target = (await ownerFindsSetuid(join(root, 'data'))).find((p) => p.endsWith(SETUID_PATH));
  assert.ok(target, 'the setuid file is in the SANDBOX_ROOT store');
  assertRepelled(await attack(parent, target), target);

  // XDG defaults, in a temporary home whose ~/.local/share and ~/.cache others can enter
  // (as in most homes); the runtime dir under a temporary XDG_RUNTIME_DIR of the user's.
  const home = await openUserDir(t);
  const u = testUser();
  for (const d of ['.local', '.local/share', '.cache']) {
    await mkdir(join(home, d), { mode: 0o755 });
    chmodSync(join(home, d), 0o755);
    if (u.switchUser) await chown(join(home, d), u.uid, u.gid);
  }
  const xdgRuntime = join(home, 'xdg-run');
  await mkdir(xdgRuntime, { mode: 0o700 });
  if (u.switchUser) await chown(xdgRuntime, u.uid, u.gid);
  const env = { HOME: home, SANDBOX_ROOT: '', XDG_RUNTIME_DIR: xdgRuntime };
  await useStore({ env }, home);
  const xdg = {
    data: join(home, '.local/share/sandbox'), run: join(xdgRuntime, 'sandbox'),
    config: join(home, '.config/sandbox'), cache: join(home, '.cache/sandbox'),
  };
  assertPrivate(xdg, 'XDG store');
  const xdgTarget = (await ownerFindsSetuid(xdg.data)).find((p) => p.endsWith(SETUID_PATH));
  assert.ok(xdgTarget, 'the setuid file is in the XDG store');
  assertRepelled(await attack(join(home, '.local/share'), xdgTarget), xdgTarget);
  const rmi = await sandbox(['rmi', 'bb'], { env });
  assert.equal(rmi.code, 0, show(rmi));
});

interface Problem { kind: string; severity: string; path: string; repaired: boolean; detail: string }
interface Report { consistent: boolean; problems: Problem[] }

async function check(root: string, ...args: string[]): Promise<{ r: RunResult; report?: Report }> {
  const r = await sandbox(['system', 'check', ...args], { root });
  return { r, report: args.includes('json') ? JSON.parse(r.stdout) as Report : undefined };
}

test('a store an older version left open: system check reports it, --repair closes it', async (t) => {
  if (!ready(t, 'store privacy (system check)')) return;
  const parent = await openUserDir(t);
  const root = join(parent, 'store');
  await useStore({ root }, parent);
  const dirs = rootDirs(root);
  // What older versions made: the root and every top directory 0755.
  const chmod = await asUser('chmod', ['0755', root, dirs.data, dirs.run, dirs.cache]);
  assert.equal(chmod.code, 0, show(chmod));
  const target = (await ownerFindsSetuid(dirs.data)).find((p) => p.endsWith(SETUID_PATH))!;
  assert.ok(target);
  // Open, the store is what the issue showed: the other user finds the file and runs it.
  const open = await attack(parent, target);
  assert.ok(lines(open.find.stdout).includes(target), `open, the other user finds it:\n${show(open.find)}`);
  assert.equal(open.exec.code, 0, `open, the other user runs it:\n${show(open.exec)}`);
  assert.deepEqual(uids(open.exec).slice(0, 3), [attacker().uid, attacker().uid, testUser().uid],
    `open, the other user gets the test user's uid (saved set-user-id):\n${show(open.exec)}`);

  // A read-only command does not close it (no work on the hot path): check must see it.
  const ps = await sandbox(['ps', '-a'], { root });
  assert.equal(ps.code, 0, show(ps));

  const before = await check(root, '--format', 'json');
  assert.equal(before.r.code, 1, `check exits 1 like for any other problem:\n${show(before.r)}`);
  const found = before.report!.problems.filter((p) => p.kind === 'open-store-dir');
  assert.deepEqual(found.map((p) => p.path).sort(), [dirs.cache, dirs.data, dirs.run].sort(), show(before.r));
  for (const p of found) assert.match(p.detail, /mode 0755/, show(before.r));
  assert.equal(octal(modeOf(dirs.data)), '0755', 'check alone changes nothing');

  const text = await check(root);
  assert.equal(text.r.code, 1, show(text.r));
  assert.match(text.r.stdout, /^problem: open-store-dir: the data directory is mode 0755/m, show(text.r));
  assert.match(text.r.stdout, /--repair would make it private \(chmod 0700\)/, show(text.r));

  const repair = await check(root, '--repair');
  assert.equal(repair.r.code, 0, show(repair.r));
  assert.equal(lines(repair.r.stdout).filter((l) => l.includes('repaired: make it private (chmod 0700)')).length, 3, show(repair.r));
  assert.match(repair.r.stdout, /3 problem\(s\) found, all repaired/, show(repair.r));
  assertPrivate(dirs, 'after --repair');

  const after = await check(root, '--format', 'json');
  assert.equal(after.r.code, 0, show(after.r));
  assert.deepEqual(after.report!.problems, [], show(after.r));
  assertRepelled(await attack(parent, target), target);
});

test('a command that writes closes an open top directory of its own', async (t) => {
  if (!ready(t, 'store privacy (closing on write)')) return;
  const parent = await openUserDir(t);
  const root = join(parent, 'store');
  await useStore({ root }, parent);
  const chmod = await asUser('chmod', ['0755', join(root, 'data')]);
  assert.equal(chmod.code, 0, show(chmod));
  const r = await sandbox(['run', '--rm', '--network', 'none', 'bb', 'true'], { root });
  assert.equal(r.code, 0, show(r));
  assert.equal(octal(modeOf(join(root, 'data'))), '0700');
});

/**
 * The runtime directory's fallback without XDG_RUNTIME_DIR, /tmp/sandbox-UID, made first by
 * the other user (`plant` runs as them). Removed again afterwards, as root.
 */
async function withPlantedRuntime(t: TestContext, plant: (path: string, user: TestUser) => Promise<void>): Promise<string> {
  const path = `/tmp/sandbox-${testUser().uid}`;
  if (existsSync(path) || (() => { try { lstatSync(path); return true; } catch { return false; } })()) {
    const st = lstatSync(path);
    // A leftover of the test user's own (an earlier run without XDG_RUNTIME_DIR): ours to clear.
    if (st.uid !== testUser().uid) throw new Error(`${path} exists and belongs to uid ${st.uid}: remove it first`);
    removeUserTree(path);
  }
  t.after(() => rmSync(path, { recursive: true, force: true }));
  await plant(path, attacker());
  return path;
}

async function assertRuntimeRefused(t: TestContext, fallback: string, message: RegExp, bait: string): Promise<void> {
  const home = await openUserDir(t);
  const env = { HOME: home, SANDBOX_ROOT: '' }; // no XDG_RUNTIME_DIR: the /tmp fallback
  const imp = await sandbox(['import', await busyboxRootfsTar(), 'bb'], { env });
  assert.equal(imp.code, 0, show(imp));
  const run = await sandbox(['run', '--name', 'priv', '--network', 'none', 'bb', 'true'], { env });
  assert.equal(run.code, 0, show(run));

  const out = join(home, 'out.tar');
  const exp = await sandbox(['export', '-o', out, 'priv'], { env });
  assert.equal(exp.code, 125, show(exp));
  const l = lines(exp.stderr);
  assert.equal(l.length, 2, `one error line and a hint:\n${show(exp)}`);
  assert.match(l[0] ?? '', message, show(exp));
  assert.ok(l[0]!.includes(fallback), `it names ${fallback}:\n${show(exp)}`);
  assert.match(l[1] ?? '', /^hint: .*XDG_RUNTIME_DIR/, show(exp));
  assert.deepEqual(readdirSync(bait), [], 'nothing was made in the planted place');
  assert.deepEqual(readdirSync(home).filter((n) => n.includes('out.tar')), [], 'no output, no temp file left');

  const chk = await sandbox(['system', 'check', '--format', 'json'], { env });
  assert.equal(chk.code, 1, show(chk));
  const report = JSON.parse(chk.stdout) as Report;
  assert.deepEqual(report.problems.filter((p) => p.kind === 'foreign-store-dir').map((p) => p.path), [fallback], show(chk));

  const rm = await sandbox(['rm', 'priv'], { env });
  assert.equal(rm.code, 0, show(rm));
  const rmi = await sandbox(['rmi', 'bb'], { env });
  assert.equal(rmi.code, 0, show(rmi));
}

test('a link another user planted as the /tmp runtime directory is refused, never followed', async (t) => {
  if (!ready(t, 'store privacy (runtime link)')) return;
  const bait = `/tmp/sandbox-e2e-bait-${process.pid}`;
  t.after(() => rmSync(bait, { recursive: true, force: true }));
  const fallback = await withPlantedRuntime(t, async (path, user) => {
    const r = await asUser('sh', ['-c', 'mkdir -m 0777 "$1" && chmod 0777 "$1" && ln -s "$1" "$2"', 'sh', bait, path], { user });
    assert.equal(r.code, 0, show(r));
  });
  assert.ok(lstatSync(fallback).isSymbolicLink());
  await assertRuntimeRefused(t, fallback, /^sandbox: the runtime directory \S+ is a symbolic link: refusing to follow it$/, bait);
});

test('a directory another user made as the /tmp runtime directory is refused', async (t) => {
  if (!ready(t, 'store privacy (runtime of another user)')) return;
  const fallback = await withPlantedRuntime(t, async (path, user) => {
    const r = await asUser('sh', ['-c', 'mkdir -m 0777 "$1" && chmod 0777 "$1"', 'sh', path], { user });
    assert.equal(r.code, 0, show(r));
  });
  await assertRuntimeRefused(t, fallback, new RegExp(`^sandbox: the store directory \\S+ belongs to uid ${attacker().uid}, not to you: refusing to use it$`), fallback);
});
