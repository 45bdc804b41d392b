/**
 * `sandbox ps`: the sandboxes of the store, as Podman lists them. Also on the CLI's fast
 * path (scripts poll it): `psFromArgv` reads the common options itself and leaves
 * anything else, `--help` and `--size` included, to yargs.
 */
import type { CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { listSandboxes, type SandboxView } from '../../api/lifecycle.js';
import type { StorePaths } from '../../state/paths.js';
import { findSandbox } from '../../state/sandboxes.js';
import { currentRunStartedAt, statusWord } from '../../state/status.js';
import { checkFormat, humanDuration, humanSize, renderRows, table } from '../format.js';
import { isTemplate } from '../go-template.js';
import { formatPortsColumn } from '../../network/port-spec.js';
import { SORT_KEYS, checkSortKey, matchesFilters, parseFilters, sortViews } from '../ps-filter.js';
import { findPod, listPods, type PodRecord } from '../../state/pods.js';
import { ownerlessLeft, sweepOwnerless } from '../../api/sdk/lifeline.js';
import { declareNoOption } from '../no-option.js';
import { declareNoHeading, type NoHeadingArgs } from '../listing-options.js';

/** STATUS: "Up 2 seconds" counts from the start of the current run (a restart policy's too), as Podman. */
function statusText(v: SandboxView, now: number, startedAt: string | undefined): string {
  const s = v.state;
  if (s.paused) return 'Paused';
  if (s.status === 'running') return `Up ${humanDuration(now - Date.parse(startedAt ?? v.record.created))}${v.health ? ` (${v.health})` : ''}`;
  if (s.status === 'exited') {
    const ago = s.finishedAt ? ` ${humanDuration(now - Date.parse(s.finishedAt))} ago` : '';
    return `Exited (${s.exitCode ?? -1})${ago}`;
  }
  return 'Created';
}

/**
 * Podman's COMMAND column (and `{{.Command}}`): the words joined, unquoted, longer than 17
 * characters cut to 17 and `...` unless --no-trunc.
 */
export function shortCommand(argv: string[], full: boolean): string {
  const text = argv.join(' ');
  return full || text.length <= 17 ? text : `${text.slice(0, 17)}...`;
}

interface PsArgs extends GlobalArgs, NoHeadingArgs {
  /** Podman's containers of other tools in its storage (buildah's): there are none here, the list is the same. */
  external?: boolean;
  all?: boolean;
  quiet?: boolean;
  'no-trunc'?: boolean;
  format?: string;
  filter?: string[];
  last?: number;
  latest?: boolean;
  sort?: string;
  size?: boolean;
  pod?: boolean;
}

/** `--size`: the writable layer's bytes, and the image's (Podman's "virtual"). */
interface Size {
  rw: number;
  rootFs: number;
}

/** Sizes of the listed sandboxes (reads their writable layers: only when asked). */
async function sizesOf(paths: StorePaths, views: SandboxView[]): Promise<Map<string, Size>> {
  const { treeSizes } = await import('../../runtime/tree-size.js');
  const { readImageIndex } = await import('../../images/store.js');
  const { sandboxDirs, sandboxDir } = await import('../../state/sandbox-dir.js');
  const images: Record<string, { size?: number }> = readImageIndex(paths).images;
  const uppers = views.map((v) => sandboxDirs(sandboxDir(paths, v.record.id)).upper);
  const rw = await treeSizes(uppers);
  return new Map(views.map((v, i) => {
    const own = rw.get(uppers[i]!) ?? 0;
    return [v.record.id, { rw: own, rootFs: own + (v.record.imageId ? images[v.record.imageId]?.size ?? 0 : 0) }];
  }));
}

const sizeText = (s: Size | undefined) => (s ? `${humanSize(s.rw)} (virtual ${humanSize(s.rootFs)})` : '');

export const psCommand: CommandModule<GlobalArgs, PsArgs> = {
  command: 'ps',
  aliases: ['list', 'ls'],
  describe: 'List sandboxes (running ones; -a for all)',
  builder: (y) => declareNoHeading(declareNoOption(y, 'trunc', 'Do not truncate ids and commands'))
    .option('all', { alias: 'a', type: 'boolean', describe: 'Show all sandboxes, not only running ones' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Only ids' })
    .option('format', { type: 'string', describe: "table, json, or a template: '{{.ID}} {{.Names}} {{.Status}}' (table TEMPLATE adds headers)" })
    .option('filter', { alias: 'f', type: 'string', array: true, describe: 'name=, id=, label=k[=v], status=, ancestor=, exited=, before=, since=, until=, volume=, publish=, expose= (repeatable)' })
    .option('last', { alias: 'n', type: 'number', describe: 'The N most recently created (all states)' })
    .option('latest', { alias: 'l', type: 'boolean', describe: 'The most recently created (all states)' })
    .option('sort', { type: 'string', choices: SORT_KEYS, describe: 'Sort by: command, created, id, image, names, runningfor, size, status (default: newest first)' })
    .option('size', { alias: 's', type: 'boolean', describe: 'Show the size of each writable layer (and with the image: virtual); reads them all' })
    .option('pod', { alias: 'p', type: 'boolean', describe: 'Show the pod of each sandbox (POD ID, PODNAME)' })
    .option('external', { type: 'boolean', describe: "Podman's containers of other tools (buildah): none here, the same list" }),
  handler: async (argv) => {
    await sweepOwnerless(storePathsFromArgs(argv)); // what sandboxes whose starter died left
    const { views, paths } = selected(argv);
    const sizes = argv.size || argv.sort === 'size' ? await sizesOf(paths, views) : undefined;
    print(argv, views, sizes);
  },
};

/** The sandboxes the options select, filtered (and cut by -n/-l). */
function selected(argv: PsArgs): { views: SandboxView[]; paths: StorePaths } {
  checkFormat(argv.format);
  if (argv.sort !== undefined) checkSortKey(argv.sort);
  const paths = storePathsFromArgs(argv);
  const filters = parseFilters(argv.filter ?? [], (ref) => findSandbox(paths, ref).created, (ref) => findPod(paths, ref).id);
  const last = argv.latest ? 1 : argv.last;
  // Podman: -n, -l and status/exited filters look at every state, not only running ones.
  const all = !!argv.all || last !== undefined || filters.has('status') || filters.has('exited');
  // As Podman: without -a, running ones only (a paused one is not).
  let views = listSandboxes(paths, { all }).filter((v) => (all || !v.state.paused) && matchesFilters(v, filters));
  if (last !== undefined && last >= 0) views = views.slice(0, last);
  return { views: views.map((v) => ({ ...v, state: { ...v.state, startedAt: currentRunStartedAt(paths, v.record, v.state) } })), paths };
}

/** Prints the list the way the options ask. */
function print(argv: PsArgs, selectedViews: SandboxView[], sizes: Map<string, Size> | undefined): void {
    const now = Date.now();
    const status = (v: SandboxView) => statusText(v, now, v.state.startedAt);
    const views = argv.sort ? sortViews(selectedViews, checkSortKey(argv.sort), (v) => statusWord(v.state), (v) => sizes?.get(v.record.id)?.rootFs ?? 0) : selectedViews;
    const full = !!argv['no-trunc'];
    // The pods, read only when a column or field may show them.
    let pods: PodRecord[] | undefined;
    const podOf = (v: SandboxView) => (v.record.request.pod ? (pods ??= listPods(storePathsFromArgs(argv))).find((p) => p.id === v.record.request.pod) : undefined);
    if (argv.quiet) {
      process.stdout.write(views.map((v) => (full ? v.record.id : v.record.id.slice(0, 12)) + '\n').join(''));
      return;
    }
    if (argv.format && isTemplate(argv.format)) {
      // The fields of `podman ps --format`.
      process.stdout.write(renderRows(argv.format, views.map((v) => ({
        ID: full ? v.record.id : v.record.id.slice(0, 12), Image: v.record.image, Command: shortCommand(v.record.command, full),
        CreatedAt: v.record.created, RunningFor: `${humanDuration(now - Date.parse(v.record.created))} ago`,
        Status: status(v), State: statusWord(v.state), Names: v.record.name, Labels: v.record.request.labels, Ports: formatPortsColumn(v.record.request.ports ?? []),
        StartedAt: v.state.startedAt ?? '', ExitCode: v.state.exitCode ?? 0, Exited: v.state.status === 'exited', Pid: v.state.pid ?? 0,
        Size: argv.size ? sizeText(sizes?.get(v.record.id)) : '',
        Mounts: v.record.request.volumes.map((m) => m.target).join(','), Networks: v.record.request.network,
        AutoRemove: v.record.request.remove, ImageID: (v.record.imageId ?? '').replace(/^sha256:/, ''),
        Pod: (v.record.request.pod ?? '').slice(0, full ? undefined : 12), PodName: podOf(v)?.name ?? '',
      })), argv.noheading));
      return;
    }
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(views.map((v) => ({
        Id: v.record.id, Names: [v.record.name], Image: v.record.image, Command: v.record.command,
        Created: v.record.created, State: statusWord(v.state), ExitCode: v.state.exitCode ?? 0,
        StartedAt: v.state.startedAt, FinishedAt: v.state.finishedAt, Pid: v.state.pid ?? 0,
        Labels: v.record.request.labels,
        Pod: v.record.request.pod ?? '', PodName: podOf(v)?.name ?? '',
        Ports: (v.record.request.ports ?? []).map((m) => ({ host_ip: m.hostIp, container_port: m.containerPort, host_port: m.hostPort, range: 1, protocol: m.protocol })),
        ...(sizes && argv.size ? { Size: { rootFsSize: sizes.get(v.record.id)?.rootFs ?? 0, rwSize: sizes.get(v.record.id)?.rw ?? 0 } } : {}),
      })), null, 2) + '\n');
      return;
    }
    process.stdout.write(table(
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES', ...(sizes && argv.size ? ['SIZE'] : []), ...(argv.pod ? ['POD ID', 'PODNAME'] : [])],
      views.map((v) => [
        full ? v.record.id : v.record.id.slice(0, 12), v.record.image, shortCommand(v.record.command, full),
        `${humanDuration(now - Date.parse(v.record.created))} ago`, status(v), formatPortsColumn(v.record.request.ports ?? []), v.record.name,
        ...(sizes && argv.size ? [sizeText(sizes.get(v.record.id))] : []),
        ...(argv.pod ? [(v.record.request.pod ?? '').slice(0, full ? undefined : 12), podOf(v)?.name ?? ''] : []),
      ]),
      argv.noheading,
    ));
}

const FLAGS: Record<string, 'all' | 'quiet' | 'no-trunc' | 'latest' | 'external' | 'noheading'> = {
  a: 'all', all: 'all', q: 'quiet', quiet: 'quiet', 'no-trunc': 'no-trunc', l: 'latest', latest: 'latest', external: 'external', noheading: 'noheading',
};

/** The fast path: false when the words need yargs (help, an unknown option, a bad value). */
export function psFromArgv(words: string[], globals: GlobalArgs = {}): boolean {
  const args: PsArgs = { ...globals, filter: [] };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const eq = w.indexOf('=');
    const long = w.startsWith('--') ? w.slice(2, eq < 0 ? undefined : eq) : undefined;
    const value = () => (eq >= 0 ? w.slice(eq + 1) : words[++i]);
    if (long !== undefined) {
      if (FLAGS[long] && eq < 0) { args[FLAGS[long]] = true; continue; }
      const v = value();
      if (v === undefined) return false;
      if (long === 'format' && (v === 'json' || v === 'table' || isTemplate(v))) args.format = v;
      else if (long === 'filter') args.filter!.push(v);
      else if (long === 'last' && /^[0-9]+$/.test(v)) args.last = Number(v);
      else if (long === 'sort' && v !== 'size') args.sort = v;
      else if (long === 'root') args.root = v;
      else return false;
      continue;
    }
    if (!/^-[a-z]+$/.test(w)) return false;
    for (let j = 1; j < w.length; j++) {
      const c = w[j]!;
      if (FLAGS[c]) { args[FLAGS[c]] = true; continue; }
      if ((c === 'f' || c === 'n') && j === w.length - 1) {
        const v = words[++i];
        if (v === undefined) return false;
        if (c === 'f') args.filter!.push(v);
        else if (/^[0-9]+$/.test(v)) args.last = Number(v);
        else return false;
        continue;
      }
      return false;
    }
  }
  // Sandboxes whose starter died leave markers (api/sdk/lifeline.ts): removing them is async, yargs' path does it.
  if (ownerlessLeft(storePathsFromArgs(args)).length) return false;
  print(args, selected(args).views, undefined);
  return true;
}

