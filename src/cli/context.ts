/** What every command handler gets: where the store is and how to print. */
import { realStorePaths, resolveStorePaths, type StorePaths } from '../state/paths.js';
import { storeArgsOfWords } from './global-options.js';

export interface GlobalArgs {
  root?: string;
  /** The runtime directory (global-options.ts). */
  runroot?: string;
  debug?: boolean;
}

export function storePathsFromArgs(args: GlobalArgs): StorePaths {
  return realStorePaths(resolveStorePaths({
    env: process.env,
    uid: process.getuid?.() ?? 0,
    // node:os only without HOME: loading it is ~0.1 ms of every command's start-up.
    home: process.env.HOME || (require('node:os') as typeof import('node:os')).homedir(),
    rootOverride: args.root,
    runrootOverride: args.runroot,
  }));
}

/**
 * The store's data directory for the words of a command line (its last `--root DIR` or
 * `--root=DIR`, else SANDBOX_ROOT or XDG): where a full disk is reported when the error
 * does not name a path. Asked only after a failure.
 */
export function storeDirOfArgv(words: readonly string[]): string {
  return storePathsFromArgs(storeArgsOfWords(words)).data;
}
