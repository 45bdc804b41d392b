/**
 * A damaged image index (src/images/store.ts): what counts as damaged, and the index
 * rebuilt from a store directory (manifests whose config and layers are present) and
 * from the backup copy (tags). Real files in a temporary directory, no lock needed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf } from '../../src/images/blobs.js';
import { MediaTypes } from '../../src/images/manifest.js';
import {
  damagedIndexError, imageIndexBackupPath, imageIndexPath, parseImageIndex, readImageIndex, rebuildImageIndex,
} from '../../src/images/store.js';
import type { StorePaths } from '../../src/state/paths.js';
import { tempStore } from './temp-store.js';

const store = (): StorePaths => tempStore('sandbox-index-');

function putBlob(paths: StorePaths, bytes: Buffer): { digest: string; size: number } {
  const digest = digestOf(bytes);
  mkdirSync(join(paths.data, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(paths.data, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/** A one-layer image as the store holds it: layer blob, unpacked layer, config, manifest. Returns its id and manifest digest. */
function putImage(paths: StorePaths, content: string, options: { unpack?: boolean; layerBlob?: boolean } = {}): { id: string; manifest: string } {
  const layer = Buffer.from(content.padEnd(1024, '.'));
  const diffId = digestOf(layer);
  if (options.layerBlob !== false) putBlob(paths, layer);
  if (options.unpack !== false) {
    mkdirSync(join(paths.data, 'layers', diffId.slice(7), 'diff'), { recursive: true });
    writeFileSync(join(paths.data, 'layers', diffId.slice(7), 'layer.json'), JSON.stringify({ diffId, size: 1024 }));
  }
  const config = putBlob(paths, Buffer.from(JSON.stringify({ created: '2026-01-02T03:04:05Z', rootfs: { type: 'layers', diff_ids: [diffId] } })));
  const manifest = putBlob(paths, Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, ...config },
    layers: [{ mediaType: MediaTypes.ociLayer, digest: diffId, size: 1024 }],
  })));
  return { id: config.digest, manifest: manifest.digest };
}

describe('parseImageIndex', () => {
  it('accepts an index and says why anything else is not one', () => {
    assert.deepEqual(parseImageIndex('{"images":{},"tags":{}}'), { images: {}, tags: {} });
    assert.match(parseImageIndex('garbage\n') as string, /^it is not JSON \([^\n]*\)$/);
    assert.equal(parseImageIndex('[]'), 'it is not a JSON object');
    assert.equal(parseImageIndex('{"images":5}'), '"images" is not an object');
    assert.match(parseImageIndex(`{"images":{"sha256:${'a'.repeat(64)}":{"id":"x"}}}`) as string, /malformed/);
    assert.match(parseImageIndex(`{"images":{},"tags":{"a:1":7}}`) as string, /tag "a:1" is malformed/);
  });
});

describe('a damaged index', () => {
  it('is rebuilt from the stored manifests: whole images only, newest manifest of a config', () => {
    const paths = store();
    try {
      const a = putImage(paths, 'a');
      putImage(paths, 'b', { unpack: false }); // its layer is not unpacked: not an image
      putImage(paths, 'c', { layerBlob: false }); // its layer blob is gone
      const { index, lost } = rebuildImageIndex(paths);
      assert.deepEqual(Object.keys(index.images), [a.id]);
      assert.equal(index.images[a.id]!.manifestDigest, a.manifest);
      assert.equal(index.images[a.id]!.created, '2026-01-02T03:04:05Z');
      assert.equal(index.images[a.id]!.size, 1024);
      assert.deepEqual(index.tags, {});
      assert.deepEqual(lost, []);
    } finally {
      rmSync(join(paths.data, '..'), { recursive: true, force: true });
    }
  });

  it('takes tags from the backup, drops those of images that are gone, and says what is lost', () => {
    const paths = store();
    try {
      const a = putImage(paths, 'a');
      const gone = `sha256:${'e'.repeat(64)}`;
      const backup = { images: {}, tags: { 'localhost/a:1': a.id, 'localhost/old:1': gone } };
      const { index, lost } = rebuildImageIndex(paths, backup);
      assert.deepEqual(index.tags, { 'localhost/a:1': a.id });
      assert.equal(lost.length, 1);
      assert.match(lost[0]!, /localhost\/old:1/);
    } finally {
      rmSync(join(paths.data, '..'), { recursive: true, force: true });
    }
  });

  it('readImageIndex gives the rebuilt view with what is damaged and how it was recovered', () => {
    const paths = store();
    try {
      const a = putImage(paths, 'a');
      writeFileSync(imageIndexPath(paths), '{"images": {"sha256:');
      let index = readImageIndex(paths);
      assert.deepEqual(Object.keys(index.images), [a.id]);
      assert.equal(index.damaged?.path, imageIndexPath(paths));
      assert.match(index.damaged!.lost[0]!, /no backup/);
      const err = damagedIndexError(index.damaged!);
      assert.match(err.message, /images\.json is damaged/);
      assert.match(err.hint!, /sandbox system check --repair/);

      writeFileSync(imageIndexBackupPath(paths), JSON.stringify({ images: {}, tags: { 'localhost/a:1': a.id } }));
      index = readImageIndex(paths);
      assert.deepEqual(index.tags, { 'localhost/a:1': a.id });
      assert.deepEqual(index.damaged!.lost, []);
      assert.match(index.damaged!.recoveredFrom, /backup/);

      rmSync(imageIndexPath(paths));
      assert.ok(readImageIndex(paths).damaged, 'a missing index with a backup is damaged too');
      rmSync(imageIndexBackupPath(paths));
      assert.deepEqual(readImageIndex(paths), { images: {}, tags: {} }, 'a store without either is new');
    } finally {
      rmSync(join(paths.data, '..'), { recursive: true, force: true });
    }
  });
});
