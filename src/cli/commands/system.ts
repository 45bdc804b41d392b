/**
 * `sandbox system check [--repair]`: what a killed command left inconsistent in the
 * store (exit 0 when nothing is, or all of it was repaired; 1 when something remains).
 * `sandbox system df`: what uses space. `sandbox system prune [-a] [--volumes] [-f]`:
 * `container prune`, then `image prune [-a]` (and `volume prune`), as `podman system
 * prune`. `sandbox system reset [-f]`: the whole store goes. Prune and reset ask first
 * unless -f (confirm.ts). `system info` is `sandbox info` (groups.ts).
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { checkFormat, humanDuration, humanSize, renderRows, table } from '../format.js';
import { isTemplate } from '../go-template.js';
import { confirm } from '../confirm.js';
import { PRUNE_FILTER_HELP, pruneMatchers } from '../prune-filter.js';
import { readImageConfig } from '../../images/store.js';
import { checkStore, type StoreProblem } from '../../api/store-check.js';
import { diskUsage, type DiskUsageDetails } from '../../api/disk-usage.js';
import { pruneSandboxes } from '../../api/prune.js';
import { pruneImages } from '../../api/images.js';
import { pruneVolumes } from '../../api/volumes.js';
import { SandboxError } from '../../errors.js';

interface CheckArgs extends GlobalArgs {
  repair?: boolean;
  verify?: boolean;
  format?: string;
}

function outcome(p: StoreProblem, repair: boolean): string {
  if (p.severity === 'notice') return 'left alone';
  if (p.repaired) return `repaired: ${p.action}`;
  if (p.error) return `NOT repaired: ${p.error}`;
  return repair ? `NOT repaired (${p.action})` : `--repair would ${p.action}`;
}

const checkCmd: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check',
  describe: 'Find what interrupted commands left inconsistent in the store (--repair: fix it)',
  builder: (y) => y
    .option('repair', { type: 'boolean', describe: 'Fix what is found' })
    .option('verify', { type: 'boolean', describe: 'Also re-hash every stored image blob (reads them all)' })
    .option('format', { type: 'string', choices: ['table', 'json'], describe: 'Output format' }),
  handler: async (argv) => {
    const report = await checkStore(storePathsFromArgs(argv), { repair: !!argv.repair, verify: !!argv.verify });
    if (!report.consistent) process.exitCode = 1;
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return;
    }
    const problems = report.problems.filter((p) => p.severity === 'problem');
    const notices = report.problems.filter((p) => p.severity === 'notice');
    for (const p of report.problems) {
      process.stdout.write(`${p.severity === 'notice' ? 'notice' : 'problem'}: ${p.kind}: ${p.detail}\n  ${p.path}\n  -> ${outcome(p, report.repair)}\n`);
    }
    const remaining = problems.filter((p) => !p.repaired).length;
    const summary = problems.length === 0
      ? `the store is consistent (${report.sandboxes} sandboxes, ${report.names} names)`
      : remaining === 0
        ? `${problems.length} problem(s) found, all repaired`
        : `${problems.length} problem(s) found, ${remaining} remain${report.repair ? '' : ': run `sandbox system check --repair`'}`;
    process.stdout.write(`${summary}${notices.length ? `; ${notices.length} notice(s)` : ''}\n`);
  },
};

interface DfArgs extends GlobalArgs {
  format?: string;
  verbose?: boolean;
}

/** `system df -v`: Podman's three tables (or their rows as JSON), one line per image, sandbox and volume. */
function printDetails(d: DiskUsageDetails, json: boolean): void {
  const now = Date.now();
  const ago = (iso: string) => (iso ? humanDuration(now - Date.parse(iso)) : '');
  const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
  const images = d.images.flatMap((i) => (i.names.length ? i.names : ['<none>:<none>']).map((n) => {
    const colon = n.lastIndexOf(':');
    return { Repository: n.slice(0, colon), Tag: n.slice(colon + 1), ImageID: short(i.id), Created: ago(i.created), Size: i.size, SharedSize: i.sharedSize, UniqueSize: i.uniqueSize, Containers: i.sandboxes };
  }));
  const sandboxes = d.sandboxes.map((s) => ({
    ContainerID: s.id.slice(0, 12), Image: short(s.imageId), Command: s.command.join(' '), LocalVolumes: s.volumes, Size: s.size,
    Created: ago(s.created), Status: s.status, Names: s.name,
  }));
  const volumes = d.volumes.map((v) => ({ VolumeName: v.name, Links: v.links, Size: v.size }));
  if (json) {
    process.stdout.write(`${JSON.stringify({ Images: images, Containers: sandboxes, Volumes: volumes }, null, 2)}\n`);
    return;
  }
  process.stdout.write('Images space usage:\n\n' + table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
    images.map((i) => [i.Repository, i.Tag, i.ImageID, i.Created, humanSize(i.Size), humanSize(i.SharedSize), humanSize(i.UniqueSize), String(i.Containers)]))
    + '\nContainers space usage:\n\n' + table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'],
      sandboxes.map((s) => [s.ContainerID, s.Image, s.Command.length > 20 ? `${s.Command.slice(0, 19)}…` : s.Command, String(s.LocalVolumes), humanSize(s.Size), s.Created, s.Status, s.Names]))
    + '\nLocal Volumes space usage:\n\n' + table(['VOLUME NAME', 'LINKS', 'SIZE'], volumes.map((v) => [v.VolumeName, String(v.Links), humanSize(v.Size)])));
}

