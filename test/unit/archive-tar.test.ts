/** Reading and writing image archive tars; staging an archive read in one pass. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { archivePath, linkTarget, readTar, TarWriter } from '../../src/images/archive/tar.js';
import { stageArchive } from '../../src/images/archive/staging.js';
import { TransferLease } from '../../src/images/gc.js';
import type { StorePaths } from '../../src/state/paths.js';
import { storeAt } from './temp-store.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A tar made with tar-stream directly: files and links. */
async function makeTar(entries: { name: string; data?: Buffer; type?: 'symlink' | 'link' | 'directory'; linkname?: string }[]): Promise<Buffer> {
  const p = tarPack();
  for (const e of entries) {
    if (e.type) p.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else p.entry({ name: e.name }, e.data ?? Buffer.alloc(0));
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function tempStore(): { paths: StorePaths; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'archive-unit-'));
  return { paths: storeAt(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('archive paths', () => {
  it('normalises and refuses paths that climb out', () => {
    assert.equal(archivePath('./a//b/./c'), 'a/b/c');
    assert.equal(archivePath('/manifest.json'), 'manifest.json');
    assert.equal(archivePath('a/../b'), 'b');
    assert.equal(archivePath('../etc/passwd'), undefined);
    assert.equal(archivePath('a/../../x'), undefined);
  });

  it('resolves symlinks from their directory, hard links from the root', () => {
    assert.equal(linkTarget('abc/layer.tar', '../def.tar', false), 'def.tar');
    assert.equal(linkTarget('abc/layer.tar', 'x.tar', false), 'abc/x.tar');
    assert.equal(linkTarget('abc/layer.tar', 'def.tar', true), 'def.tar');
    assert.equal(linkTarget('abc/layer.tar', '../../x', false), undefined);
  });
});

describe('readTar and TarWriter', () => {
  it('round-trips files written in memory and streamed, plain and gzip-compressed as a whole', async () => {
    const big = Buffer.alloc(3 << 20, 7);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new TarWriter(out);
    await w.addBytes('manifest.json', Buffer.from('[]'));
    await w.addStream('big.tar', big.length, Readable.from([big.subarray(0, 1000), big.subarray(1000)]));
    await w.finish();
    const tar = Buffer.concat(chunks);
    for (const input of [tar, gzipSync(tar)]) {
      const seen: [string | undefined, number, string][] = [];
      for await (const e of readTar(Readable.from([input]))) {
        const parts: Buffer[] = [];
        for await (const c of e.data) parts.push(c);
        seen.push([e.path, e.size, sha(Buffer.concat(parts))]);
      }
      assert.deepEqual(seen, [['manifest.json', 2, sha(Buffer.from('[]'))], ['big.tar', big.length, sha(big)]]);
    }
  });

  it('a stream that yields fewer bytes than announced fails the archive', async () => {
    const out = new PassThrough();
    out.resume();
    const w = new TarWriter(out);
    await assert.rejects(w.addStream('short', 100, Readable.from([Buffer.alloc(10)])));
  });

  it('a truncated archive ends with an error', async () => {
    const tar = await makeTar([{ name: 'a', data: Buffer.alloc(5000, 1) }, { name: 'b', data: Buffer.alloc(5000, 2) }]);
    await assert.rejects(async () => {
      for await (const e of readTar(Readable.from([tar.subarray(0, 3000)]))) for await (const _ of e.data) { /* drain */ }
    }, /Unexpected end of data/);
    const gz = gzipSync(tar);
    await assert.rejects(async () => {
      for await (const e of readTar(Readable.from([gz.subarray(0, gz.length - 20)]))) for await (const _ of e.data) { /* drain */ }
    }, /unexpected end of file/i);
  });

  it('skips what the consumer does not read', async () => {
    const tar = await makeTar([{ name: 'a', data: Buffer.alloc(5000, 1) }, { name: 'b', data: Buffer.from('bee') }]);
    const names: (string | undefined)[] = [];
    for await (const e of readTar(Readable.from([tar]))) names.push(e.path);
    assert.deepEqual(names, ['a', 'b']);
  });
});

describe('stageArchive', () => {
  it('keeps small files in memory, large ones in temp files, follows links, and removes temp files on dispose', async () => {
    const { paths, cleanup } = tempStore();
    try {
      const layer = Buffer.alloc(2 << 20, 3);
      const tar = await makeTar([
        { name: 'x1', type: 'directory' },
        { name: 'big.tar', data: layer },
        { name: 'x1/layer.tar', type: 'symlink', linkname: '../big.tar' },
        { name: 'hard.tar', type: 'link', linkname: 'big.tar' },
        { name: 'manifest.json', data: Buffer.from('[1]') },
        { name: '../escape', data: Buffer.from('no') },
      ]);
      const staged = await stageArchive(paths, Readable.from([tar]));
      const m = staged.get('manifest.json')!;
      assert.equal(m.bytes?.toString(), '[1]');
      const big = staged.get('x1/layer.tar')!;
      assert.equal(big, staged.get('big.tar'));
      assert.equal(big, staged.get('hard.tar'));
      assert.equal(big.digest, sha(layer));
      assert.equal(big.size, layer.length);
      assert.ok(big.temp && !big.bytes, 'a large file goes to a temp file');
      assert.equal(staged.has('escape'), false);
      assert.equal(readdirSync(join(paths.data, 'blobs', 'tmp')).length, 1);
      staged.dispose();
      assert.equal(readdirSync(join(paths.data, 'blobs', 'tmp')).length, 0);
    } finally {
      cleanup();
    }
  });

  it('commit adopts a staged file as a blob, claimed by the lease; abandoning the lease takes it back', async () => {
    const { paths, cleanup } = tempStore();
    try {
      const layer = Buffer.alloc(2 << 20, 4);
      const staged = await stageArchive(paths, Readable.from([await makeTar([{ name: 'l.tar', data: layer }, { name: 'c.json', data: Buffer.from('{}') }])]));
      const lease = new TransferLease(paths);
      const l = await staged.commit(paths, lease, staged.get('l.tar')!);
      const c = await staged.commit(paths, lease, staged.get('c.json')!);
      assert.deepEqual(readdirSync(join(paths.data, 'blobs', 'sha256')).sort(), [l.digest.slice(7), c.digest.slice(7)].sort());
      assert.equal(l.digest, sha(layer));
      await lease.abandon();
      staged.dispose();
      assert.deepEqual(readdirSync(join(paths.data, 'blobs', 'sha256')), []);
    } finally {
      cleanup();
    }
  });

  it('a blob of an OCI layout that does not match its name fails, leaving no temp file', async () => {
    const { paths, cleanup } = tempStore();
    try {
      const wrong = `blobs/sha256/${'0'.repeat(64)}`;
      for (const data of [Buffer.from('small'), Buffer.alloc(2 << 20, 5)]) {
        await assert.rejects(stageArchive(paths, Readable.from([await makeTar([{ name: wrong, data }])])), /does not match its digest/);
      }
      assert.deepEqual(readdirSync(join(paths.data, 'blobs', 'tmp')), []);
    } finally {
      cleanup();
    }
  });

  it('a truncated archive fails and leaves no temp file', async () => {
    const { paths, cleanup } = tempStore();
    try {
      const tar = await makeTar([{ name: 'a.tar', data: Buffer.alloc(3 << 20, 1) }, { name: 'manifest.json', data: Buffer.from('[]') }]);
      await assert.rejects(stageArchive(paths, Readable.from([tar.subarray(0, 2 << 20)])), /Unexpected end of data/);
      assert.deepEqual(readdirSync(join(paths.data, 'blobs', 'tmp')), []);
    } finally {
      cleanup();
    }
  });
});
