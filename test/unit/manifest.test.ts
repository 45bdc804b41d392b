/** Manifests, indexes and platform choice (src/images/manifest.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import {
  buildManifest, choosePlatform, layerCompression, MediaTypes, parseManifest, parsePlatform, type ImageIndex,
} from '../../src/images/manifest.js';

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const json = (x: unknown) => Buffer.from(JSON.stringify(x));

function throwsSandboxError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof SandboxError && message.test(err.message) && !!err.hint);
}

describe('parseManifest', () => {
  const manifest = {
    schemaVersion: 2, mediaType: MediaTypes.dockerManifest,
    config: { mediaType: MediaTypes.dockerConfig, digest: D(1), size: 10 },
    layers: [{ mediaType: MediaTypes.dockerLayerGzip, digest: D(2), size: 20 }],
  };

  it('reads a Docker schema 2 manifest', () => {
    const p = parseManifest(json(manifest));
    assert.equal(p.kind, 'manifest');
    assert.equal(p.mediaType, MediaTypes.dockerManifest);
    if (p.kind === 'manifest') assert.equal(p.manifest.layers[0]!.digest, D(2));
  });

  it('takes the media type from Content-Type when the document has none, else from its shape', () => {
    const { mediaType: _m, ...bare } = manifest;
    assert.equal(parseManifest(json(bare), `${MediaTypes.ociManifest}; charset=utf-8`).mediaType, MediaTypes.ociManifest);
    const index = { schemaVersion: 2, manifests: [{ mediaType: MediaTypes.ociManifest, digest: D(3), size: 5 }] };
    assert.equal(parseManifest(json(index)).kind, 'index');
    assert.equal(parseManifest(json(index), MediaTypes.dockerManifestList).mediaType, MediaTypes.dockerManifestList);
  });

  it('refuses schema 1, bad digests, missing layers and non-JSON', () => {
    throwsSandboxError(() => parseManifest(json({ schemaVersion: 1, fsLayers: [] })), /schema version 1/);
    throwsSandboxError(() => parseManifest(json({ ...manifest, layers: [{ ...manifest.layers[0], digest: 'sha256:abc' }] })), /layers\[0\] has digest/);
    throwsSandboxError(() => parseManifest(json({ ...manifest, layers: undefined })), /without layers/);
    throwsSandboxError(() => parseManifest(Buffer.from('{')), /not JSON/);
    throwsSandboxError(() => parseManifest(json({ ...manifest, mediaType: 'text/plain' })), /neither/);
  });

  it('builds an OCI manifest that parses back to the same descriptors', () => {
    const bytes = buildManifest({ mediaType: MediaTypes.ociConfig, digest: D(4), size: 1 }, [{ mediaType: MediaTypes.ociLayer, digest: D(5), size: 2 }]);
    const p = parseManifest(bytes);
    assert.equal(p.mediaType, MediaTypes.ociManifest);
    if (p.kind === 'manifest') assert.deepEqual(p.manifest.layers, [{ mediaType: MediaTypes.ociLayer, digest: D(5), size: 2 }]);
  });
});

describe('layerCompression', () => {
  it('knows gzip, zstd and plain tar layers by media type', () => {
    assert.equal(layerCompression(MediaTypes.dockerLayerGzip), 'gzip');
    assert.equal(layerCompression(MediaTypes.ociLayerGzip), 'gzip');
    assert.equal(layerCompression(MediaTypes.ociLayerZstd), 'zstd');
    assert.equal(layerCompression(MediaTypes.ociLayer), 'none');
    assert.equal(layerCompression('application/octet-stream'), undefined);
  });
});

describe('platforms', () => {
  const entry = (n: number, os: string, architecture: string, variant?: string) => ({
    mediaType: MediaTypes.ociManifest, digest: D(n), size: 1, platform: { os, architecture, ...(variant ? { variant } : {}) },
  });
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [entry(1, 'linux', 'arm', 'v6'), entry(2, 'linux', 'arm', 'v7'), entry(3, 'linux', 'amd64'), entry(4, 'linux', 'arm64', 'v8'), entry(5, 'windows', 'amd64')],
  };

  it('parses OS/ARCH[/VARIANT] and refuses other shapes', () => {
    assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
    throwsSandboxError(() => parsePlatform('amd64'), /invalid platform/);
    throwsSandboxError(() => parsePlatform('linux/amd64/v1/x'), /invalid platform/);
  });

  it('chooses by os and architecture, and by variant when asked', () => {
    assert.equal(choosePlatform(index, { os: 'linux', architecture: 'amd64' }).digest, D(3));
    assert.equal(choosePlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' }).digest, D(2));
    assert.equal(choosePlatform(index, { os: 'linux', architecture: 'arm64' }).digest, D(4));
    assert.equal(choosePlatform(index, { os: 'windows', architecture: 'amd64' }).digest, D(5));
  });

  it('names the platforms there are when none matches', () => {
    assert.throws(() => choosePlatform(index, { os: 'linux', architecture: 's390x' }), (err: unknown) => {
      assert.ok(err instanceof SandboxError);
      assert.match(err.message, /no image for linux\/s390x/);
      assert.match(err.hint ?? '', /linux\/arm\/v6, linux\/arm\/v7, linux\/amd64, linux\/arm64\/v8, windows\/amd64/);
      return true;
    });
  });
});
