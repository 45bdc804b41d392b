/**
 * A real registry on loopback for pull and push tests: Debian's `docker-registry`
 * (distribution 2.8) on 127.0.0.1 with a free port and a temporary storage directory,
 * optionally behind htpasswd basic auth; a bearer-token front (a small Node proxy that
 * answers 401 with `WWW-Authenticate: Bearer realm=,service=,scope=` as Docker Hub does,
 * issues tokens at its realm for the right basic credentials, and forwards authorised
 * requests to the registry); and skopeo to fill it from OCI layouts.
 *
 *   const reg = await startRegistry(t);                       // reg.host = 127.0.0.1:PORT
 *   await skopeoCopy(`oci:${dir}:v1`, `docker://${reg.host}/test/app:v1`);
 *   const front = await startTokenFront(t, reg, { username: 'u', password: 'p' });
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface Credentials {
  username: string;
  password: string;
}

export interface TestRegistry {
  /** 127.0.0.1:PORT */
  host: string;
  /** Where it keeps its blobs and repositories. */
  storage: string;
  /** Basic credentials it requires, if any. */
  credentials?: Credentials;
  /** Stops it and removes its storage (also done after the test). */
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Require these credentials (htpasswd, bcrypt). */
  htpasswd?: Credentials;
}

/** Why registry tests cannot run here (empty when they can). */
export function registryProblems(): string[] {
  const problems: string[] = [];
  for (const [tool, pkg] of [['docker-registry', 'docker-registry'], ['skopeo', 'skopeo'], ['zstd', 'zstd']] as const) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) problems.push(`${tool} is missing: apt-get install ${pkg}`);
  }
  return problems;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** Starts docker-registry on 127.0.0.1 and a free port; it is stopped after the test. */
