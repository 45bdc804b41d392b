/**
 * `sandbox exec` without yargs, and the entry point of its own bundle (dist/exec.cjs):
 * every Makefile line of `sandbox exec BOX make ...` pays the CLI's start-up, and this
 * bundle holds only what exec needs (a small fraction of the CLI to read, compile and
 * run). bin/sandbox loads it for `exec`; `main` resolves to false when the full CLI must
 * take over: for --help, and for a sandbox recorded before records kept the image's part
 * (`imageConfig`), whose image the full CLI reads (imageOfRecord). Nothing has been done then.
 * Keep its imports lean: whatever they import, and all that has side effects, is loaded.
 */
import { readFileSync } from 'node:fs';
import { reportError } from '../errors.js';
import { storeDirOfArgv, storePathsFromArgs, type GlobalArgs } from './context.js';
import { parseExecArgv, toExecRequest } from './exec-options.js';
import { execInSandbox, type ExecHooks } from '../api/exec.js';

/**
 * Runs `exec` from the words after the verb; false when help was asked for, or when the
 * sandbox's record predates `imageConfig` and `imageOf` was not given.
 */
export async function execFromArgv(words: string[], globals: GlobalArgs, imageOf?: ExecHooks['imageOf']): Promise<boolean> {
  const args = parseExecArgv(words);
  if (args.help) return false;
  const request = toExecRequest(args, { env: process.env, readFile: (p) => readFileSync(p, 'utf8') });
  const paths = storePathsFromArgs({ ...globals, ...(args.root ? { root: args.root } : {}) });
  const code = await execInSandbox(paths, args.name!, request, { forwardSignals: true, ...(imageOf ? { imageOf } : {}) });
  if (code === undefined) return false;
  process.exitCode = code;
  return true;
}

export async function main(words: string[]): Promise<boolean> {
  try {
    return await execFromArgv(words, {});
  } catch (err) {
    process.exitCode = reportError(err, () => storeDirOfArgv(words));
    return true;
  }
}
