/**
 * `cp`: files and trees between the host and a sandbox, running or stopped, as
 * `docker cp`. The sandbox's half is helpers/cp.c (sandbox-cp): it enters the sandbox
 * (its user and mount namespaces when it runs, its root mounted in a namespace of our
 * own when it does not) and reads or writes a tar stream there, so every path inside
 * is resolved by the kernel within the sandbox's root: a symlink to `/` or `../..`
 * inside can never reach a host path. The host's half is GNU tar, as the user, on the
 * user's own files.
 *
 * Docker's naming rules (SRC -> DEST):
 *   file -> missing DEST: the file is named DEST (DEST ending in `/` must exist);
 *   file -> existing file: replaced; file -> directory: DEST/basename(SRC);
 *   dir  -> missing DEST: created as DEST with the tree; dir -> file: an error;
 *   dir  -> directory: DEST/basename(SRC), or the contents of SRC when SRC ends in `/.`;
 *   `-` as SRC: a tar stream on stdin, extracted into the directory DEST;
 *   `-` as DEST: a tar of SRC on stdout;
 *   a DEST on the host that is neither a directory nor a regular file (/dev/stdout, a
 *   fifo): the file's bytes are written to it (Podman 4.3 fails there; Docker's rule).
 * A relative path inside a sandbox starts at its working directory (Podman's rule), and
 * `A:SRC B:DEST` copies from one sandbox into another (a tar stream between the two
 * helpers, each inside its own sandbox, so neither side's symlinks reach the host).
 * Left out: `-L` (follow a symlink SRC on the host), and for a stopped sandbox its
 * volumes and binds (only its own root filesystem is seen then).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { basename, dirname, posix, resolve as resolvePath } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { helperNoSpace, noSpaceError, SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, type SandboxRecord } from '../state/sandboxes.js';
import { commandPid, sandboxDir, sandboxDirs } from '../state/sandbox-dir.js';
import { cpRootArgs, dirsToCreate } from '../runtime/plan.js';
import { helperPath, findTool } from '../runtime/host-tools.js';
import { mapArgs, userIdMaps } from '../runtime/userns.js';
import { copyOnWrite } from '../runtime/cow.js';
import { currentState } from './lifecycle.js';
import { resolveRoot } from './run.js';
import { Flag } from '../runtime/protocol.js';

export interface CpOptions {
  /** `-a`: keep the host's numeric owners on copy-in (default: root of the sandbox owns them). */
  archive?: boolean;
  /** Where `-` reads from and writes to (default: this process's stdin and stdout). */
  stdin?: Readable;
  stdout?: Writable;
}

/** One side of `cp SRC DEST`: a host path, `-`, or NAME:PATH in a sandbox. */
export type CpEndpoint = { kind: 'host'; path: string } | { kind: 'stream' } | { kind: 'sandbox'; ref: string; path: string };

/** Docker's rule: `NAME:PATH` when a colon comes before any slash; `./a:b` is a host path. */
export function parseEndpoint(arg: string): CpEndpoint {
  if (arg === '-') return { kind: 'stream' };
  const colon = arg.indexOf(':');
  const slash = arg.indexOf('/');
  if (colon > 0 && (slash < 0 || colon < slash)) {
    const path = arg.slice(colon + 1);
    return { kind: 'sandbox', ref: arg.slice(0, colon), path: path === '' ? '/' : path };
  }
  return { kind: 'host', path: arg };
}

type Kind = 'dir' | 'file' | 'symlink' | 'other' | 'missing' | 'notdir';

/** The last name of a path as cp names things: `/` and `x/.` are the directory's contents ("."). */
function lastName(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '' || trimmed.endsWith('/.') || trimmed === '.') return '.';
  return posix.basename(trimmed);
}

function endsWithDot(p: string): boolean {
  return p === '.' || p.endsWith('/.');
}

/** Where the helper finds the sandbox: its command's namespaces, or its layers. */
async function enterArgs(paths: StorePaths, record: SandboxRecord): Promise<string[]> {
  const state = currentState(paths, record);
  const maps = mapArgs(userIdMaps());
  if (state.status === 'running') {
    const pid = commandPid(paths, record);
    if (!pid) throw new SandboxError(`sandbox ${record.name} is starting or ending`, { hint: 'try again in a moment' });
    return [Flag.target, String(pid), ...maps];
  }
  const cow = await copyOnWrite(paths);
  if (cow.mode !== 'native') {
    throw new SandboxError(`sandbox ${record.name} is not running, and cp into a stopped sandbox needs the kernel's overlayfs`, {
      hint: `start it (\`sandbox start ${record.name}\`) and copy again`,
    });
  }
  const dirs = sandboxDirs(sandboxDir(paths, record.id));
  const { root } = resolveRoot(paths, record.imageId ? { ...record.request, image: record.imageId } : record.request);
  for (const d of [dirs.merged, ...dirsToCreate(root, dirs)]) mkdirSync(d, { recursive: true });
  return [...cpRootArgs(root, dirs), ...maps];
}

