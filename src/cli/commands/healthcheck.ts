/**
 * `sandbox healthcheck run NAME`: the sandbox's health check, once, as Podman's: exit 0
 * when it passed, 1 (printing `unhealthy`) when it failed, 125 when the sandbox has no
 * check or is not running. The sandbox's monitor runs the same command at every interval.
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { runHealthcheck } from '../../api/healthcheck.js';

const runCmd: CommandModule<GlobalArgs, GlobalArgs & { name: string }> = {
  command: 'run <name>',
  describe: "Run a sandbox's health check now: exit 0 healthy, 1 unhealthy",
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }),
  handler: async (argv) => {
    const { passed } = await runHealthcheck(storePathsFromArgs(argv), argv.name);
    if (!passed) {
      process.stdout.write('unhealthy\n');
      process.exitCode = 1;
    }
  },
};

export const healthcheckCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'healthcheck',
  describe: 'Health checks of sandboxes (--health-cmd): run',
  builder: (y: Argv<GlobalArgs>) => y
    .command(runCmd)
    .demandCommand(1, 'no healthcheck subcommand given\nhint: sandbox healthcheck run NAME'),
  handler: () => { /* a subcommand always runs */ },
};
