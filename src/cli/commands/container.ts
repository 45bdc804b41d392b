/** `sandbox container prune`: removes every sandbox that is not running, as `docker container prune`. */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { SandboxError } from '../../errors.js';
import { humanSize } from '../format.js';
import { pruneSandboxes } from '../../api/prune.js';
import { containerExistsCommand } from './exists.js';
import { diffCommand } from './diff.js';

interface PruneArgs extends GlobalArgs {
  force?: boolean;
}

const pruneCmd: CommandModule<GlobalArgs, PruneArgs> = {
  command: 'prune',
  describe: 'Remove every sandbox that is not running, and names reserved for sandboxes that are gone (asks nothing)',
  builder: (y) => y.option('force', { alias: 'f', type: 'boolean', describe: 'Accepted for Docker compatibility; prune never asks' }),
  handler: async (argv) => {
    const { removed, reclaimed, failed } = await pruneSandboxes(storePathsFromArgs(argv));
    const list = removed.length ? `Deleted Containers:\n${removed.map((id) => `${id}\n`).join('')}\n` : '';
    process.stdout.write(`${list}Total reclaimed space: ${humanSize(reclaimed)}\n`);
    for (const f of failed) process.stderr.write(`sandbox: cannot remove sandbox ${f.id.slice(0, 12)}: ${f.error}\n`);
    if (failed.length) throw new SandboxError(`${failed.length} sandbox(es) could not be removed (see above)`, { hint: 'see `sandbox system check`' });
  },
};

export const containerCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'container',
  describe: 'Manage sandboxes as a whole: prune',
  builder: (y: Argv<GlobalArgs>) => y
    .command(pruneCmd)
    .command(containerExistsCommand)
    .command(diffCommand)
    .demandCommand(1, 'no container subcommand given\nhint: sandbox container prune'),
  handler: () => { /* a subcommand always runs */ },
};
