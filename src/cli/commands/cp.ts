/** `sandbox cp [-a] SRC NAME:DEST` and `sandbox cp [-a] NAME:SRC DEST` (`-` for a tar stream). */
import type { CommandModule } from 'yargs';
import { copy } from '../../api/cp.js';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';

interface CpArgs extends GlobalArgs {
  src: string;
  dest: string;
  archive?: boolean;
}

export const cpCommand: CommandModule<GlobalArgs, CpArgs> = {
  command: 'cp <src> <dest>',
  describe: 'Copy files and trees between a sandbox (running or stopped) and the host',
  builder: (y) => y
    .usage('sandbox cp [-a] SRC NAME:DEST | NAME:SRC DEST   (- as SRC or DEST: a tar stream on stdin or stdout)\n\n' +
      'As docker cp: into an existing directory as basename(SRC), else named DEST; SRC/. copies the contents of a directory. ' +
      'Symlinks inside the sandbox are resolved inside it.')
    .positional('src', { type: 'string', demandOption: true })
    .positional('dest', { type: 'string', demandOption: true })
    .option('archive', { alias: 'a', type: 'boolean', describe: 'Keep the host\'s numeric owners on a copy into the sandbox' }),
  handler: async (argv) => {
    // yargs hands a lone `-` over as an empty string; an empty path means nothing else.
    const word = (v: unknown): string => (v === '' || v === undefined ? '-' : String(v));
    await copy(storePathsFromArgs(argv), word(argv.src), word(argv.dest), { archive: !!argv.archive });
  },
};
