/** WWW-Authenticate parsing and the token URL built from a Bearer challenge. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges, tokenUrl } from '../../src/images/registry/challenge.js';

describe('parseChallenges', () => {
  it('reads a Docker Hub Bearer challenge', () => {
    const c = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"');
    assert.deepEqual(c, [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }]);
  });

  it('reads Basic, case-insensitively, with spaces', () => {
    assert.deepEqual(parseChallenges('basic  Realm = "Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  });

  it('keeps commas inside quotes (push scopes) and unescapes', () => {
    const [c] = parseChallenges('Bearer realm="http://127.0.0.1:1/token",scope="repository:a/b:pull,push",error="say \\"hi\\""');
    assert.equal(c?.params.scope, 'repository:a/b:pull,push');
    assert.equal(c?.params.error, 'say "hi"');
  });

  it('splits several challenges in one header, unquoted values too', () => {
    const c = parseChallenges('Basic realm="r", Bearer realm=https://t/token, service=s');
    assert.deepEqual(c.map((x) => x.scheme), ['basic', 'bearer']);
    assert.deepEqual(c[1]?.params, { realm: 'https://t/token', service: 's' });
  });

  it('skips token68 forms and survives garbage', () => {
    assert.deepEqual(parseChallenges('Negotiate abc==, Basic realm="x"').map((x) => x.scheme), ['negotiate', 'basic']);
    assert.deepEqual(parseChallenges(''), []);
    assert.doesNotThrow(() => parseChallenges('Bearer realm="unterminated'));
  });
});

describe('tokenUrl', () => {
  it('adds service and each scope', () => {
    const [c] = parseChallenges('Bearer realm="https://auth.example/token?x=1",service="reg"');
    const u = tokenUrl(c!, ['repository:a:pull,push', 'repository:b:pull']);
    assert.equal(u.origin + u.pathname, 'https://auth.example/token');
    assert.equal(u.searchParams.get('x'), '1');
    assert.equal(u.searchParams.get('service'), 'reg');
    assert.deepEqual(u.searchParams.getAll('scope'), ['repository:a:pull,push', 'repository:b:pull']);
  });
});