function firstLine(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.trim() && !/^sandbox-cp: warning:/.test(l)) ?? stderr.trim();
  return line.replace(/^(sandbox-cp|tar): /, '');
}

function waitFor(child: ChildProcess, what: string): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 16384) stderr += d;
    // Warnings (a file that vanished meanwhile) go on to the user at once.
    for (const l of d.split('\n')) if (/^sandbox-cp: warning:/.test(l)) process.stderr.write(`sandbox: ${l.replace(/^sandbox-cp: /, '')}\n`);
  });
  return new Promise((resolve, reject) => {
    child.on('error', (err) => reject(new SandboxError(`cannot run ${what}: ${err.message}`)));
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (signal ? 9 : 0), stderr }));
  });
}

class Helper {
  constructor(readonly paths: StorePaths, readonly record: SandboxRecord, readonly enter: string[]) {}

  /** A path inside as Podman reads it: a relative one starts at the sandbox's working directory. */
  resolve(path: string): string {
    if (path.startsWith('/')) return path;
    const r = this.record;
    const workdir = r.request.workdir ?? r.imageConfig?.workingDir ?? '/';
    const joined = posix.join(workdir.startsWith('/') ? workdir : `/${workdir}`, path);
    // posix.join drops what cp's naming reads: a trailing `/` or `/.`.
    return path.endsWith('/.') || path === '.' ? `${joined.replace(/\/+$/, '')}/.` : path.endsWith('/') && !joined.endsWith('/') ? `${joined}/` : joined;
  }

  spawn(args: string[], stdio: ('pipe' | 'ignore' | 'inherit')[]): ChildProcess {
    return spawn(helperPath('sandbox-cp'), [...this.enter, '--', ...args], { stdio: stdio as never });
  }

  fail(code: number, stderr: string, path: string): never {
    if (code === 3) {
      throw new SandboxError(`no such file or directory in sandbox ${this.record.name}: ${path}`, { hint: `\`sandbox exec ${this.record.name} ls\` shows what is there` });
    }
    // A full disk while writing into the sandbox: its writable layer, in the store, is what filled up.
    throw helperNoSpace(stderr, (inside) => ({ path: sandboxDir(this.paths, this.record.id), detail: `copying to ${this.record.name}:${inside}` }))
      ?? new SandboxError(`cp in sandbox ${this.record.name} failed: ${firstLine(stderr) || `exit ${code}`}`);
  }

  async stat(path: string): Promise<[Kind, Kind]> {
    const child = this.spawn(['stat', path], ['ignore', 'pipe', 'pipe']);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const { code, stderr } = await waitFor(child, 'sandbox-cp');
    if (code !== 0) this.fail(code, stderr, path);
    const [l, f] = out.trim().split(' ') as [Kind, Kind];
    return [l, f];
  }
}

async function helperFor(paths: StorePaths, ref: string): Promise<Helper> {
  const record = findSandbox(paths, ref);
  return new Helper(paths, record, await enterArgs(paths, record));
}

function hostTar(): string {
  const tar = findTool('tar');
  if (!tar) throw new SandboxError('tar not found: cp needs GNU tar on the host', { hint: 'sudo apt-get install tar' });
  return tar;
}

/**
 * Runs producer | consumer; rejects with the error of the one that failed first. A
 * consumer that ends early (a full disk) takes the producer's pipe with it: the producer
 * must not wait forever on a pipe nobody reads, and its broken pipe is not the reason.
 */
async function pipeline(producer: ChildProcess, consumer: ChildProcess, onProducer: (code: number, stderr: string) => void, onConsumer: (code: number, stderr: string) => void): Promise<void> {
  producer.stdout!.pipe(consumer.stdin!);
  consumer.stdin!.on('error', () => { /* the consumer failed: its status tells */ });
  let consumerFirst = false;
  const produced = waitFor(producer, 'the copy');
  const consumed = waitFor(consumer, 'the copy').then((c) => {
    if (producer.exitCode === null && producer.signalCode === null) {
      consumerFirst = c.code !== 0;
      producer.stdout!.destroy();
    }
    return c;
  });
  const [p, c] = await Promise.all([produced, consumed]);
  if (consumerFirst) onConsumer(c.code, c.stderr);
  if (p.code !== 0) onProducer(p.code, p.stderr);
  if (c.code !== 0) onConsumer(c.code, c.stderr);
}

