/** `update` (and `container update`): new resource limits for a sandbox (api/update.ts), as Podman's. */
import type { CommandModule } from 'yargs';
import { availableParallelism } from 'node:os';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { updateSandboxLimits } from '../../api/update.js';
import { mergeLimitOptions } from '../update-options.js';
import { LIMIT_OPTIONS } from '../limit-options.js';
import type { LimitArgs } from '../limit-options.js';

interface UpdateArgs extends GlobalArgs {
  name: string;
  [option: string]: unknown;
}

export const updateCommand: CommandModule<GlobalArgs, UpdateArgs> = {
  command: 'update [options] <name>',
  describe: "Change the resource limits of a sandbox: at once in its cgroups when it runs, and for every later start",
  builder: (y) => {
    let out = y.positional('name', { type: 'string', demandOption: true });
    for (const o of LIMIT_OPTIONS) out = out.option(o.name, { type: 'string', describe: o.describe, ...(o.alias ? { alias: o.alias } : {}) });
    return out as never;
  },
  handler: async (argv) => {
    const given: LimitArgs = {};
    for (const o of LIMIT_OPTIONS) {
      const v = argv[o.name];
      // A repeated option: the last one wins, as run's.
      if (v !== undefined) given[o.key] = String(Array.isArray(v) ? v[v.length - 1] : v);
    }
    const record = await updateSandboxLimits(storePathsFromArgs(argv), argv.name, (current) => mergeLimitOptions(current, given, availableParallelism), {
      warn: (m) => process.stderr.write(`sandbox: warning: ${m}\n`),
    });
    process.stdout.write(`${record.id}\n`);
  },
};
