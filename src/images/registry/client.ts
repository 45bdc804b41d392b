/**
 * A client for one repository of one registry, over the OCI distribution API
 * (distribution-spec: /v2/NAME/manifests/REF, /v2/NAME/blobs/DIGEST, uploads).
 *
 * Auth follows the 401 challenge: `Bearer realm=,service=,scope=` means a token from the
 * realm (anonymous, or with the user's basic credentials), cached per scope and sent
 * from then on; `Basic` means the credentials on every request. The first request picks
 * the transport (see tls.ts): HTTPS, or plain HTTP where that is allowed.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { SandboxError } from '../../errors.js';
import type { Credentials } from './auth-file.js';
import { parseChallenges, tokenUrl, type Challenge } from './challenge.js';
import { discard, networkError, readBody, send, type HttpResponse } from './http.js';
import { isLoopback } from './reference.js';
import { transportsFor, type Transport } from './tls.js';
import { digestOf } from '../blobs.js';

export interface RegistryClientOptions {
  /** Undefined: the default policy (tls.ts); false: accept any certificate and plain HTTP. */
  tlsVerify?: boolean | undefined;
  credentials?: Credentials | undefined;
  /** Actions on the repository: ['pull'], or ['pull', 'push']. */
  actions: string[];
}

export interface RequestOptions {
  headers?: OutgoingHttpHeaders;
  body?: () => Buffer | Readable;
  /** Extra token scopes (`repository:OTHER:pull` to mount from OTHER). */
  extraScopes?: string[];
}

