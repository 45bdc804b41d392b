/** Finding an image in the index by what users type (src/images/store.ts findImageId). Pure. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { findImageId, parseImageIndex, qualifyLegacyTags, tagKey, tagNamed, tagOfImage, type ImageRecord } from '../../src/images/store.js';
import { repoDigestsOf } from '../../src/api/images.js';

const id = (c: string) => `sha256:${c.repeat(64)}`;
const record = (i: string): ImageRecord => ({ id: i, layers: [], created: '2026-01-01T00:00:00Z', size: 0, repoDigests: [`reg.example/app@sha256:${'9'.repeat(64)}`] });
const index = {
  images: { [id('a')]: record(id('a')), [id('b')]: record(id('b')), [id('c')]: record(id('c')), [id('d')]: { ...record(id('d')), repoDigests: [] } },
  tags: {
    'bb:latest': id('a'),
    'localhost/pbb:v1': id('b'),
    'docker.io/library/alpine:3': id('c'),
    'localhost/both:1': id('a'),
    'docker.io/library/both:1': id('b'),
  },
};

describe('findImageId', () => {
  it('finds NAME[:TAG] as typed, a full id, and a unique id prefix', () => {
    assert.equal(findImageId(index, 'bb'), id('a'));
    assert.equal(findImageId(index, 'bb:latest'), id('a'));
    assert.equal(findImageId(index, id('b')), id('b'));
    assert.equal(findImageId(index, 'cccc'), id('c'));
  });

  it('resolves a short name to localhost/ or Docker Hub when exactly one exists, as Podman does', () => {
    assert.equal(findImageId(index, 'pbb:v1'), id('b'));
    assert.equal(findImageId(index, 'alpine:3'), id('c'));
    assert.equal(findImageId(index, 'both:1'), undefined, 'two candidates: ambiguous, not found');
    assert.equal(findImageId(index, 'other.example/pbb:v1'), undefined, 'a registry name is taken as typed');
  });

  it('finds NAME@DIGEST by repo digest', () => {
    assert.equal(findImageId(index, `reg.example/app@sha256:${'9'.repeat(64)}`), id('a'));
    assert.equal(findImageId(index, `reg.example/app@sha256:${'8'.repeat(64)}`), undefined);
  });

  it('refuses an ambiguous id prefix with a hint', () => {
    const two = { images: { [`sha256:abcd${'0'.repeat(60)}`]: record('x'), [`sha256:abcd${'1'.repeat(60)}`]: record('y') }, tags: {} };
    assert.equal(findImageId(two, 'abcd0'), `sha256:abcd${'0'.repeat(60)}`);
    assert.throws(() => findImageId(two, 'abcd'),
      (e: unknown) => e instanceof SandboxError && /ambiguous/.test(e.message) && !!e.hint);
  });
});

describe('image names as Podman stores them', () => {
  it('tagKey qualifies a short name under localhost/ and keeps a registry name', () => {
    assert.equal(tagKey('image'), 'localhost/image:latest');
    assert.equal(tagKey('team/app:1'), 'localhost/team/app:1');
    assert.equal(tagKey('localhost/image'), 'localhost/image:latest');
    assert.equal(tagKey('127.0.0.1:5000/x:2'), '127.0.0.1:5000/x:2');
    assert.equal(tagKey('docker.io/library/busybox'), 'docker.io/library/busybox:latest');
  });

  it('localhost/NAME finds a legacy key NAME (a store written before names were qualified)', () => {
    assert.equal(findImageId(index, 'localhost/bb'), id('a'));
    assert.equal(findImageId(index, 'localhost/bb:latest'), id('a'));
    assert.equal(findImageId(index, 'localhost/bb:other'), undefined);
    assert.equal(tagNamed(index, 'localhost/bb'), 'bb:latest');
  });

  it('tagOfImage says which name of an image a reference is', () => {
    assert.equal(tagOfImage(index, id('b'), 'pbb:v1'), 'localhost/pbb:v1');
    assert.equal(tagOfImage(index, id('a'), 'pbb:v1'), undefined);
    assert.equal(tagOfImage(index, id('c'), 'alpine:3'), 'docker.io/library/alpine:3');
    assert.equal(tagOfImage(index, id('a'), `bb@sha256:${'9'.repeat(64)}`), undefined);
  });

  it('qualifyLegacyTags: short keys read as localhost/, or docker.io when pulled under that name; a taken key stays', () => {
    const images = {
      [id('a')]: record(id('a')),
      [id('b')]: { ...record(id('b')), repoDigests: [`busybox@sha256:${'9'.repeat(64)}`] },
      [id('c')]: { ...record(id('c')), repoDigests: [`team/app@sha256:${'9'.repeat(64)}`] },
    };
    const tags = { 'bb:latest': id('a'), 'busybox:1': id('b'), 'team/app:2': id('c'), 'x:1': id('a'), 'localhost/x:1': id('c'), 'reg.example/y:1': id('a') };
    assert.deepEqual(qualifyLegacyTags(tags, images), {
      'localhost/bb:latest': id('a'), 'docker.io/library/busybox:1': id('b'), 'docker.io/team/app:2': id('c'),
      'x:1': id('a'), 'localhost/x:1': id('c'), 'reg.example/y:1': id('a'),
    });
    const qualified = { 'localhost/bb:latest': id('a') };
    assert.equal(qualifyLegacyTags(qualified, images), qualified, 'a qualified index is returned as it is');
  });

  it('parseImageIndex gives the qualified keys (the migration of a store read)', () => {
    const text = JSON.stringify({ images: { [id('a')]: record(id('a')) }, tags: { 'bb:latest': id('a') } });
    const parsed = parseImageIndex(text);
    assert.ok(typeof parsed !== 'string');
    assert.deepEqual(parsed.tags, { 'localhost/bb:latest': id('a') });
  });

  it('repoDigestsOf: NAME@manifest for each name, and the pulled ones, once each', () => {
    const m = `sha256:${'7'.repeat(64)}`;
    const tags = { 'localhost/bb:latest': id('a'), 'localhost/bb:v2': id('a'), 'localhost/other:1': id('a'), 'localhost/z:1': id('b') };
    assert.deepEqual(repoDigestsOf({ tags }, { id: id('a'), manifestDigest: m, repoDigests: [`reg.example/app@${m}`] }),
      [`localhost/bb@${m}`, `localhost/other@${m}`, `reg.example/app@${m}`]);
    assert.deepEqual(repoDigestsOf({ tags }, { id: id('a') }), []);
  });
});
