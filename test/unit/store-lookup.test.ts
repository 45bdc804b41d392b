/** Finding an image in the index by what users type (src/images/store.ts findImageId). Pure. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { findImageId, type ImageRecord } from '../../src/images/store.js';

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
