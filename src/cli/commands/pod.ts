/**
 * `sandbox pod create|ls|ps|inspect|start|stop|restart|kill|rm|exists|prune`, as
 * `podman pod` (api/pods.ts does the work). The infra's network options (`--network`,
 * `-p`, ...) are parsed by run's own option table and validation (run-request.ts), so a
 * pod takes exactly what `run` takes and means the same by it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { checkFormat, humanDuration, printInspected, renderRows, table } from '../format.js';
import { isTemplate } from '../go-template.js';
import { splitFilter } from '../filter-spec.js';
import { SandboxError } from '../../errors.js';
import { labelMatches, parseLabels } from '../../labels.js';
import { parseSignal } from '../../runtime/signals.js';
import { parseRunArgv } from '../run-option-table.js';
import { toRunRequest } from '../run-request.js';
import {
  createPod, inspectPod, parseShare, killPod, listPodViews, podExists, prunePods, removePod, restartPod, startPod, stopPod, type PodView,
} from '../../api/pods.js';
import type { RunRequest } from '../../types.js';
import { declareNoOption } from '../no-option.js';
import { allOption, eachTarget, ignoreOption, targetNames, type TargetArgs } from '../bulk-targets.js';
import { declareNoHeading } from '../listing-options.js';

interface CreateArgs extends GlobalArgs {
  name?: string; hostname?: string; label?: string | string[]; publish?: string | string[]; network?: string; infra?: boolean;
  'add-host'?: string | string[]; dns?: string | string[]; share?: string; 'infra-name'?: string; 'pod-id-file'?: string;
}
interface LsArgs extends GlobalArgs { quiet?: boolean; format?: string; filter?: string[]; noheading?: boolean; 'no-trunc'?: boolean; 'ctr-names'?: boolean; 'ctr-status'?: boolean }
interface NamesArgs extends GlobalArgs, TargetArgs { force?: boolean; time?: number; signal?: string }
interface InspectArgs extends GlobalArgs { names: string[]; format?: string }

const many = (v: string | string[] | undefined): string[] => (v === undefined ? [] : ([] as string[]).concat(v));

/** The infra's network part of a request, from run's own parser (so `-p` and `--network` mean what they mean to run). */
function infraNetwork(argv: CreateArgs): Partial<RunRequest> {
  const words = [
    ...(argv.network !== undefined ? ['--network', argv.network] : []),
    ...many(argv.publish).flatMap((p) => ['-p', p]),
    ...many(argv['add-host']).flatMap((h) => ['--add-host', h]),
    ...many(argv.dns).flatMap((d) => ['--dns', d]),
    'pause',
  ];
  return toRunRequest(parseRunArgv(words, 'create'), { env: process.env, cwd: process.cwd(), readFile: (p) => readFileSync(p, 'utf8'), verb: 'create' });
}

const createCmd: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create',
  describe: 'Create a pod: an infra sandbox holding a network its sandboxes share (run --pod NAME)',
  builder: (y) => y
    .option('name', { type: 'string', describe: 'Name the pod (default pod-<id>)' })
    .option('hostname', { type: 'string', describe: "The members' host name (default: the pod's name)" })
    .option('label', { alias: 'l', type: 'string', nargs: 1, describe: 'Set metadata: KEY=VALUE (repeatable)' })
    .option('publish', { alias: 'p', type: 'string', nargs: 1, describe: "Publish a port of the pod's network, as run -p (repeatable)" })
    .option('network', { alias: 'net', type: 'string', describe: 'The pod\'s network, as run --network (default slirp4netns)' })
    .option('add-host', { type: 'string', nargs: 1, describe: 'As run --add-host (repeatable)' })
    .option('dns', { type: 'string', nargs: 1, describe: 'As run --dns (repeatable)' })
    .option('share', { type: 'string', describe: 'What members share with the infra: ipc,net,uts (the default) or none' })
    .option('pod-id-file', { type: 'string', describe: "Write the pod's id to this file (which must not exist)" })
    .option('infra-name', { type: 'string', describe: 'Name the infra sandbox (default <pod id>-infra)' })
    .option('infra', { type: 'boolean', default: true, describe: 'An infra sandbox holds the shared network (false: members share nothing)' }) as Argv<CreateArgs>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const network = argv.infra === false ? {} : infraNetwork(argv);
    const pod = await createPod(paths, {
      ...(argv.name !== undefined ? { name: argv.name } : {}),
      ...(argv.hostname !== undefined ? { hostname: argv.hostname } : {}),
      labels: parseLabels(many(argv.label)),
      infra: argv.infra !== false,
      network,
      ...(argv.share !== undefined ? { share: parseShare(argv.share) } : {}),
      ...(argv['infra-name'] !== undefined ? { infraName: argv['infra-name'] } : {}),
      ...(argv['pod-id-file'] !== undefined ? { podIdFile: resolve(argv['pod-id-file']) } : {}),
    }, { warn: (m) => process.stderr.write(`sandbox: warning: ${m}\n`) });
    process.stdout.write(`${pod.id}\n`);
  },
};

