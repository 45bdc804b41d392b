/**
 * `sandbox healthcheck run NAME`: the sandbox's health check, once, as Podman's: exit 0
 * when it passed, 1 (printing `unhealthy`) when it failed, 125 when the sandbox has no
 * check or is not running. The sandbox's monitor runs the same command at every interval.
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { runHealthcheck } from '../../api/healthcheck.js';

async function healthcheckRun(args: GlobalArgs & { name: string }): Promise<void> {
  const { passed } = await runHealthcheck(storePathsFromArgs(args), args.name);
  if (!passed) {
    process.stdout.write('unhealthy\n');
    process.exitCode = 1;
  }
}

const runCmd: CommandModule<GlobalArgs, GlobalArgs & { name: string }> = {
  command: 'run <name>',
  describe: "Run a sandbox's health check now: exit 0 healthy, 1 unhealthy",
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }),
  handler: healthcheckRun,
};

/**
 * The fast path (main.ts) for `healthcheck run [--root DIR] NAME`, what the monitor runs
 * at every interval: no yargs. False for anything else (help, other words).
 */
export async function healthcheckFromArgv(words: string[], globals: GlobalArgs = {}): Promise<boolean> {
  if (words[0] !== 'run') return false;
  const rest = words.slice(1);
  let root = globals.root;
  if (rest[0] === '--root' && rest.length === 3) root = rest.splice(0, 2)[1];
  if (rest.length !== 1 || rest[0]!.startsWith('-')) return false;
  await healthcheckRun({ ...globals, name: rest[0]!, ...(root !== undefined ? { root } : {}) });
  return true;
}

export const healthcheckCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'healthcheck',
  describe: 'Health checks of sandboxes (--health-cmd): run',
  builder: (y: Argv<GlobalArgs>) => y
    .command(runCmd)
    .demandCommand(1, 'no healthcheck subcommand given\nhint: sandbox healthcheck run NAME'),
  handler: () => { /* a subcommand always runs */ },
};
