/**
 * `sandbox network create|ls|inspect|rm|prune|exists|connect|disconnect`, as `podman
 * network` (the `network` group is made of these in groups.ts). The networks are
 * api/networks.ts's; the design is in the README ("User-defined networks").
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { checkFormat, printInspected, renderRows, table } from '../format.js';
import { isTemplate } from '../go-template.js';
import { confirm } from '../confirm.js';
import { eachTarget } from '../bulk-targets.js';
import { splitFilter } from '../filter-spec.js';
import { SandboxError } from '../../errors.js';
import { labelMatches, parseLabels } from '../../labels.js';
import {
  connectNetwork, createNetwork, disconnectNetwork, findNetwork, inspectShape, listNetworks, pruneNetworks,
  removeNetwork, templateShape, type NetworkRecord,
} from '../../api/networks.js';
import { readNetwork } from '../../state/networks.js';
import type { StorePaths } from '../../state/paths.js';
import { declareNoHeading } from '../listing-options.js';

interface CreateArgs extends GlobalArgs { name?: string; subnet?: string; gateway?: string; internal?: boolean; label?: string | string[]; driver?: string; ignore?: boolean }
interface LsArgs extends GlobalArgs { quiet?: boolean; format?: string; filter?: string[]; noheading?: boolean }
interface RmArgs extends GlobalArgs { names: string[]; force?: boolean; time?: number }
interface InspectArgs extends GlobalArgs { names: string[]; format?: string }
interface PruneArgs extends GlobalArgs { force?: boolean; filter?: string[] }
interface ExistsArgs extends GlobalArgs { name: string }
interface ConnectArgs extends GlobalArgs { network: string; sandbox: string; alias?: string[] }

const createCmd: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create [name]',
  describe: 'Create a network (its own subnet, the next free 10.89.N.0/24 unless --subnet)',
  builder: (y) => y
    .positional('name', { type: 'string', describe: 'Network name (default podmanN, as Podman)' })
    .option('subnet', { type: 'string', describe: 'IPv4 subnet, e.g. 10.89.5.0/24' })
    .option('gateway', { type: 'string', describe: 'The address kept for the gateway (with --subnet; default its first)' })
    .option('internal', { type: 'boolean', describe: 'No outside access: the members reach each other only' })
    .option('label', { type: 'string', nargs: 1, describe: 'Set metadata: KEY=VALUE (repeatable)' })
    .option('driver', { alias: 'd', type: 'string', describe: 'bridge (the only one)' })
    .option('ignore', { type: 'boolean', describe: 'A network of that name that exists is kept, not an error' }) as Argv<CreateArgs>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    if (argv.ignore && argv.name && readNetwork(paths, argv.name)) {
      process.stdout.write(`${argv.name}\n`);
      return;
    }
    const labels = argv.label === undefined ? [] : ([] as string[]).concat(argv.label);
    const network = await createNetwork(paths, {
      ...(argv.name !== undefined ? { name: argv.name } : {}),
      ...(argv.subnet !== undefined ? { subnet: argv.subnet } : {}),
      ...(argv.gateway !== undefined ? { gateway: argv.gateway } : {}),
      ...(argv.driver !== undefined ? { driver: argv.driver } : {}),
      internal: !!argv.internal, labels: parseLabels(labels),
    });
    process.stdout.write(`${network.name}\n`);
  },
};

const FILTER_KEYS = ['name', 'label', 'driver', 'id'] as const;

/** `network ls --filter`: name= (a part of it), label=K[=V], driver=, id= (a prefix); the same key twice matches either. */
function networkFilter(specs: readonly string[]): (n: NetworkRecord) => boolean {
  const by = new Map<string, string[]>();
  for (const spec of specs) {
    const { key, value } = splitFilter(spec, FILTER_KEYS);
    by.set(key, [...(by.get(key) ?? []), value]);
  }
  return (n) => [...by].every(([key, values]) => values.some((v) => {
    switch (key) {
      case 'name': return n.name.includes(v);
      case 'label': return labelMatches(n.labels, v);
      case 'driver': return n.driver === v;
      default: return n.id.startsWith(v);
    }
  }));
}

const lsCmd: CommandModule<GlobalArgs, LsArgs> = {
  command: 'ls',
  aliases: ['list'],
  describe: 'List networks',
  builder: (y) => declareNoHeading(y, 'n')
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Only names' })
    .option('format', { type: 'string', describe: "table, json, or a template: '{{.Name}} {{.ID}}'" })
    .option('filter', { alias: 'f', type: 'string', array: true, describe: 'name=, label=k[=v], driver=, id= (repeatable)' }) as Argv<LsArgs>,
  handler: (argv) => {
    checkFormat(argv.format);
    const paths = storePathsFromArgs(argv);
    const networks = listNetworks(paths).filter(networkFilter(argv.filter ?? []));
    if (argv.quiet) {
      process.stdout.write(networks.map((n) => `${n.name}\n`).join(''));
      return;
    }
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(networks.map((n) => inspectShape(paths, n)), null, 2) + '\n');
      return;
    }
    if (isTemplate(argv.format)) {
      process.stdout.write(renderRows(argv.format, networks.map((n) => templateShape(paths, n)), argv.noheading));
      return;
    }
    process.stdout.write(table(['NETWORK ID', 'NAME', 'DRIVER'], networks.map((n) => [n.id.slice(0, 12), n.name, n.driver]), argv.noheading));
  },
};

