/** `sandbox pull [--platform P] [--tls-verify=false] [-q] [--authfile F] REF`: an image from a registry. */
import type { CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { progressFor } from '../progress.js';
import { transfer } from '../../images/lazy-transfer.js';

interface PullArgs extends GlobalArgs {
  reference: string;
  platform?: string;
  'tls-verify'?: boolean;
  quiet?: boolean;
  authfile?: string;
}

export const pullCommand: CommandModule<GlobalArgs, PullArgs> = {
  command: 'pull <reference>',
  describe: 'Pull an image from a registry',
  builder: (y) => y
    .positional('reference', { type: 'string', demandOption: true, describe: '[HOST[:PORT]/]NAME[:TAG|@DIGEST]' })
    .option('platform', { type: 'string', describe: 'OS/ARCH[/VARIANT] to choose from a multi-platform image (default: this machine\'s)' })
    .option('tls-verify', { type: 'boolean', describe: 'Require HTTPS with a valid certificate (false: accept any, and plain HTTP)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print only the image id' })
    .option('authfile', { type: 'string', describe: 'Credentials file (default: as Podman, also REGISTRY_AUTH_FILE)' }),
  handler: async (argv) => {
    const { pullImage } = transfer();
    const id = await pullImage(storePathsFromArgs(argv), argv.reference, {
      platform: argv.platform,
      tlsVerify: argv['tls-verify'],
      quiet: argv.quiet,
      authFile: argv.authfile,
      progress: progressFor(process.stderr),
    });
    process.stdout.write(`${id}\n`);
  },
};
