/**
 * Podman's clean-up idioms, for every verb that stops or removes things (sandboxes, pods,
 * images, volumes, networks): `-a/--all` acts on every one there is instead of names,
 * `-i/--ignore` (and `-f` where Podman says so) makes a name that is not there no error,
 * and one failure does not stop the rest. Scripts' teardown is `rm -t 0 --all --force
 * --ignore`, `stop --all --ignore`, `pod rm -a -f -i`, `volume rm --all --force`...
 */
import type { Argv } from 'yargs';
import { SandboxError, type SandboxErrorCode } from '../errors.js';

export interface TargetArgs {
  names?: string[];
  all?: boolean;
  ignore?: boolean;
}

/** `-a/--all`, described for this verb. */
export function allOption<T>(y: Argv<T>, describe: string): Argv<T> {
  return y.option('all', { alias: 'a', type: 'boolean', describe }) as Argv<T>;
}

/** `-i/--ignore`, for things of this kind (`sandbox`, `pod`, `image`). */
export function ignoreOption<T>(y: Argv<T>, kind: string): Argv<T> {
  return y.option('ignore', { alias: 'i', type: 'boolean', describe: `A ${kind} that does not exist is no error` }) as Argv<T>;
}

/**
 * The names to act on: those typed, or with --all what `everything` lists (possibly
 * none: then nothing is done, as Podman). Names and --all together, or neither, is a usage error.
 */
export function targetNames(command: string, args: TargetArgs, everything: () => string[]): string[] {
  const names = args.names ?? [];
  if (args.all && names.length) throw new SandboxError(`${command}: no names are needed with --all`, { hint: `sandbox ${command} --all, or sandbox ${command} NAME...` });
  if (args.all) return everything();
  if (!names.length) throw new SandboxError(`"${command}" needs at least 1 argument`, { hint: `sandbox ${command} NAME..., or --all; see \`sandbox ${command} --help\`` });
  return names;
}

const MISSING: readonly SandboxErrorCode[] = ['no-such-sandbox', 'no-such-pod', 'no-such-image', 'no-such-volume', 'no-such-network'];

/** True for the error of a name that is not there (what --ignore passes over). */
export function isMissing(err: unknown): boolean {
  return err instanceof SandboxError && MISSING.includes(err.code);
}

/**
 * Runs `action` for each name, printing what it returns (the name, or an id) on a line
 * as Podman does; with `ignoreMissing` a name that is not there is passed over silently.
 * One failure does not stop the rest: each is reported, then the command fails (a single
 * name's error is the command's own).
 */
export async function eachTarget(names: readonly string[], what: string, action: (name: string) => Promise<string | undefined>, options: { ignoreMissing?: boolean } = {}): Promise<void> {
  let failed: SandboxError | undefined;
  for (const name of names) {
    try {
      const shown = await action(name);
      if (shown !== undefined) process.stdout.write(`${shown}\n`);
    } catch (err) {
      if (options.ignoreMissing && isMissing(err)) continue;
      if (!(err instanceof SandboxError) || names.length === 1) throw err;
      process.stderr.write(`sandbox: ${err.message}\n`);
      failed = err;
    }
  }
  if (failed) throw new SandboxError(`some of the ${what} failed (see above)`, { exitCode: failed.exitCode, ...(failed.hint ? { hint: failed.hint } : {}) });
}