const inspectCmd: CommandModule<GlobalArgs, InspectArgs> = {
  command: 'inspect <names..>',
  describe: 'Show networks as JSON (Podman\'s shape), or through --format TEMPLATE',
  builder: (y) => y
    .positional('names', { type: 'string', array: true, demandOption: true })
    .option('format', { alias: 'f', type: 'string', describe: "json, or a template: '{{.Subnets}}'" }) as Argv<InspectArgs>,
  handler: (argv) => {
    const paths = storePathsFromArgs(argv);
    const template = argv.format !== undefined && argv.format !== 'json';
    const found: Record<string, unknown>[] = [];
    let missing: SandboxError | undefined;
    for (const ref of argv.names) {
      try {
        const n = findNetwork(paths, ref);
        found.push(template ? templateShape(paths, n) : inspectShape(paths, n));
      } catch (err) {
        if (!(err instanceof SandboxError)) throw err;
        missing = err;
      }
    }
    printInspected(found, argv.format);
    if (missing) throw missing;
  },
};

/** Each of `names` in turn; one that fails is reported and the rest go on (the command then fails). */
const rmCmd: CommandModule<GlobalArgs, RmArgs> = {
  command: 'rm <names..>',
  aliases: ['remove'],
  describe: 'Remove networks no sandbox is on (-f: remove those sandboxes too, as Podman)',
  builder: (y) => y
    .positional('names', { type: 'string', array: true, demandOption: true })
    .option('force', { alias: 'f', type: 'boolean', describe: 'Remove the sandboxes on it first (running ones are stopped)' })
    .option('time', { alias: 't', type: 'number', describe: 'Seconds to wait for a running sandbox to stop before it is killed' }) as Argv<RmArgs>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    // As Podman: -f passes over a missing network.
    await eachTarget(argv.names, 'networks', async (name) => (await removeNetwork(paths, name, {
      force: !!argv.force, ...(argv.time !== undefined ? { time: argv.time } : {}),
    })).name, { ignoreMissing: !!argv.force });
  },
};

const pruneCmd: CommandModule<GlobalArgs, PruneArgs> = {
  command: 'prune',
  describe: 'Remove every network no sandbox is on',
  builder: (y) => y
    .option('force', { alias: 'f', type: 'boolean', describe: 'Do not ask first' })
    .option('filter', { type: 'string', array: true, describe: 'label=k[=v], name= (repeatable)' }) as Argv<PruneArgs>,
  handler: async (argv) => {
    const match = networkFilter(argv.filter ?? []);
    if (!(await confirm('WARNING! This will remove all networks not used by at least one container.', argv.force))) return;
    const removed = await pruneNetworks(storePathsFromArgs(argv), match);
    process.stdout.write(removed.map((n) => `${n}\n`).join(''));
  },
};

const existsCmd: CommandModule<GlobalArgs, ExistsArgs> = {
  command: 'exists <name>',
  describe: 'Exit 0 when the network exists, 1 when it does not',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }) as Argv<ExistsArgs>,
  handler: (argv) => {
    if (!exists(storePathsFromArgs(argv), argv.name)) process.exitCode = 1;
  },
};

function exists(paths: StorePaths, ref: string): boolean {
  try { findNetwork(paths, ref); return true; } catch (err) { if (err instanceof SandboxError) return false; throw err; }
}

const connectCmd: CommandModule<GlobalArgs, ConnectArgs> = {
  command: 'connect <network> <sandbox>',
  describe: 'Put a sandbox on a network (a running one at once, and at every start)',
  builder: (y) => y
    .positional('network', { type: 'string', demandOption: true })
    .positional('sandbox', { type: 'string', demandOption: true })
    .option('alias', { type: 'string', array: true, describe: 'Another name of the sandbox on the network (repeatable)' }) as Argv<ConnectArgs>,
  handler: async (argv) => {
    await connectNetwork(storePathsFromArgs(argv), argv.network, argv.sandbox, argv.alias ?? []);
  },
};

const disconnectCmd: CommandModule<GlobalArgs, ConnectArgs> = {
  command: 'disconnect <network> <sandbox>',
  describe: 'Take a sandbox off a network (a running one at once)',
  builder: (y) => y
    .positional('network', { type: 'string', demandOption: true })
    .positional('sandbox', { type: 'string', demandOption: true })
    .option('force', { alias: 'f', type: 'boolean', describe: 'Accepted for Podman\'s sake' }) as Argv<ConnectArgs>,
  handler: async (argv) => {
    await disconnectNetwork(storePathsFromArgs(argv), argv.network, argv.sandbox);
  },
};

/** The `network` group's subcommands (groups.ts makes the group). */
export const networkSubcommands = [createCmd, lsCmd, inspectCmd, rmCmd, pruneCmd, existsCmd, connectCmd, disconnectCmd];
