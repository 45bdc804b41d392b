/**
 * Entry point of `sandbox exec`, a bundle of its own (dist/exec.cjs): every Makefile line
 * of `sandbox exec BOX make ...` pays the CLI's start-up, and this bundle holds only what
 * exec needs (a tenth of the full CLI, to read, compile and run). bin/sandbox loads it for
 * `exec`; `main` resolves to false when the full CLI must take over: for --help, and for
 * a sandbox recorded before records kept the image's part (`imageConfig`), whose image
 * the full CLI reads. Nothing has been done then.
 */
import { formatError, SandboxError, EXIT_SANDBOX_ERROR } from '../errors.js';
import { execFromArgv } from './commands/exec.js';

export async function main(words: string[]): Promise<boolean> {
  try {
    return await execFromArgv(words, {});
  } catch (err) {
    process.stderr.write(formatError(err, !!process.env.SANDBOX_DEBUG));
    process.exitCode = err instanceof SandboxError ? err.exitCode : EXIT_SANDBOX_ERROR;
    return true;
  }
}
