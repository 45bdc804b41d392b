/**
 * `sandbox volume create|ls|inspect|rm|prune`, as `docker volume`. Volumes are
 * directories under <data>/volumes (see src/state/volumes.ts); `run -v NAME:/path`
 * creates one on first use and `-v /path` an anonymous one.
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { humanSize, table } from '../format.js';
import { SandboxError } from '../../errors.js';
import { parseLabels } from '../../labels.js';
import { volumeExistsCommand } from './exists.js';
import {
  createVolume, inspectVolume, listVolumes, pruneVolumes, removeVolume, type VolumeInfo,
} from '../../api/volumes.js';

/** Docker's `volume inspect` shape: volume.json's fields (but ours, Anonymous) plus Scope and Options. */
function shown(v: VolumeInfo): Record<string, unknown> {
  return {
    CreatedAt: v.CreatedAt, Driver: v.Driver, Labels: v.Labels, Mountpoint: v.Mountpoint, Name: v.Name,
    Options: {}, Scope: 'local', Anonymous: v.Anonymous,
  };
}

interface CreateArgs extends GlobalArgs { name?: string; label?: string | string[] }
interface LsArgs extends GlobalArgs { quiet?: boolean; format?: string }
interface NamesArgs extends GlobalArgs { names: string[]; force?: boolean }
interface PruneArgs extends GlobalArgs { force?: boolean }

const createCmd: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create [name]',
  describe: 'Create a volume (a random name when none is given); an existing one is kept',
  builder: (y) => y
    .positional('name', { type: 'string', describe: 'Volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)' })
    // One value per flag (not yargs' greedy arrays): `--label k NAME` keeps NAME the name.
    .option('label', { alias: 'l', type: 'string', nargs: 1, describe: 'Set metadata: KEY=VALUE (repeatable)' }),
  handler: (argv) => {
    const labels = argv.label === undefined ? [] : ([] as string[]).concat(argv.label);
    const volume = createVolume(storePathsFromArgs(argv), argv.name, parseLabels(labels));
    process.stdout.write(`${volume.Name}\n`);
  },
};

const lsCmd: CommandModule<GlobalArgs, LsArgs> = {
  command: 'ls',
  aliases: ['list'],
  describe: 'List volumes',
  builder: (y) => y
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Only names' })
    .option('format', { type: 'string', choices: ['table', 'json'], describe: 'Output format' }),
  handler: (argv) => {
    const volumes = listVolumes(storePathsFromArgs(argv));
    if (argv.quiet) {
      process.stdout.write(volumes.map((v) => `${v.Name}\n`).join(''));
      return;
    }
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(volumes.map(shown), null, 2) + '\n');
      return;
    }
    process.stdout.write(table(['DRIVER', 'VOLUME NAME'], volumes.map((v) => [v.Driver, v.Name])));
  },
};

const inspectCmd: CommandModule<GlobalArgs, NamesArgs> = {
  command: 'inspect <names..>',
  describe: 'Show volumes as JSON (shaped like Docker\'s)',
  builder: (y) => y.positional('names', { type: 'string', array: true, demandOption: true }),
  handler: (argv) => {
    const paths = storePathsFromArgs(argv);
    const found: VolumeInfo[] = [];
    let missing: SandboxError | undefined;
    for (const n of argv.names) {
      try {
        found.push(inspectVolume(paths, n));
      } catch (err) {
        if (!(err instanceof SandboxError)) throw err;
        missing = err;
      }
    }
    // As Docker: what exists is shown, and a missing one still fails the command.
    process.stdout.write(JSON.stringify(found.map(shown), null, 2) + '\n');
    if (missing) throw missing;
  },
};

const rmCmd: CommandModule<GlobalArgs, NamesArgs> = {
  command: 'rm <names..>',
  aliases: ['remove'],
  describe: 'Remove volumes that no sandbox uses (-f: a missing one is no error)',
  builder: (y) => y
    .positional('names', { type: 'string', array: true, demandOption: true })
    .option('force', { alias: 'f', type: 'boolean', describe: 'Do not fail for a volume that does not exist' }),
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    let failed: SandboxError | undefined;
    for (const name of argv.names) {
      try {
        await removeVolume(paths, name, { force: !!argv.force });
        process.stdout.write(`${name}\n`);
      } catch (err) {
        if (!(err instanceof SandboxError) || argv.names.length === 1) throw err;
        process.stderr.write(`sandbox: ${err.message}\n`);
        failed = err;
      }
    }
    if (failed) throw new SandboxError('some of the volumes could not be removed (see above)', failed.hint ? { hint: failed.hint } : {});
  },
};

const pruneCmd: CommandModule<GlobalArgs, PruneArgs> = {
  command: 'prune',
  describe: 'Remove every volume no sandbox uses (asks nothing)',
  builder: (y) => y.option('force', { alias: 'f', type: 'boolean', describe: 'Accepted for Docker compatibility; prune never asks' }),
  handler: async (argv) => {
    const { removed, reclaimed } = await pruneVolumes(storePathsFromArgs(argv));
    const list = removed.length ? `Deleted Volumes:\n${removed.map((n) => `${n}\n`).join('')}\n` : '';
    process.stdout.write(`${list}Total reclaimed space: ${humanSize(reclaimed)}\n`);
  },
};

export const volumeCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'volume',
  describe: 'Manage volumes: create, ls, inspect, rm, prune',
  builder: (y: Argv<GlobalArgs>) => y
    .command(createCmd)
    .command(lsCmd)
    .command(inspectCmd)
    .command(rmCmd)
    .command(pruneCmd)
    .command(volumeExistsCommand)
    .demandCommand(1, 'no volume subcommand given\nhint: one of create, ls, inspect, rm, prune'),
  handler: () => { /* a subcommand always runs */ },
};