/** `pod ls --format` and `--format json` fields, as Podman's. */
function row(v: PodView, full: boolean): Record<string, unknown> {
  const short = (id: string) => (full ? id : id.slice(0, 12));
  return {
    ID: short(v.pod.id), Id: v.pod.id, Name: v.pod.name, Status: v.status, Created: v.pod.created, Labels: v.pod.labels,
    InfraID: v.pod.infraId ? short(v.pod.infraId) : '', InfraId: v.pod.infraId ?? '', Networks: [v.pod.network],
    NumberOfContainers: v.members.length,
    ContainerNames: v.members.map((m) => m.record.name).join(','), ContainerIds: v.members.map((m) => short(m.record.id)).join(','),
    ContainerStatuses: v.members.map((m) => m.status).join(','),
    Containers: v.members.map((m) => ({ Id: m.record.id, Names: m.record.name, Status: m.status })),
  };
}

const POD_FILTER_KEYS = ['id', 'name', 'label', 'status', 'ctr-names', 'ctr-ids', 'ctr-number', 'ctr-status'] as const;
const POD_STATUSES = ['created', 'running', 'degraded', 'exited', 'stopped', 'paused', 'dead'];

/** `pod ls --filter`: the same key twice matches either value, different keys must all match (as ps). */
function podFilter(specs: string[]): (v: PodView) => boolean {
  const tests = new Map<string, ((v: PodView) => boolean)[]>();
  for (const spec of specs) {
    const { key, value } = splitFilter(spec, POD_FILTER_KEYS);
    if (key === 'status' && !POD_STATUSES.includes(value)) throw new SandboxError(`invalid filter "${spec}": unknown pod state ${value}`, { hint: `status is one of ${POD_STATUSES.join(', ')}` });
    const t: (v: PodView) => boolean = {
      id: (v: PodView) => v.pod.id.startsWith(value),
      name: (v: PodView) => v.pod.name.includes(value),
      label: (v: PodView) => labelMatches(v.pod.labels, value),
      status: (v: PodView) => v.status.toLowerCase() === value || (value === 'stopped' && v.status === 'Exited'),
      'ctr-names': (v: PodView) => v.members.some((m) => m.record.name.includes(value)),
      'ctr-ids': (v: PodView) => v.members.some((m) => m.record.id.startsWith(value)),
      'ctr-number': (v: PodView) => v.members.length === Number(value),
      'ctr-status': (v: PodView) => v.members.some((m) => m.status === value || (value === 'stopped' && m.status === 'exited')),
    }[key];
    tests.set(key, [...(tests.get(key) ?? []), t]);
  }
  return (v) => [...tests.values()].every((alts) => alts.some((t) => t(v)));
}

