/** Sandbox names: exclusive reservation in <data>/names, stale take-over, release; createSandboxRecord. */
import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { SandboxError } from '../../src/errors.js';
import type { StorePaths } from '../../src/state/paths.js';
import { createSandboxRecord, newSandboxId, readRecord, releaseName, reserveName, type SandboxRecord } from '../../src/state/sandboxes.js';
import { sandboxDir } from '../../src/state/sandbox-dir.js';
import { tempStores } from './temp-store.js';

/** A fresh, empty store. */
const store = tempStores('sandbox-names-');
const nameFile = (paths: StorePaths, name: string) => join(paths.data, 'names', name);
/** An id whose sandbox directory exists, as after createSandboxRecord. */
function live(paths: StorePaths): string {
  const id = newSandboxId();
  mkdirSync(sandboxDir(paths, id), { recursive: true });
  return id;
}

describe('reserveName', () => {
  it('creates <data>/names/<name> holding the id', async () => {
    const paths = store();
    const id = newSandboxId();
    await reserveName(paths, 'web', id);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), id);
    assert.deepEqual(readdirSync(join(paths.data, 'names')), ['web']);
  });

  it('a name held by an existing sandbox cannot be taken: exit 125, short id and hint', async () => {
    const paths = store();
    const owner = live(paths);
    await reserveName(paths, 'web', owner);
    await assert.rejects(reserveName(paths, 'web', newSandboxId()), (err: unknown) => {
      assert.ok(err instanceof SandboxError);
      assert.equal(err.exitCode, 125);
      assert.equal(err.message, `the name "web" is already in use by sandbox ${owner.slice(0, 12)}`);
      assert.equal(err.hint, 'remove that sandbox (sandbox rm web) or choose another --name');
      return true;
    });
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), owner, 'the reservation is untouched');
  });

  it('the same id reserving twice is also a conflict (the reservation is exclusive)', async () => {
    const paths = store();
    const owner = live(paths);
    await reserveName(paths, 'web', owner);
    await assert.rejects(reserveName(paths, 'web', owner), SandboxError);
  });

  it('different names do not conflict', async () => {
    const paths = store();
    await reserveName(paths, 'a', live(paths));
    await reserveName(paths, 'b', live(paths));
    assert.deepEqual(readdirSync(join(paths.data, 'names')).sort(), ['a', 'b']);
  });

  it('a stale reservation (its sandbox directory is gone) is taken over', async () => {
    const paths = store();
    const gone = newSandboxId();
    await reserveName(paths, 'web', gone); // never got a directory: its command was killed
    const id = live(paths);
    await reserveName(paths, 'web', id);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), id);
  });

  it('an empty reservation file (killed between create and write) is stale too', async () => {
    const paths = store();
    mkdirSync(join(paths.data, 'names'), { recursive: true });
    writeFileSync(nameFile(paths, 'web'), '');
    const id = newSandboxId();
    await reserveName(paths, 'web', id);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), id);
  });

  it('rejects invalid names before touching the store', async () => {
    const paths = store();
    for (const bad of ['', '-web', '.web', '_web', 'a/b', '../x', 'a b', 'a:b', 'é']) {
      await assert.rejects(reserveName(paths, bad, newSandboxId()), (err: unknown) => {
        assert.ok(err instanceof SandboxError);
        assert.equal(err.exitCode, 125);
        assert.equal(err.message, `invalid sandbox name "${bad}"`);
        assert.equal(err.hint, 'sandbox names start with a letter or digit and continue with letters, digits, "_", "." or "-" ([a-zA-Z0-9][a-zA-Z0-9_.-]*)');
        return true;
      }, JSON.stringify(bad));
    }
    assert.equal(existsSync(paths.data), false);
  });

  it('accepts the names Docker accepts', async () => {
    const paths = store();
    for (const good of ['a', '0', 'Web_1.2-x', 'a--b..c__d']) await reserveName(paths, good, newSandboxId());
    assert.equal(readdirSync(join(paths.data, 'names')).length, 4);
  });

  // The module promises "two racing `run --name x` can never both win". With a stale
  // reservation, A and B both read the stale owner; A takes it over; B must then not
  // remove A's fresh reservation (believing it is still the stale one) and take it too.
  // Simulated here by completing A's take-over inside B's read of the name file: B's
  // take-over re-reads the owner under the names lock and finds A there.
  it('two racing take-overs of a stale name cannot both win', async (t) => {
    const paths = store();
    await reserveName(paths, 'web', newSandboxId()); // stale: no directory
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
        writeFileSync(file, a); // A wins the take-over meanwhile (it replaces the stale reservation)
      }
      return result;
    });
    syncBuiltinESMExports();
    let bWon = true;
    try { await reserveName(paths, 'web', b); } catch { bWon = false; }
    assert.ok(raced, 'the race was simulated');
    assert.equal(readFileSync(file, 'utf8'), a, 'A keeps the name');
    assert.equal(bWon, false, 'B must fail');
  });

  it('many concurrent take-overs of a stale name: exactly one wins, the others are told who has it', async () => {
    for (let round = 0; round < 5; round++) {
      const paths = store();
      await reserveName(paths, 'web', newSandboxId()); // stale: no directory
      const ids = Array.from({ length: 8 }, () => live(paths));
      const results = await Promise.allSettled(ids.map((id) => reserveName(paths, 'web', id)));
      const winners = ids.filter((_, i) => results[i]!.status === 'fulfilled');
      assert.equal(winners.length, 1, `exactly one winner: ${results.map((r) => r.status).join(' ')}`);
      const winner = winners[0]!;
      assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), winner);
      for (const r of results) {
        if (r.status === 'rejected') {
          assert.ok(r.reason instanceof SandboxError, String(r.reason));
          assert.equal(r.reason.message, `the name "web" is already in use by sandbox ${winner.slice(0, 12)}`);
        }
      }
      assert.deepEqual(readdirSync(join(paths.data, 'names')), ['web'], 'no lock or temp file left behind');
    }
  });

  it('a take-over leaves no lock or temp file behind', async () => {
    const paths = store();
    await reserveName(paths, 'web', newSandboxId()); // stale
    await reserveName(paths, 'web', live(paths));
    assert.deepEqual(readdirSync(join(paths.data, 'names')), ['web']);
  });
});

