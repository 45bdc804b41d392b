/**
 * `sandbox volume create|ls|inspect|rm|prune`, as `podman volume` (the `volume` group is
 * made of these in groups.ts). Volumes are
 * directories under <data>/volumes (see src/state/volumes.ts); `run -v NAME:/path`
 * creates one on first use and `-v /path` an anonymous one.
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { checkFormat, humanSize, printInspected, renderRows, table } from '../format.js';
import { isTemplate } from '../go-template.js';
import { confirm } from '../confirm.js';
import { PRUNE_FILTER_HELP, pruneMatchers } from '../prune-filter.js';
import { matchesVolumeFilters, parseVolumeFilters } from '../volume-filter.js';
import { SandboxError } from '../../errors.js';
import { parseLabels } from '../../labels.js';
import { volumeExistsCommand } from './exists.js';
import {
  createVolume, inspectVolume, listVolumes, pruneVolumes, removeVolume, type VolumeInfo,
} from '../../api/volumes.js';
import { volumeUsers } from '../../state/volumes.js';
import { allOption, eachTarget, targetNames, type TargetArgs } from '../bulk-targets.js';
import { declareNoHeading } from '../listing-options.js';
import { parseVolumeOptions } from '../volume-options.js';

/** Docker's `volume inspect` shape: volume.json's fields (but ours, Anonymous) plus Scope and Options. */
function shown(v: VolumeInfo): Record<string, unknown> {
  return {
    CreatedAt: v.CreatedAt, Driver: v.Driver, Labels: v.Labels, Mountpoint: v.Mountpoint, Name: v.Name,
    Options: v.Options ?? {}, Scope: 'local', Anonymous: v.Anonymous,
  };
}

interface CreateArgs extends GlobalArgs { name?: string; label?: string | string[]; driver?: string; ignore?: boolean; opt?: string[] }
interface LsArgs extends GlobalArgs { quiet?: boolean; format?: string; filter?: string[]; noheading?: boolean }
interface NamesArgs extends GlobalArgs { names: string[]; force?: boolean }
interface InspectArgs extends GlobalArgs { names?: string[]; all?: boolean; format?: string }
interface PruneArgs extends GlobalArgs { force?: boolean; filter?: string[] }

const createCmd: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create [name]',
  describe: 'Create a volume (a random name when none is given); one that exists is an error unless --ignore, as Podman',
  builder: (y) => y
    .positional('name', { type: 'string', describe: 'Volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)' })
    // One value per flag (not yargs' greedy arrays): `--label k NAME` keeps NAME the name.
    .option('label', { alias: 'l', type: 'string', nargs: 1, describe: 'Set metadata: KEY=VALUE (repeatable)' })
    .option('driver', { type: 'string', describe: 'Volume driver: local (the only one)' })
    .option('opt', { alias: 'o', type: 'string', array: true, nargs: 1, describe: "The local driver's options: type=tmpfs [o=size=64m,mode=1777...] (a tmpfs in each sandbox using it), or type=none o=bind device=DIR (repeatable)" })
    .option('ignore', { type: 'boolean', describe: 'A volume of that name that exists is kept, not an error' }) as Argv<CreateArgs>,
  handler: (argv) => {
    if (argv.driver !== undefined && argv.driver !== 'local') {
      throw new SandboxError(`volume driver ${JSON.stringify(argv.driver)} is not supported`, { hint: 'volumes are directories of the store: --driver local (the default)' });
    }
    const labels = argv.label === undefined ? [] : ([] as string[]).concat(argv.label);
    const { options, tmpfsOptions } = parseVolumeOptions(argv.opt ?? []);
    const volume = createVolume(storePathsFromArgs(argv), argv.name, parseLabels(labels), { exclusive: !argv.ignore, options, ...(tmpfsOptions ? { tmpfsOptions } : {}) });
    process.stdout.write(`${volume.Name}\n`);
  },
};

