/**
 * The one error type of the project. Everything a user can cause or fix ends up here:
 * a one-line message, an optional hint with the exact fix, and the exit code
 * (125 for our errors; 126/127 for a command that cannot run, as Docker and Podman do,
 * come from the helper, which execs the command).
 */
export const EXIT_SANDBOX_ERROR = 125;

export interface SandboxErrorOptions {
  hint?: string;
  exitCode?: number;
  cause?: unknown;
  /** A stable word for programs to test (ERROR_CODES); default `error`. */
  code?: SandboxErrorCode;
}

/**
 * The stable codes of SandboxError (`err.code`), what library users test instead of messages.
 * Messages may be reworded; these stay.
 */
export type SandboxErrorCode =
  | 'error' // anything not more specific below
  | 'no-such-sandbox'
  | 'no-such-image'
  | 'no-such-pod'
  | 'no-such-volume'
  | 'no-such-network'
  | 'not-running'
  | 'name-in-use' // a sandbox of that name exists
  | 'invalid-option' // a start option, exec option or path that is not valid
  | 'port-not-published'
  | 'startup-timeout' // a wait strategy did not see the sandbox ready in time
  | 'exec-timeout'
  | 'internal'; // not ours: an unexpected error, wrapped (its cause is the original)

/** Marks our errors. The CLI is split into bundles (see images/lazy-transfer.ts), each with
 * its own copy of this class, so `instanceof` goes by this mark, not by the class. */
const BRAND = Symbol.for('sandbox.SandboxError');

export class SandboxError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  /** A stable word for programs (SandboxErrorCode); the message is for people. */
  readonly code: SandboxErrorCode;

  constructor(message: string, options: SandboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SandboxError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT_SANDBOX_ERROR;
    this.code = options.code ?? 'error';
    (this as unknown as Record<symbol, boolean>)[BRAND] = true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** A value as a message quotes it: a long one cut to its start, so that the message stays one readable line. */
export function clipped(value: string, max = 64): string {
  return value.length > max ? `${value.slice(0, max - 3)}...` : value;
}

// ---------------------------------------------------------------------------------------
// A full file system: the one way it is reported, whatever was being written.

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);
const NO_SPACE_LINE = /no space left on (.+)$/;
/** Marks a noSpaceError across the CLI's bundles (as BRAND does). */
const NO_SPACE_MARK = Symbol.for('sandbox.noSpace');
const NO_SPACE_HINT = 'free some space: `sandbox system df` shows what the store holds, `sandbox system prune` removes what nothing uses';

/** True for an errno error of a full file system: ENOSPC, or EDQUOT (the user's disk quota). */
function isNoSpace(err: unknown): boolean {
  return typeof err === 'object' && err !== null && NO_SPACE.has((err as NodeJS.ErrnoException).code ?? '');
}

/** `no space left on PATH` (exit 125): PATH is what could not be written, or the store holding it. */
export function noSpaceError(path: string, options: { detail?: string; cause?: unknown } = {}): SandboxError {
  const err = new SandboxError(`no space left on ${path}${options.detail ? ` (${options.detail})` : ''}`, { hint: NO_SPACE_HINT, cause: options.cause });
  (err as unknown as Record<symbol, boolean>)[NO_SPACE_MARK] = true;
  return err;
}

/** Gives an errno error without a path (a failed write(2)) the path of the file written, for reportedError. */
export function errorAt<T>(err: T, path: string): T {
  if (typeof err === 'object' && err !== null && 'code' in err && !('path' in err)) (err as { path?: string }).path = path;
  return err;
}

/**
 * A helper's failure line (helpers/common/say.h die_write_failed: `sandbox-x: no space left on
 * PATH`) as our error, or undefined for any other line. `where` names the store path that
 * holds PATH, when PATH is not one on the host (a path inside a sandbox).
 */
export function helperNoSpace(line: string | undefined, where?: (path: string) => { path: string; detail?: string }): SandboxError | undefined {
  const m = NO_SPACE_LINE.exec(line?.split('\n').find((l) => NO_SPACE_LINE.test(l)) ?? '');
  if (!m) return undefined;
  const at = where ? where(m[1]!) : { path: m[1]! };
  return noSpaceError(at.path, at.detail ? { detail: at.detail } : {});
}

/**
 * The error as the CLI reports it. A full file system anywhere in its chain of causes
 * (a write deep in a stream, wrapped by whoever caught it) becomes `no space left on
 * PATH`, with the path the errno error carries, else `where()` (the store's directory):
 * never an internal error, nor a "corrupt archive".
 */
export function reportedError(err: unknown, where: () => string): unknown {
  let withPath: string | undefined;
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 16; e = (e as Error).cause, depth++) {
    if ((e as Record<symbol, unknown>)[NO_SPACE_MARK]) return e;
    const path = (e as NodeJS.ErrnoException).path;
    if (isNoSpace(e)) return noSpaceError(typeof path === 'string' ? path : withPath ?? where(), { cause: err });
    if (typeof path === 'string') withPath = path;
  }
  return err;
}

/**
 * What main() does with an error that reached it: prints it (reportedError, formatError)
 * and returns the exit code. `where` is the store's directory, asked only for a full disk.
 */
export function reportError(err: unknown, where: () => string, debug = !!process.env.SANDBOX_DEBUG): number {
  const reported = reportedError(err, where);
  process.stderr.write(formatError(reported, debug));
  return reported instanceof SandboxError ? reported.exitCode : EXIT_SANDBOX_ERROR;
}

/** Renders an error as the CLI prints it: `sandbox: message` and, when known, `hint: ...`. */
export function formatError(err: unknown, debug = false): string {
  if (err instanceof SandboxError) {
    let out = `sandbox: ${err.message}\n`;
    if (err.hint) out += `hint: ${err.hint}\n`;
    if (debug && err.cause) out += `cause: ${err.cause instanceof Error ? err.cause.stack : String(err.cause)}\n`;
    return out;
  }
  const e = err as Error;
  return `sandbox: internal error: ${e?.message ?? String(err)}\n` +
    (debug ? `${e?.stack ?? ''}\n` : 'hint: run again with SANDBOX_DEBUG=1 for the stack trace, and report it\n');
}
