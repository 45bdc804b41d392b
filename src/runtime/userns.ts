/**
 * The caller's user namespace with the full id mapping: root inside, subordinate ids
 * for everyone else. Image unpacking and removal of writable layers run there, so
 * files owned by other ids inside a sandbox stay theirs and can be removed again.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { spawn } from './spawn.js';
import { buildIdMappings, parseSubordinateIds, formatMapping, type IdMapping } from './idmap.js';
import { findTool, helperPath } from './host-tools.js';
import { SandboxError } from '../errors.js';
import { Flag } from './protocol.js';

export interface UserIdMaps {
  uid: IdMapping[];
  gid: IdMapping[];
  /** newuidmap/newgidmap paths, when the user has subordinate ids and the tools exist. */
  tools?: { newuidmap: string; newgidmap: string };
  /** Why the mapping is a single id, for the one-line warning. */
  degraded?: string;
}

function readOr(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

let cached: UserIdMaps | undefined;

export function userIdMaps(): UserIdMaps {
  if (cached) return cached;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let name: string | undefined;
  try { name = userInfo().username; } catch { name = undefined; }
  const subuid = parseSubordinateIds(readOr('/etc/subuid'), { name, id: uid });
  const subgid = parseSubordinateIds(readOr('/etc/subgid'), { name, id: uid });
  const newuidmap = findTool('newuidmap');
  const newgidmap = findTool('newgidmap');
  if (subuid.length && subgid.length && newuidmap && newgidmap) {
    cached = { uid: buildIdMappings(uid, subuid), gid: buildIdMappings(gid, subgid), tools: { newuidmap, newgidmap } };
  } else {
    const degraded = !newuidmap || !newgidmap
      ? 'newuidmap/newgidmap not found (sudo apt-get install uidmap)'
      : `no /etc/subuid or /etc/subgid range for ${name ?? uid} (sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name ?? uid})`;
    cached = { uid: [{ inside: 0, outside: uid, count: 1 }], gid: [{ inside: 0, outside: gid, count: 1 }], degraded };
  }
  return cached;
}

export function mapArgs(maps: UserIdMaps): string[] {
  if (!maps.tools) return [];
  const args = [Flag.uidmapCmd, maps.tools.newuidmap, Flag.gidmapCmd, maps.tools.newgidmap];
  for (const m of maps.uid) args.push(Flag.uidMap, formatMapping(m));
  for (const m of maps.gid) args.push(Flag.gidMap, formatMapping(m));
  return args;
}

export interface UsernsRunOptions {
  stdin?: NodeJS.ReadableStream;
  /** Collect stderr instead of passing it through. */
  captureStderr?: boolean;
  /** Kills the command when aborted (its input failed, say). */
  signal?: AbortSignal;
  /** The error a failure becomes; default `ARGV0 failed (exit N): first line of stderr`. */
  failure?: (reason: string | undefined, status: string) => Error;
}

/** The most telling line of a tool's error output: its first, not tar's "Exiting with failure status". */
function firstReason(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => !/Exiting with failure status|Error is not recoverable/.test(l));
  return (lines[0] ?? stderr.trim()).replace(/^tar: /, '');
}

export interface UsernsProcess {
  /** The command's stdout, when `startInUserns` was asked for it (`stdout: true`). */
  stdout: NodeJS.ReadableStream | null;
  /** Resolves when the command exits 0; rejects (SandboxError, or `failure`'s) otherwise. */
  done: Promise<void>;
  /** What the command wrote on stderr so far (with captureStderr; at most 8 KiB). */
  stderr(): string;
}

/** Starts a host command as root of the user's namespace. */
export function startInUserns(argv: string[], options: UsernsRunOptions & { stdout?: boolean } = {}): UsernsProcess {
  const helper = helperPath();
  const child = spawn(helper, [Flag.usernsOnly, ...mapArgs(userIdMaps()), '--', ...argv], {
    stdio: [options.stdin ? 'pipe' : 'ignore', options.stdout ? 'pipe' : 'ignore', options.captureStderr ? 'pipe' : 'inherit'],
  });
  options.signal?.addEventListener('abort', () => child.kill('SIGKILL'), { once: true });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => { if (stderr.length < 8192) stderr += d; });
  if (options.stdin && child.stdin) {
    options.stdin.pipe(child.stdin);
    child.stdin.on('error', () => { /* the command exited early; its status tells */ });
  }
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) { resolve(); return; }
      const status = signal ?? `exit ${code}`;
      const fail = () => {
        const reason = stderr ? firstReason(stderr) : undefined;
        reject(options.failure?.(reason, status) ?? new SandboxError(`${argv[0]} failed (${status})${reason ? `: ${reason}` : ''}`));
      };
      // The last of stderr may still be in the pipe; a process left holding it must not keep us.
      if (!child.stderr || child.stderr.readableEnded) { fail(); return; }
      const timer = setTimeout(fail, 200);
      child.stderr.once('end', () => { clearTimeout(timer); fail(); });
    });
  });
  return { stdout: child.stdout, done, stderr: () => stderr };
}

/** Runs a host command as root of the user's namespace; rejects on failure. */
export function runInUserns(argv: string[], options: UsernsRunOptions = {}): Promise<void> {
  return startInUserns(argv, options).done;
}

/** Removes a tree that may hold files owned by subordinate ids. */
export async function removeTree(path: string): Promise<void> {
  try {
    const { rm } = require('node:fs/promises') as typeof import('node:fs/promises'); // not at start-up
    await rm(path, { recursive: true, force: true });
    return;
  } catch { /* files of other ids: remove as root of the namespace */ }
  await runInUserns(['rm', '-rf', '--one-file-system', path], { captureStderr: true });
}
