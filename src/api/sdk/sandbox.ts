/**
 * `Sandbox`: one sandbox driven from code, for tests and tools. Each method calls the
 * function the CLI's command calls (run -d, exec, cp, logs, stop, start, rm, commit,
 * inspect): one code path, this class only turns options into requests and results into
 * values. No global state: every object keeps the store it was made in (`root`).
 *
 *   await using box = await Sandbox.start({ image: 'host', command: ['sleep', 'infinity'] });
 *   const { exitCode, stdout } = await box.exec(['sh', '-c', 'echo hi']);
 *
 * Every error thrown is a SandboxError with a stable `code`, a `hint` and the `cause`.
 * Not loaded by the CLI: only the library bundle (dist/api.cjs, dist/api.mjs) holds it.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { posix, resolve as resolvePath } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { SandboxError, type SandboxErrorCode } from '../../errors.js';
import type { StorePaths } from '../../state/paths.js';
import { findSandbox, type SandboxRecord } from '../../state/sandboxes.js';
import type { RunRequest } from '../../types.js';
import type { RunArgs } from '../../cli/run-option-table.js';
import { toRunRequest, validateUser } from '../../cli/run-request.js';
import { runDetached, type RunHooks } from '../run.js';
import { spawnInSandbox } from '../exec.js';
import { copyFromSandbox, copyIntoSandbox } from '../cp.js';
import { sweepOwnerless } from './lifeline.js';
import { inspectSandbox, listSandboxes, removeSandbox, restartSandbox, startSandbox, stopSandbox, type SandboxView } from '../lifecycle.js';
import { logFileOf, sandboxLogRecords } from '../logs.js';
import { readHealth } from '../../state/health.js';
import { waitUntilReady } from './wait.js';
import { parseSince } from '../../state/logs.js';
import { commitSandbox } from '../../images/commit.js';
import { openStore } from './store.js';
import type { WaitStrategy, WaitTarget } from './wait-types.js';
import type { Network } from './network.js';

/** Where a store is: `root` as the CLI's `--root` (default: SANDBOX_ROOT, else the XDG directories). */
export interface StoreOptions {
  root?: string;
}

/** A host directory bound into the sandbox. */
export interface MountOptions {
  /** Host path (relative to the current directory when not absolute). */
  source: string;
  /** Absolute path inside the sandbox. */
  target: string;
  readonly?: boolean;
}

/** How Sandbox.start makes a sandbox; everything but `image` is optional. */
export interface SandboxStartOptions extends StoreOptions {
  /** `host` (the host's own directories, read-only under a private writable layer) or any stored image. */
  image: string;
  /** argv, never a shell string; default: the image's command. */
  command?: string[];
  /** Replaces the image's entrypoint ([] clears it). */
  entrypoint?: string[];
  env?: Record<string, string>;
  workdir?: string;
  /** `UID[:GID]` or a user name of the sandbox's /etc/passwd. */
  user?: string;
  hostname?: string;
  /** Default: `sandbox-` and the start of its id. */
  name?: string;
  labels?: Record<string, string>;
  mounts?: MountOptions[];
  /** `-v` specs of named volumes: `NAME:/path[:ro]`. */
  volumes?: string[];
  /** Paths that get a tmpfs (`/tmp`, or `/tmp:size=64m`). */
  tmpfs?: string[];
  /** `none`, `host`, `slirp4netns` (default, as the CLI), `pasta`, or a network's name. */
  network?: string;
  /** User-defined networks to join, each with the names the others reach this sandbox by. */
  networks?: { network: string | Network; aliases?: string[] }[];
  /** Published ports: a number is that container port on a free port of 127.0.0.1 (see mappedPort); a string is as `-p`. */
  ports?: (number | string)[];
  limits?: { memory?: string | number; pids?: number; cpus?: number };
  /** Resolves when the sandbox is ready; see Wait. */
  waitFor?: WaitStrategy;
  /** How long waitFor may take (default 60 s). */
  startupTimeoutMs?: number;
  /** true: the sandbox outlives this process (as `run -d`); default: it ends when this process does. */
  detached?: boolean;
  /** When to pull the image from its registry (default `missing`). */
  pull?: 'missing' | 'always' | 'never';
}

