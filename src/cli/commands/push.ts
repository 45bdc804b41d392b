/** `sandbox push [--tls-verify=false] [--authfile F] [-q] [--digestfile F] IMAGE [DEST]`: an image to a registry. */
import type { CommandModule } from 'yargs';
import { writeFileSync } from 'node:fs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { progressFor } from '../progress.js';
import { transfer } from '../../images/lazy-transfer.js';

interface PushArgs extends GlobalArgs {
  image: string;
  destination?: string;
  'tls-verify'?: boolean;
  quiet?: boolean;
  authfile?: string;
  digestfile?: string;
}

export const pushCommand: CommandModule<GlobalArgs, PushArgs> = {
  command: 'push <image> [destination]',
  describe: 'Push an image to a registry',
  builder: (y) => y
    .positional('image', { type: 'string', demandOption: true, describe: 'image name or id in the store' })
    .positional('destination', { type: 'string', describe: 'HOST[:PORT]/NAME[:TAG] (default: the image name)' })
    .option('tls-verify', { type: 'boolean', describe: 'Require HTTPS with a valid certificate (false: accept any, and plain HTTP)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print no progress' })
    .option('authfile', { type: 'string', describe: 'Credentials file (default: as Podman, also REGISTRY_AUTH_FILE)' })
    .option('digestfile', { type: 'string', describe: 'Write the pushed manifest digest to this file' }),
  handler: async (argv) => {
    const { pushImage } = transfer();
    const digest = await pushImage(storePathsFromArgs(argv), argv.image, argv.destination, {
      tlsVerify: argv['tls-verify'],
      quiet: argv.quiet,
      authFile: argv.authfile,
      progress: progressFor(process.stderr),
    });
    if (argv.digestfile) writeFileSync(argv.digestfile, digest);
  },
};
