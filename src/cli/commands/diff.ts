/** `sandbox diff NAME` (also `container diff`): the changes in a sandbox's writable layer, as `podman diff`. */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { diffSandbox, type Change } from '../../api/diff.js';
import { SandboxError } from '../../errors.js';

interface DiffArgs extends GlobalArgs {
  name: string;
  format?: string;
}

/** Podman's JSON: the paths by kind, a kind without any left out. */
function asJson(changes: Change[]): string {
  const out: Record<string, string[]> = {};
  for (const [kind, key] of [['C', 'changed'], ['A', 'added'], ['D', 'deleted']] as const) {
    const paths = changes.filter((c) => c.kind === kind).map((c) => c.path);
    if (paths.length) out[key] = paths;
  }
  return `${JSON.stringify(out, null, 5)}\n`;
}

export const diffCommand: CommandModule<GlobalArgs, DiffArgs> = {
  command: 'diff <name>',
  describe: "Show the changes in a sandbox's writable layer: A added, C changed, D deleted",
  builder: (y) => y
    .positional('name', { type: 'string', demandOption: true })
    .option('format', { type: 'string', describe: 'json: the paths by kind' }) as Argv<DiffArgs>,
  handler: async (argv) => {
    if (argv.format !== undefined && argv.format !== 'json') {
      throw new SandboxError(`--format ${argv.format}: only json is supported`, { hint: 'leave --format out for the A/C/D lines' });
    }
    const changes = await diffSandbox(storePathsFromArgs(argv), argv.name);
    process.stdout.write(argv.format === 'json' ? asJson(changes) : changes.map((c) => `${c.kind} ${c.path}\n`).join(''));
  },
};
