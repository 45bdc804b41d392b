/**
 * `--cidfile FILE` (run, create): the new sandbox's id, written as Podman does (no
 * newline) into a file that must not exist yet. Checked before anything is created, and
 * written whole or not at all: a temp file beside it, then link(2), which fails when
 * someone made FILE meanwhile (where a rename would silently replace theirs).
 */
import { closeSync, existsSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SandboxError } from '../errors.js';
import { randomHex } from '../state/random.js';

function exists(path: string): SandboxError {
  return new SandboxError(`the id file ${path} exists: another sandbox may be using it`, {
    hint: `remove it first (rm ${path}), or give another --cidfile`,
  });
}

function cannotWrite(path: string, err: unknown): SandboxError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'permission denied' : code ?? String(err);
  return new SandboxError(`cannot write the id file ${path}: ${why}`, { hint: 'give a --cidfile in a directory you can write', cause: err });
}

/** Before the sandbox is created: FILE must not exist (Podman's check). */
export function checkCidFile(path: string): void {
  if (existsSync(path)) throw exists(path);
}

/** Writes `id` to `path`, which must still not exist. */
export function writeCidFile(path: string, id: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomHex(6)}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (err) {
    throw cannotWrite(path, err);
  }
  try {
    try {
      writeSync(fd, id);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw exists(path);
    throw cannotWrite(path, err);
  } finally {
    try { unlinkSync(tmp); } catch { /* gone already */ }
  }
}
