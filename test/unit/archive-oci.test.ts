/** oci-archive documents: oci-layout, index.json names (ref.name, io.containerd.image.name), blob paths. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import {
  blobFileName, buildOciIndex, checkOciLayout, digestOfBlobFile, imageNameOf, OCI_LAYOUT, REF_NAME, CONTAINERD_NAME,
} from '../../src/images/archive/oci-archive.js';
import { parseManifest } from '../../src/images/manifest.js';

const HEX = 'c'.repeat(64);

describe('imageNameOf', () => {
  it('takes a full ref.name as podman and skopeo write it', () => {
    assert.equal(imageNameOf({ annotations: { [REF_NAME]: 'localhost/bb:latest' } }), 'localhost/bb:latest');
    assert.equal(imageNameOf({ annotations: { [REF_NAME]: 'registry.example:5000/x/y:v2' } }), 'registry.example:5000/x/y:v2');
    assert.equal(imageNameOf({ annotations: { [REF_NAME]: 'team/app' } }), 'team/app:latest');
  });

  it('a bare ref.name is only a tag (the spec, Docker): no name; io.containerd.image.name names it', () => {
    assert.equal(imageNameOf({ annotations: { [REF_NAME]: 'latest' } }), undefined);
    assert.equal(imageNameOf({ annotations: { [REF_NAME]: 'v1.0' } }), undefined);
    assert.equal(imageNameOf({ annotations: { [REF_NAME]: 'latest', [CONTAINERD_NAME]: 'docker.io/library/busybox:latest' } }),
      'docker.io/library/busybox:latest');
    assert.equal(imageNameOf({}), undefined);
    assert.equal(imageNameOf({ annotations: {} }), undefined);
  });

  it('refuses an invalid name', () => {
    assert.throws(() => imageNameOf({ annotations: { [REF_NAME]: 'UPPER/Case:x' } }), SandboxError);
  });
});

describe('layout files', () => {
  it('checks oci-layout', () => {
    checkOciLayout(OCI_LAYOUT);
    checkOciLayout(Buffer.from('{"imageLayoutVersion": "1.0.0"}'));
    assert.throws(() => checkOciLayout(Buffer.from('{"imageLayoutVersion": "2.0.0"}')), /unsupported image layout version/);
    assert.throws(() => checkOciLayout(Buffer.from('{}')), /unsupported image layout version/);
    assert.throws(() => checkOciLayout(Buffer.from('x')), /oci-layout is not JSON/);
  });

  it('maps digests to blob paths and back', () => {
    assert.equal(blobFileName(`sha256:${HEX}`), `blobs/sha256/${HEX}`);
    assert.equal(digestOfBlobFile(`blobs/sha256/${HEX}`), `sha256:${HEX}`);
    assert.equal(digestOfBlobFile(`blobs/sha512/${HEX}`), undefined);
    assert.equal(digestOfBlobFile('index.json'), undefined);
    assert.throws(() => blobFileName('sha512:abc'), /unsupported digest/);
  });

  it('buildOciIndex names each entry by a full ref.name, and reads back as an index', () => {
    const manifest = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${HEX}`, size: 348 };
    const bytes = buildOciIndex([{ manifest, name: 'bb:latest' }, { manifest }]);
    const parsed = parseManifest(bytes);
    assert.equal(parsed.kind, 'index');
    if (parsed.kind !== 'index') return;
    assert.deepEqual(parsed.index.manifests, [{ ...manifest, annotations: { [REF_NAME]: 'bb:latest' } }, manifest]);
    assert.equal(imageNameOf(parsed.index.manifests[0]!), 'bb:latest');
    assert.equal(imageNameOf(parsed.index.manifests[1]!), undefined);
  });
});