/** The source of a copy into a sandbox that is itself in a sandbox (`cp A:SRC B:DEST`). */
interface SandboxSource { helper: Helper }

/** `cp SRC NAME:DEST`, `cp - NAME:DEST` and (`from`) `cp OTHER:SRC NAME:DEST`. */
export async function copyIntoSandbox(paths: StorePaths, src: string, ref: string, destArg: string, options: CpOptions = {}, from?: SandboxSource): Promise<void> {
  let srcDir = false;
  if (from) {
    const [lkind, fkind] = await from.helper.stat(src);
    if (lkind === 'missing' || lkind === 'notdir') from.helper.fail(3, '', src);
    srcDir = ((src.endsWith('/') || endsWithDot(src)) ? fkind : lkind) === 'dir';
  } else if (src !== '-') {
    const follow = src.endsWith('/') || endsWithDot(src);
    try { srcDir = (follow ? statSync(src) : lstatSync(src)).isDirectory(); } catch {
      throw new SandboxError(`no such file or directory: ${src}`);
    }
  }
  const helper = await helperFor(paths, ref);
  const dest = helper.resolve(destArg);
  const [, destKind] = await helper.stat(dest);
  let extractDir = dest;
  let rename: [string, string] | undefined;
  let tarDir: string;
  let tarName: string;
  const srcPath = resolvePath(src === '-' ? '.' : src);
  const srcName = lastName(src);
  if (src === '-') {
    if (destKind !== 'dir') throw new SandboxError(`${ref}:${dest} must be a directory in the sandbox to extract a tar stream into`);
  }
  if (srcName === '.') { tarDir = srcPath; tarName = '.'; } else { tarDir = dirname(srcPath); tarName = basename(srcPath); }
  if (destKind === 'notdir') throw new SandboxError(`${ref}:${dest}: a part of the path is not a directory`);
  if (destKind === 'dir') {
    // Into the directory, as basename(SRC) (or SRC's contents for `SRC/.`).
  } else if (srcDir && destKind !== 'missing') {
    throw new SandboxError(`cannot copy a directory to a file: ${ref}:${dest}`);
  } else {
    if (destKind === 'missing' && (dest.endsWith('/') || endsWithDot(dest)) && !srcDir) {
      throw new SandboxError(`no such directory in sandbox ${helper.record.name}: ${dest}`);
    }
    const destName = lastName(dest);
    if (destName === '.' || destName === '..') throw new SandboxError(`bad destination ${ref}:${dest}`);
    extractDir = posix.dirname(dest.replace(/\/+$/, '')) || '/';
    const [, parentKind] = await helper.stat(extractDir);
    if (parentKind !== 'dir') throw new SandboxError(`no such directory in sandbox ${helper.record.name}: ${extractDir}`);
    if (srcName === '.') {
      // The contents of a directory into a new one: named after DEST.
      tarDir = dirname(srcPath);
      tarName = basename(srcPath);
    }
    rename = [tarName, destName];
  }
  if (from) {
    // The source's helper writes the tar the host's tar would (its top entry tarName).
    const producer = from.helper.spawn(['copy-out', src, tarName], ['ignore', 'pipe', 'pipe']);
    const child = helper.spawn(['copy-in', extractDir, ...(rename ?? [])], ['pipe', 'ignore', 'pipe']);
    await pipeline(producer, child, (code, stderr) => from.helper.fail(code, stderr, src), (code, stderr) => helper.fail(code, stderr, extractDir));
    return;
  }
  const input = src === '-' ? undefined : spawn(hostTar(), [
    '-c', '--numeric-owner', ...(options.archive ? [] : ['--owner=0', '--group=0']), '-C', tarDir, '--', tarName,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const child = helper.spawn(['copy-in', extractDir, ...(rename ?? [])], ['pipe', 'ignore', 'pipe']);
  const fail = (code: number, stderr: string): never => helper.fail(code, stderr, extractDir);
  if (input) {
    await pipeline(input, child, (code, stderr) => { throw new SandboxError(`cannot read ${src}: ${firstLine(stderr) || `tar exit ${code}`}`); }, fail);
    return;
  }
  const stdin = options.stdin ?? process.stdin;
  stdin.pipe(child.stdin!);
  child.stdin!.on('error', () => { /* the helper failed: its status tells */ });
  const { code, stderr } = await waitFor(child, 'sandbox-cp');
  stdin.unpipe(child.stdin!);
  if (code !== 0) fail(code, stderr);
}

/** `cp NAME:SRC DEST` and `cp NAME:SRC -`. */
export async function copyFromSandbox(paths: StorePaths, ref: string, srcArg: string, dest: string, options: CpOptions = {}): Promise<void> {
  const helper = await helperFor(paths, ref);
  const src = helper.resolve(srcArg);
  const [lkind, fkind] = await helper.stat(src);
  if (lkind === 'missing' || lkind === 'notdir') helper.fail(3, '', src);
  const follow = src.endsWith('/') || endsWithDot(src);
  const srcDir = (follow ? fkind : lkind) === 'dir';
  const srcName = lastName(src);
  let name = srcName === '.' ? '.' : srcName;
  let extractDir = dest;
  if (dest === '-') {
    const child = helper.spawn(['copy-out', src, name === '.' ? '.' : name], ['ignore', 'pipe', 'pipe']);
    const stdout = options.stdout ?? process.stdout;
    child.stdout!.pipe(stdout, { end: false });
    const { code, stderr } = await waitFor(child, 'sandbox-cp');
    if (code !== 0) helper.fail(code, stderr, src);
    return;
  }
  // Our own stdout by name: whatever it is (a pipe, a file, a terminal), the bytes go there.
  const ownStdout = ['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1'].includes(dest);
  let destKind: Kind = ownStdout ? 'other' : 'missing';
  if (!ownStdout) try {
    const st = statSync(dest);
    destKind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') destKind = 'notdir';
  }
  if (destKind === 'other') {
    // /dev/stdout, a fifo, a device: the file's bytes go there as they are (tar -O).
    if (srcDir) throw new SandboxError(`cannot copy a directory to ${dest}: it is not a directory`, { hint: `a tar of it: sandbox cp ${ref}:${srcArg} -` });
    const producer = helper.spawn(['copy-out', src, name], ['ignore', 'pipe', 'pipe']);
    let out = 1;
    if (!ownStdout) try { out = openSync(dest, 'w'); } catch (err) { throw new SandboxError(`cannot write ${dest}: ${(err as Error).message}`); }
    const consumer = spawn(hostTar(), ['-x', '-O', '-f', '-'], { stdio: ['pipe', out, 'pipe'] });
    if (out !== 1) closeSync(out);
    await pipeline(producer, consumer, (code, stderr) => helper.fail(code, stderr, src), (code, stderr) => {
      throw new SandboxError(`cannot write ${dest}: ${firstLine(stderr) || `tar exit ${code}`}`);
    });
    return;
  }
  if (destKind === 'notdir') throw new SandboxError(`${dest}: a part of the path is not a directory`);
  if (destKind === 'dir') {
    if (srcDir && srcName === '.') name = '.';
  } else if (srcDir && destKind === 'file') {
    throw new SandboxError(`cannot copy a directory to a file: ${dest}`);
  } else {
    if (destKind === 'missing' && (dest.endsWith('/') || endsWithDot(dest)) && !srcDir) {
      throw new SandboxError(`no such directory: ${dest}`);
    }
    name = lastName(dest);
    if (name === '.' || name === '..') throw new SandboxError(`bad destination ${dest}`);
    extractDir = dirname(resolvePath(dest));
    let parentIsDir = false;
    try { parentIsDir = statSync(extractDir).isDirectory(); } catch { parentIsDir = false; }
    if (!parentIsDir) throw new SandboxError(`no such directory: ${extractDir}`);
  }
  const producer = helper.spawn(['copy-out', src, name], ['ignore', 'pipe', 'pipe']);
  const consumer = spawn(hostTar(), ['-x', '-p', '--no-same-owner', '-C', extractDir, '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  await pipeline(producer, consumer, (code, stderr) => helper.fail(code, stderr, src), (code, stderr) => {
    if (/No space left on device|Disk quota exceeded/.test(stderr)) throw noSpaceError(dest);
    throw new SandboxError(`cannot write ${dest}: ${firstLine(stderr) || `tar exit ${code}`}`);
  });
}

/** `cp SRC DEST` with exactly one side in a sandbox. */
export async function copy(paths: StorePaths, srcArg: string, destArg: string, options: CpOptions = {}): Promise<void> {
  const src = parseEndpoint(srcArg);
  const dest = parseEndpoint(destArg);
  if (src.kind === 'sandbox' && dest.kind === 'sandbox') {
    const from = await helperFor(paths, src.ref);
    return copyIntoSandbox(paths, from.resolve(src.path), dest.ref, dest.path, options, { helper: from });
  }
  if (dest.kind === 'sandbox') return copyIntoSandbox(paths, src.kind === 'stream' ? '-' : (src as { path: string }).path, dest.ref, dest.path, options);
  if (src.kind === 'sandbox') return copyFromSandbox(paths, src.ref, src.path, dest.kind === 'stream' ? '-' : dest.path, options);
  throw new SandboxError('one of SRC and DEST must be NAME:PATH in a sandbox', { hint: 'sandbox cp ./file NAME:/dir/   or   sandbox cp NAME:/etc/hosts .' });
}
