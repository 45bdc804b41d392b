/** Reference -> registry, API endpoint and repository (Docker's rules), and the TLS policy. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { isLoopback, registryOfLoginArg, registryRef } from '../../src/images/registry/reference.js';
import { transportsFor } from '../../src/images/registry/tls.js';

describe('registryRef', () => {
  it('puts single names on Docker Hub under library/', () => {
    const r = registryRef('alpine');
    assert.equal(r.registry, 'docker.io');
    assert.equal(r.endpoint, 'registry-1.docker.io');
    assert.equal(r.repository, 'library/alpine');
    assert.equal(r.tag, 'latest');
  });

  it('keeps user/name on Docker Hub without library/', () => {
    const r = registryRef('someone/tool:1.2');
    assert.deepEqual([r.registry, r.repository, r.tag], ['docker.io', 'someone/tool', '1.2']);
  });

  it('treats docker.io and index.docker.io as Docker Hub', () => {
    assert.equal(registryRef('docker.io/busybox').repository, 'library/busybox');
    assert.equal(registryRef('index.docker.io/library/busybox').registry, 'docker.io');
  });

  it('takes a first component with a dot, a port or localhost as the registry', () => {
    const r = registryRef('127.0.0.1:5000/team/app:v1');
    assert.deepEqual([r.registry, r.endpoint, r.repository, r.tag], ['127.0.0.1:5000', '127.0.0.1:5000', 'team/app', 'v1']);
    assert.equal(registryRef('localhost/app').registry, 'localhost');
    assert.equal(registryRef('quay.io/org/img').repository, 'org/img');
    // no dot, no port: a Docker Hub namespace
    assert.equal(registryRef('myregistry/app').registry, 'docker.io');
  });

  it('keeps a digest, with or without a tag', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    const r = registryRef(`quay.io/x/y@${d}`);
    assert.equal(r.digest, d);
    assert.equal(r.tag, '');
    assert.equal(registryRef(`quay.io/x/y:t@${d}`).tag, 't');
  });

  it('rejects invalid references with a SandboxError', () => {
    assert.throws(() => registryRef('Bad Name'), SandboxError);
  });
});

describe('registryOfLoginArg', () => {
  it('accepts HOST, HOST:PORT, URLs and HOST/PATH', () => {
    assert.equal(registryOfLoginArg('127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(registryOfLoginArg('https://registry.example.com/v2/'), 'registry.example.com');
    assert.equal(registryOfLoginArg('quay.io/org'), 'quay.io');
    assert.equal(registryOfLoginArg('index.docker.io'), 'docker.io');
  });
  it('rejects what is no host', () => {
    assert.throws(() => registryOfLoginArg('no such host!'), SandboxError);
  });
});

describe('TLS policy', () => {
  it('knows loopback hosts', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000']) assert.ok(isLoopback(h), h);
    for (const h of ['registry.example.com', '10.0.0.1:5000', '127.0.0.1.example.com', 'localhost.example.com']) assert.ok(!isLoopback(h), h);
  });

  it('uses verified HTTPS only for other registries', () => {
    assert.deepEqual(transportsFor('quay.io', undefined), [{ scheme: 'https', verify: true }]);
    assert.deepEqual(transportsFor('quay.io', true), [{ scheme: 'https', verify: true }]);
  });

  it('falls back to plain HTTP on loopback, or anywhere with --tls-verify=false', () => {
    assert.deepEqual(transportsFor('127.0.0.1:5000', undefined).map((t) => t.scheme), ['https', 'http']);
    assert.deepEqual(transportsFor('quay.io', false), [{ scheme: 'https', verify: false }, { scheme: 'http', verify: false }]);
  });

  it('insists on verified HTTPS on loopback with --tls-verify=true', () => {
    assert.deepEqual(transportsFor('localhost:5000', true), [{ scheme: 'https', verify: true }]);
  });
});