const lsCmd: CommandModule<GlobalArgs, LsArgs> = {
  command: 'ls',
  aliases: ['list', 'ps'],
  describe: 'List pods',
  builder: (y) => declareNoHeading(declareNoOption(y, 'trunc', 'Full ids'), 'n')
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Only ids' })
    .option('format', { type: 'string', describe: "table, json, or a template: '{{.Name}} {{.Status}}' (table TEMPLATE adds headers)" })
    .option('filter', { alias: 'f', type: 'string', array: true, describe: 'id=, name=, label=k[=v], status=, ctr-names=, ctr-ids=, ctr-number=, ctr-status= (repeatable)' })
    .option('ctr-names', { type: 'boolean', describe: 'Add the names of its sandboxes' })
    .option('ctr-status', { type: 'boolean', describe: 'Add the states of its sandboxes' }) as Argv<LsArgs>,
  handler: (argv) => {
    checkFormat(argv.format);
    const keep = podFilter(argv.filter ?? []);
    const views = listPodViews(storePathsFromArgs(argv)).filter(keep).reverse(); // newest first, as Podman
    const full = !!argv['no-trunc'];
    if (argv.quiet) return void process.stdout.write(views.map((v) => `${full ? v.pod.id : v.pod.id.slice(0, 12)}\n`).join(''));
    const rows = views.map((v) => row(v, full));
    if (argv.format === 'json') return void process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    if (isTemplate(argv.format)) return void process.stdout.write(renderRows(argv.format!, rows, argv.noheading));
    const now = Date.now();
    const header = ['POD ID', 'NAME', 'STATUS', 'CREATED', 'INFRA ID', ...(argv['ctr-names'] ? ['NAMES'] : []), ...(argv['ctr-status'] ? ['STATUS'] : []), '# OF CONTAINERS'];
    process.stdout.write(table(header, views.map((v, i) => [
      String(rows[i]!.ID), v.pod.name, v.status, `${humanDuration(now - Date.parse(v.pod.created))} ago`, String(rows[i]!.InfraID),
      ...(argv['ctr-names'] ? [String(rows[i]!.ContainerNames)] : []), ...(argv['ctr-status'] ? [String(rows[i]!.ContainerStatuses)] : []),
      String(v.members.length),
    ]), argv.noheading));
  },
};

/** `pod inspect`, in the shape of Podman's. */
function inspected(v: PodView): Record<string, unknown> {
  return {
    Id: v.pod.id, Name: v.pod.name, Created: v.pod.created, State: v.status, Hostname: v.pod.hostname, Labels: v.pod.labels,
    CreateInfra: !!v.pod.infraId, InfraContainerID: v.pod.infraId ?? '',
    InfraConfig: v.pod.infraId ? { NetworkMode: v.pod.network, HostNetwork: v.pod.network === 'host' } : undefined,
    // Podman's order (uts ipc net); the user namespace comes with the network here (README), Podman does not list it.
    SharedNamespaces: v.pod.infraId ? ['uts', 'ipc', 'net'].filter((ns) => (v.pod.share ?? ['uts', 'ipc', 'net']).includes(ns as 'net')) : [],
    NumContainers: v.members.length,
    Containers: v.members.map((m) => ({ Id: m.record.id, Name: m.record.name, State: m.status })),
  };
}

const inspectCmd: CommandModule<GlobalArgs, InspectArgs> = {
  command: 'inspect <names..>',
  describe: 'Show pods as JSON (shaped like Podman\'s), or through --format TEMPLATE',
  builder: (y) => y
    .positional('names', { type: 'string', array: true, demandOption: true })
    .option('format', { alias: 'f', type: 'string', describe: "json, or a template: '{{.InfraContainerID}}'" }) as Argv<InspectArgs>,
  handler: (argv) => {
    if (argv.format !== undefined && argv.format !== 'json') checkFormat(argv.format);
    const paths = storePathsFromArgs(argv);
    const found: Record<string, unknown>[] = [];
    let missing: SandboxError | undefined;
    for (const n of argv.names) {
      try { found.push(inspected(inspectPod(paths, n))); } catch (err) { if (!(err instanceof SandboxError)) throw err; missing = err; }
    }
    printInspected(found, argv.format);
    if (missing) throw missing;
  },
};