/** What exec returns: the command's exit status and its whole output. */
export interface ExecResult {
  /** The command's exit code (126: cannot run it, 127: not found, 128+N: killed by signal N). */
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Set on top of the sandbox's environment. */
  env?: Record<string, string>;
  /** Absolute; must exist in the sandbox. */
  workdir?: string;
  user?: string;
  /** Written to the command's stdin, which is then closed (default: an empty stdin). */
  stdin?: string | Uint8Array;
  /** The command is killed after this long, and exec throws SandboxError `exec-timeout`. */
  timeoutMs?: number;
}

/** A command started by spawn: its streams, and its exit code once it ends. */
export interface SandboxProcess {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves to the exit code (128+N when killed by signal N). */
  readonly exit: Promise<number>;
  /** Sends a signal to the command (default SIGTERM). */
  kill(signal?: NodeJS.Signals): void;
}

const HOST_ADDRESS = '127.0.0.1';

/** The same error as a SandboxError with `code` (ours keep theirs; anything else becomes `internal`). */
function asSandboxError(err: unknown, code: SandboxErrorCode = 'internal'): SandboxError {
  if (err instanceof SandboxError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SandboxError(message, { code, cause: err, hint: 'an unexpected error: run with SANDBOX_DEBUG=1 and report it, with its cause' });
}

/** Runs `fn`, throwing only SandboxErrors. */
async function guarded<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asSandboxError(err);
  }
}

function invalid(message: string, hint: string): SandboxError {
  return new SandboxError(message, { code: 'invalid-option', hint });
}