/** An error body of the distribution API: {"errors": [{"code": "MANIFEST_UNKNOWN", "message": ...}]}. */
async function registryErrors(res: HttpResponse): Promise<{ code: string; message: string }[]> {
  try {
    const doc = JSON.parse((await readBody(res, 1 << 20)).toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    return (doc.errors ?? []).map((e) => ({ code: String(e.code ?? ''), message: String(e.message ?? '') }));
  } catch {
    return [];
  }
}

export class RegistryClient {
  private transport: Transport | undefined;
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, Promise<string>>();

  constructor(
    /** As users name it (auth.json key, messages). */
    readonly registry: string,
    /** HOST[:PORT] of the API. */
    readonly endpoint: string,
    readonly repository: string,
    private readonly options: RegistryClientOptions,
  ) {}

  private url(path: string): URL {
    return new URL(path, `${this.transport!.scheme}://${this.endpoint}`);
  }

  /**
   * GET /v2/ on each allowed transport until one answers as a registry does (200, or 401
   * with a challenge); remembers the challenge. When none does, the most telling failure:
   * a certificate that does not verify, else a server that is no registry, else the first.
   */
  private async connect(): Promise<void> {
    if (this.transport) return;
    const failures: { error: SandboxError; rank: number }[] = [];
    for (const t of transportsFor(this.registry, this.options.tlsVerify)) {
      const url = new URL('/v2/', `${t.scheme}://${this.endpoint}`);
      try {
        const res = await send({ method: 'GET', url, insecure: !t.verify });
        discard(res);
        if (res.status === 200 || res.status === 401) {
          if (res.status === 401) this.challenge = this.pickChallenge(res);
          this.transport = t;
          return;
        }
        // A plain-HTTP request to an HTTPS server gets a 400, for one: not a registry here.
        failures.push({ rank: 1, error: new SandboxError(`${url.origin} is not a registry (GET /v2/ answered ${res.status})`, {
          hint: 'check the address and port: it must be a Docker/OCI registry',
        }) });
      } catch (err) {
        const error = networkError(err, this.registry, url);
        failures.push({ rank: /certificate/.test(error.message) ? 2 : 0, error });
      }
    }
    throw failures.reduce((a, b) => (b.rank > a.rank ? b : a)).error;
  }

  private pickChallenge(res: HttpResponse): Challenge | undefined {
    const header = res.headers['www-authenticate'];
    const all = parseChallenges(Array.isArray(header) ? header.join(', ') : header ?? '');
    return all.find((c) => c.scheme === 'bearer' && c.params.realm) ?? all.find((c) => c.scheme === 'basic');
  }

  private scopes(extra: string[] = []): string[] {
    return [`repository:${this.repository}:${this.options.actions.join(',')}`, ...extra];
  }

  private needLogin(): SandboxError {
    if (!this.repository) {
      return new SandboxError(`registry ${this.registry} refused the credentials`, { hint: 'check the user name and password' });
    }
    return this.options.credentials
      ? new SandboxError(`registry ${this.registry} refused the credentials for ${this.repository}`, {
        hint: `run \`sandbox login ${this.registry}\` again, and check that the account may ${this.options.actions.join(' and ')} ${this.repository}`,
      })
      : new SandboxError(`registry ${this.registry} wants credentials for ${this.repository}`, { hint: `run \`sandbox login ${this.registry}\` first` });
  }

  private async fetchToken(challenge: Challenge, scopes: string[]): Promise<string> {
    let url: URL;
    try {
      url = tokenUrl(challenge, scopes);
    } catch {
      throw new SandboxError(`registry ${this.registry} sent an invalid token realm "${challenge.params.realm}"`, { hint: 'the registry is misconfigured' });
    }
    const creds = this.options.credentials;
    if (url.protocol === 'http:' && creds && !isLoopback(url.host) && this.options.tlsVerify !== false) {
      throw new SandboxError(`registry ${this.registry} asks for credentials over plain HTTP at ${url.origin}`, { hint: 'use --tls-verify=false only if you trust the network' });
    }
    const headers: OutgoingHttpHeaders = { accept: 'application/json' };
    if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    let res: HttpResponse;
    try {
      res = await send({ method: 'GET', url, headers, insecure: this.options.tlsVerify === false });
    } catch (err) {
      throw networkError(err, url.host, url);
    }
    if (res.status === 401 || res.status === 403) { discard(res); throw this.needLogin(); }
    if (res.status !== 200) {
      discard(res);
      throw new SandboxError(`the token service of ${this.registry} answered ${res.status}`, { hint: `try again later; the service is ${url.origin}` });
    }
    const doc = JSON.parse((await readBody(res, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string };
    const token = doc.token || doc.access_token;
    if (!token) throw new SandboxError(`the token service of ${this.registry} sent no token`, { hint: 'the registry is misconfigured' });
    return token;
  }

  private token(scopes: string[], fresh = false): Promise<string> {
    const key = scopes.join(' ');
    let t = this.tokens.get(key);
    if (!t || fresh) {
      t = this.fetchToken(this.challenge!, scopes);
      this.tokens.set(key, t);
      t.catch(() => this.tokens.delete(key));
    }
    return t;
  }

  private async authorization(scopes: string[], fresh: boolean): Promise<string | undefined> {
    const c = this.challenge;
    if (c?.scheme === 'bearer') return `Bearer ${await this.token(scopes, fresh)}`;
    const creds = this.options.credentials;
    if (c?.scheme === 'basic' && creds) return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    return undefined;
  }

  /**
   * One API request with auth: a 401 brings a (new) challenge and one more try.
   * `path` is relative to the registry (or an absolute upload URL it gave us).
   */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    await this.connect();
    const scopes = this.scopes(opts.extraScopes);
    const url = this.url(path);
    for (let attempt = 0; ; attempt++) {
      const auth = await this.authorization(scopes, attempt > 0);
      let res: HttpResponse;
      try {
        res = await send({ method, url, headers: { ...opts.headers, ...(auth ? { authorization: auth } : {}) }, body: opts.body, insecure: this.transport!.verify === false });
      } catch (err) {
        throw networkError(err, this.registry, url);
      }
      if (res.status !== 401) return res;
      discard(res);
      const next = this.pickChallenge(res);
      if (attempt > 0 || !next || (next.scheme === 'basic' && !this.options.credentials)) throw this.needLogin();
      this.challenge = next;
    }
  }

  /** An error for an unexpected answer to `what`, with the registry's own words. */
  async fail(res: HttpResponse, what: string): Promise<never> {
    const errors = await registryErrors(res);
    const words = errors.map((e) => e.message || e.code).filter(Boolean).join('; ');
    if (res.status === 403 || errors.some((e) => e.code === 'DENIED')) {
      throw new SandboxError(`registry ${this.registry} denied ${what}${words ? `: ${words}` : ''}`, {
        hint: `check that your account may ${this.options.actions.join(' and ')} ${this.repository} (\`sandbox login ${this.registry}\`)`,
      });
    }
    if (res.status === 429) throw new SandboxError(`registry ${this.registry} limits requests (429) for ${what}`, { hint: 'wait a while, or log in for a higher limit' });
    throw new SandboxError(`registry ${this.registry} answered ${res.status} to ${what}${words ? `: ${words}` : ''}`, { hint: 'try again; if it persists the registry has a problem' });
  }

  /** Checks credentials the way `login` needs: a token for them, or /v2/ answering with them. */
  async verifyLogin(): Promise<void> {
    await this.connect();
    const c = this.challenge;
    if (!c) return; // an open registry: any credentials do
    if (c.scheme === 'bearer') {
      await this.fetchToken(c, []);
      return;
    }
    const res = await this.request('GET', '/v2/');
    discard(res);
    if (res.status !== 200) return this.fail(res, 'the login');
  }

  // --- the distribution API -------------------------------------------------------------

  /** A manifest or index by tag or digest, as bytes (digests are computed here, never trusted). */
  async getManifest(reference: string, accept: string[]): Promise<{ bytes: Buffer; contentType: string | undefined; digest: string }> {
    const res = await this.request('GET', `/v2/${this.repository}/manifests/${reference}`, { headers: { accept: accept.join(', ') } });
    if (res.status === 404) {
      const errors = await registryErrors(res);
      const what = reference.startsWith('sha256:') ? `${this.repository}@${reference}` : `${this.repository}:${reference}`;
      const unknownRepo = errors.some((e) => e.code === 'NAME_UNKNOWN');
      throw new SandboxError(`no image ${what} at ${this.registry}${unknownRepo ? ' (no such repository)' : ''}`, {
        hint: 'check the name and tag; private images need `sandbox login` first',
      });
    }
    if (res.status !== 200) return this.fail(res, `the manifest of ${this.repository}:${reference}`);
    const bytes = await readBody(res, 4 << 20);
    const digest = digestOf(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new SandboxError(`manifest digest mismatch from ${this.registry}: asked for ${reference}, got ${digest}`, { hint: 'the registry sent other data than asked; try again, and report it to its owner if it persists' });
    }
    const type = res.headers['content-type'];
    return { bytes, contentType: type, digest };
  }

  /** The body of a blob (a GET that follows redirects); the caller reads or destroys it. */
  async getBlob(digest: string): Promise<HttpResponse> {
    const res = await this.request('GET', `/v2/${this.repository}/blobs/${digest}`);
    if (res.status === 404) {
      discard(res);
      throw new SandboxError(`registry ${this.registry} has no blob ${digest} in ${this.repository}`, { hint: 'the image is incomplete at the registry; push it again' });
    }
    if (res.status !== 200) return this.fail(res, `blob ${digest}`);
    return res;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${this.repository}/blobs/${digest}`);
    discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.fail(res, `a check for blob ${digest}`);
  }

  /** Asks the registry to link a blob it has in repository `from`; false when it did not (then upload). */
  async mountBlob(digest: string, from: string): Promise<boolean> {
    const res = await this.request('POST', `/v2/${this.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {
      extraScopes: [`repository:${from}:pull`], headers: { 'content-length': 0 },
    });
    if (res.status === 201) { discard(res); return true; }
    if (res.status === 202) {
      // Not mounted, but an upload was opened: cancel it, the caller starts its own.
      discard(res);
      const location = res.headers.location;
      if (location) await this.request('DELETE', location).then(discard, () => {});
      return false;
    }
    discard(res);
    return false;
  }

  /** Uploads a blob in one PUT (POST opens the upload, PUT ?digest= closes it). */
  async uploadBlob(digest: string, size: number, open: () => Readable): Promise<void> {
    const start = await this.request('POST', `/v2/${this.repository}/blobs/uploads/`, { headers: { 'content-length': 0 } });
    if (start.status !== 202) return this.fail(start, `the upload of blob ${digest}`);
    discard(start);
    const location = start.headers.location;
    if (!location) throw new SandboxError(`registry ${this.registry} opened an upload without a location`, { hint: 'the registry is not following the distribution API' });
    const target = new URL(location, this.url('/'));
    target.searchParams.set('digest', digest);
    const put = await this.request('PUT', target.href, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': size },
      body: open,
    });
    if (put.status !== 201) return this.fail(put, `the upload of blob ${digest}`);
    discard(put);
  }

  /** Stores a manifest under a tag (or its digest); returns the digest the registry names it by. */
  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const res = await this.request('PUT', `/v2/${this.repository}/manifests/${reference}`, {
      headers: { 'content-type': mediaType }, body: () => bytes,
    });
    if (res.status !== 201 && res.status !== 200) return this.fail(res, `the manifest for ${this.repository}:${reference}`);
    discard(res);
    const d = res.headers['docker-content-digest'];
    return typeof d === 'string' ? d : '';
  }
}
