/** `sandbox run [OPTIONS] IMAGE [COMMAND...]` */
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { parseRunArgv, runOptionsBuilder, runUsage } from '../run-option-table.js';
import { rawArgsAfterCommand } from '../argv-lexer.js';
import { toRunRequest } from '../run-request.js';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { createSandbox, runForeground, runDetached } from '../../api/run.js';
import { progressFor } from '../progress.js';

const warn = (message: string) => process.stderr.write(`sandbox: warning: ${message}\n`);

/**
 * Runs `sandbox run` (or `create`) from the words after the verb. Returns false when
 * the caller must show help instead (only yargs knows how to render it).
 */
export async function runFromArgv(words: string[], globals: GlobalArgs, verb: 'run' | 'create' = 'run'): Promise<boolean> {
  const args = parseRunArgv(words, verb);
  if (args.help) return false;
  const request = toRunRequest(args, {
    verb,
    env: process.env,
    cwd: process.cwd(),
    readFile: (p) => readFileSync(p, 'utf8'),
    stdinIsTTY: !!process.stdin.isTTY,
    warn,
  });
  const paths = storePathsFromArgs({ ...globals, ...(args.root ? { root: args.root } : {}) });
  // A pull that --pull asks for shows its progress on stderr, as `podman run` does.
  const pullProgress = progressFor(process.stderr);
  if (verb === 'create') {
    process.stdout.write(`${(await createSandbox(paths, request, { warn, pullProgress })).id}\n`);
    return true;
  }
  if (request.detach) {
    const record = await runDetached(paths, request, { warn, pullProgress });
    process.stdout.write(`${record.id}\n`);
    return true;
  }
  const outcome = await runForeground(paths, request, { warn, forwardSignals: true, pullProgress });
  process.exitCode = outcome.exitCode;
  return true;
}

let yargsOfRun: Argv | undefined;

export const runCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'run',
  describe: 'Run a command in a new sandbox',
  builder: (y) => (yargsOfRun = runOptionsBuilder(y).usage(`${runUsage('run')}\n\nRun a command in a new sandbox. IMAGE is \`host\` (your own system, read-only under a private writable layer), an image of the store (pulled, loaded, imported or committed; a missing one is pulled from its registry, see --pull), or with --rootfs DIR the command itself.`)) as Argv<GlobalArgs>,
  handler: async (argv) => {
    if (!(await runFromArgv(rawArgsAfterCommand(argv as { '--'?: unknown }, 'run'), argv))) yargsOfRun?.showHelp('log');
  },
};

let yargsOfCreate: Argv | undefined;

export const createCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'create',
  describe: 'Create a sandbox without starting it (start it with `sandbox start`)',
  builder: (y) => (yargsOfCreate = runOptionsBuilder(y).usage(`${runUsage('create')}\n\nCreate a sandbox, as \`run\` would, without starting it; prints its id.`)) as Argv<GlobalArgs>,
  handler: async (argv) => {
    if (!(await runFromArgv(rawArgsAfterCommand(argv as { '--'?: unknown }, 'create'), argv, 'create'))) yargsOfCreate?.showHelp('log');
  },
};
