/**
 * The one error type of the project. Everything a user can cause or fix ends up here:
 * a one-line message, an optional hint with the exact fix, and the exit code
 * (125 for our errors, 126/127 for a command that cannot run, as Docker and Podman do).
 */
export const EXIT_SANDBOX_ERROR = 125;
export const EXIT_CANNOT_EXECUTE = 126;
export const EXIT_NOT_FOUND = 127;

export interface SandboxErrorOptions {
  hint?: string;
  exitCode?: number;
  cause?: unknown;
}

/** Marks our errors. The CLI is split into bundles (see images/lazy-transfer.ts), each with
 * its own copy of this class, so `instanceof` goes by this mark, not by the class. */
const BRAND = Symbol.for('sandbox.SandboxError');

export class SandboxError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: SandboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SandboxError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT_SANDBOX_ERROR;
    (this as unknown as Record<symbol, boolean>)[BRAND] = true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
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