const TYPE_NAMES = { images: 'Images', sandboxes: 'Sandboxes', volumes: 'Local Volumes' } as const;

const dfCmd: CommandModule<GlobalArgs, DfArgs> = {
  command: 'df',
  describe: 'Show the space used by images, sandboxes and volumes',
  builder: (y) => y
    .option('format', { type: 'string', describe: "table, json, or a template: '{{.Type}} {{.Size}}'" })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'Each image, sandbox and volume' }),
  handler: async (argv) => {
    checkFormat(argv.format);
    if (argv.verbose) {
      if (isTemplate(argv.format)) throw new SandboxError('--verbose takes no --format template', { hint: 'use --format json, or no --format' });
      printDetails((await diskUsage(storePathsFromArgs(argv), { details: true })).details, argv.format === 'json');
      return;
    }
    const rows = await diskUsage(storePathsFromArgs(argv));
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(rows.map((r) => ({
        Type: TYPE_NAMES[r.type], TotalCount: r.total, Active: r.active, Size: r.size, Reclaimable: r.reclaimable,
      })), null, 2) + '\n');
      return;
    }
    const percent = (r: { size: number; reclaimable: number }) => (r.size > 0 ? ` (${Math.round((100 * r.reclaimable) / r.size)}%)` : ' (0%)');
    if (isTemplate(argv.format)) {
      // The fields of `podman system df --format`.
      process.stdout.write(renderRows(argv.format, rows.map((r) => ({
        Type: TYPE_NAMES[r.type], Total: r.total, Active: r.active, Size: humanSize(r.size), Reclaimable: `${humanSize(r.reclaimable)}${percent(r)}`,
      }))));
      return;
    }
    process.stdout.write(table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], rows.map((r) => [
      TYPE_NAMES[r.type], String(r.total), String(r.active), humanSize(r.size),
      `${humanSize(r.reclaimable)}${r.size > 0 ? ` (${Math.round((100 * r.reclaimable) / r.size)}%)` : ''}`,
    ])));
  },
};

interface PruneArgs extends GlobalArgs {
  all?: boolean;
  volumes?: boolean;
  force?: boolean;
  filter?: string[];
}

const pruneCmd: CommandModule<GlobalArgs, PruneArgs> = {
  command: 'prune',
  describe: 'Remove sandboxes that are not running, untagged images no sandbox uses (-a: all of them), the image store\'s garbage, and with --volumes unused volumes',
  builder: (y) => y
    .option('all', { alias: 'a', type: 'boolean', describe: 'Also tagged images no sandbox uses' })
    .option('volumes', { type: 'boolean', describe: 'Also volumes no sandbox uses' })
    .option('force', { alias: 'f', type: 'boolean', describe: 'Do not ask first' })
    .option('filter', { type: 'string', array: true, describe: PRUNE_FILTER_HELP }) as Argv<PruneArgs>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const match = pruneMatchers(argv.filter, (id) => readImageConfig(paths, id).config?.Labels ?? {});
    const what = ['all stopped containers', argv.volumes ? 'all volumes not used by at least one container' : '',
      argv.all ? 'all images without at least one container associated with them' : 'all dangling images'].filter(Boolean);
    if (!(await confirm(`WARNING! This command removes:\n${what.map((w) => `\t- ${w}\n`).join('')}`, argv.force))) return;
    const sandboxes = await pruneSandboxes(paths, match.sandbox ? { match: match.sandbox } : {});
    const images = await pruneImages(paths, { all: !!argv.all, ...(match.image ? { match: match.image } : {}) });
    const volumes = argv.volumes ? await pruneVolumes(paths, match.volume ? { match: match.volume } : {}) : { removed: [], reclaimed: 0 };
    const section = (title: string, items: string[]) => (items.length ? `${title}:\n${items.map((i) => `${i}\n`).join('')}\n` : '');
    process.stdout.write(section('Deleted Containers', sandboxes.removed) + section('Deleted Images', images.deleted.map((d) => d.slice(7)))
      + section('Deleted Volumes', volumes.removed)
      + `Total reclaimed space: ${humanSize(sandboxes.reclaimed + images.reclaimed + volumes.reclaimed)}\n`);
    for (const f of sandboxes.failed) process.stderr.write(`sandbox: cannot remove sandbox ${f.id.slice(0, 12)}: ${f.error}\n`);
    if (sandboxes.failed.length) throw new SandboxError(`${sandboxes.failed.length} sandbox(es) could not be removed (see above)`, { hint: 'see `sandbox system check`' });
  },
};

interface ResetArgs extends GlobalArgs {
  force?: boolean;
}

const resetCmd: CommandModule<GlobalArgs, ResetArgs> = {
  command: 'reset',
  describe: 'Remove all sandboxes (running ones too), images and volumes: the whole store',
  builder: (y) => y.option('force', { alias: 'f', type: 'boolean', describe: 'Do not ask first' }) as Argv<ResetArgs>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const warning = 'WARNING! This will remove:\n\t- all containers\n\t- all images\n\t- all volumes\n'
      + `\t- the data directory: ${JSON.stringify(paths.data)}\n\t- the runtime directory: ${JSON.stringify(paths.runtime)}\n`;
    if (!(await confirm(warning, argv.force))) return;
    const { resetStore } = await import('../../api/reset.js');
    await resetStore(paths);
  },
};

/** The `system` group's own subcommands (groups.ts makes the group; `info` is top-level too). */
export const systemSubcommands = [checkCmd, dfCmd, pruneCmd, resetCmd];
