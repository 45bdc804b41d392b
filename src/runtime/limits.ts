/**
 * The kernel's limits on what we hand it, checked before we do, so that a value over one
 * is one line naming the limit (exit 125) rather than errno text from deep inside
 * (ENAMETOOLONG from a helper, E2BIG from execve taken for "command not found"). Pure.
 */
import { SandboxError, clipped } from '../errors.js';

/** Longest path, with its NUL (linux/limits.h). */
export const PATH_MAX = 4096;
/** Longest path component (file name). */
export const NAME_MAX = 255;
/** Longest single argument or environment string of execve, with its NUL (32 pages). */
export const MAX_ARG_STRLEN = 131072;
/** Longest host name (uname's nodename). */
export const HOST_NAME_MAX = 64;

/** A path within PATH_MAX, each component within NAME_MAX; `what` names it in the message. */
export function checkPathLimits(path: string, what: string, hint: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes >= PATH_MAX) {
    throw new SandboxError(`${what} "${clipped(path)}" is ${bytes} bytes long: the limit is ${PATH_MAX - 1} (PATH_MAX)`, { hint });
  }
  const long = path.split('/').find((c) => Buffer.byteLength(c) > NAME_MAX);
  if (long !== undefined) {
    throw new SandboxError(`${what} "${clipped(path)}" has a component of ${Buffer.byteLength(long)} bytes: the limit is ${NAME_MAX} (NAME_MAX)`, { hint });
  }
}

/** Each string of a command line or environment within MAX_ARG_STRLEN; `what` names the list. */
export function checkExecStrings(strings: readonly string[], what: 'environment variable' | 'command argument'): void {
  for (const s of strings) {
    const bytes = Buffer.byteLength(s) + 1;
    if (bytes > MAX_ARG_STRLEN) {
      const name = what === 'environment variable' ? s.slice(0, Math.max(0, s.indexOf('='))) : '';
      throw new SandboxError(`${what} ${name ? `${clipped(name, 40)} ` : `"${clipped(s, 40)}" `}is ${bytes - 1} bytes long: the limit is ${MAX_ARG_STRLEN - 1} (MAX_ARG_STRLEN, per string)`, {
        hint: what === 'environment variable' ? 'pass large values in a file (a bind mount, -v) instead of the environment' : 'pass large values in a file or on stdin instead',
      });
    }
  }
}
