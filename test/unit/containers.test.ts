/** Sandbox names: exclusive reservation in <data>/names, stale take-over, release. */
import { describe, it, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxError } from '../../src/errors.js';
import type { StorePaths } from '../../src/state/paths.js';
import { containerDir, newContainerId, releaseName, reserveName } from '../../src/state/containers.js';

let base: string;
before(() => { base = mkdtempSync(join(tmpdir(), 'sandbox-names-')); });
after(() => { rmSync(base, { recursive: true, force: true }); });

let n = 0;
/** A fresh, empty store. */
function store(): StorePaths {
  const root = join(base, `s${n++}`);
  return { data: join(root, 'data'), runtime: join(root, 'run'), config: join(root, 'config'), cache: join(root, 'cache') };
}
const nameFile = (paths: StorePaths, name: string) => join(paths.data, 'names', name);
/** An id whose sandbox directory exists, as after createContainer. */
function live(paths: StorePaths): string {
  const id = newContainerId();
  mkdirSync(containerDir(paths, id), { recursive: true });
  return id;
}

describe('reserveName', () => {
  it('creates <data>/names/<name> holding the id', () => {
    const paths = store();
    const id = newContainerId();
    reserveName(paths, 'web', id);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), id);
    assert.deepEqual(readdirSync(join(paths.data, 'names')), ['web']);
  });

  it('a name held by an existing sandbox cannot be taken: exit 125, short id and hint', () => {
    const paths = store();
    const owner = live(paths);
    reserveName(paths, 'web', owner);
    assert.throws(() => reserveName(paths, 'web', newContainerId()), (err: unknown) => {
      assert.ok(err instanceof SandboxError);
      assert.equal(err.exitCode, 125);
      assert.equal(err.message, `the name "web" is already in use by sandbox ${owner.slice(0, 12)}`);
      assert.equal(err.hint, 'remove that sandbox (sandbox rm web) or choose another --name');
      return true;
    });
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), owner, 'the reservation is untouched');
  });

  it('the same id reserving twice is also a conflict (the reservation is exclusive)', () => {
    const paths = store();
    const owner = live(paths);
    reserveName(paths, 'web', owner);
    assert.throws(() => reserveName(paths, 'web', owner), SandboxError);
  });

  it('different names do not conflict', () => {
    const paths = store();
    reserveName(paths, 'a', live(paths));
    reserveName(paths, 'b', live(paths));
    assert.deepEqual(readdirSync(join(paths.data, 'names')).sort(), ['a', 'b']);
  });

  it('a stale reservation (its sandbox directory is gone) is taken over', () => {
    const paths = store();
    const gone = newContainerId();
    reserveName(paths, 'web', gone); // never got a directory: its command was killed
    const id = live(paths);
    reserveName(paths, 'web', id);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), id);
  });

  it('an empty reservation file (killed between create and write) is stale too', () => {
    const paths = store();
    mkdirSync(join(paths.data, 'names'), { recursive: true });
    writeFileSync(nameFile(paths, 'web'), '');
    const id = newContainerId();
    reserveName(paths, 'web', id);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), id);
  });

  it('rejects invalid names before touching the store', () => {
    const paths = store();
    for (const bad of ['', '-web', '.web', '_web', 'a/b', '../x', 'a b', 'a:b', 'é']) {
      assert.throws(() => reserveName(paths, bad, newContainerId()), (err: unknown) => {
        assert.ok(err instanceof SandboxError);
        assert.equal(err.exitCode, 125);
        assert.equal(err.message, `invalid sandbox name "${bad}"`);
        assert.equal(err.hint, 'names match [a-zA-Z0-9][a-zA-Z0-9_.-]*');
        return true;
      }, JSON.stringify(bad));
    }
    assert.equal(existsSync(paths.data), false);
  });

  it('accepts the names Docker accepts', () => {
    const paths = store();
    for (const good of ['a', '0', 'Web_1.2-x', 'a--b..c__d']) reserveName(paths, good, newContainerId());
    assert.equal(readdirSync(join(paths.data, 'names')).length, 4);
  });

  // The module promises "two racing `run --name x` can never both win". With a stale
  // reservation, A and B both read the stale owner; A unlinks it and creates its own;
  // B then unlinks A's fresh reservation (it still believes it is the stale one) and
  // creates its own: both return successfully. Simulated here by running A inside B's
  // read of the name file.
  it('two racing take-overs of a stale name cannot both win', { todo: 'B unlinks the reservation A just made: both reserveName calls succeed' }, (t) => {
    const paths = store();
    reserveName(paths, 'web', newContainerId()); // stale: no directory
    const a = live(paths);
    const b = live(paths);
    const file = nameFile(paths, 'web');
    const realRead = fs.readFileSync;
    let raced = false;
    t.after(() => { mock.restoreAll(); syncBuiltinESMExports(); });
    mock.method(fs, 'readFileSync', function (this: unknown, ...args: Parameters<typeof fs.readFileSync>) {
      const result = realRead.apply(this, args);
      if (!raced && args[0] === file) {
        raced = true;
        mock.restoreAll();
        syncBuiltinESMExports();
        reserveName(paths, 'web', a); // A wins the take-over meanwhile
      }
      return result;
    });
    syncBuiltinESMExports();
    let bWon = true;
    try { reserveName(paths, 'web', b); } catch { bWon = false; }
    assert.ok(raced, 'the race was simulated');
    assert.equal(readFileSync(file, 'utf8'), a, 'A keeps the name');
    assert.equal(bWon, false, 'B must fail');
  });
});

describe('releaseName', () => {
  it('removes its own reservation, and the name can be reserved again', () => {
    const paths = store();
    const id = live(paths);
    reserveName(paths, 'web', id);
    releaseName(paths, 'web', id);
    assert.equal(existsSync(nameFile(paths, 'web')), false);
    const next = live(paths);
    reserveName(paths, 'web', next);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), next);
  });

  it("leaves another sandbox's reservation alone", () => {
    const paths = store();
    const owner = live(paths);
    reserveName(paths, 'web', owner);
    releaseName(paths, 'web', newContainerId());
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), owner);
  });

  it('is a no-op for a name that is not reserved, or a store that does not exist', () => {
    const paths = store();
    assert.doesNotThrow(() => releaseName(paths, 'web', 'x'));
    reserveName(paths, 'other', 'id1');
    assert.doesNotThrow(() => releaseName(paths, 'web', 'id1'));
    assert.equal(readFileSync(nameFile(paths, 'other'), 'utf8'), 'id1');
  });
});