/**
 * A verb over named pods (or with -a every pod), printing each pod's id as Podman does;
 * one failure does not stop the rest; `ignoring`: -i (and for rm -f) pass over a missing pod.
 */
function eachPod(command: string, describe: string, extra: (y: Argv<NamesArgs>) => Argv<NamesArgs>, action: (argv: NamesArgs, ref: string) => Promise<{ id: string }>,
  ignoring?: (argv: NamesArgs) => boolean): CommandModule<GlobalArgs, NamesArgs> {
  return {
    command: `${command} [names..]`,
    describe,
    builder: (y) => {
      const withAll = allOption(extra(y.positional('names', { type: 'string', array: true }) as Argv<NamesArgs>), `${command[0]!.toUpperCase()}${command.slice(1)} every pod`);
      return ignoring ? ignoreOption(withAll, 'pod') : withAll;
    },
    handler: async (argv) => {
      const refs = targetNames(`pod ${command}`, argv, () => listPodViews(storePathsFromArgs(argv)).map((v) => v.pod.id));
      await eachTarget(refs, 'pods', async (ref) => (await action(argv, ref)).id, { ignoreMissing: !!ignoring?.(argv) });
    },
  };
}

const time = (y: Argv<NamesArgs>) => y.option('time', { alias: 't', type: 'number', describe: 'Seconds to wait before SIGKILL' }) as Argv<NamesArgs>;
const startCmd = eachPod('start', 'Start pods: the infra, then every sandbox', (y) => y, (argv, ref) => startPod(storePathsFromArgs(argv), ref));
const stopCmd = eachPod('stop', 'Stop pods: their sandboxes, then the infra', time, (argv, ref) => stopPod(storePathsFromArgs(argv), ref, argv.time), (argv) => !!argv.ignore);
const restartCmd = eachPod('restart', 'Stop, then start pods', (y) => y, (argv, ref) => restartPod(storePathsFromArgs(argv), ref));
const killCmd = eachPod('kill', 'Send a signal to every running sandbox of pods (default SIGKILL)',
  (y) => y.option('signal', { alias: 's', type: 'string', default: 'KILL', describe: 'Signal name or number' }) as Argv<NamesArgs>,
  (argv, ref) => killPod(storePathsFromArgs(argv), ref, parseSignal(argv.signal ?? 'KILL')));
// As Podman: rm -f passes over a missing pod as -i does.
const rmCmd = eachPod('rm', 'Remove pods and their sandboxes (-f: running ones are stopped first)',
  (y) => time(y.option('force', { alias: 'f', type: 'boolean', describe: 'Stop running sandboxes first; a missing pod is no error' }) as Argv<NamesArgs>),
  (argv, ref) => removePod(storePathsFromArgs(argv), ref, { force: !!argv.force, ...(argv.time !== undefined ? { time: argv.time } : {}) }),
  (argv) => !!argv.ignore || !!argv.force);

const existsCmd: CommandModule<GlobalArgs, { name: string } & GlobalArgs> = {
  command: 'exists <name>',
  describe: 'Exit 0 when the pod exists, 1 when it does not',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }) as Argv<{ name: string } & GlobalArgs>,
  handler: (argv) => { if (!podExists(storePathsFromArgs(argv), argv.name)) process.exitCode = 1; },
};

const pruneCmd: CommandModule<GlobalArgs, GlobalArgs & { force?: boolean }> = {
  command: 'prune',
  describe: 'Remove every pod with nothing running, with its sandboxes',
  builder: (y) => y.option('force', { alias: 'f', type: 'boolean', describe: 'Do not ask first' }),
  handler: async (argv) => {
    const { confirm } = await import('../confirm.js');
    if (!(await confirm('WARNING! This will remove all stopped/exited pods..', argv.force))) return;
    for (const pod of await prunePods(storePathsFromArgs(argv))) process.stdout.write(`${pod.id}\n`);
  },
};

/** The `pod` group's subcommands (groups.ts makes the group). */
export const podSubcommands = [createCmd, lsCmd, inspectCmd, startCmd, stopCmd, restartCmd, killCmd, rmCmd, existsCmd, pruneCmd];
