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

/** The option that named the file (`--cidfile`; `--pod-id-file` for `pod create`), and what the id is of. */
interface IdFileOption { flag: string; of: string }
const CIDFILE: IdFileOption = { flag: '--cidfile', of: 'sandbox' };

function exists(path: string, o: IdFileOption): SandboxError {
  return new SandboxError(`the id file ${path} exists: another ${o.of} may be using it`, {
    hint: `remove it first (rm ${path}), or give another ${o.flag}`,
  });
}

function cannotWrite(path: string, err: unknown, o: IdFileOption): SandboxError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'permission denied' : code ?? String(err);
  return new SandboxError(`cannot write the id file ${path}: ${why}`, { hint: `give a ${o.flag} in a directory you can write`, cause: err });
}

/** Before the sandbox is created: FILE must not exist (Podman's check). */
export function checkCidFile(path: string, o: IdFileOption = CIDFILE): void {
  if (existsSync(path)) throw exists(path, o);
}

/** Writes `id` to `path`, which must still not exist. */
export function writeCidFile(path: string, id: string, o: IdFileOption = CIDFILE): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomHex(6)}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (err) {
    throw cannotWrite(path, err, o);
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
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw exists(path, o);
    throw cannotWrite(path, err, o);
  } finally {
    try { unlinkSync(tmp); } catch { /* gone already */ }
  }
}
