/** `sandbox run [OPTIONS] IMAGE [COMMAND...]` */
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { parseRunArgv, rawArgsAfterCommand, runOptionsBuilder, runUsage, toRunRequest } from '../run-options.js';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { runForeground, runDetached } from '../../api/run.js';

const warn = (message: string) => process.stderr.write(`sandbox: warning: ${message}\n`);

/**
 * Runs `sandbox run` from the words after `run`. Returns false when the caller must
 * show help instead (only yargs knows how to render it).
 */
export async function runFromArgv(words: string[], globals: GlobalArgs): Promise<boolean> {
  const args = parseRunArgv(words, 'run');
  if (args.help) return false;
  const request = toRunRequest(args, {
    env: process.env,
    cwd: process.cwd(),
    readFile: (p) => readFileSync(p, 'utf8'),
    stdinIsTTY: !!process.stdin.isTTY,
    warn,
  });
  const paths = storePathsFromArgs({ ...globals, ...(args.root ? { root: args.root } : {}) });
  if (request.detach) {
    const record = await runDetached(paths, request, { warn });
    process.stdout.write(`${record.id}\n`);
    return true;
  }
  const outcome = await runForeground(paths, request, { warn, forwardSignals: true });
  process.exitCode = outcome.exitCode;
  return true;
}

let yargsOfRun: Argv | undefined;

export const runCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'run',
  describe: 'Run a command in a new sandbox',
  builder: (y) => (yargsOfRun = runOptionsBuilder(y).usage(`${runUsage('run')}\n\nRun a command in a new sandbox. IMAGE is \`host\` (your own system, read-only under a private writable layer), an imported image, or with --rootfs DIR the command itself.`)) as Argv<GlobalArgs>,
  handler: async (argv) => {
    if (!(await runFromArgv(rawArgsAfterCommand(argv as { '--'?: unknown }, 'run'), argv))) yargsOfRun?.showHelp('log');
  },
};
