/** `sandbox label NAME k=v k2= k3-`: set, set empty and remove labels of a sandbox. */
import type { CommandModule } from 'yargs';
import { parseLabelChanges, updateLabels } from '../../api/labels.js';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';

interface LabelArgs extends GlobalArgs {
  name: string;
  changes: string[];
}

export const labelCommand: CommandModule<GlobalArgs, LabelArgs> = {
  command: 'label <name> <changes..>',
  describe: 'Change a sandbox\'s labels: KEY=VALUE sets, KEY= sets empty, KEY- removes',
  builder: (y) => y
    .positional('name', { type: 'string', demandOption: true, describe: 'Sandbox name, id or id prefix' })
    .positional('changes', { type: 'string', array: true, demandOption: true }),
  handler: async (argv) => {
    // Validated before the store is touched.
    const changes = parseLabelChanges(argv.changes.map(String));
    await updateLabels(storePathsFromArgs(argv), String(argv.name), changes);
    process.stdout.write(`${argv.name}\n`);
  },
};