function recordFor(id: string, name: string): SandboxRecord {
  return {
    id, name, created: '2024-01-01T00:00:00.000Z', image: 'busybox', command: ['sh'], hostname: id.slice(0, 12),
    request: {} as SandboxRecord['request'], state: { status: 'created' },
  };
}

describe('createSandboxRecord', () => {
  it('creates the directory and record, then reserves the name', async () => {
    const paths = store();
    const id = newSandboxId();
    const dir = await createSandboxRecord(paths, recordFor(id, 'web'));
    assert.equal(dir, sandboxDir(paths, id));
    assert.equal(readRecord(paths, id)?.name, 'web');
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), id);
  });

  // A reservation made before its directory exists looks stale to a concurrent
  // reserveName, which would take it over: both would think they own the name.
  it('the directory and record exist before the reservation appears', async (t) => {
    const paths = store();
    const id = newSandboxId();
    const file = nameFile(paths, 'web');
    const realOpen = fs.openSync;
    let seen: { dir: boolean; record: boolean } | undefined;
    t.after(() => { mock.restoreAll(); syncBuiltinESMExports(); });
    mock.method(fs, 'openSync', function (this: unknown, ...args: Parameters<typeof fs.openSync>) {
      if (args[0] === file && !seen) seen = { dir: existsSync(sandboxDir(paths, id)), record: readRecord(paths, id) !== undefined };
      return realOpen.apply(this, args);
    });
    syncBuiltinESMExports();
    await createSandboxRecord(paths, recordFor(id, 'web'));
    assert.deepEqual(seen, { dir: true, record: true });
  });

  it('a concurrent reserveName sees the fresh reservation as live, not stale', async () => {
    const paths = store();
    const id = newSandboxId();
    await createSandboxRecord(paths, recordFor(id, 'web'));
    await assert.rejects(reserveName(paths, 'web', newSandboxId()), { message: `the name "web" is already in use by sandbox ${id.slice(0, 12)}` });
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), id);
  });

  it('racing createSandboxRecord calls for one name: one wins, the loser leaves no directory behind', async () => {
    const paths = store();
    const ids = Array.from({ length: 6 }, () => newSandboxId());
    const results = await Promise.allSettled(ids.map((id) => createSandboxRecord(paths, recordFor(id, 'web'))));
    const winners = ids.filter((_, i) => results[i]!.status === 'fulfilled');
    assert.equal(winners.length, 1);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), winners[0]);
    assert.deepEqual(readdirSync(join(paths.data, 'containers')), winners);
  });

  it('a name in use: rejected, and its directory is removed again', async () => {
    const paths = store();
    const owner = live(paths);
    await reserveName(paths, 'web', owner);
    const id = newSandboxId();
    await assert.rejects(createSandboxRecord(paths, recordFor(id, 'web')), SandboxError);
    assert.equal(existsSync(sandboxDir(paths, id)), false);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), owner);
  });

  it('an invalid name is rejected before touching the store', async () => {
    const paths = store();
    await assert.rejects(createSandboxRecord(paths, recordFor(newSandboxId(), '-bad')), { message: 'invalid sandbox name "-bad"' });
    assert.equal(existsSync(paths.data), false);
  });
});

describe('releaseName', () => {
  it('removes its own reservation, and the name can be reserved again', async () => {
    const paths = store();
    const id = live(paths);
    await reserveName(paths, 'web', id);
    releaseName(paths, 'web', id);
    assert.equal(existsSync(nameFile(paths, 'web')), false);
    const next = live(paths);
    await reserveName(paths, 'web', next);
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), next);
  });

  it("leaves another sandbox's reservation alone", async () => {
    const paths = store();
    const owner = live(paths);
    await reserveName(paths, 'web', owner);
    releaseName(paths, 'web', newSandboxId());
    assert.equal(readFileSync(nameFile(paths, 'web'), 'utf8'), owner);
  });

  it('is a no-op for a name that is not reserved, or a store that does not exist', async () => {
    const paths = store();
    assert.doesNotThrow(() => releaseName(paths, 'web', 'x'));
    await reserveName(paths, 'other', 'id1');
    assert.doesNotThrow(() => releaseName(paths, 'web', 'id1'));
    assert.equal(readFileSync(nameFile(paths, 'other'), 'utf8'), 'id1');
  });
});
