/**
 * One HTTP(S) exchange with a registry, on node:http/https: keep-alive agents (layers
 * are fetched in parallel over a few reused connections), redirects followed for GET and
 * HEAD (blob storage often lives elsewhere; credentials are not sent to another host),
 * and network failures turned into errors that say what to do.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { SandboxError } from '../../errors.js';

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: OutgoingHttpHeaders;
  /** A body, made again for each attempt (a stream can be read once). */
  body?: () => Buffer | Readable;
  /** Accept any certificate (`--tls-verify=false`). */
  insecure?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Read it or `discard` it: a keep-alive socket is freed only then. */
  body: IncomingMessage;
  /** Where the response came from, after redirects. */
  url: URL;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const IDLE_TIMEOUT_MS = 60_000;

type Agents = { http: import('node:http').Agent; https: import('node:https').Agent; httpsInsecure: import('node:https').Agent };
let agents: Agents | undefined;

function agentFor(url: URL, insecure: boolean) {
  if (!agents) {
    // Required on first use, not at start-up: only registry commands pay for them.
    const http = require('node:http') as typeof import('node:http');
    const https = require('node:https') as typeof import('node:https');
    const common = { keepAlive: true, maxSockets: 8 };
    agents = {
      http: new http.Agent(common),
      https: new https.Agent(common),
      httpsInsecure: new https.Agent({ ...common, rejectUnauthorized: false }),
    };
  }
  if (url.protocol === 'http:') return agents.http;
  return insecure ? agents.httpsInsecure : agents.https;
}

export function discard(res: HttpResponse): void {
  res.body.resume();
}

export async function readBody(res: HttpResponse, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.body.destroy();
      throw new SandboxError(`the registry sent more than ${limit} bytes for ${res.url.pathname}`, { hint: 'it does not look like a registry; check the address' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A network-level failure as a SandboxError naming `host`. */
export function networkError(err: unknown, host: string, url: URL): SandboxError {
  if (err instanceof SandboxError) return err;
  const e = err as NodeJS.ErrnoException & { code?: string };
  const code = e.code ?? '';
  const msg = e.message ?? String(err);
  if (url.protocol === 'https:' && (code === 'EPROTO' || /^ERR_SSL_/.test(code) || /wrong version number|packet length too long|unknown protocol/i.test(msg))) {
    return new SandboxError(`registry ${host} does not answer HTTPS (${msg.split('\n')[0]})`, {
      hint: `if it is a plain-HTTP registry you trust, add --tls-verify=false`, cause: err,
    });
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    return new SandboxError(`the certificate of registry ${host} cannot be verified (${code})`, {
      hint: 'add its CA with NODE_EXTRA_CA_CERTS=FILE, or --tls-verify=false if you trust the network', cause: err,
    });
  }
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused', ENOTFOUND: 'unknown host', EAI_AGAIN: 'name lookup failed', ETIMEDOUT: 'timed out',
    EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'network unreachable', ECONNRESET: 'connection reset',
  };
  return new SandboxError(`cannot reach registry ${host}: ${why[code] ?? msg}`, {
    hint: `check the name and port, and that ${url.protocol}//${url.host}/v2/ answers from here`, cause: err,
  });
}

function sendOnce(req: HttpRequest, url: URL): Promise<IncomingMessage> {
  const mod = (url.protocol === 'http:' ? require('node:http') : require('node:https')) as typeof import('node:https');
  return new Promise((resolve, reject) => {
    const body = req.body?.();
    const headers: OutgoingHttpHeaders = { 'user-agent': 'sandbox', ...req.headers };
    if (Buffer.isBuffer(body)) headers['content-length'] = body.length;
    const r = mod.request(url, { method: req.method, headers, agent: agentFor(url, !!req.insecure) }, resolve);
    r.setTimeout(IDLE_TIMEOUT_MS, () => r.destroy(Object.assign(new Error('no answer for 60 s'), { code: 'ETIMEDOUT' })));
    r.on('error', reject);
    if (body === undefined) r.end();
    else if (Buffer.isBuffer(body)) r.end(body);
    else {
      body.on('error', (err) => r.destroy(err));
      body.pipe(r);
    }
  });
}

/** Sends `req`, following redirects of GET and HEAD; network failures are thrown raw. */
export async function send(req: HttpRequest): Promise<HttpResponse> {
  let url = req.url;
  let headers = { ...req.headers };
  for (let hop = 0; ; hop++) {
    const res = await sendOnce({ ...req, headers }, url);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location || !(req.method === 'GET' || req.method === 'HEAD') || hop >= 5) {
      return { status: res.statusCode ?? 0, headers: res.headers, body: res, url };
    }
    res.resume();
    const next = new URL(location, url);
    // Blob storage (S3, a CDN) gets the signed URL, never the registry's credentials.
    if (next.origin !== url.origin) {
      const { authorization: _drop, ...rest } = headers;
      headers = rest;
    }
    url = next;
  }
}