/** SandboxStartOptions as the CLI's parsed options (RunArgs), so that both are validated by toRunRequest. */
function runArgsOf(o: SandboxStartOptions): RunArgs {
  const named = o.networks?.length ? o.networks.map((n) => (typeof n.network === 'string' ? n.network : n.network.name)) : undefined;
  return {
    image: o.image,
    command: o.command ?? [],
    detach: true,
    ...(o.name !== undefined ? { name: o.name } : {}),
    env: Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(o.workdir !== undefined ? { workdir: o.workdir } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    label: Object.entries(o.labels ?? {}).map(([k, v]) => `${k}=${v}`),
    volume: o.volumes ?? [],
    tmpfs: o.tmpfs ?? [],
    ...(named ? { network: named } : o.network !== undefined ? { network: o.network } : {}),
    publish: (o.ports ?? []).map((p) => (typeof p === 'number' ? `${HOST_ADDRESS}::${p}` : p)),
    ...(o.limits?.memory !== undefined ? { memory: String(o.limits.memory) } : {}),
    ...(o.limits?.pids !== undefined ? { pidsLimit: String(o.limits.pids) } : {}),
    ...(o.limits?.cpus !== undefined ? { cpus: String(o.limits.cpus) } : {}),
    ...(o.pull !== undefined ? { pull: o.pull } : {}),
  } as RunArgs;
}

/** The RunRequest of `o`: the CLI's validation, then what has no CLI word here (binds by object, aliases per network, entrypoint argv). */
export function startRequest(o: SandboxStartOptions): RunRequest {
  if (!o || typeof o.image !== 'string' || o.image === '') throw invalid('Sandbox.start needs an image', "give { image: 'host' } or a stored image's name");
  let request: RunRequest;
  try {
    request = toRunRequest(runArgsOf(o), { env: process.env, cwd: process.cwd(), readFile: (p) => readFileSync(p, 'utf8'), verb: 'run' });
  } catch (err) {
    if (err instanceof SandboxError && err.code === 'error') throw new SandboxError(err.message, { code: 'invalid-option', ...(err.hint ? { hint: err.hint } : {}), cause: err });
    throw asSandboxError(err);
  }
  for (const m of o.mounts ?? []) {
    if (!m.target?.startsWith('/')) throw invalid(`mount target must be an absolute path inside the sandbox: ${m.target}`, "{ source: './dir', target: '/src' }");
    request.volumes.push({ kind: 'bind', source: resolvePath(m.source), target: m.target, readOnly: !!m.readonly });
  }
  if (o.networks?.length) {
    request.networks = o.networks.map((n) => ({ name: typeof n.network === 'string' ? n.network : n.network.name, aliases: n.aliases ?? [] }));
  }
  if (o.entrypoint !== undefined) request.entrypoint = o.entrypoint;
  return request;
}

/**
 * A sandbox of a store: started here (Sandbox.start), or found (Sandbox.get, Sandbox.list),
 * whoever made it. It is a WaitTarget, so wait strategies can probe it.
 */
export class Sandbox implements WaitTarget {
  /** Where its published ports are reached from this host. */
  readonly host = HOST_ADDRESS;
  /** The store it lives in (its `root`, resolved). */
  readonly paths: StorePaths;
  #record: SandboxRecord;
  /** Not ended with this process: restarts keep it so. */
  readonly #detached: boolean;
  #disposed?: Promise<void>;

  private constructor(paths: StorePaths, record: SandboxRecord, detached: boolean) {
    this.paths = paths;
    this.#record = record;
    this.#detached = detached;
  }

  /** The full id (64 hex digits). */
  get id(): string { return this.#record.id; }
  /** Its unique name. */
  get name(): string { return this.#record.name; }

  #hooks(): RunHooks {
    return this.#detached ? {} : { ownerLifeline: true };
  }

  /**
   * Creates and starts a sandbox (as `sandbox run -d`), then waits for `waitFor`. Unless
   * `detached`, the sandbox ends when this process does. On a failed wait the sandbox is
   * removed and SandboxError `startup-timeout` carries its last 20 log lines.
   */
  static async start(options: SandboxStartOptions): Promise<Sandbox> {
    const paths = await guarded(() => openStore({ root: options?.root }));
    const request = startRequest(options);
    const detached = options.detached === true;
    const record = await guarded(() => runDetached(paths, request, detached ? {} : { ownerLifeline: true }));
    const box = new Sandbox(paths, record, detached);
    if (options.waitFor) {
      try {
        await waitUntilReady(box, options.waitFor, options.startupTimeoutMs ?? 60_000, { name: box.name });
      } catch (err) {
        await box.dispose().catch(() => {});
        throw err;
      }
    }
    return box;
  }

  /** A sandbox of the store, made by the CLI or by another process: by name, id, or unique id prefix. */
  static async get(nameOrId: string, options: StoreOptions = {}): Promise<Sandbox> {
    return guarded(async () => {
      const paths = openStore({ root: options.root });
      await sweepOwnerless(paths); // sandboxes whose starter died: removed, never found (lifeline.ts)
      return new Sandbox(paths, findSandbox(paths, nameOrId), true);
    });
  }

  /** The sandboxes of the store, newest first: running ones, or all with `all`. */
  static async list(options: StoreOptions & { all?: boolean } = {}): Promise<Sandbox[]> {
    return guarded(async () => {
      const paths = openStore({ root: options.root });
      await sweepOwnerless(paths); // sandboxes whose starter died: removed, never listed (lifeline.ts)
      return listSandboxes(paths, { all: !!options.all }).map((v) => new Sandbox(paths, v.record, true));
    });
  }

  /** Runs a command in the sandbox and waits for it: its exit code, stdout and stderr (a non-zero exit is not an error). */
  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const p = this.spawn(argv, options);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.stdin.on('error', () => { /* the command did not read it all */ });
    p.stdin.end(options.stdin === undefined ? undefined : Buffer.from(options.stdin));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      if (options.timeoutMs === undefined) return;
      timer = setTimeout(() => {
        p.kill('SIGKILL'); // the helper's end kills the command (its parent-death signal)
        reject(new SandboxError(`\`${argv.join(' ')}\` in sandbox ${this.name} did not end within ${options.timeoutMs} ms`, {
          code: 'exec-timeout', hint: 'give exec a longer timeoutMs, or look at what it waits for',
        }));
      }, options.timeoutMs);
    });
    try {
      const exitCode = await Promise.race([p.exit, timedOut]);
      // The pipes end after the process: wait for them, so that no output is lost.
      await Promise.all([streamEnd(p.stdout), streamEnd(p.stderr)]);
      return { exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts a command in the sandbox and returns at once: its stdin, stdout, stderr and an `exit` promise. */
  spawn(argv: string[], options: Omit<ExecOptions, 'stdin' | 'timeoutMs'> = {}): SandboxProcess {
    if (!Array.isArray(argv) || argv.length === 0) throw invalid('exec needs a command: a non-empty argv', "box.exec(['sh', '-c', 'echo hi'])");
    if (options.workdir !== undefined && !options.workdir.startsWith('/')) throw invalid(`workdir must be absolute: ${options.workdir}`, "{ workdir: '/src' }");
    let child: ChildProcess;
    try {
      child = spawnInSandbox(this.paths, this.id, {
        command: argv, interactive: false, tty: false, env: { ...options.env },
        ...(options.workdir !== undefined ? { workdir: options.workdir } : {}),
        ...(options.user !== undefined ? { user: validateUser(options.user) } : {}),
      });
    } catch (err) {
      throw asSandboxError(err);
    }
    const exit = new Promise<number>((resolve, reject) => {
      child.on('error', (err) => reject(asSandboxError(err)));
      child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
    });
    exit.catch(() => {}); // handled by whoever awaits it; never an unhandled rejection
    return {
      pid: child.pid, stdin: child.stdin!, stdout: child.stdout!, stderr: child.stderr!, exit,
      kill: (signal: NodeJS.Signals = 'SIGTERM') => { try { child.kill(signal); } catch { /* gone */ } },
    };
  }

  /** Writes `data` to the file `path` in the sandbox (created or replaced, mode 0644, owned by its root); its directory must exist. */
  async writeFile(path: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
    const { dir, base } = splitPath(path);
    const tar = await tarOfOneFile(base, Buffer.from(data), options.mode ?? 0o644);
    await guarded(() => copyIntoSandbox(this.paths, '-', this.id, dir, { stdin: Readable.from([tar]) }));
  }

  /** The content of the file `path` in the sandbox. */
  async readFile(path: string): Promise<Buffer>;
  async readFile(path: string, encoding: BufferEncoding): Promise<string>;
  async readFile(path: string, encoding?: BufferEncoding): Promise<Buffer | string> {
    splitPath(path);
    const chunks: Buffer[] = [];
    const sink = new Writable({ write(chunk: Buffer, _e, done) { chunks.push(chunk); done(); } });
    await guarded(() => copyFromSandbox(this.paths, this.id, path, '-', { stdout: sink }));
    const content = await fileOfTar(Buffer.concat(chunks), path);
    return encoding ? content.toString(encoding) : content;
  }

  /** Copies a host file or directory into the sandbox, as `sandbox cp LOCAL NAME:PATH`. */
  async copyIn(localPath: string, path: string): Promise<void> {
    await guarded(() => copyIntoSandbox(this.paths, localPath, this.id, path));
  }

  /** Copies a file or directory of the sandbox to the host, as `sandbox cp NAME:PATH LOCAL`. */
  async copyOut(path: string, localPath: string): Promise<void> {
    await guarded(() => copyFromSandbox(this.paths, this.id, path, localPath));
  }

  /** The host port that `containerPort` is published on (reach it at `host`). */
  mappedPort(containerPort: number, protocol: 'tcp' | 'udp' = 'tcp'): number {
    const m = (this.#record.request.ports ?? []).find((p) => p.containerPort === containerPort && p.protocol === protocol);
    if (!m) {
      throw new SandboxError(`port ${containerPort}/${protocol} of sandbox ${this.name} is not published`, {
        code: 'port-not-published', hint: `publish it: Sandbox.start({ ..., ports: [${containerPort}] })`,
      });
    }
    return m.hostPort;
  }

  /** Its log file (CRI format), for wait strategies that follow it as it grows; undefined with the `none` log driver. */
  logFile(): string | undefined {
    try {
      return logFileOf(this.paths, this.id);
    } catch {
      return undefined;
    }
  }

  /** Its health check's state now (`starting` until a first check ran); undefined when it has no health check. */
  async health(): Promise<'starting' | 'healthy' | 'unhealthy' | undefined> {
    if (!this.#record.request.healthcheck) return undefined;
    return readHealth(this.paths, this.id)?.Status ?? 'starting';
  }

  /** The container ports it publishes (TCP). */
  exposedPorts(): number[] {
    return (this.#record.request.ports ?? []).filter((p) => p.protocol === 'tcp').map((p) => p.containerPort);
  }

  /** Its output so far (stdout and stderr, in order), as `sandbox logs`: the last `tail` lines, since a time (RFC 3339, Unix seconds, or `10m`). */
  async logs(options: { tail?: number; since?: string | Date } = {}): Promise<string> {
    return guarded(() => {
      const since = options.since === undefined ? undefined : parseSince(options.since instanceof Date ? options.since.toISOString() : options.since);
      const lines: string[] = [];
      for (const r of sandboxLogRecords(this.paths, this.id, options.tail, since !== undefined ? { since } : {})) lines.push(r.data.toString('utf8'));
      return lines.length ? `${lines.join('\n')}\n` : '';
    });
  }

  /** Stops it (its stop signal, then SIGKILL after `timeoutMs`, default its stop timeout or 10 s), as `sandbox stop`. */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#record = await guarded(() => stopSandbox(this.paths, this.id, options.timeoutMs === undefined ? undefined : Math.ceil(options.timeoutMs / 1000)));
  }

  /** Starts it again after a stop, as `sandbox start`. */
  async start(): Promise<void> {
    this.#record = await guarded(() => startSandbox(this.paths, this.id, this.#hooks()));
  }

  /** Stops and starts it, as `sandbox restart`. */
  async restart(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#record = await guarded(() => restartSandbox(this.paths, this.id, options.timeoutMs === undefined ? undefined : Math.ceil(options.timeoutMs / 1000), this.#hooks()));
  }

  /** Makes an image of it (its image plus its changes), as `sandbox commit`; returns the image id. */
  async commit(reference: string, options: { message?: string; author?: string; changes?: string[] } = {}): Promise<string> {
    return guarded(() => commitSandbox(this.paths, this.id, reference, options));
  }

  /** Its record and its state now (as `sandbox inspect` reads them). */
  async inspect(): Promise<SandboxView> {
    return guarded(() => {
      const view = inspectSandbox(this.paths, this.id);
      this.#record = view.record;
      return view;
    });
  }

  /** Stops (at once: SIGKILL) and removes it with its anonymous volumes, as `sandbox rm -f -v`. Idempotent; a failed one may be tried again. */
  dispose(): Promise<void> {
    this.#disposed ??= guarded(async () => {
      try {
        await removeSandbox(this.paths, this.id, { force: true, volumes: true, time: 0 });
      } catch (err) {
        if (!(err instanceof SandboxError && err.code === 'no-such-sandbox') && !/^no such sandbox/.test((err as Error).message)) throw err;
      }
    }).catch((err: unknown) => {
      this.#disposed = undefined;
      throw err;
    });
    return this.#disposed;
  }

  /** `await using box = await Sandbox.start(...)`: disposed when the block ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function streamEnd(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => { stream.once('end', resolve); stream.once('close', resolve); });
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** An absolute file path's directory and name; a path that names no file is refused. */
function splitPath(path: string): { dir: string; base: string } {
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalid(`the path in the sandbox must be absolute: ${path}`, "e.g. '/tmp/in'");
  const norm = posix.normalize(path);
  const base = posix.basename(norm);
  if (!base || base === '.' || base === '..' || norm.endsWith('/')) throw invalid(`not a file path: ${path}`, "e.g. '/tmp/in'");
  return { dir: posix.dirname(norm), base };
}

async function tarOfOneFile(name: string, data: Buffer, mode: number): Promise<Buffer> {
  const { pack: makePack } = await import('tar-stream');
  const pack = makePack();
  pack.entry({ name, size: data.length, mode, uid: 0, gid: 0, mtime: new Date() }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function fileOfTar(tar: Buffer, path: string): Promise<Buffer> {
  const { extract: makeExtract } = await import('tar-stream');
  const extract = makeExtract();
  const done = (async () => {
    let found: Buffer | undefined;
    let kind: string | undefined;
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(Buffer.from(c as Uint8Array));
      if (kind === undefined) {
        kind = entry.header.type;
        if (kind === 'file' || kind === 'contiguous-file') found = Buffer.concat(chunks);
      }
    }
    return { found, kind };
  })();
  extract.end(tar);
  const { found, kind } = await done;
  if (!found) throw invalid(`${path} in the sandbox is not a regular file${kind ? ` (a ${kind})` : ''}`, 'readFile reads files; copyOut copies directories');
  return found;
}
