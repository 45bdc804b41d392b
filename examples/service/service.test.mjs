// @ts-check
// A database-style service in a sandbox: a small key-value store over HTTP (busybox httpd
// and a CGI script, examples/service/www), its port published on a random host port, and
// a wait strategy that holds the tests back until it answers. Run: npm test
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Sandbox, Wait } from 'sandbox';

const www = fileURLToPath(new URL('./www', import.meta.url));

describe('a key-value service', () => {
  /** @type {Sandbox} */
  let kv;
  /** @type {string} */
  let url;

  before(async () => {
    kv = await Sandbox.start({
      image: 'host', // the host's own directories (busybox among them), read-only
      command: ['busybox', 'httpd', '-f', '-vv', '-p', '8080', '-h', '/srv/www'],
      mounts: [{ source: www, target: '/srv/www', readonly: true }],
      ports: [8080], // published on a free host port: kv.mappedPort(8080)
      // Listening inside, the host port forwarded, and the store answering.
      waitFor: Wait.forAll(Wait.forListeningPort(8080), Wait.forHttp('/health', 8080)),
      startupTimeoutMs: 30_000,
    });
    url = `http://${kv.host}:${kv.mappedPort(8080)}/cgi-bin/kv`;
  });

  after(() => kv?.dispose());

  it('stores and returns a value', async () => {
    const stored = await fetch(`${url}?greeting`, { method: 'POST', body: 'hello' });
    assert.equal(stored.status, 201);
    const got = await fetch(`${url}?greeting`);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), 'hello');
  });

  it('says 404 for a key it does not have', async () => {
    assert.equal((await fetch(`${url}?nothing`)).status, 404);
  });

  it('keeps its data inside the sandbox', async () => {
    const r = await kv.exec(['cat', '/tmp/kv/greeting']);
    assert.equal(r.stdout, 'hello');
  });

  it('logs each request (httpd -vv writes to its stderr)', async () => {
    assert.match(await kv.logs(), /url:\/cgi-bin\/kv/);
  });
});
