/** `sandbox pull [--platform P] [--tls-verify=false] [-q] [--authfile F] REF`: an image from a registry. */
import type { CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { progressFor } from '../progress.js';
import { registryOptions, withRegistryOptions, type RegistryArgs } from '../registry-options.js';
import { transfer } from '../../images/lazy-transfer.js';

interface PullArgs extends GlobalArgs, RegistryArgs {
  reference: string;
  platform?: string;
  quiet?: boolean;
}

export const pullCommand: CommandModule<GlobalArgs, PullArgs> = {
  command: 'pull <reference>',
  describe: 'Pull an image from a registry',
  builder: (y) => withRegistryOptions(y)
    .positional('reference', { type: 'string', demandOption: true, describe: '[HOST[:PORT]/]NAME[:TAG|@DIGEST]' })
    .option('platform', { type: 'string', describe: 'OS/ARCH[/VARIANT] to choose from a multi-platform image (default: this machine\'s)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print only the image id' }),
  handler: async (argv) => {
    const { pullImage } = transfer();
    const id = await pullImage(storePathsFromArgs(argv), argv.reference, {
      platform: argv.platform,
      ...registryOptions(argv),
      quiet: argv.quiet,
      progress: progressFor(process.stderr),
    });
    process.stdout.write(`${id}\n`);
  },
};
