/**
 * `sandbox ps`: the sandboxes of the store, as Docker lists them. Also on the CLI's fast
 * path (scripts poll it): `psFromArgv` reads the common options itself and leaves
 * anything else, `--help` included, to yargs.
 */
import type { CommandModule } from 'yargs';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { listSandboxes, type SandboxView } from '../../api/lifecycle.js';
import { checkFormat, humanDuration, renderRows, table } from '../format.js';
import { isTemplate } from '../go-template.js';
import { matchesFilters, parseFilters } from '../ps-filter.js';

function statusText(v: SandboxView, now: number): string {
  const s = v.state;
  if (s.status === 'running') return `Up ${humanDuration(now - Date.parse(s.startedAt ?? v.record.created))}${v.health ? ` (${v.health})` : ''}`;
  if (s.status === 'exited') {
    const ago = s.finishedAt ? ` ${humanDuration(now - Date.parse(s.finishedAt))} ago` : '';
    return `Exited (${s.exitCode ?? -1})${ago}`;
  }
  return 'Created';
}

/** Docker's COMMAND column: the words joined, cut at 20 characters unless --no-trunc. */
function shortCommand(argv: string[], full: boolean): string {
  const text = argv.join(' ');
  return full || text.length <= 20 ? `"${text}"` : `"${text.slice(0, 19)}…"`;
}

interface PsArgs extends GlobalArgs {
  all?: boolean;
  quiet?: boolean;
  'no-trunc'?: boolean;
  format?: string;
  filter?: string[];
  last?: number;
  latest?: boolean;
}

export const psCommand: CommandModule<GlobalArgs, PsArgs> = {
  command: 'ps',
  aliases: ['list', 'ls'],
  describe: 'List sandboxes (running ones; -a for all)',
  builder: (y) => y
    .option('all', { alias: 'a', type: 'boolean', describe: 'Show all sandboxes, not only running ones' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'Only ids' })
    .option('no-trunc', { type: 'boolean', describe: 'Do not truncate ids and commands' })
    .option('format', { type: 'string', describe: "table, json, or a template: '{{.ID}} {{.Names}} {{.Status}}' (table TEMPLATE adds headers)" })
    .option('filter', { alias: 'f', type: 'string', array: true, describe: 'name=, id=, label=k[=v], status=, ancestor= (repeatable)' })
    .option('last', { alias: 'n', type: 'number', describe: 'The N most recently created (all states)' })
    .option('latest', { alias: 'l', type: 'boolean', describe: 'The most recently created (all states)' }),
  handler: (argv) => listSandboxesAs(argv),
};

/** Prints the list the way the options ask. */
function listSandboxesAs(argv: PsArgs): void {
    checkFormat(argv.format);
    const filters = parseFilters(argv.filter ?? []);
    const last = argv.latest ? 1 : argv.last;
    // Docker: -n, -l and a status filter look at every state, not only running ones.
    const all = !!argv.all || last !== undefined || filters.has('status');
    let views = listSandboxes(storePathsFromArgs(argv), { all }).filter((v) => matchesFilters(v, filters));
    if (last !== undefined && last >= 0) views = views.slice(0, last);
    const full = !!argv['no-trunc'];
    if (argv.quiet) {
      process.stdout.write(views.map((v) => (full ? v.record.id : v.record.id.slice(0, 12)) + '\n').join(''));
      return;
    }
    if (argv.format && isTemplate(argv.format)) {
      const now = Date.now();
      // The fields of `docker ps --format`.
      process.stdout.write(renderRows(argv.format, views.map((v) => ({
        ID: full ? v.record.id : v.record.id.slice(0, 12), Image: v.record.image, Command: shortCommand(v.record.command, full),
        CreatedAt: v.record.created, RunningFor: `${humanDuration(now - Date.parse(v.record.created))} ago`,
        Status: statusText(v, now), State: v.state.status, Names: v.record.name, Labels: v.record.request.labels, Ports: '',
      }))));
      return;
    }
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(views.map((v) => ({
        Id: v.record.id, Names: [v.record.name], Image: v.record.image, Command: v.record.command,
        Created: v.record.created, State: v.state.status, ExitCode: v.state.exitCode ?? 0,
        StartedAt: v.state.startedAt, FinishedAt: v.state.finishedAt, Pid: v.state.pid ?? 0,
        Labels: v.record.request.labels,
      })), null, 2) + '\n');
      return;
    }
    const now = Date.now();
    process.stdout.write(table(
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      views.map((v) => [
        full ? v.record.id : v.record.id.slice(0, 12), v.record.image, shortCommand(v.record.command, full),
        `${humanDuration(now - Date.parse(v.record.created))} ago`, statusText(v, now), '', v.record.name,
      ]),
    ));
}

const FLAGS: Record<string, 'all' | 'quiet' | 'no-trunc' | 'latest'> = {
  a: 'all', all: 'all', q: 'quiet', quiet: 'quiet', 'no-trunc': 'no-trunc', l: 'latest', latest: 'latest',
};

/** The fast path: false when the words need yargs (help, an unknown option, a bad value). */
export function psFromArgv(words: string[]): boolean {
  const args: PsArgs = { filter: [] };
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
  listSandboxesAs(args);
  return true;
}

