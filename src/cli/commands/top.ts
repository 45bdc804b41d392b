/** `sandbox top NAME [--format json]`: the processes inside a running sandbox (see src/api/top.ts). */
import type { CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { table } from '../format.js';
import { topSandbox } from '../../api/top.js';

interface TopArgs extends GlobalArgs {
  name: string;
  format?: string;
}

export const topCommand: CommandModule<GlobalArgs, TopArgs> = {
  command: 'top <name>',
  describe: 'Show the processes inside a running sandbox',
  builder: (y) => y
    .positional('name', { type: 'string', demandOption: true, describe: 'Sandbox name or id' })
    .option('format', { type: 'string', choices: ['table', 'json'], describe: 'Output format' }),
  handler: (argv) => {
    const top = topSandbox(storePathsFromArgs(argv), argv.name);
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify({
        Id: top.id, Name: top.name, Zombies: top.zombies, Pid1: top.pid1,
        Processes: top.processes.map((p) => ({
          Pid: p.pid, HostPid: p.hostPid, User: p.user, Uid: p.uid, Time: p.time, CpuSeconds: p.cpuSeconds, Stat: p.stat, Command: p.command,
        })),
      }, null, 2) + '\n');
      return;
    }
    process.stdout.write(table(
      ['PID', 'HOST PID', 'USER', 'TIME', 'STAT', 'COMMAND'],
      top.processes.map((p) => [String(p.pid), String(p.hostPid), p.user, p.time, p.stat, p.command]),
    ));
    process.stdout.write(`${top.zombies} zombie${top.zombies === 1 ? '' : 's'}; PID 1: ${top.pid1}\n`);
  },
};
