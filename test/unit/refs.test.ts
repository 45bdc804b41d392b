/** Image references NAME[:TAG]: parsing, defaults and rejection of invalid ones. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { formatImageRef, parseImageRef } from '../../src/images/refs.js';

function rejects(input: string, message: RegExp | string): void {
  assert.throws(() => parseImageRef(input), (err: unknown) => {
    assert.ok(err instanceof SandboxError, `${input}: ${String(err)}`);
    assert.equal(err.exitCode, 125);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    assert.ok(err.hint, 'a hint');
    return true;
  }, input);
}

describe('parseImageRef', () => {
  it('defaults the tag to latest', () => {
    assert.deepEqual(parseImageRef('busybox'), { name: 'busybox', tag: 'latest' });
  });

  it('splits NAME:TAG', () => {
    assert.deepEqual(parseImageRef('debian:12-slim'), { name: 'debian', tag: '12-slim' });
    assert.deepEqual(parseImageRef('debian:Bookworm_1.0'), { name: 'debian', tag: 'Bookworm_1.0' });
    assert.deepEqual(parseImageRef('x:_'), { name: 'x', tag: '_' });
  });

  it('takes slash-separated names, with and without a tag', () => {
    assert.deepEqual(parseImageRef('library/debian'), { name: 'library/debian', tag: 'latest' });
    assert.deepEqual(parseImageRef('quay.io/org/app:v1.2'), { name: 'quay.io/org/app', tag: 'v1.2' });
    assert.deepEqual(parseImageRef('my-org/my_app__x/a.b'), { name: 'my-org/my_app__x/a.b', tag: 'latest' });
  });

  it('allows Docker separators: one . or _, two _, any number of -', () => {
    for (const name of ['a.b', 'a_b', 'a__b', 'a-b', 'a---b', 'a1/b2']) {
      assert.deepEqual(parseImageRef(name), { name, tag: 'latest' });
    }
  });

  it('a colon before the last slash is not a tag separator', () => {
    // "host:5000/foo" has no tag: the colon belongs to the name part, which the name grammar then checks.
    assert.throws(() => parseImageRef('a:b/c'), SandboxError);
  });

  // Docker's grammar: reference := name [ ":" tag ]; name := [domain "/"] path;
  // domain may carry a port (and upper case letters). `localhost:5000/foo` is the
  // canonical local-registry reference, and `docker tag x localhost:5000/foo:1` is valid.
  it('accepts a registry host with a port', () => {
    assert.deepEqual(parseImageRef('localhost:5000/foo'), { name: 'localhost:5000/foo', tag: 'latest' });
    assert.deepEqual(parseImageRef('localhost:5000/foo:1.0'), { name: 'localhost:5000/foo', tag: '1.0' });
    assert.deepEqual(parseImageRef('127.0.0.1:5000/a/b:c'), { name: '127.0.0.1:5000/a/b', tag: 'c' });
  });

  it('a first component with "." or ":" or "localhost" is a domain: upper case and "-" allowed, path stays lower case', () => {
    assert.deepEqual(parseImageRef('registry.example.com/a/b:v2'), { name: 'registry.example.com/a/b', tag: 'v2' });
    assert.deepEqual(parseImageRef('localhost/foo'), { name: 'localhost/foo', tag: 'latest' });
    assert.deepEqual(parseImageRef('My-Registry.Example.COM:443/org/app'), { name: 'My-Registry.Example.COM:443/org/app', tag: 'latest' });
    assert.deepEqual(parseImageRef('localhost:5000'), { name: 'localhost', tag: '5000' }, 'no slash: the colon is a tag separator');
    for (const bad of ['localhost:5000/Foo', 'Registry/foo', 'LOCALHOST/foo', '-reg.io/foo', 'reg-.io/foo', 'reg..io/foo', 'reg.io:/foo',
      'reg.io:80a/foo', 'reg.io:80:90/foo', 'reg_x.io/foo', 'reg.io/', 'localhost:5000/', 'a:b/c']) {
      rejects(bad, `invalid image name "${bad}"`);
    }
  });

  it('rejects invalid names with the whole input in the message', () => {
    rejects('Busybox', 'invalid image name "Busybox"');
    rejects('', 'invalid image name ""');
    rejects(':tag', 'invalid image name ":tag"');
    for (const bad of ['-a', 'a-', '.a', 'a.', 'a..b', 'a___b', 'a._b', '/a', 'a/', 'a//b', 'a b', 'a@b', 'ä', 'a/B']) {
      rejects(bad, `invalid image name "${bad}"`);
    }
  });

  it('accepts a digest reference NAME@sha256:HEX, with or without a tag', () => {
    const digest = 'sha256:' + '0123456789abcdef'.repeat(4);
    assert.deepEqual(parseImageRef(`foo@${digest}`), { name: 'foo', tag: '', digest });
    assert.deepEqual(parseImageRef(`localhost:5000/a/b@${digest}`), { name: 'localhost:5000/a/b', tag: '', digest });
    assert.deepEqual(parseImageRef(`quay.io/org/app:v1@${digest}`), { name: 'quay.io/org/app', tag: 'v1', digest });
  });

  it('rejects malformed digests, naming the digest and the input', () => {
    const hex = 'a'.repeat(64);
    for (const bad of ['sha256:' + 'a'.repeat(63), 'sha256:' + 'a'.repeat(65), 'sha256:' + 'A'.repeat(64), 'sha512:' + hex, 'sha256:', ':' + hex]) {
      rejects(`foo@${bad}`, `invalid image digest "${bad}" in "foo@${bad}"`);
    }
    rejects(`foo@sha256:${hex}@sha256:${hex}`, /^invalid image digest/);
    rejects(`Foo@sha256:${hex}`, `invalid image name "Foo@sha256:${hex}"`);
    rejects(`foo:-x@sha256:${hex}`, `invalid image tag "-x" in "foo:-x@sha256:${hex}"`);
    rejects(`@sha256:${hex}`, `invalid image name "@sha256:${hex}"`);
  });

  it('rejects invalid tags, naming the tag and the input', () => {
    rejects('foo:', 'invalid image tag "" in "foo:"');
    rejects('foo:-x', 'invalid image tag "-x" in "foo:-x"');
    rejects('foo:.x', 'invalid image tag ".x" in "foo:.x"');
    rejects('foo:a+b', 'invalid image tag "a+b" in "foo:a+b"');
    rejects(`foo:${'a'.repeat(129)}`, /^image tag "a{61}\.\.\." is 129 characters long: the limit is 128$/);
  });

  it('tags are up to 128 characters', () => {
    const tag = 'a'.repeat(128);
    assert.deepEqual(parseImageRef(`foo:${tag}`), { name: 'foo', tag });
  });
});

describe('formatImageRef', () => {
  it('always writes the tag', () => {
    assert.equal(formatImageRef({ name: 'busybox', tag: 'latest' }), 'busybox:latest');
    assert.equal(formatImageRef({ name: 'org/app', tag: 'v1' }), 'org/app:v1');
  });

  it('writes NAME@DIGEST for a digest reference without a tag, NAME:TAG@DIGEST with one', () => {
    const digest = 'sha256:' + 'f'.repeat(64);
    assert.equal(formatImageRef({ name: 'busybox', tag: '', digest }), `busybox@${digest}`);
    assert.equal(formatImageRef({ name: 'busybox', tag: 'v1', digest }), `busybox:v1@${digest}`);
    for (const s of [`busybox@${digest}`, `localhost:5000/a@${digest}`, `quay.io/a:v1@${digest}`]) assert.equal(formatImageRef(parseImageRef(s)), s);
  });

  it('round-trips with parseImageRef and normalises a missing tag', () => {
    assert.equal(formatImageRef(parseImageRef('busybox')), 'busybox:latest');
    for (const s of ['busybox:latest', 'quay.io/org/app:v1.2', 'a-b/c_d:X.Y-z', 'localhost:5000/foo:1.0']) assert.equal(formatImageRef(parseImageRef(s)), s);
  });
});
