/**
 * The registry client against a fake registry in this process: the plain-HTTP fallback
 * on loopback, Bearer tokens (asked once per scope, with the user's credentials), Basic
 * auth, and the errors users see for 401, 404 and an unreachable registry.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SandboxError } from '../../src/errors.js';
import { RegistryClient } from '../../src/images/registry/client.js';

type Handler = (req: IncomingMessage, res: ServerResponse, self: string) => void;

async function fakeRegistry(handler: Handler): Promise<{ host: string; seen: string[] }> {
  const seen: string[] = [];
  let self = '';
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    handler(req, res, self);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  self = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  after(() => { server.closeAllConnections(); server.close(); });
  return { host: self, seen };
}

const MANIFEST = Buffer.from('{"schemaVersion":2}');
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

function sandboxError(re: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof SandboxError, String(err));
    assert.match(err.message, re);
    assert.ok(err.hint);
    return true;
  };
}

describe('RegistryClient', () => {
  it('talks plain HTTP to a loopback registry without auth', async () => {
    const reg = await fakeRegistry((req, res) => {
      res.writeHead(req.url === '/v2/' ? 200 : 200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end(req.url === '/v2/' ? '{}' : MANIFEST);
    });
    const c = new RegistryClient(reg.host, reg.host, 'a/b', { actions: ['pull'] });
    const m = await c.getManifest('v1', ['application/vnd.oci.image.manifest.v1+json']);
    assert.deepEqual(m.bytes, MANIFEST);
    assert.match(m.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(m.contentType, 'application/vnd.oci.image.manifest.v1+json');
  });

  it('reports a registry whose name does not resolve as unreachable (HTTPS only: not loopback)', async () => {
    const c = new RegistryClient('localhost.invalid', 'localhost.invalid', 'a', { actions: ['pull'] });
    await assert.rejects(c.getManifest('v1', []), sandboxError(/cannot reach registry localhost\.invalid/));
  });

  it('follows a Bearer challenge: one token per scope, with basic credentials, then reused', async () => {
    const tokenAsks: string[] = [];
    const reg = await fakeRegistry((req, res, self) => {
      const url = new URL(req.url!, `http://${self}`);
      if (url.pathname === '/token') {
        tokenAsks.push(`${url.searchParams.get('service')} ${url.searchParams.getAll('scope').join(' ')} ${req.headers.authorization}`);
        res.end(JSON.stringify({ token: 'T1' }));
        return;
      }
      if (req.headers.authorization !== 'Bearer T1') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${self}/token",service="svc",scope="repository:a/b:pull"` });
        res.end();
        return;
      }
      res.end(MANIFEST);
    });
    const c = new RegistryClient(reg.host, reg.host, 'a/b', { actions: ['pull'], credentials: { username: 'u', password: 'p' } });
    await c.getManifest('v1', []);
    await c.getManifest('v2', []);
    assert.deepEqual(tokenAsks, [`svc repository:a/b:pull ${basic('u', 'p')}`], 'one token, asked with the credentials');
    assert.equal(reg.seen.filter((s) => s.includes('Bearer T1')).length, 2, reg.seen.join('\n'));
  });

  it('says to log in when a token service refuses anonymous access', async () => {
    const reg = await fakeRegistry((req, res, self) => {
      if (req.url!.startsWith('/token')) { res.writeHead(401); res.end(); return; }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${self}/token",service="svc"` });
      res.end();
    });
    const c = new RegistryClient(reg.host, reg.host, 'a/b', { actions: ['pull'] });
    await assert.rejects(c.getManifest('v1', []), (err: unknown) => {
      assert.ok(err instanceof SandboxError);
      assert.match(err.message, /wants credentials/);
      assert.match(err.hint ?? '', new RegExp(`sandbox login ${reg.host}`));
      return true;
    });
  });

  it('sends Basic credentials after a Basic challenge, and reports wrong ones', async () => {
    const reg = await fakeRegistry((req, res) => {
      if (req.headers.authorization !== basic('u', 'right')) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
        res.end();
        return;
      }
      res.end(req.url === '/v2/' ? '{}' : MANIFEST);
    });
    const good = new RegistryClient(reg.host, reg.host, 'a/b', { actions: ['pull'], credentials: { username: 'u', password: 'right' } });
    assert.deepEqual((await good.getManifest('v1', [])).bytes, MANIFEST);
    await good.verifyLogin();
    const bad = new RegistryClient(reg.host, reg.host, 'a/b', { actions: ['pull'], credentials: { username: 'u', password: 'wrong' } });
    await assert.rejects(bad.getManifest('v1', []), sandboxError(/refused the credentials/));
    const none = new RegistryClient(reg.host, reg.host, 'a/b', { actions: ['pull'] });
    await assert.rejects(none.getManifest('v1', []), sandboxError(/wants credentials/));
    const login = new RegistryClient(reg.host, reg.host, '', { actions: [], credentials: { username: 'u', password: 'wrong' } });
    await assert.rejects(login.verifyLogin(), sandboxError(/refused the credentials/));
  });

  it('names the image on 404 and checks digests it asked for', async () => {
    const reg = await fakeRegistry((req, res) => {
      if (req.url === '/v2/') { res.end('{}'); return; }
      if (req.url!.includes('/manifests/sha256:')) { res.end(MANIFEST); return; }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    });
    const c = new RegistryClient(reg.host, reg.host, 'team/app', { actions: ['pull'] });
    await assert.rejects(c.getManifest('nope', []), sandboxError(new RegExp(`no image team/app:nope at ${reg.host}`)));
    await assert.rejects(c.getManifest(`sha256:${'0'.repeat(64)}`, []), sandboxError(/digest mismatch/));
  });

  it('does not take a server that answers /v2/ with 400 (HTTPS spoken to as HTTP) for a registry', async () => {
    const reg = await fakeRegistry((_req, res) => { res.writeHead(400); res.end('Client sent an HTTP request to an HTTPS server.'); });
    const c = new RegistryClient(reg.host, reg.host, 'a', { actions: ['pull'] });
    await assert.rejects(c.getManifest('v1', []), sandboxError(/^http:\/\/127\.0\.0\.1:\d+ is not a registry \(GET \/v2\/ answered 400\)/));
  });

  it('reports a refused connection as unreachable', async () => {
    const reg = await fakeRegistry((_req, res) => res.end());
    const port = Number(reg.host.split(':')[1]);
    const dead = `127.0.0.1:${port === 65535 ? 1 : port + 1}`;
    const c = new RegistryClient(dead, dead, 'a', { actions: ['pull'] });
    await assert.rejects(c.getManifest('v1', []), sandboxError(/cannot reach registry .*connection refused/));
  });
});
