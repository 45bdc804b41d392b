/**
 * `sandbox container prune`: removes every sandbox that is not running, as `podman
 * container prune` (asks first unless -f). The rest of `container` is the top-level
 * verbs: see groups.ts.
 */
import type { CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { SandboxError } from '../../errors.js';
import { humanSize } from '../format.js';
import { pruneSandboxes } from '../../api/prune.js';
import { confirm } from '../confirm.js';
import { PRUNE_FILTER_HELP, pruneMatchers } from '../prune-filter.js';
import { readImageConfig } from '../../images/store.js';

interface PruneArgs extends GlobalArgs {
  force?: boolean;
  filter?: string[];
}

export const containerPruneCommand: CommandModule<GlobalArgs, PruneArgs> = {
  command: 'prune',
  describe: 'Remove every sandbox that is not running, and names reserved for sandboxes that are gone',
  builder: (y) => y
    .option('force', { alias: 'f', type: 'boolean', describe: 'Do not ask first' })
    .option('filter', { type: 'string', array: true, describe: PRUNE_FILTER_HELP }),
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const match = pruneMatchers(argv.filter, (id) => readImageConfig(paths, id).config?.Labels ?? {}).sandbox;
    if (!(await confirm('WARNING! This will remove all non running containers.', argv.force))) return;
    const { removed, reclaimed, failed } = await pruneSandboxes(paths, match ? { match } : {});
    const list = removed.length ? `Deleted Containers:\n${removed.map((id) => `${id}\n`).join('')}\n` : '';
    process.stdout.write(`${list}Total reclaimed space: ${humanSize(reclaimed)}\n`);
    for (const f of failed) process.stderr.write(`sandbox: cannot remove sandbox ${f.id.slice(0, 12)}: ${f.error}\n`);
    if (failed.length) throw new SandboxError(`${failed.length} sandbox(es) could not be removed (see above)`, { hint: 'see `sandbox system check`' });
  },
};
