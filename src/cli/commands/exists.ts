/**
 * `container exists NAME` and `volume exists NAME`, as Podman's (`image exists` is in
 * images.ts): exit 0 when it exists, 1 when not, nothing printed; 125 for anything else
 * (an ambiguous id prefix, an unreadable store).
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { lookupSandbox } from '../../state/sandboxes.js';
import { readVolume } from '../../state/volumes.js';

interface ExistsArgs extends GlobalArgs {
  name: string;
}

export const containerExistsCommand: CommandModule<GlobalArgs, ExistsArgs> = {
  command: 'exists <name>',
  describe: 'Exit 0 when the sandbox (name, id or id prefix) exists, 1 when it does not',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }) as Argv<ExistsArgs>,
  handler: (argv) => {
    if (!lookupSandbox(storePathsFromArgs(argv), argv.name)) process.exitCode = 1;
  },
};

export const volumeExistsCommand: CommandModule<GlobalArgs, ExistsArgs> = {
  command: 'exists <name>',
  describe: 'Exit 0 when the volume exists, 1 when it does not',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }) as Argv<ExistsArgs>,
  handler: (argv) => {
    if (!readVolume(storePathsFromArgs(argv), argv.name)) process.exitCode = 1;
  },
};