const lsCmd: CommandModule<GlobalArgs, LsArgs> = {
  command: 'ls',
  aliases: ['list'],
  describe: 'List volumes',
  builder: (y) => declareNoHeading(y)
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Only names' })
    .option('format', { type: 'string', describe: "table, json, or a template: '{{.Name}} {{.Mountpoint}}' (table TEMPLATE adds headers)" })
    .option('filter', { alias: 'f', type: 'string', array: true, describe: 'name=, label=k[=v], driver=, scope=, dangling=true|false, until= (repeatable)' }) as Argv<LsArgs>,
  handler: (argv) => {
    checkFormat(argv.format);
    const paths = storePathsFromArgs(argv);
    const filters = parseVolumeFilters(argv.filter ?? []);
    let users: Map<string, unknown> | undefined;
    const inUse = (name: string) => (users ??= volumeUsers(paths)).has(name);
    const volumes = listVolumes(paths).filter((v) => matchesVolumeFilters(v, () => inUse(v.Name), filters));
    if (argv.quiet) {
      process.stdout.write(volumes.map((v) => `${v.Name}\n`).join(''));
      return;
    }
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(volumes.map(shown), null, 2) + '\n');
      return;
    }
    if (isTemplate(argv.format)) {
      process.stdout.write(renderRows(argv.format, volumes.map(shown), argv.noheading));
      return;
    }
    process.stdout.write(table(['DRIVER', 'VOLUME NAME'], volumes.map((v) => [v.Driver, v.Name]), argv.noheading));
  },
};

const inspectCmd: CommandModule<GlobalArgs, InspectArgs> = {
  command: 'inspect [names..]',
  describe: 'Show volumes as JSON (shaped like Podman\'s), or through --format TEMPLATE',
  builder: (y) => y
    .positional('names', { type: 'string', array: true })
    .option('all', { alias: 'a', type: 'boolean', describe: 'Every volume' })
    .option('format', { alias: 'f', type: 'string', describe: "json, or a template: '{{.Mountpoint}}'" }) as Argv<InspectArgs>,
  handler: (argv) => {
    const paths = storePathsFromArgs(argv);
    const names = argv.all ? listVolumes(paths).map((v) => v.Name) : argv.names ?? [];
    if (!names.length && !argv.all) throw new SandboxError('volume inspect needs a volume name (or --all)', { hint: 'sandbox volume inspect NAME...' });
    if (argv.format !== undefined && argv.format !== 'json') checkFormat(argv.format);
    const found: VolumeInfo[] = [];
    let missing: SandboxError | undefined;
    for (const n of names) {
      try {
        found.push(inspectVolume(paths, n));
      } catch (err) {
        if (!(err instanceof SandboxError)) throw err;
        missing = err;
      }
    }
    // As Podman: what exists is shown, and a missing one still fails the command.
    printInspected(found.map(shown), argv.format);
    if (missing) throw missing;
  },
};

const rmCmd: CommandModule<GlobalArgs, GlobalArgs & TargetArgs & { force?: boolean }> = {
  command: 'rm [names..]',
  aliases: ['remove'],
  describe: 'Remove volumes that no sandbox uses (-f: a missing one is no error)',
  builder: (y) => allOption(y
    .positional('names', { type: 'string', array: true })
    .option('force', { alias: 'f', type: 'boolean', describe: 'Do not fail for a volume that does not exist' }), 'Remove every volume') as Argv<GlobalArgs & TargetArgs & { force?: boolean }>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const names = targetNames('volume rm', argv, () => listVolumes(paths).map((v) => v.Name));
    await eachTarget(names, 'volumes', async (name) => { await removeVolume(paths, name, { force: !!argv.force }); return name; });
  },
};

const pruneCmd: CommandModule<GlobalArgs, PruneArgs> = {
  command: 'prune',
  describe: 'Remove every volume no sandbox uses',
  builder: (y) => y
    .option('force', { alias: 'f', type: 'boolean', describe: 'Do not ask first' })
    .option('filter', { type: 'string', array: true, describe: PRUNE_FILTER_HELP }) as Argv<PruneArgs>,
  handler: async (argv) => {
    const match = pruneMatchers(argv.filter, () => ({})).volume;
    if (!(await confirm('WARNING! This will remove all volumes not used by at least one container.', argv.force))) return;
    const { removed, reclaimed } = await pruneVolumes(storePathsFromArgs(argv), match ? { match } : {});
    const list = removed.length ? `Deleted Volumes:\n${removed.map((n) => `${n}\n`).join('')}\n` : '';
    process.stdout.write(`${list}Total reclaimed space: ${humanSize(reclaimed)}\n`);
  },
};

/** The `volume` group's subcommands (groups.ts makes the group). */
export const volumeSubcommands = [createCmd, lsCmd, inspectCmd, rmCmd, pruneCmd, volumeExistsCommand];
