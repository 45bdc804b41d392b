/** `sandbox push [--tls-verify=false] [--authfile F] [-q] [--digestfile F] IMAGE [DEST]`: an image to a registry. */
import type { CommandModule } from 'yargs';
import { writeFileSync } from 'node:fs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { progressFor } from '../progress.js';
import { registryOptions, withRegistryOptions, type RegistryArgs } from '../registry-options.js';
import { transfer } from '../../images/lazy-transfer.js';

interface PushArgs extends GlobalArgs, RegistryArgs {
  image: string;
  destination?: string;
  quiet?: boolean;
  digestfile?: string;
}

export const pushCommand: CommandModule<GlobalArgs, PushArgs> = {
  command: 'push <image> [destination]',
  describe: 'Push an image to a registry',
  builder: (y) => withRegistryOptions(y)
    .positional('image', { type: 'string', demandOption: true, describe: 'image name or id in the store' })
    .positional('destination', { type: 'string', describe: 'HOST[:PORT]/NAME[:TAG] (default: the image name)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print no progress' })
    .option('digestfile', { type: 'string', describe: 'Write the pushed manifest digest to this file' }),
  handler: async (argv) => {
    const { pushImage } = transfer();
    const digest = await pushImage(storePathsFromArgs(argv), argv.image, argv.destination, {
      ...registryOptions(argv),
      quiet: argv.quiet,
      progress: progressFor(process.stderr),
    });
    if (argv.digestfile) writeFileSync(argv.digestfile, digest);
  },
};
