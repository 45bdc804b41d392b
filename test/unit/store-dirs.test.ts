/** The store's top directories are private to the user: judged, made, closed, refused. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureStoreDir, inspectStoreDirs, judgeStoreDir, mkdirInStore, octal, repairStoreDir, storeDirError, type DirFacts,
} from '../../src/state/store-dirs.js';
import { resolveStorePaths, type StorePaths } from '../../src/state/paths.js';

const me = 1000;
const dir = (mode: number, uid = me) => ({ dir: true, uid, mode: 0o40000 | mode });

describe('judgeStoreDir', () => {
  it('a private directory of ours is fine, a missing one is to be made', () => {
    assert.deepEqual(judgeStoreDir('data', { link: false, target: dir(0o700) }, me), { kind: 'private' });
    assert.deepEqual(judgeStoreDir('data', { link: false }, me), { kind: 'missing' });
  });

  it('any group or other bit makes it open, with the mode', () => {
    for (const mode of [0o755, 0o750, 0o701, 0o710, 0o702, 0o2770]) {
      assert.deepEqual(judgeStoreDir('cache', { link: false, target: dir(mode) }, me), { kind: 'open', mode }, octal(mode));
    }
  });

  it("another user's directory, or a file, is refused", () => {
    assert.deepEqual(judgeStoreDir('runtime', { link: false, target: dir(0o700, 1234) }, me), { kind: 'foreign', uid: 1234 });
    assert.deepEqual(judgeStoreDir('data', { link: false, target: { dir: false, uid: me, mode: 0o100600 } }, me), { kind: 'not-dir' });
  });

  it('the runtime directory is never a link; the others may be links of ours to directories of ours', () => {
    const ours: DirFacts = { link: true, linkUid: me, target: dir(0o700) };
    assert.deepEqual(judgeStoreDir('runtime', ours, me), { kind: 'link' });
    assert.deepEqual(judgeStoreDir('data', ours, me), { kind: 'private' });
    assert.deepEqual(judgeStoreDir('data', { link: true, linkUid: 1234, target: dir(0o700) }, me), { kind: 'foreign', uid: 1234 });
    assert.deepEqual(judgeStoreDir('data', { link: true, linkUid: me, target: dir(0o700, 1234) }, me), { kind: 'foreign', uid: 1234 });
    assert.deepEqual(judgeStoreDir('config', { link: true, linkUid: me }, me), { kind: 'missing' });
  });
});

describe('storeDirError', () => {
  it('names the directory; for the /tmp fallback the hint says XDG_RUNTIME_DIR', () => {
    const e = storeDirError('runtime', `/tmp/sandbox-${me}`, { kind: 'link' }, me)!;
    assert.equal(e.message, `the runtime directory /tmp/sandbox-${me} is a symbolic link: refusing to follow it`);
    assert.match(e.hint ?? '', /XDG_RUNTIME_DIR/);
    assert.equal(e.exitCode, 125);
    const f = storeDirError('data', '/srv/s/data', { kind: 'foreign', uid: 7 }, me)!;
    assert.equal(f.message, 'the store directory /srv/s/data belongs to uid 7, not to you: refusing to use it');
    assert.match(f.hint ?? '', /--root DIR/);
    assert.equal(storeDirError('data', '/x', { kind: 'open', mode: 0o755 }, me), undefined);
    assert.equal(storeDirError('data', '/x', { kind: 'private' }, me), undefined);
  });
});

describe('on disk', () => {
  const base = mkdtempSync(join(tmpdir(), 'store-dirs-'));
  after(() => rmSync(base, { recursive: true, force: true }));
  const modeOf = (p: string) => statSync(p).mode & 0o7777;
  let n = 0;
  const store = (): StorePaths => resolveStorePaths({ env: {}, uid: process.getuid!(), home: '/nonexistent', rootOverride: join(base, `s${n++}`, 'root') });

  it('makes a missing top directory and its parents 0700', () => {
    const paths = store();
    ensureStoreDir(paths, 'data');
    assert.equal(modeOf(paths.data), 0o700);
    assert.equal(modeOf(join(paths.data, '..')), 0o700);
  });

  it('closes one of ours that others can enter, and creates subdirectories inside', () => {
    const paths = store();
    mkdirSync(paths.cache, { recursive: true });
    chmodSync(paths.cache, 0o755);
    mkdirInStore(paths, 'cache', join(paths.cache, 'a', 'b'));
    assert.equal(modeOf(paths.cache), 0o700);
    assert.ok(statSync(join(paths.cache, 'a', 'b')).isDirectory());
  });

  it('a top directory removed after it was checked and re-made by mkdirInStore is closed again', () => {
    const paths = store();
    ensureStoreDir(paths, 'data');
    rmSync(paths.data, { recursive: true });
    const old = process.umask(0o022);
    try {
      mkdirInStore(paths, 'data', join(paths.data, 'names'));
    } finally {
      process.umask(old);
    }
    assert.equal(modeOf(paths.data), 0o700);
  });

  it('refuses a runtime directory that is a link, and writes nothing through it', () => {
    const paths = store();
    const elsewhere = join(base, `elsewhere${n}`);
    mkdirSync(elsewhere);
    chmodSync(elsewhere, 0o777);
    mkdirSync(join(paths.runtime, '..'), { recursive: true });
    symlinkSync(elsewhere, paths.runtime);
    assert.throws(() => ensureStoreDir(paths, 'runtime'), /is a symbolic link: refusing to follow it/);
    assert.ok(lstatSync(paths.runtime).isSymbolicLink());
    assert.equal(modeOf(elsewhere), 0o777);
  });

  it("refuses a directory that is someone else's, and a file", { skip: process.getuid!() !== 0 && 'chown needs root' }, () => {
    const paths = store();
    mkdirSync(paths.data, { recursive: true, mode: 0o755 });
    chownSync(paths.data, 4321, 4321);
    assert.throws(() => ensureStoreDir(paths, 'data'), /belongs to uid 4321, not to you/);
    assert.equal(modeOf(paths.data), 0o755);
  });

  it('refuses a file where a directory should be', () => {
    const paths = store();
    mkdirSync(join(paths.config, '..'), { recursive: true });
    writeFileSync(paths.config, '');
    assert.throws(() => ensureStoreDir(paths, 'config'), /exists and is not a directory/);
  });

  it('inspectStoreDirs reports, repairStoreDir closes, nothing else changes', () => {
    const paths = store();
    mkdirSync(paths.data, { recursive: true, mode: 0o755 });
    chmodSync(paths.data, 0o755);
    mkdirSync(paths.runtime, { mode: 0o700 });
    const states = inspectStoreDirs(paths);
    assert.deepEqual(states.map((s) => [s.role, s.verdict.kind]), [['data', 'open'], ['runtime', 'private'], ['config', 'missing'], ['cache', 'missing']]);
    assert.equal(modeOf(paths.data), 0o755, 'inspecting changes nothing');
    assert.equal(repairStoreDir(states[0]!), true);
    assert.equal(modeOf(paths.data), 0o700);
    assert.equal(inspectStoreDirs(paths).filter((s) => s.verdict.kind === 'open').length, 0);
  });
});
