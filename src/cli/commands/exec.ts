/** `sandbox exec [OPTIONS] NAME COMMAND...` */
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { EXEC_USAGE, parseExecArgv, toExecRequest } from '../exec-options.js';
import { execInSandbox } from '../../api/exec.js';

/** Runs `exec` from the words after the verb; false when help was asked for. */
export async function execFromArgv(words: string[], globals: GlobalArgs): Promise<boolean> {
  const args = parseExecArgv(words);
  if (args.help) return false;
  const request = toExecRequest(args, { env: process.env, readFile: (p) => readFileSync(p, 'utf8') });
  const paths = storePathsFromArgs({ ...globals, ...(args.root ? { root: args.root } : {}) });
  process.exitCode = await execInSandbox(paths, args.name!, request, { forwardSignals: true });
  return true;
}

let yargsOfExec: Argv | undefined;

export const execCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'exec',
  describe: 'Run a command in a running sandbox',
  builder: (y) => (yargsOfExec = y
    .parserConfiguration({ 'halt-at-non-option': true, 'populate--': true })
    .usage(`${EXEC_USAGE}\n\nRun a command in a running sandbox: its root, environment (plus -e), user (or -u), capabilities and namespaces. The exit status is the command's own.`)
    .option('interactive', { alias: 'i', type: 'boolean', describe: 'Keep stdin open' })
    .option('tty', { alias: 't', type: 'boolean', describe: 'Give the command a terminal' })
    .option('detach', { alias: 'd', type: 'boolean', describe: 'Run in the background' })
    .option('env', { alias: 'e', type: 'string', array: true, describe: 'Set a variable: K=V, or K to copy yours' })
    .option('env-file', { type: 'string', array: true, describe: 'Read K=V lines from a file' })
    .option('workdir', { alias: 'w', type: 'string', describe: 'Working directory inside (must exist)' })
    .option('user', { alias: 'u', type: 'string', describe: 'UID[:GID] or NAME[:GROUP]' })) as Argv<GlobalArgs>,
  handler: async (argv) => {
    const raw = Array.isArray((argv as { '--'?: unknown })['--']) ? ((argv as { '--'?: unknown[] })['--'] ?? []).map(String) : [];
    if (!(await execFromArgv(raw[0] === 'exec' ? raw.slice(1) : raw, argv))) yargsOfExec?.showHelp('log');
  },
};
