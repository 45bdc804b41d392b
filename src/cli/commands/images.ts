/**
 * The image commands, as Podman spells them: `images`, `rmi`, `tag`, `untag`,
 * `history`, and the `image` group's own `inspect`, `prune`, `exists` (the group lists
 * the rest: groups.ts).
 */
import type { Argv, CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { SandboxError } from '../../errors.js';
import { isMissing } from '../bulk-targets.js';
import { checkFormat, humanDuration, humanSize, printInspected, renderRows, table } from '../format.js';
import { isTemplate } from '../go-template.js';
import {
  findImage, imageHistory, inspectImage, listImages, pruneImages, removeImages, tagImage, untagImage,
} from '../../api/images.js';
import { readImageConfig, readImageIndex } from '../../images/store.js';
import { IMAGE_SORT_KEYS, matchesImageFilters, parseImageFilters, sortImageRows } from '../image-filter.js';
import { confirm } from '../confirm.js';
import { PRUNE_FILTER_HELP, pruneMatchers } from '../prune-filter.js';
import { declareNoOption } from '../no-option.js';
import { declareNoHeading, type NoHeadingArgs } from '../listing-options.js';

const shortId = (id: string) => id.slice(7, 19);

interface ImagesArgs extends GlobalArgs, NoHeadingArgs {
  all?: boolean;
  quiet?: boolean;
  'no-trunc'?: boolean;
  digests?: boolean;
  format?: string;
  filter?: string[];
  reference?: string;
  sort?: (typeof IMAGE_SORT_KEYS)[number];
}

function listImagesAs(argv: ImagesArgs): void {
  checkFormat(argv.format);
  const paths = storePathsFromArgs(argv);
  const filters = parseImageFilters(
    [...(argv.filter ?? []), ...(argv.reference ? [`reference=${argv.reference}`] : [])],
    (image) => findImage(paths, image).created,
  );
  const labelsOf = new Map<string, Record<string, string>>();
  const labels = (id: string) => {
    if (!labelsOf.has(id)) {
      let l: Record<string, string> = {};
      try { l = readImageConfig(paths, id).config?.Labels ?? {}; } catch { l = {}; }
      labelsOf.set(id, l);
    }
    return labelsOf.get(id)!;
  };
  const damage = readImageIndex(paths).damaged;
  if (damage) {
    process.stderr.write(`sandbox: warning: the image index ${damage.path} is damaged (${damage.reason}); listing the images recovered from ${damage.recoveredFrom}\n`
      + 'hint: run `sandbox system check --repair` to rewrite it\n');
  }
  const matching = listImages(paths).filter((r) => matchesImageFilters(r, filters.labels.length ? labels(r.id) : {}, filters));
  const rows = argv.sort ? sortImageRows(matching, argv.sort) : matching;
  if (argv.quiet) {
    const ids = [...new Set(rows.map((r) => (argv['no-trunc'] ? r.id : shortId(r.id))))];
    if (ids.length) process.stdout.write(`${ids.join('\n')}\n`);
    return;
  }
  if (argv.format && isTemplate(argv.format)) {
    const now = Date.now();
    // The fields of `podman images --format`.
    process.stdout.write(renderRows(argv.format, rows.map((r) => ({
      ID: argv['no-trunc'] ? r.id : shortId(r.id), Id: r.id.slice(7), Repository: r.repository, Tag: r.tag, Digest: r.digest ?? '',
      CreatedAt: r.created, CreatedSince: `${humanDuration(now - Date.parse(r.created))} ago`, Size: humanSize(r.size),
      Containers: r.sandboxes, Dangling: r.dangling, Names: r.names, Labels: labels(r.id),
    })), argv.noheading));
    return;
  }
  if (argv.format === 'json') {
    // One entry per image, as `podman images --format json`.
    const byId = new Map<string, (typeof rows)[number]>();
    for (const r of rows) if (!byId.has(r.id)) byId.set(r.id, r);
    const out = [...byId.values()].map((r) => ({
      Id: r.id.slice(7), Names: r.names, Digest: r.digest, Created: Math.floor(Date.parse(r.created) / 1000),
      CreatedAt: r.created, Size: r.size, Containers: r.sandboxes, Dangling: r.dangling, Labels: labels(r.id),
    }));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const now = Date.now();
  const header = ['REPOSITORY', 'TAG', ...(argv.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
  process.stdout.write(table(header, rows.map((r) => [
    r.repository, r.tag, ...(argv.digests ? [r.digest ?? '<none>'] : []),
    argv['no-trunc'] ? r.id : shortId(r.id), `${humanDuration(now - Date.parse(r.created))} ago`, humanSize(r.size),
  ]), argv.noheading));
}

function imagesBuilder(y: Argv<GlobalArgs>): Argv<ImagesArgs> {
  return declareNoHeading(declareNoOption(y, 'trunc', 'Full image ids'), 'n')
    .positional('reference', { type: 'string', describe: 'only images whose name matches this pattern' })
    .option('all', { alias: 'a', type: 'boolean', describe: 'Show all images (we keep no intermediate images: same as without)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Only image ids' })
    .option('digests', { type: 'boolean', describe: 'Show manifest digests' })
    .option('format', { type: 'string', describe: "table, json, or a template: '{{.Repository}}:{{.Tag}} {{.ID}}' (table TEMPLATE adds headers)" })
    .option('filter', { alias: 'f', type: 'string', array: true, describe: 'dangling=, reference=, label=k[=v], before=, since= (repeatable)' })
    .option('sort', { type: 'string', choices: IMAGE_SORT_KEYS, describe: 'Sort by: created (newest first, the default), id, repository, size, tag' }) as Argv<ImagesArgs>;
}

export const imagesCommand: CommandModule<GlobalArgs, ImagesArgs> = {
  command: 'images [reference]',
  describe: 'List images',
  builder: imagesBuilder,
  handler: (argv) => listImagesAs(argv),
};

interface RmiArgs extends GlobalArgs {
  images: string[];
  force?: boolean;
  all?: boolean;
  ignore?: boolean;
}

export const rmiCommand: CommandModule<GlobalArgs, RmiArgs> = {
  command: 'rmi [images..]',
  describe: 'Remove images (refused while a sandbox uses one, unless -f: then those sandboxes go too)',
  builder: (y) => y
    .positional('images', { type: 'string', array: true, describe: 'NAME[:TAG] or id' })
    .option('force', { alias: 'f', type: 'boolean', describe: 'Remove images in use, and the sandboxes using them' })
    .option('all', { alias: 'a', type: 'boolean', describe: 'Remove every image' })
    .option('ignore', { alias: 'i', type: 'boolean', describe: 'An image that does not exist is no error (as with -f)' }) as Argv<RmiArgs>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const refs = argv.all ? [...new Set(listImages(paths).map((r) => r.id))] : argv.images ?? [];
    if (!refs.length && !argv.all) {
      throw new SandboxError('rmi needs at least one image', { hint: 'sandbox rmi IMAGE... (or -a for all)' });
    }
    // One image at a time, as Docker: what can go, goes; each failure is reported, the last one fails the command.
    let failure: unknown;
    for (const ref of refs) {
      try {
        const report = await removeImages(paths, [ref], { force: !!argv.force, collect: false });
        for (const s of report.removedSandboxes) process.stderr.write(`Removed sandbox ${s}\n`);
        for (const t of report.untagged) process.stdout.write(`Untagged: ${t}\n`);
        for (const d of report.deleted) process.stdout.write(`Deleted: ${d.slice(7)}\n`);
      } catch (err) {
        if ((argv.ignore || argv.force) && isMissing(err)) continue; // as Podman's rmi -i and -f
        if (failure) process.stderr.write(`sandbox: ${failure instanceof Error ? failure.message : String(failure)}\n`);
        failure = err;
      }
    }
    // What the removed images leave, and any other garbage of the image store.
    await removeImages(paths, []).catch((err: unknown) => { failure ??= err; });
    if (failure) throw failure;
  },
};

interface TagArgs extends GlobalArgs {
  image: string;
  names: string[];
}

export const tagCommand: CommandModule<GlobalArgs, TagArgs> = {
  command: 'tag <image> <names..>',
  describe: 'Give an image more names',
  builder: (y) => y
    .positional('image', { type: 'string', demandOption: true })
    .positional('names', { type: 'string', array: true, demandOption: true, describe: 'NAME[:TAG]' }) as Argv<TagArgs>,
  handler: async (argv) => { await tagImage(storePathsFromArgs(argv), argv.image, argv.names); },
};

export const untagCommand: CommandModule<GlobalArgs, TagArgs> = {
  command: 'untag <image> [names..]',
  describe: 'Remove names from an image (all of them without NAME); the image stays',
  builder: (y) => y
    .positional('image', { type: 'string', demandOption: true })
    .positional('names', { type: 'string', array: true }) as Argv<TagArgs>,
  handler: async (argv) => { await untagImage(storePathsFromArgs(argv), argv.image, argv.names ?? []); },
};

interface HistoryArgs extends GlobalArgs, NoHeadingArgs {
  image: string;
  quiet?: boolean;
  'no-trunc'?: boolean;
  human?: boolean;
  format?: string;
}

export const historyCommand: CommandModule<GlobalArgs, HistoryArgs> = {
  command: 'history <image>',
  describe: "Show an image's history",
  builder: (y) => declareNoHeading(declareNoOption(y, 'trunc', 'Full ids and commands'))
    .positional('image', { type: 'string', demandOption: true })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Only layer ids' })
    .option('format', { type: 'string', choices: ['table', 'json'], describe: 'Output format' }) as Argv<HistoryArgs>,
  handler: (argv) => {
    const rows = imageHistory(storePathsFromArgs(argv), argv.image);
    const id = (l: string) => (l.startsWith('sha256:') && !argv['no-trunc'] ? shortId(l) : l);
    if (argv.quiet) { process.stdout.write(rows.map((r) => `${id(r.layer)}\n`).join('')); return; }
    if (argv.format === 'json') { process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`); return; }
    const now = Date.now();
    const cut = (s: string) => (argv['no-trunc'] || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
    process.stdout.write(table(['ID', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows.map((r) => [
      id(r.layer), r.created ? `${humanDuration(now - Date.parse(r.created))} ago` : '', cut(r.createdBy), humanSize(r.size), r.comment,
    ]), argv.noheading));
  },
};

interface InspectArgs extends GlobalArgs {
  images: string[];
  format?: string;
}

export const imageInspectCommand: CommandModule<GlobalArgs, InspectArgs> = {
  command: 'inspect <images..>',
  describe: 'Show images in detail (JSON, or --format TEMPLATE)',
  builder: (y) => y
    .positional('images', { type: 'string', array: true, demandOption: true })
    .option('format', { alias: 'f', type: 'string', describe: "json, or a template: '{{.Id}} {{json .Config.Labels}}'" }) as Argv<InspectArgs>,
  handler: (argv) => {
    const paths = storePathsFromArgs(argv);
    printInspected(argv.images.map((i) => inspectImage(paths, i)), argv.format);
  },
};

interface PruneArgs extends GlobalArgs {
  all?: boolean;
  force?: boolean;
  filter?: string[];
}

export const imagePruneCommand: CommandModule<GlobalArgs, PruneArgs> = {
  command: 'prune',
  describe: 'Remove untagged images no sandbox uses (-a: every image no sandbox uses), then blobs and layers no image uses and what failed or killed transfers left',
  builder: (y) => y
    .option('all', { alias: 'a', type: 'boolean', describe: 'Also tagged images no sandbox uses' })
    .option('force', { alias: 'f', type: 'boolean', describe: 'Do not ask first' })
    .option('filter', { type: 'string', array: true, describe: PRUNE_FILTER_HELP }) as Argv<PruneArgs>,
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const match = pruneMatchers(argv.filter, (id) => readImageConfig(paths, id).config?.Labels ?? {}).image;
    const warning = argv.all ? 'WARNING! This command removes all images without at least one container associated with them.' : 'WARNING! This command removes all dangling images.';
    if (!(await confirm(warning, argv.force))) return;
    const report = await pruneImages(paths, { all: !!argv.all, ...(match ? { match } : {}) });
    for (const d of report.deleted) process.stdout.write(`${d.slice(7)}\n`);
    process.stderr.write(`Reclaimed ${humanSize(report.reclaimed)}\n`);
  },
};

interface ExistsArgs extends GlobalArgs {
  image: string;
}

/** `image exists IMAGE`: exit 0 when the store has it, 1 when not (for scripts: `... || sandbox pull IMAGE`). */
export const imageExistsCommand: CommandModule<GlobalArgs, ExistsArgs> = {
  command: 'exists <image>',
  describe: 'Exit 0 when the image is in the store, 1 when it is not',
  builder: (y) => y.positional('image', { type: 'string', demandOption: true }) as Argv<ExistsArgs>,
  handler: (argv) => {
    try {
      findImage(storePathsFromArgs(argv), argv.image);
    } catch (err) {
      if (!(err instanceof SandboxError)) throw err;
      process.exitCode = 1;
    }
  },
};
