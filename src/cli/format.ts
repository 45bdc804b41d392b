/** Rendering for people: Docker's human durations, aligned tables, --format templates. */
import { SandboxError } from '../errors.js';
import { compileTemplate, isTemplate } from './go-template.js';

/** Docker's units.HumanDuration: "5 seconds", "About a minute", "3 hours", ... */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(m / 60);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/**
 * A byte count for people, as Docker's go-units: decimal units with four significant
 * digits by default (units.HumanSize: "12B", "1.234kB", "56.79MB"); `binary` for KiB/MiB
 * (units.BytesSize, memory in `stats`); `precision` significant digits (`stats` uses 3);
 * `fixed` digits after the point instead (pull/push progress: "2.0KiB", "20.0MiB"). Pure.
 */
export function humanSize(bytes: number, options: { binary?: boolean; precision?: number; fixed?: number } = {}): string {
  const base = options.binary ? 1024 : 1000;
  const units = options.binary ? ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] : ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= base && i < units.length - 1) { v /= base; i++; }
  if (i === 0) return `${Math.round(v)}B`;
  return `${options.fixed !== undefined ? v.toFixed(options.fixed) : Number(v.toPrecision(options.precision ?? 4))}${units[i]}`;
}

/**
 * Columns separated by three spaces, each as wide as its widest cell (as docker's tabwriter);
 * `noHeading` (--noheading) leaves the header line out, the widths still counting it.
 */
export function table(header: string[], rows: string[][], noHeading = false): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd();
  const lines = [...(noHeading ? [] : [line(header)]), ...rows.map(line)];
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** `CreatedSince` -> `CREATED SINCE`, `ID` -> `ID`: a template field as a table header. */
function headerOf(field: string): string {
  return field.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

/**
 * `--format TEMPLATE` for a listing: one rendered line per row; with a `table ` prefix,
 * cells split at tabs are aligned under headers named after the fields, as Docker does.
 */
export function renderRows(format: string, rows: unknown[], noHeading = false): string {
  const tableMode = /^table\s/.test(format);
  const body = tableMode ? format.replace(/^table\s+/, '') : format;
  const render = compileTemplate(body);
  const lines = rows.map((r) => render(r).replace(/\n$/, ''));
  if (!tableMode) return lines.map((l) => `${l}\n`).join('');
  const header = body.replace(/\\t/g, '\t').replace(/\{\{-?\s*\.([A-Za-z0-9_]+)[^}]*-?\}\}/g, (_m, f: string) => headerOf(f)).split('\t');
  return table(header, lines.map((l) => l.split('\t')), noHeading);
}

/** Checks a --format value: table, json, or a template (validated by compiling it). */
export function checkFormat(format: string | undefined): void {
  if (format === undefined || format === 'table' || format === 'json') return;
  if (!isTemplate(format)) {
    throw new SandboxError(`invalid --format ${JSON.stringify(format)}`, { hint: "use table, json, or a template such as '{{.ID}} {{.Names}}'" });
  }
  compileTemplate(format.replace(/^table\s+/, ''));
}

/** What `inspect` prints: the objects as a JSON array, or each through a --format template. */
/**
 * Podman's inspect templates name the id `.ID` (its Go field) or `.Id` (its JSON key):
 * both work, as in Podman; our objects have the JSON key. Only a top-level `.ID` is meant.
 */
export function inspectTemplate(format: string): string {
  return format.replace(/(^|[^A-Za-z0-9_)\]])\.ID(?![A-Za-z0-9_])/g, '$1.Id');
}

export function printInspected(objects: unknown[], format: string | undefined): void {
  if (!format || format === 'json') {
    process.stdout.write(`${JSON.stringify(objects, null, 2)}\n`);
    return;
  }
  checkFormat(format);
  const render = compileTemplate(inspectTemplate(format));
  process.stdout.write(objects.map((o) => `${render(o).replace(/\n$/, '')}\n`).join(''));
}
