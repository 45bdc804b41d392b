/**
 * Names users give to sandboxes and volumes (`--name`, `rename`, `volume create`, `-v
 * NAME:/dir`): one rule for both, checked in one place. Each name is a file or directory
 * of the store (data/names/NAME, data/volumes/NAME) and the stem of the temporary names
 * made beside it (`.NAME.<hex>.tmp`, `.removing-NAME-<hex>`), so its length is bounded by
 * the file system's NAME_MAX (255) less room for those: MAX_NAME_LENGTH. Pure.
 */
import { SandboxError, clipped } from '../errors.js';

export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** NAME_MAX (255) less the longest temporary name made beside a name (`.removing-NAME-12345678`), rounded down. */
export const MAX_NAME_LENGTH = 200;

/** A valid name of a sandbox or a volume (`what`), or one line saying why not. */
export function checkName(name: string, what: 'sandbox' | 'volume' | 'network' | 'pod'): string {
  if (name.length > MAX_NAME_LENGTH) {
    throw new SandboxError(`${what} name "${clipped(name)}" is ${name.length} characters long: the limit is ${MAX_NAME_LENGTH}`, {
      hint: `names are files in the store (NAME_MAX 255, with room for the store's temporary names): give a name of at most ${MAX_NAME_LENGTH} characters`,
    });
  }
  if (!NAME_PATTERN.test(name)) {
    throw new SandboxError(`invalid ${what} name ${JSON.stringify(clipped(name))}`, {
      hint: `${what} names start with a letter or digit and continue with letters, digits, "_", "." or "-" ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
    });
  }
  return name;
}
