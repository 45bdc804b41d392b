/**
 * The store is private to the user: its top directories (data, runtime, config, cache;
 * under `--root DIR` / SANDBOX_ROOT too) are real directories of ours, mode 0700.
 *
 * Why: a file owned by root in an image is owned by the user on the host, setuid bit and
 * all. In a store that others can enter, every setuid file of every image (su, passwd, or
 * one a sandbox made and `commit` kept) is a setuid-to-the-user program for any local
 * user. Only the top directories need to be closed: nothing below them is reachable then
 * (and the sandboxes need no path through them: their roots and binds are mounted by us).
 *
 * Every command that writes into the store makes (or checks) the top directory it writes
 * to through `ensureStoreDir` / `mkdirInStore`: one stat per top directory per process,
 * plus a mkdir when it is missing and a chmod when an older version left it open. Commands
 * that only read (ps, images) do not check; `sandbox system check` reports an open store
 * and `--repair` closes it (`inspectStoreDirs`, `repairStoreDir`).
 *
 * The runtime directory is never followed through a symbolic link and must be ours: its
 * fallback, /tmp/sandbox-UID, sits in a world-writable directory where another user can
 * make it first (a directory of theirs, or a link to a place of their choosing).
 */
import { chmodSync, lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { SandboxError } from '../errors.js';
import { runtimeFallback, type StorePaths } from './paths.js';

export type StoreRole = keyof StorePaths;
const STORE_ROLES: readonly StoreRole[] = ['data', 'runtime', 'config', 'cache'];

/** The mode of every top directory of the store. */
const PRIVATE_MODE = 0o700;

/** What lstat (and, for a link that may be followed, stat) says about a top directory. */
export interface DirFacts {
  /** lstat: the path itself is a symbolic link. */
  link: boolean;
  /** Owner of the link itself (when `link`). */
  linkUid?: number;
  /** The directory (the link's target when `link` and the role follows links); undefined: it does not exist. */
  target?: { dir: boolean; uid: number; mode: number };
}

export type StoreDirVerdict =
  | { kind: 'missing' }
  | { kind: 'private' }
  /** Ours, but group or others have some access: tighten to 0700. */
  | { kind: 'open'; mode: number }
  /** Owned by another user (the directory, or the link to it). */
  | { kind: 'foreign'; uid: number }
  /** A symbolic link where none is followed (the runtime directory). */
  | { kind: 'link' }
  | { kind: 'not-dir' };

/**
 * The runtime directory is never followed through a link. The others may be links (a
 * user moving the store to a bigger disk), but the link and the directory must be ours.
 */
function followsLinks(role: StoreRole): boolean {
  return role !== 'runtime';
}

/** Pure: what to make of a top directory of the store, for the user `uid`. */
export function judgeStoreDir(role: StoreRole, facts: DirFacts, uid: number): StoreDirVerdict {
  if (facts.link) {
    if (!followsLinks(role)) return { kind: 'link' };
    if (facts.linkUid !== undefined && facts.linkUid !== uid) return { kind: 'foreign', uid: facts.linkUid };
  }
  const t = facts.target;
  if (!t) return { kind: 'missing' };
  if (!t.dir) return { kind: 'not-dir' };
  if (t.uid !== uid) return { kind: 'foreign', uid: t.uid };
  if ((t.mode & 0o077) !== 0) return { kind: 'open', mode: t.mode & 0o7777 };
  return { kind: 'private' };
}

function statOrUndefined(path: string, stat: (p: string) => Stats): Stats | undefined {
  try {
    return stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // ENOTDIR: a parent is a file; EACCES: a parent we cannot search. Said as it is.
    throw new SandboxError(`cannot reach the store directory ${path}: ${code ?? String(err)}`, {
      hint: 'choose a place of your own with --root DIR or SANDBOX_ROOT',
    });
  }
}

function factsOf(role: StoreRole, path: string): DirFacts {
  // One syscall in the usual case: lstat, and stat only for a link we may follow.
  const l = statOrUndefined(path, lstatSync);
  if (!l) return { link: false };
  const of = (s: Stats) => ({ dir: s.isDirectory(), uid: s.uid, mode: s.mode });
  if (!l.isSymbolicLink()) return { link: false, target: of(l) };
  if (!followsLinks(role)) return { link: true, linkUid: l.uid };
  const s = statOrUndefined(path, statSync);
  return { link: true, linkUid: l.uid, ...(s ? { target: of(s) } : {}) };
}

/** What is wrong with a top directory, as the one-line error a command fails with. */
export function storeDirError(role: StoreRole, path: string, verdict: StoreDirVerdict, uid: number): SandboxError | undefined {
  const fallback = role === 'runtime' && path === runtimeFallback(uid);
  const elsewhere = fallback
    ? 'set XDG_RUNTIME_DIR to a directory of your own (/run/user/UID when you have one), or use --root DIR'
    : 'choose a place of your own with --root DIR or SANDBOX_ROOT';
  switch (verdict.kind) {
    case 'foreign':
      return new SandboxError(`the store directory ${path} belongs to uid ${verdict.uid}, not to you: refusing to use it`, {
        hint: `${fallback ? 'another user made it; ' : ''}have it removed, or ${elsewhere}`,
      });
    case 'link':
      return new SandboxError(`the runtime directory ${path} is a symbolic link: refusing to follow it`, {
        hint: `remove it if you made it (rm ${path}), or ${elsewhere}`,
      });
    case 'not-dir':
      return new SandboxError(`the store directory ${path} exists and is not a directory`, {
        hint: `move it away, or ${elsewhere}`,
      });
    default:
      return undefined;
  }
}

const ensured = new Set<string>();

/**
 * Makes the store's top directory `role` (mode 0700, parents too, as XDG asks) or checks
 * the one there: another user's, or a link where none is followed, is an error; one of
 * ours that others can enter is closed (0700). Once per process and directory. Returns
 * its path.
 */
export function ensureStoreDir(paths: StorePaths, role: StoreRole): string {
  const path = paths[role];
  if (ensured.has(path)) return path;
  const uid = process.getuid?.() ?? 0;
  for (let attempt = 0; ; attempt++) {
    const verdict = judgeStoreDir(role, factsOf(role, path), uid);
    const error = storeDirError(role, path, verdict, uid);
    if (error) throw error;
    if (verdict.kind === 'open') chmodSync(path, PRIVATE_MODE);
    if (verdict.kind !== 'missing') break;
    try {
      // Not recursive: mkdir must fail when someone else made it meanwhile (then judged above).
      mkdirSync(path, { mode: PRIVATE_MODE });
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && attempt < 3) mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_MODE });
      else if (code !== 'EEXIST' || attempt >= 3) throw err;
    }
  }
  ensured.add(path);
  return path;
}

