/** What every command handler gets: where the store is and how to print. */
import { resolveStorePaths, type StorePaths } from '../state/paths.js';
import { homedir } from 'node:os';

export interface GlobalArgs {
  root?: string;
  debug?: boolean;
}

export function storePathsFromArgs(args: GlobalArgs): StorePaths {
  return resolveStorePaths({
    env: process.env,
    uid: process.getuid?.() ?? 0,
    home: process.env.HOME || homedir(),
    rootOverride: args.root,
  });
}
