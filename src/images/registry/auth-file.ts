/**
 * Registry credentials in the containers auth.json format (shared with Podman, Buildah
 * and skopeo; Docker's config.json has the same `auths` part):
 *   {"auths": {"registry.example:5000": {"auth": "base64(user:password)"}}}
 * Read from --authfile / $REGISTRY_AUTH_FILE alone when given, else the first file that
 * has an entry among ${XDG_RUNTIME_DIR}/containers/auth.json,
 * ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json and ~/.docker/config.json.
 * `login` writes the first of the containers files (or the one given); the Docker file
 * is only read. Keys may be HOST[:PORT], HOST/REPO/PATH (more specific wins), or a URL
 * (`https://index.docker.io/v1/`).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SandboxError } from '../../errors.js';
import { writeFileAtomic } from '../../state/atomic.js';
import { DOCKER_HUB } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface AuthFileEnv {
  env: NodeJS.ProcessEnv;
  home: string;
  /** --authfile */
  authFile?: string | undefined;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  [key: string]: unknown;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  [key: string]: unknown;
}

function absEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v && v.startsWith('/') ? v : undefined;
}

/** The files searched for credentials, in order. */
export function authFilesToRead(e: AuthFileEnv): string[] {
  const given = e.authFile || e.env.REGISTRY_AUTH_FILE;
  if (given) return [given];
  const files: string[] = [];
  const runtime = absEnv(e.env, 'XDG_RUNTIME_DIR');
  if (runtime) files.push(join(runtime, 'containers', 'auth.json'));
  files.push(join(absEnv(e.env, 'XDG_CONFIG_HOME') ?? join(e.home, '.config'), 'containers', 'auth.json'));
  files.push(join(absEnv(e.env, 'DOCKER_CONFIG') ?? join(e.home, '.docker'), 'config.json'));
  return files;
}

/** The file `login` and `logout` change. */
export function authFileToWrite(e: AuthFileEnv): string {
  return authFilesToRead(e)[0]!;
}

function readAuthFile(path: string): AuthFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new SandboxError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { hint: 'check its permissions, or give another file with --authfile' });
  }
  try {
    const doc = JSON.parse(text) as AuthFile;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc;
  } catch { /* the error below */ }
  throw new SandboxError(`${path} is not a valid auth file`, { hint: 'it must be JSON like {"auths": {"HOST": {"auth": "base64 of user:password"}}}; fix or remove it' });
}

/** A key of `auths` normalised: no scheme, no Docker Hub's /v1/ suffix, Hub's aliases as docker.io. */
export function normaliseAuthKey(key: string): string {
  let k = key.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
  if (/^(index\.docker\.io|registry-1\.docker\.io)(\/v[12])?$/.test(k) || k === `${DOCKER_HUB}/v1`) k = DOCKER_HUB;
  return k;
}

function decode(entry: AuthEntry): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  return undefined;
}

/** The credentials for `registry` (and `repository`, whose more specific keys win), if any. */
export function findCredentials(e: AuthFileEnv, registry: string, repository?: string): Credentials | undefined {
  // Most specific first: HOST/a/b/c, HOST/a/b, HOST/a, HOST.
  const wanted = [registry];
  if (repository) {
    const parts = repository.split('/');
    for (let n = 1; n <= parts.length; n++) wanted.unshift(`${registry}/${parts.slice(0, n).join('/')}`);
  }
  for (const path of authFilesToRead(e)) {
    const auths = readAuthFile(path).auths ?? {};
    const byKey = new Map<string, AuthEntry>();
    for (const [key, entry] of Object.entries(auths)) if (entry && typeof entry === 'object') byKey.set(normaliseAuthKey(key), entry);
    for (const key of wanted) {
      const entry = byKey.get(key);
      const creds = entry && decode(entry);
      if (creds) return creds;
    }
  }
  return undefined;
}

function writeAuthFile(path: string, doc: AuthFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomic(path, `${JSON.stringify(doc, null, '\t')}\n`, 0o600);
}

/** Records credentials for `registry`, keeping everything else in the file. Returns the file. */
export function storeCredentials(e: AuthFileEnv, registry: string, creds: Credentials): string {
  const path = authFileToWrite(e);
  const doc = readAuthFile(path);
  const auths = { ...(doc.auths ?? {}) };
  for (const key of Object.keys(auths)) if (normaliseAuthKey(key) === registry) delete auths[key];
  auths[registry] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  writeAuthFile(path, { ...doc, auths });
  return path;
}

/** Forgets `registry` (every key naming it), or every registry with `all`. False when there was nothing. */
export function removeCredentials(e: AuthFileEnv, registry: string | undefined, all = false): boolean {
  const path = authFileToWrite(e);
  const doc = readAuthFile(path);
  const auths = { ...(doc.auths ?? {}) };
  const doomed = Object.keys(auths).filter((k) => all || normaliseAuthKey(k) === registry);
  if (doomed.length === 0) return false;
  for (const key of doomed) delete auths[key];
  writeAuthFile(path, { ...doc, auths });
  return true;
}
