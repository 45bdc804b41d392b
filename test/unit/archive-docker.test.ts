/** docker-archive documents: manifest.json, the legacy repositories file, tags, format detection. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import {
  buildDockerManifest, claimedDigest, configFileName, imageTags, layerFileName, normaliseTag, parseDockerManifest, parseRepositories,
} from '../../src/images/archive/docker-archive.js';
import { detectArchiveFormat } from '../../src/images/archive/detect.js';

const HEX = 'a'.repeat(64);
const HEX2 = 'b'.repeat(64);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SandboxError, String(err));
    assert.match(err.message, message);
    assert.ok(err.hint, 'a hint');
    return true;
  });
}

describe('parseDockerManifest', () => {
  it('reads what podman save writes', () => {
    const images = parseDockerManifest(json([{ Config: `${HEX}.json`, RepoTags: ['localhost/bb:latest'], Layers: [`${HEX2}.tar`] }]));
    assert.deepEqual(images, [{ config: `${HEX}.json`, repoTags: ['localhost/bb:latest'], layers: [`${HEX2}.tar`] }]);
  });

  it('reads docker save: several images, <id>/layer.tar paths, null RepoTags, untagged names get :latest', () => {
    const images = parseDockerManifest(json([
      { Config: `${HEX}.json`, RepoTags: ['busybox', 'busybox:1.36', 'busybox:latest'], Layers: ['x1/layer.tar', './x2/layer.tar'] },
      { Config: `blobs/sha256/${HEX2}`, RepoTags: null, Layers: [] },
    ]));
    assert.deepEqual(images[0], { config: `${HEX}.json`, repoTags: ['busybox:latest', 'busybox:1.36'], layers: ['x1/layer.tar', 'x2/layer.tar'] });
    assert.deepEqual(images[1], { config: `blobs/sha256/${HEX2}`, repoTags: [], layers: [] });
  });

  it('refuses what is not a manifest.json', () => {
    rejects(() => parseDockerManifest(Buffer.from('{not json')), /manifest\.json is not JSON/);
    rejects(() => parseDockerManifest(json({ Config: 'x' })), /not a list of images/);
    rejects(() => parseDockerManifest(json([])), /lists no image/);
    rejects(() => parseDockerManifest(json([{ Config: 'c.json', RepoTags: [] }])), /no Layers list/);
    rejects(() => parseDockerManifest(json([{ RepoTags: [], Layers: [] }])), /Config of manifest\.json entry 0 is not a file name/);
    rejects(() => parseDockerManifest(json([{ Config: 'c.json', RepoTags: [3], Layers: [] }])), /RepoTags/);
  });

  it('refuses paths that leave the archive and invalid names', () => {
    rejects(() => parseDockerManifest(json([{ Config: '../../etc/passwd', Layers: [] }])), /outside the archive/);
    rejects(() => parseDockerManifest(json([{ Config: 'c.json', Layers: ['/../x.tar'] }])), /outside the archive/);
    rejects(() => parseDockerManifest(json([{ Config: 'c.json', RepoTags: ['Bad Name'], Layers: [] }])), /invalid image name "Bad Name"/);
    rejects(() => parseDockerManifest(json([{ Config: 'c.json', RepoTags: [`bb@sha256:${HEX}`], Layers: [] }])), /digest reference/);
  });
});

describe('repositories and tags', () => {
  it('maps top layer ids to tags', () => {
    const repos = parseRepositories(json({ busybox: { latest: 'top1', '1.36': 'top1' }, 'localhost/x': { v1: 'top2' } }));
    assert.deepEqual(repos.get('top1'), ['busybox:latest', 'busybox:1.36']);
    assert.deepEqual(repos.get('top2'), ['localhost/x:v1']);
  });

  it('ignores a broken repositories file', () => {
    assert.equal(parseRepositories(Buffer.from('nope')).size, 0);
    assert.equal(parseRepositories(json({ 'Bad Name': { latest: 'x' }, ok: { t: 5 } })).size, 0);
  });

  it('RepoTags win; without them the top layer directory names the tags', () => {
    const repos = new Map([['top1', ['old:v1']]]);
    assert.deepEqual(imageTags({ config: 'c', repoTags: ['new:v2'], layers: ['l0/layer.tar', 'top1/layer.tar'] }, repos), ['new:v2']);
    assert.deepEqual(imageTags({ config: 'c', repoTags: [], layers: ['l0/layer.tar', 'top1/layer.tar'] }, repos), ['old:v1']);
    assert.deepEqual(imageTags({ config: 'c', repoTags: [], layers: [`${HEX}.tar`] }, repos), []);
    assert.deepEqual(imageTags({ config: 'c', repoTags: [], layers: [] }, repos), []);
  });

  it('normalises tags as the store keys them', () => {
    assert.equal(normaliseTag('bb'), 'bb:latest');
    assert.equal(normaliseTag('localhost:5000/a/b:v1'), 'localhost:5000/a/b:v1');
  });
});

describe('names in what we write', () => {
  it('claimedDigest: <hex>.json and blobs/sha256/<hex> claim their digest, other names none', () => {
    assert.equal(claimedDigest(`${HEX}.json`), `sha256:${HEX}`);
    assert.equal(claimedDigest(`blobs/sha256/${HEX}`), `sha256:${HEX}`);
    assert.equal(claimedDigest('config.json'), undefined);
    assert.equal(claimedDigest(`x/${HEX}.json`), undefined);
  });

  it('buildDockerManifest writes podman-style names, RepoTags null when untagged', () => {
    const doc = JSON.parse(buildDockerManifest([
      { id: `sha256:${HEX}`, repoTags: ['bb:latest'], diffIds: [`sha256:${HEX2}`] },
      { id: `sha256:${HEX2}`, repoTags: [], diffIds: [] },
    ]).toString());
    assert.deepEqual(doc, [
      { Config: `${HEX}.json`, RepoTags: ['bb:latest'], Layers: [`${HEX2}.tar`] },
      { Config: `${HEX2}.json`, RepoTags: null, Layers: [] },
    ]);
    assert.equal(configFileName(`sha256:${HEX}`), `${HEX}.json`);
    assert.equal(layerFileName(`sha256:${HEX2}`), `${HEX2}.tar`);
    // Round trip through our own reader.
    assert.deepEqual(parseDockerManifest(buildDockerManifest([{ id: `sha256:${HEX}`, repoTags: ['bb:latest'], diffIds: [`sha256:${HEX2}`] }])),
      [{ config: `${HEX}.json`, repoTags: ['bb:latest'], layers: [`${HEX2}.tar`] }]);
  });
});

describe('detectArchiveFormat', () => {
  const has = (...files: string[]) => (p: string) => files.includes(p);
  it('tells docker-archive from oci-archive; Docker 25 archives (both) are read by manifest.json', () => {
    assert.equal(detectArchiveFormat(has('manifest.json', 'repositories')), 'docker-archive');
    assert.equal(detectArchiveFormat(has('oci-layout', 'index.json')), 'oci-archive');
    assert.equal(detectArchiveFormat(has('oci-layout', 'index.json', 'manifest.json')), 'docker-archive');
  });
  it('refuses anything else with a hint', () => {
    rejects(() => detectArchiveFormat(has('etc/passwd', 'bin/sh')), /not an image archive/);
    rejects(() => detectArchiveFormat(has('index.json')), /not an image archive/);
    rejects(() => detectArchiveFormat(has('repositories', 'abc/layer.tar')), /pre-1\.10/);
  });
});