export async function startRegistry(t: Pick<TestContext, 'after'>, options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'sandbox-e2e-registry-'));
  const storage = join(dir, 'storage');
  let auth = '';
  if (options.htpasswd) {
    const { hashSync } = await import('bcryptjs');
    await writeFile(join(dir, 'htpasswd'), `${options.htpasswd.username}:${hashSync(options.htpasswd.password, 5)}\n`);
    auth = `auth:\n  htpasswd:\n    realm: sandbox-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  await writeFile(join(dir, 'config.yml'), [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    '  addr: 127.0.0.1:0',
    `  secret: ${randomBytes(16).toString('hex')}`,
    auth,
  ].join('\n'));
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const host = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`docker-registry did not start within 10 s:\n${log}`)), 10_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /listening on (127\.0\.0\.1:[0-9]+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`docker-registry exited (${code}):\n${log}`)); });
  });
  // Keep draining its log so that it never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  t.after(stop);
  return { host, storage, ...(options.htpasswd ? { credentials: options.htpasswd } : {}), stop };
}

export interface TokenFront {
  /** 127.0.0.1:PORT of the front; references name this host. */
  host: string;
  /** Every request that reached it: method, path (with query), status, whether it had a token. */
  requests: { method: string; path: string; status: number }[];
  /** Tokens issued, with the scopes granted. */
  tokens: { token: string; scopes: string[]; user: string }[];
}

export interface TokenFrontOptions {
  /** The only account; its token may pull and push every repository. */
  credentials: Credentials;
  /** Give anonymous clients pull tokens (as Docker Hub does for public images). */
  anonymousPull?: boolean;
}

function basicUser(req: IncomingMessage): Credentials | undefined {
  const m = /^Basic\s+(\S+)/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** `repository:NAME:ACTIONS` scope strings -> NAME -> actions. */
function grants(scopes: string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of scopes) {
    const m = /^repository:([^:]+):(.+)$/.exec(s);
    if (!m) continue;
    const set = out.get(m[1]!) ?? new Set<string>();
    for (const a of m[2]!.split(',')) set.add(a);
    out.set(m[1]!, set);
  }
  return out;
}

/**
 * A Docker-Hub-style token front for `registry` (which itself has no auth): /token
 * issues bearer tokens, everything else needs one whose scope covers the repository
 * and action (GET/HEAD pull, else push) and is forwarded.
 */
export async function startTokenFront(t: Pick<TestContext, 'after'>, registry: TestRegistry, options: TokenFrontOptions): Promise<TokenFront> {
  const requests: TokenFront['requests'] = [];
  const tokens: TokenFront['tokens'] = [];
  let self = '';
  const service = 'sandbox-test-registry';

  const challenge = (res: ServerResponse, scope: string | undefined) => {
    const params = [`realm="http://${self}/token"`, `service="${service}"`, ...(scope ? [`scope="${scope}"`] : [])];
    res.writeHead(401, { 'www-authenticate': `Bearer ${params.join(',')}`, 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${self}`);
    const record = (status: number) => requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, status });
    if (url.pathname === '/token') {
      const user = basicUser(req);
      const scopes = url.searchParams.getAll('scope');
      const good = user && user.username === options.credentials.username && user.password === options.credentials.password;
      if (user && !good) {
        record(401);
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      const granted = good ? scopes : options.anonymousPull
        ? scopes.map((s) => s.replace(/:[^:]*$/, (a) => (a.split(/[:,]/).includes('pull') ? ':pull' : ':'))).filter((s) => !s.endsWith(':'))
        : [];
      const token = randomBytes(12).toString('hex');
      tokens.push({ token, scopes: granted, user: good ? user!.username : '' });
      record(200);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
      return;
    }
    const bearer = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1];
    const issued = tokens.find((x) => x.token === bearer);
    const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(url.pathname)?.[1];
    const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const scope = repo ? `repository:${repo}:${action === 'pull' ? 'pull' : 'pull,push'}` : undefined;
    let allowed = !!issued;
    if (issued && repo) allowed = grants(issued.scopes).get(repo)?.has(action) ?? false;
    // A cross-repository mount needs pull on the source too.
    const from = url.searchParams.get('from');
    if (allowed && issued && from && url.searchParams.get('mount')) allowed = grants(issued.scopes).get(from)?.has('pull') ?? false;
    if (!allowed) {
      record(401);
      req.resume();
      challenge(res, scope);
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const [host, port] = registry.host.split(':');
    const upstream = request({ host, port: Number(port), method: req.method, path: req.url, headers }, (up) => {
      record(up.statusCode ?? 0);
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => { res.writeHead(502); res.end(String(err)); });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { host: self, requests, tokens };
}

/**
 * A proxy in front of `registry` that changes one byte of every layer blob it serves
 * (blobs larger than `minSize`: configs pass), as a broken mirror or an attacker would.
 */
export async function startTamperingProxy(t: Pick<TestContext, 'after'>, registry: TestRegistry, minSize = 4096): Promise<{ host: string }> {
  const [host, port] = registry.host.split(':');
  const server = createServer((req, res) => {
    const upstream = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (up) => {
      const tamper = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '') && Number(up.headers['content-length'] ?? 0) > minSize;
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!tamper) { up.pipe(res); return; }
      let first = true;
      up.on('data', (chunk: Buffer) => {
        if (first && chunk.length > 100) { chunk[100] = chunk[100]! ^ 0xff; first = false; }
        res.write(chunk);
      });
      up.on('end', () => res.end());
    });
    upstream.on('error', (err) => { res.writeHead(502); res.end(String(err)); });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export interface SkopeoCopyOptions {
  /** Copy every image of an index (`--all`). */
  all?: boolean;
  /** Convert to Docker schema 2 (`--format v2s2`); default: keep what the source has. */
  format?: 'v2s2' | 'oci';
  destCreds?: Credentials;
  srcCreds?: Credentials;
}

/** Runs `skopeo copy SRC DEST` (as whoever runs the tests), TLS checks off; throws with its output on failure. */
export async function skopeoCopy(src: string, dest: string, options: SkopeoCopyOptions = {}): Promise<void> {
  const args = ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false'];
  if (options.all) args.push('--all');
  // Digests can be kept only when nothing is converted.
  args.push(...(options.format ? ['--format', options.format] : ['--preserve-digests']));
  if (options.destCreds) args.push('--dest-creds', `${options.destCreds.username}:${options.destCreds.password}`);
  if (options.srcCreds) args.push('--src-creds', `${options.srcCreds.username}:${options.srcCreds.password}`);
  if (!src.startsWith('docker://') && !dest.startsWith('docker://')) throw new Error('one side of skopeoCopy must be docker://');
  args.push(src, dest);
  await runTool('skopeo', args);
}

/** `skopeo inspect --raw` of a registry image: its manifest (or index) as JSON. */
export async function skopeoRawManifest(ref: string, creds?: Credentials): Promise<Record<string, unknown>> {
  const args = ['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', `${creds.username}:${creds.password}`] : []), `docker://${ref}`];
  return JSON.parse(await runTool('skopeo', args)) as Record<string, unknown>;
}

/** A tool's stdout; a failure throws execa's error, which holds the command, its status and output. */
async function runTool(cmd: string, args: string[]): Promise<string> {
  const { execa } = await import('execa');
  return (await execa(cmd, args, { stdin: 'ignore' })).stdout;
}

/** True when the registry's storage holds a blob with this digest. */
export function registryHasBlob(registry: TestRegistry, digest: string): boolean {
  const hex = digest.replace(/^sha256:/, '');
  return existsSync(join(registry.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'));
}
