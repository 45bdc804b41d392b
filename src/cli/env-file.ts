/**
 * Environment variables from the command line (`-e`) and from files (`--env-file`), with
 * Docker's semantics: `K=V` sets K to V verbatim (no quote processing, no trimming of the
 * value), `K` alone copies K from the caller's environment and is left out when the
 * caller has no K. In files, leading whitespace is skipped, blank lines and lines
 * starting with `#` are ignored, a UTF-8 byte order mark and CRLF line ends are accepted.
 * Pure: the caller hands over the text and the environment.
 */
import { SandboxError } from '../errors.js';

const ENV_HINT = 'a variable is NAME=VALUE or NAME (copied from your environment); NAME may not be empty or contain "=", whitespace or NUL';

/** True for a name that can be passed to execve: not empty, no `=`, whitespace or NUL. */
export function isValidEnvName(name: string): boolean {
  return name !== '' && !/[=\s\0]/.test(name);
}

/**
 * One `-e` value or env-file line: `[name, value]`, or undefined for `NAME` when the
 * caller's environment has no NAME (Docker leaves it out). `where` names the source
 * for error messages (`-e "A B=1"`, `env file ./x.env line 3`).
 */
export function parseEnvAssignment(
  text: string,
  lookup: NodeJS.ProcessEnv,
  where: string,
): [string, string] | undefined {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (!isValidEnvName(name)) {
    throw new SandboxError(
      name === '' ? `missing variable name in ${where}` : `invalid variable name ${JSON.stringify(name)} in ${where}`,
      { hint: ENV_HINT },
    );
  }
  let value: string | undefined;
  if (eq >= 0) value = text.slice(eq + 1);
  else if (Object.prototype.hasOwnProperty.call(lookup, name)) value = lookup[name];
  if (value === undefined) return undefined;
  if (value.includes('\0')) {
    throw new SandboxError(`the value of ${name} in ${where} contains a NUL byte`, {
      hint: 'environment values cannot contain NUL bytes',
    });
  }
  return [name, value];
}

/** Parses the text of an env file (`file` is only used in messages). */
export function parseEnvFile(text: string, lookup: NodeJS.ProcessEnv, file: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const pair = parseEnvAssignment(line, lookup, `env file ${file} line ${index + 1}`);
    if (pair) out.push(pair);
  });
  return out;
}
