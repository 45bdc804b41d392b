/** `sandbox load [-i FILE]`: the images of a docker-archive or oci-archive (stdin without -i). */
import type { CommandModule } from 'yargs';
import { resolve } from 'node:path';
import { SandboxError } from '../../errors.js';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { humanSize } from '../format.js';
import { transfer } from '../../images/lazy-transfer.js';

interface LoadArgs extends GlobalArgs {
  input?: string;
  quiet?: boolean;
}

export const loadCommand: CommandModule<GlobalArgs, LoadArgs> = {
  command: 'load',
  describe: 'Load images from an archive written by docker save, podman save or sandbox save',
  builder: (y) => y
    .usage('sandbox load [-i FILE] [-q]   (the archive on stdin without -i; docker-archive or oci-archive, plain or compressed)')
    .option('input', { alias: 'i', type: 'string', describe: 'Read the archive from this file instead of stdin' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'No progress output' }),
  handler: async (argv) => {
    if (!argv.input && process.stdin.isTTY) {
      throw new SandboxError('no archive on stdin: it is a terminal', { hint: 'sandbox load -i FILE, or pipe one in: sandbox load < FILE' });
    }
    // Loaded here: only load pays for the archive code (tar-stream, the readers).
    const { loadArchive } = transfer();
    const progress = !argv.quiet && process.stderr.isTTY;
    const loaded = await loadArchive(storePathsFromArgs(argv), argv.input ? resolve(argv.input) : process.stdin, {
      ...(progress ? { onLayer: (l: { diffId: string; size: number }) => process.stderr.write(`Loading layer ${l.diffId.slice(7, 19)} (${humanSize(l.size)})\n`) } : {}),
    });
    for (const image of loaded) {
      // As podman load: one line per name, the id for an image without one.
      for (const name of image.tags.length ? image.tags : [image.id]) process.stdout.write(`Loaded image: ${name}\n`);
    }
  },
};
