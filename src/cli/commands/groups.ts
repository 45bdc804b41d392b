/**
 * Podman's command groups: `container ls|rm|stop...`, `image ls|rm|pull...`, `volume ...`,
 * `system ...`. A group is a list of the existing command modules, never a copy of one:
 * `sandbox container stop x` runs the very module `sandbox stop x` runs. Its members are
 * named by their top-level verb (looked up in the registry, so a verb added to the
 * registry joins a group by adding its name here); a group's own subcommands (`container
 * prune`, `image inspect`, all of `volume`) live in their modules and are listed as `own`.
 * Shell completion (completion.ts) reads the same lists.
 */
import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';
import { containerPruneCommand } from './container.js';
import { containerExistsCommand } from './exists.js';
import { imageExistsCommand, imageInspectCommand, imagePruneCommand } from './images.js';
import { volumeSubcommands } from './volume.js';
import { networkSubcommands } from './network.js';
import { podSubcommands } from './pod.js';
import { systemSubcommands } from './system.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<any, any>;

/** A top-level verb in a group: under its own name, or another (`images` is `image ls`). */
export interface GroupMember {
  verb: string;
  /** The name in the group (default: the verb). */
  as?: string;
  /** Other names in the group (`container list`, `container ps`). */
  aliases?: string[];
  /** Option defaults that differ in the group (`container inspect` looks for sandboxes only). */
  defaults?: Record<string, unknown>;
}

/** What the group's subcommands take as their first operands (for completion). */
export type Operand = 'sandbox' | 'image' | 'volume' | 'none';

export interface GroupSpec {
  name: string;
  describe: string;
  operand: Operand;
  members: (string | GroupMember)[];
  own: AnyCommand[];
}

/**
 * Podman's groups, with every verb of ours that belongs there. Verbs whose operand is not
 * the group's (`container run IMAGE`) are told to completion in completion.ts.
 */
export const GROUPS: GroupSpec[] = [
  {
    name: 'container',
    describe: 'Manage sandboxes: ls, run, start, stop, rm, logs, exec, ...',
    operand: 'sandbox',
    members: [
      { verb: 'ps', as: 'ls', aliases: ['list', 'ps'] },
      'run', 'create', 'start', 'stop', 'restart', 'kill', 'rm', 'wait', 'rename', 'logs', 'exec', 'cp', 'top',
      'stats', 'commit', 'export', 'label', 'attach', 'diff', 'mount', 'unmount', 'port',
      'pause', 'unpause', 'update',
      { verb: 'inspect', defaults: { type: 'container' } },
    ],
    own: [containerPruneCommand, containerExistsCommand],
  },
  {
    name: 'image',
    describe: 'Manage images: ls, rm, inspect, pull, push, tag, prune, ...',
    operand: 'image',
    members: [
      { verb: 'images', as: 'ls', aliases: ['list'] },
      { verb: 'rmi', as: 'rm' },
      'pull', 'push', 'tag', 'untag', 'history', 'save', 'load', 'import',
    ],
    own: [imageInspectCommand, imagePruneCommand, imageExistsCommand],
  },
  {
    name: 'volume',
    describe: 'Manage volumes: create, ls, inspect, rm, prune',
    operand: 'volume',
    members: [],
    own: volumeSubcommands,
  },
  {
    name: 'network',
    describe: 'Manage networks: create, ls, inspect, rm, prune, connect, disconnect',
    operand: 'none',
    members: [],
    own: networkSubcommands,
  },
  {
    name: 'pod',
    describe: 'Manage pods: create, ls, inspect, start, stop, restart, kill, rm, exists, prune',
    operand: 'none',
    members: [],
    own: podSubcommands,
  },
  {
    name: 'system',
    describe: 'The store as a whole: info, df, prune, reset, check',
    operand: 'none',
    members: ['info', 'events'],
    own: systemSubcommands,
  },
];

/** The verb a command module answers to: the first word of its `command`. */
export function verbOf(command: AnyCommand): string {
  const c = Array.isArray(command.command) ? command.command[0] : command.command;
  return String(c ?? '').split(' ')[0]!;
}

/**
 * A registry module under another name and option defaults: the same builder and handler.
 * Handlers that read their raw words (run, create, exec: argv-lexer.ts) find them as after
 * the top-level verb: yargs puts `GROUP NAME ...` in argv['--'], which becomes `VERB ...`.
 */
function asMember(module: AnyCommand, m: GroupMember, group: string): AnyCommand {
  const command = String(Array.isArray(module.command) ? module.command[0] : module.command);
  const renamed: AnyCommand = {
    ...module,
    handler: (argv) => {
      const raw: unknown = argv['--'];
      if (Array.isArray(raw) && raw[0] === group) argv['--'] = [m.verb, ...raw.slice(2)];
      return module.handler(argv);
    },
    command: m.as ? command.replace(/^\S+/, m.as) : command,
    aliases: m.aliases ?? (m.as ? [] : module.aliases ?? []),
  };
  if (m.defaults) {
    const builder = module.builder;
    renamed.builder = (y: Argv) => {
      const built = (typeof builder === 'function' ? builder(y) : builder ? y.options(builder) : y) as Argv;
      return built.default(m.defaults!);
    };
  }
  return renamed;
}

/** A group's subcommands: its members found in `registry` (one not there yet is left out), then its own. */
export function groupSubcommands(group: GroupSpec, registry: readonly AnyCommand[]): AnyCommand[] {
  const out: AnyCommand[] = [];
  for (const entry of group.members) {
    const m = typeof entry === 'string' ? { verb: entry } : entry;
    const module = registry.find((c) => verbOf(c) === m.verb);
    if (module) out.push(asMember(module, m, group.name));
  }
  return [...out, ...group.own];
}

/** The group as a command: `sandbox GROUP SUBCOMMAND ...`, plus its subcommands for completion. */
export function groupCommand(group: GroupSpec, registry: readonly AnyCommand[]): AnyCommand & { subcommands: AnyCommand[] } {
  const subcommands = groupSubcommands(group, registry);
  return {
    command: group.name,
    describe: group.describe,
    builder: (y: Argv<GlobalArgs>) => {
      for (const s of subcommands) y = y.command(s);
      return y.demandCommand(1, `no ${group.name} subcommand given\nhint: one of ${subcommands.map(verbOf).join(', ')}`);
    },
    handler: () => { /* a subcommand always runs */ },
    subcommands,
  };
}

/** Every group, built from the top-level commands. */
export function groupCommands(registry: readonly AnyCommand[]): (AnyCommand & { subcommands: AnyCommand[] })[] {
  return GROUPS.map((g) => groupCommand(g, registry));
}
