/** `sandbox import TARBALL NAME[:TAG]`: a root filesystem tarball becomes an image. */
import type { CommandModule } from 'yargs';
import { resolve } from 'node:path';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { importTarball } from '../../images/import.js';

interface ImportArgs extends GlobalArgs {
  tarball: string;
  reference: string;
  change?: string[];
  message?: string;
  quiet?: boolean;
}

export const importCommand: CommandModule<GlobalArgs, ImportArgs> = {
  command: 'import <tarball> <reference>',
  describe: 'Make an image from a root filesystem tarball (gzip, xz, zstd or plain)',
  builder: (y) => y
    .positional('tarball', { type: 'string', demandOption: true, describe: 'tar archive of a root filesystem' })
    .positional('reference', { type: 'string', demandOption: true, describe: 'NAME[:TAG] for the new image' })
    .option('change', { alias: 'c', type: 'string', array: true, describe: "Dockerfile instruction to apply, e.g. 'CMD [\"/bin/sh\"]'" })
    .option('message', { alias: 'm', type: 'string', describe: 'Commit message for the history' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print only the image id' }),
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const id = await importTarball(paths, resolve(argv.tarball), argv.reference, {
      changes: argv.change ?? [],
      ...(argv.message ? { message: argv.message } : {}),
    });
    process.stdout.write(`${id}\n`);
  },
};
