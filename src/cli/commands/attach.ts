/** `sandbox attach NAME`: join a running sandbox's stdin, stdout and stderr (as `podman attach`). */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { attachSandbox } from '../../api/attach.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../runtime/detach-keys.js';

export interface AttachFlags {
  'detach-keys': string;
  'sig-proxy': boolean;
}

/** The options `attach` and `start -a` share with Podman's. */
export function attachOptions<T>(y: Argv<T>): Argv<T & AttachFlags> {
  return y
    .option('detach-keys', { type: 'string', default: DEFAULT_DETACH_KEYS, describe: 'Keys that detach, leaving the sandbox running ("" for none)' })
    .option('sig-proxy', { type: 'boolean', default: true, describe: 'Pass the signals this process gets on to the sandbox (one without a terminal)' }) as Argv<T & AttachFlags>;
}

export const attachCommand: CommandModule<GlobalArgs, GlobalArgs & AttachFlags & { name: string; stdin: boolean }> = {
  command: 'attach <name>',
  describe: "Attach to a running sandbox's input and output (detach with ctrl-p ctrl-q)",
  builder: (y) => attachOptions(y
    .positional('name', { type: 'string', demandOption: true })
    // yargs reads --no-stdin (Podman's spelling) as the negation of --stdin.
    .option('stdin', { type: 'boolean', default: true, describe: 'Pass stdin on (--no-stdin: output only)' })),
  handler: async (argv) => {
    process.exitCode = await attachSandbox(storePathsFromArgs(argv), argv.name, {
      noStdin: !argv.stdin, detachKeys: parseDetachKeys(argv['detach-keys']), sigProxy: argv['sig-proxy'],
    });
  },
};
