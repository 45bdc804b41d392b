/** `sandbox save [-o FILE] [--format docker-archive|oci-archive] IMAGE...`: images as one archive. */
import type { CommandModule } from 'yargs';
import { resolve } from 'node:path';
import { SandboxError } from '../../errors.js';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { transfer } from '../../images/lazy-transfer.js';

interface SaveArgs extends GlobalArgs {
  images: string[];
  output?: string;
  format: string;
  quiet?: boolean;
  'multi-image-archive'?: boolean;
}

export const saveCommand: CommandModule<GlobalArgs, SaveArgs> = {
  command: 'save <images..>',
  describe: 'Write images to an archive (docker-archive by default, or oci-archive)',
  builder: (y) => y
    .usage('sandbox save [-o FILE] [--format docker-archive|oci-archive] IMAGE...   (stdout without -o)')
    .positional('images', { type: 'string', array: true, demandOption: true, describe: 'NAME[:TAG] or image id' })
    .option('output', { alias: 'o', type: 'string', describe: 'Write to this file (atomically) instead of stdout' })
    .option('format', { type: 'string', default: 'docker-archive', describe: 'Archive format: docker-archive or oci-archive' })
    .option('multi-image-archive', { alias: 'm', type: 'boolean', describe: 'Accepted for podman compatibility: an archive always holds every image given' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'No progress output (there is none)' }),
  handler: async (argv) => {
    if (!argv.output && process.stdout.isTTY) {
      throw new SandboxError('refusing to write an image archive to a terminal', { hint: 'redirect it (sandbox save IMAGE > FILE) or give -o FILE' });
    }
    if (argv.format !== 'docker-archive' && argv.format !== 'oci-archive') {
      throw new SandboxError(`unknown archive format "${argv.format}"`, { hint: '--format docker-archive (the default) or --format oci-archive' });
    }
    const { saveImages } = transfer();
    await saveImages(storePathsFromArgs(argv), argv.images.map(String), argv.output ? resolve(argv.output) : process.stdout, { format: argv.format });
  },
};
