/** What every command handler gets: where the store is and how to print. */
import { resolveStorePaths, type StorePaths } from '../state/paths.js';

export interface GlobalArgs {
  root?: string;
  debug?: boolean;
}

export function storePathsFromArgs(args: GlobalArgs): StorePaths {
  return resolveStorePaths({
    env: process.env,
    uid: process.getuid?.() ?? 0,
    // node:os only without HOME: loading it is ~0.1 ms of every command's start-up.
    home: process.env.HOME || (require('node:os') as typeof import('node:os')).homedir(),
    rootOverride: args.root,
  });
}