/**
 * `mkdir -p dir`, a directory inside the store's top directory `role`, which is made
 * private first (ensureStoreDir). A top directory removed since (a library user deleting
 * a store) and so re-made here is closed again.
 */
export function mkdirInStore(paths: StorePaths, role: StoreRole, dir: string, mode?: number): void {
  const top = ensureStoreDir(paths, role);
  const first = mkdirSync(dir, { recursive: true, ...(mode !== undefined ? { mode } : {}) });
  if (first !== undefined && !first.startsWith(`${top}/`)) chmodSync(top, PRIVATE_MODE);
}

/** One top directory as `system check` sees it. */
export interface StoreDirState {
  role: StoreRole;
  path: string;
  verdict: StoreDirVerdict;
}

/** The four top directories, judged (nothing is created or changed). */
export function inspectStoreDirs(paths: StorePaths): StoreDirState[] {
  const uid = process.getuid?.() ?? 0;
  return STORE_ROLES.map((role) => {
    let verdict: StoreDirVerdict;
    try {
      verdict = judgeStoreDir(role, factsOf(role, paths[role]), uid);
    } catch {
      verdict = { kind: 'missing' }; // unreachable: nothing of ours is there to judge
    }
    return { role, path: paths[role], verdict };
  });
}

/** Closes an open top directory (0700), if it is still ours and still a directory. */
export function repairStoreDir(state: StoreDirState): true | string {
  const uid = process.getuid?.() ?? 0;
  const now = judgeStoreDir(state.role, factsOf(state.role, state.path), uid);
  if (now.kind === 'private') return true;
  if (now.kind !== 'open') return `it is ${now.kind === 'missing' ? 'gone' : 'no longer a directory of yours'}`;
  chmodSync(state.path, PRIVATE_MODE);
  return true;
}

/** Mode bits for messages: 0755. */
export function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}
