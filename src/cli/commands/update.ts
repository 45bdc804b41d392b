/** `update` (and `container update`): new resource limits for a sandbox (api/update.ts), as Podman's. */
import type { CommandModule } from 'yargs';
import { availableParallelism } from 'node:os';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { updateSandboxLimits } from '../../api/update.js';
import { mergeLimitOptions } from '../update-options.js';
import { LIMIT_OPTIONS, limitArgsFrom } from '../limit-options.js';

interface UpdateArgs extends GlobalArgs {
  name: string;
  [option: string]: unknown;
}

export const updateCommand: CommandModule<GlobalArgs, UpdateArgs> = {
  command: 'update [options] <name>',
  describe: "Change the resource limits of a sandbox: at once in its cgroups when it runs, and for every later start",
  builder: (y) => {
    let out = y.positional('name', { type: 'string', demandOption: true });
    for (const o of LIMIT_OPTIONS.filter((r) => !r.notOnUpdate)) {
      out = out.option(o.name, { type: 'string', describe: o.describe, ...(o.list ? { array: true } : {}), ...(o.alias ? { alias: o.alias } : {}) });
    }
    return out as never;
  },
  handler: async (argv) => {
    // A repeated option: the last one wins, as run's; the per-device ones add up.
    const byKey = new Map(LIMIT_OPTIONS.filter((r) => !r.notOnUpdate).map((o) => [o.key, o.name]));
    const given = limitArgsFrom((key) => (byKey.has(key) ? argv[byKey.get(key)!] : undefined));
    const record = await updateSandboxLimits(storePathsFromArgs(argv), argv.name, (current) => mergeLimitOptions(current, given, availableParallelism), {
      warn: (m) => process.stderr.write(`sandbox: warning: ${m}\n`),
    });
    process.stdout.write(`${record.id}\n`);
  },
};
