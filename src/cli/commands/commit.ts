/** `sandbox commit NAME [IMAGE[:TAG]]` and `sandbox export NAME`, as Podman. */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { SandboxError } from '../../errors.js';
import { commitSandbox } from '../../images/commit.js';
import { exportSandbox } from '../../api/export.js';
import { openAtomicOutput } from '../../state/atomic.js';

interface CommitArgs extends GlobalArgs {
  sandbox: string;
  image?: string;
  message?: string;
  author?: string;
  change?: string[];
  quiet?: boolean;
}

export const commitCommand: CommandModule<GlobalArgs, CommitArgs> = {
  command: 'commit <sandbox> [image]',
  describe: "Make an image of a sandbox: its image plus its changes as a new layer",
  builder: (y) => y
    .positional('sandbox', { type: 'string', demandOption: true, describe: 'name or id (running or stopped)' })
    .positional('image', { type: 'string', describe: 'NAME[:TAG] of the new image (none: an untagged image, as Podman)' })
    .option('message', { alias: 'm', type: 'string', describe: 'Comment for the history' })
    .option('author', { alias: 'a', type: 'string', describe: 'Author of the image' })
    .option('change', { alias: 'c', type: 'string', array: true, describe: "CMD|ENTRYPOINT|ENV|WORKDIR|USER|LABEL|EXPOSE|STOPSIGNAL instruction, e.g. -c 'CMD [\"sh\"]'" })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print only the image id (the default output too)' }) as Argv<CommitArgs>,
  handler: async (argv) => {
    const id = await commitSandbox(storePathsFromArgs(argv), argv.sandbox, argv.image, {
      ...(argv.message ? { message: argv.message } : {}),
      ...(argv.author ? { author: argv.author } : {}),
      changes: argv.change ?? [],
    });
    process.stdout.write(`${id.slice(7)}\n`);
  },
};

interface ExportArgs extends GlobalArgs {
  sandbox: string;
  output?: string;
}

export const exportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  command: 'export <sandbox>',
  describe: "Write a sandbox's filesystem as a tar stream (stdout, or -o FILE)",
  builder: (y) => y
    .positional('sandbox', { type: 'string', demandOption: true })
    .option('output', { alias: 'o', type: 'string', describe: 'Write to FILE instead of stdout' }) as Argv<ExportArgs>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    if (!argv.output) {
      if (process.stdout.isTTY) throw new SandboxError('refusing to write a tar stream to a terminal', { hint: 'redirect it (> FILE) or give -o FILE' });
      await exportSandbox(paths, argv.sandbox, process.stdout);
      return;
    }
    // Written beside the target and renamed at the end: a failed export leaves no half file.
    const out = openAtomicOutput(argv.output);
    try {
      await exportSandbox(paths, argv.sandbox, out.stream);
      await out.commit();
    } catch (err) {
      out.discard();
      throw err;
    }
  },
};
