/**
 * Garbage of the image store (src/images/gc.ts) and the owners of temporary work
 * (src/state/owner.ts): what is garbage and what is not, and a collection in a real
 * (temporary) store directory: unused blobs and dead processes' work go and are counted,
 * what the index names or a live transfer claimed stays.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyGarbage, collectImageGarbage, TransferLease, type StoreListing } from '../../src/images/gc.js';
import { ownedName, ownerAlive, ownerOf, ownerTag } from '../../src/state/owner.js';
import { processStartTime } from '../../src/state/liveness.js';
import { digestOf } from '../../src/images/blobs.js';
import type { StorePaths } from '../../src/state/paths.js';
import { tempStore } from './temp-store.js';

const hex = (c: string) => c.repeat(64);

function listing(over: Partial<StoreListing> = {}): StoreListing {
  return { blobs: [], blobTemps: [], layers: [], links: [], leases: [], trash: [], ...over };
}

/** A pid that surely runs no more: a child that has exited and been reaped. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe('owners of temporary work', () => {
  it('names carry pid and start time; old names a pid or nothing', () => {
    const me = ownerTag();
    assert.equal(me, `${process.pid}.${processStartTime(process.pid)}`);
    assert.deepEqual(ownerOf(ownedName('.unpack-')), { pid: process.pid, startTime: processStartTime(process.pid) });
    assert.deepEqual(ownerOf(`${me}-0123456789ab.json`), { pid: process.pid, startTime: processStartTime(process.pid) });
    assert.deepEqual(ownerOf('4242-0123456789ab'), { pid: 4242 }, 'an older blob temp');
    assert.deepEqual(ownerOf('.unpack-4242-0123456789ab'), { pid: 4242 }, 'an older staging directory');
    assert.equal(ownerOf('.import-0123456789ab'), undefined, 'no owner at all');
    assert.equal(ownerOf(hex('a')), undefined, 'a layer or blob name is no owner');
  });

  it('a live owner is alive; a dead pid, or a live pid with another start time (a reused pid), is not', () => {
    assert.equal(ownerAlive({ pid: process.pid, startTime: processStartTime(process.pid)! }), true);
    assert.equal(ownerAlive({ pid: process.pid, startTime: processStartTime(process.pid)! + 1 }), false);
    assert.equal(ownerAlive({ pid: deadPid() }), false);
  });
});

describe('classifyGarbage', () => {
  const alive = (n: string) => (n.includes('LIVE') ? true : n.includes('DEAD') ? false : undefined);
  const never = () => false;

  it('takes unused blobs and layers, keeps what the index names or a live lease claims', () => {
    const g = classifyGarbage({
      listing: listing({
        blobs: [hex('a'), hex('b'), hex('c'), hex('d')],
        layers: [hex('a'), hex('e'), hex('f')],
        leases: [{ name: 'LIVE.json', claims: { blobs: [hex('c')], layers: [hex('f')] } }, { name: 'DEAD.json', claims: { blobs: [hex('d')], layers: [] } }],
      }),
      referenced: { blobs: new Set([hex('a')]), layers: new Set([hex('a')]) },
      ownerAlive: alive, isOld: never,
    });
    assert.deepEqual(g.map((x) => x.rel).sort(), ['blobs/sha256/' + hex('b'), 'blobs/sha256/' + hex('d'), 'layers/' + hex('e'), 'leases/DEAD.json'].sort());
  });

  it('with a damaged index judges no blob or layer, only dead work', () => {
    const g = classifyGarbage({
      listing: listing({ blobs: [hex('b')], layers: [hex('e'), '.unpack-DEAD'], blobTemps: ['DEAD', 'LIVE'] }),
      ownerAlive: alive, isOld: never,
    });
    assert.deepEqual(g.map((x) => `${x.kind} ${x.rel}`).sort(), ['blob-temp blobs/tmp/DEAD', 'layer-staging layers/.unpack-DEAD']);
  });

  it('work without an owner counts once it is old; trash and link temps of dead owners go; dangling links and those of unused layers go', () => {
    const g = classifyGarbage({
      listing: listing({
        blobTemps: ['old', 'young'],
        layers: ['.import-old', '.import-young', '.unpack-LIVE', hex('e'), hex('f')],
        links: [
          { name: '0123456789abcdef', dangling: true }, { name: 'fedcba9876543210', dangling: false }, { name: '.link-DEAD', dangling: false },
          { name: 'eeeeeeeeeeeeeeee', dangling: false, target: hex('e') }, { name: 'ffffffffffffffff', dangling: false, target: hex('f') },
        ],
        trash: ['DEAD', 'LIVE'],
      }),
      referenced: { blobs: new Set(), layers: new Set([hex('f')]) },
      ownerAlive: alive, isOld: (rel) => rel.includes('old'),
    });
    assert.deepEqual(g.map((x) => x.rel).sort(), [
      'blobs/tmp/old', 'layers/.import-old', `layers/${hex('e')}`, 'layers/l/.link-DEAD', 'layers/l/0123456789abcdef', 'layers/l/eeeeeeeeeeeeeeee', 'trash/DEAD',
    ], 'an unused layer goes with its short link; a used one keeps its');
  });

  it('`only` judges just the given blobs and layers (a failed transfer takes back its own)', () => {
    const g = classifyGarbage({
      listing: listing({ blobs: [hex('b'), hex('c')], blobTemps: ['DEAD'] }),
      referenced: { blobs: new Set(), layers: new Set() },
      ownerAlive: alive, isOld: never, only: { blobs: new Set([hex('c')]), layers: new Set() },
    });
    assert.deepEqual(g.map((x) => x.rel), ['blobs/sha256/' + hex('c')]);
  });
});

describe('collectImageGarbage in a store directory', () => {
  const store = (): StorePaths => tempStore('sandbox-gc-');
  function blob(paths: StorePaths, bytes: Buffer): string {
    const d = digestOf(bytes);
    mkdirSync(join(paths.data, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(paths.data, 'blobs', 'sha256', d.slice(7)), bytes);
    return d;
  }

  it('removes and counts unused blobs and dead work; keeps what a live lease claimed', async () => {
    const paths = store();
    try {
      const unused = blob(paths, Buffer.alloc(100_000, 1));
      const claimed = blob(paths, Buffer.alloc(50_000, 2));
      const lease = new TransferLease(paths);
      await lease.claim({ blobs: [claimed] });
      mkdirSync(join(paths.data, 'blobs', 'tmp'), { recursive: true });
      writeFileSync(join(paths.data, 'blobs', 'tmp', `${deadPid()}.1-0123456789ab`), Buffer.alloc(30_000));
      const mine = join(paths.data, 'blobs', 'tmp', ownedName());
      writeFileSync(mine, Buffer.alloc(10_000));
      const staging = join(paths.data, 'layers', `.unpack-${deadPid()}.1-0123456789ab`, 'diff');
      mkdirSync(staging, { recursive: true });
      writeFileSync(join(staging, 'f'), Buffer.alloc(20_000));
      mkdirSync(join(paths.data, 'layers', 'l'), { recursive: true });
      symlinkSync(`../${hex('9')}/diff`, join(paths.data, 'layers', 'l', hex('9').slice(0, 16)));

      const linkBytes = `../${hex('9')}/diff`.length; // a symlink's size is its target's length
      const dry = await collectImageGarbage(paths, { dryRun: true });
      assert.equal(dry.reclaimed, 150_000 + linkBytes);
      assert.ok(existsSync(join(paths.data, 'blobs', 'sha256', unused.slice(7))), 'a dry run removes nothing');

      const report = await collectImageGarbage(paths);
      assert.deepEqual(report.items.map((i) => i.kind).sort(), ['blob-temp', 'layer-link', 'layer-staging', 'unused-blob']);
      assert.equal(report.reclaimed, 150_000 + linkBytes);
      assert.ok(report.items.every((i) => i.removed));
      assert.deepEqual(readdirSync(join(paths.data, 'blobs', 'sha256')), [claimed.slice(7)]);
      assert.ok(existsSync(mine), 'a live process’s temp blob stays');
      assert.deepEqual(readdirSync(join(paths.data, 'layers')).sort(), ['l']);
      assert.deepEqual(readdirSync(join(paths.data, 'trash')), [], 'the trash is emptied');

      // No room for a trash directory (here: a file in its way): removed in place, still counted.
      const late = blob(paths, Buffer.alloc(70_000, 3));
      rmSync(join(paths.data, 'trash'), { recursive: true });
      writeFileSync(join(paths.data, 'trash'), 'not a directory');
      const inPlace = await collectImageGarbage(paths);
      assert.deepEqual(inPlace.items.map((i) => [i.kind, i.removed]), [['unused-blob', true]]);
      assert.equal(inPlace.reclaimed, 70_000);
      assert.ok(!existsSync(join(paths.data, 'blobs', 'sha256', late.slice(7))));
      rmSync(join(paths.data, 'trash'));

      await lease.abandon();
      assert.deepEqual(readdirSync(join(paths.data, 'blobs', 'sha256')), [], 'an abandoned lease takes back what it claimed');
      assert.deepEqual(readdirSync(join(paths.data, 'leases')), []);
    } finally {
      rmSync(join(paths.data, '..'), { recursive: true, force: true });
    }
  });
});
