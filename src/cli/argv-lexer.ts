/**
 * A Docker-style lexer for the words after a command that takes a command of its own
 * (`run IMAGE CMD...`, `exec NAME CMD...`): the options before the first positional word
 * are checked against an option table, everything after it is the command, verbatim.
 *
 * yargs cannot stop at the first positional word by itself (its `halt-at-non-option`
 * halts at the command word already, and `-c`, `-l` after the image would otherwise be
 * read as our options), so the command module tells yargs to halt (`declareOptions`),
 * takes the raw words after its command word (`rawArgsAfterCommand`) and lexes them here.
 * The same table declares the options to yargs, for `--help` and types.
 *
 * Pure, and free of yargs at run time (only its types): `exec`'s own bundle loads it.
 */
import type { Argv } from 'yargs';
import { SandboxError } from '../errors.js';
import { closest } from './suggest.js';

export interface OptionDef {
  /** Long name, as typed after `--`. */
  name: string;
  /** Other names: one letter = short option (`-e`), longer = another long name (`--net`). */
  aliases: string[];
  type: 'boolean' | 'string';
  array?: boolean;
  describe: string;
  /** Declared by main.ts for every command (`--help`, `--root`); known here only to split. */
  global?: boolean;
  /** What the value looks like in a one-line usage (`K=V`); only where a usage is built from the table. */
  metavar?: string;
}

/** An option table with its lookups by long and short name, built once. */
export interface OptionTable {
  readonly defs: readonly OptionDef[];
  readonly byLong: ReadonlyMap<string, OptionDef>;
  readonly byShort: ReadonlyMap<string, OptionDef>;
}

export function optionTable(defs: readonly OptionDef[]): OptionTable {
  const byLong = new Map<string, OptionDef>();
  const byShort = new Map<string, OptionDef>();
  for (const def of defs) {
    byLong.set(def.name, def);
    for (const alias of def.aliases) (alias.length === 1 ? byShort : byLong).set(alias, def);
  }
  return { defs, byLong, byShort };
}

/** How the lexer's errors read for one command. */
export interface LexerMessages {
  /** The command word the messages name (`run`, `create`, `exec`). */
  verb: string;
  /** The hint of a usage error (a missing value, a bad boolean). */
  usageHint: string;
  /**
   * Podman's options that this command lacks, by spelling (`-p`, `--publish`), with
   * what to use meanwhile (podman-gaps.ts): "not supported yet" rather than "unknown".
   */
  missing?: ReadonlyMap<string, { meanwhile: string }>;
}

export interface LexedArgv {
  /** Our options, normalised to `--long` / `--long=value`, one word each. */
  head: string[];
  /** The first word after the options. */
  positional?: string;
  /** The rest, verbatim. */
  rest: string[];
}

function parseBoolValue(option: string, value: string, m: LexerMessages): 'true' | 'false' {
  const v = value.toLowerCase();
  if (['true', '1', 't'].includes(v)) return 'true';
  if (['false', '0', 'f'].includes(v)) return 'false';
  throw new SandboxError(`option "${option}" takes true or false, not ${JSON.stringify(value)}`, { hint: m.usageHint });
}

/**
 * An option the table lacks: one Podman has is "not supported yet" with what to use
 * meanwhile; any other is unknown, with the closest real spelling when it is a typo's
 * distance away (long options only: one letter is no spelling to correct).
 */
function unknownOption(option: string, table: OptionTable, m: LexerMessages, word?: string): SandboxError {
  const within = word ? ` (in "${word}")` : '';
  const gap = m.missing?.get(option);
  if (gap) return new SandboxError(`${option}${within} is not supported yet`, { hint: gap.meanwhile });
  let hint = m.usageHint;
  if (option.startsWith('--')) {
    const spellings = [...table.byLong.keys(), ...[...(m.missing?.keys() ?? [])].filter((k) => k.startsWith('--')).map((k) => k.slice(2))];
    const near = closest(option.slice(2), spellings);
    if (near !== undefined) hint = `did you mean --${near}? ${hint}`;
  }
  return new SandboxError(`unknown option "${option}"${within} for "${m.verb}"`, { hint });
}

/**
 * Splits words at the first positional one: options before it (checked against the
 * table: unknown options and missing values are errors), the rest after it, verbatim.
 * Short options combine (`-it`, `-itd`, `-e K=V`, `-eK=V`, `-e=K=V`), long ones take
 * `--name x` or `--name=x`; a value is the next word even when it starts with `-`;
 * booleans take `=true` / `=false`. `--` ends the options; `-` alone is positional.
 */
export function lexArgv(argv: string[], table: OptionTable, m: LexerMessages): LexedArgv {
  const head: string[] = [];
  let i = 0;
  const needValue = (shown: string): string => {
    if (i + 1 >= argv.length) throw new SandboxError(`option "${shown}" needs a value`, { hint: m.usageHint });
    i += 1;
    return argv[i] as string;
  };
  const emit = (def: OptionDef, value: string | undefined, shown: string): void => {
    if (def.type === 'boolean') {
      head.push(value === undefined ? `--${def.name}` : `--${def.name}=${parseBoolValue(shown, value, m)}`);
    } else {
      head.push(`--${def.name}=${value ?? needValue(shown)}`);
    }
  };

  for (; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      i += 1;
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const key = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const def = table.byLong.get(key);
      if (!def) throw unknownOption(`--${key}`, table, m);
      emit(def, eq < 0 ? undefined : word.slice(eq + 1), `--${key}`);
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      for (let j = 1; j < word.length; j++) {
        const letter = word[j] as string;
        const def = table.byShort.get(letter);
        if (!def) throw unknownOption(`-${letter}`, table, m, word.length > 2 ? word : undefined);
        const rest = word.slice(j + 1);
        if (def.type === 'boolean') {
          if (rest.startsWith('=')) {
            emit(def, rest.slice(1), `-${letter}`);
            break;
          }
          emit(def, undefined, `-${letter}`);
          continue;
        }
        // A value option takes the rest of the word (`-eK=V`, `-e=K=V`) or the next word.
        emit(def, rest === '' ? undefined : rest.startsWith('=') ? rest.slice(1) : rest, `-${letter}`);
        break;
      }
      continue;
    }
    break;
  }

  if (i >= argv.length) return { head, rest: [] };
  return { head, positional: argv[i] as string, rest: argv.slice(i + 1) };
}

function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * A lexed head as plain data with yargs' camelCase keys: array options collect, other
 * options: the last one wins (as in Docker); booleans are true or false.
 */
export function collectOptions(head: string[], table: OptionTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const word of head) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
    const def = table.byLong.get(name) as OptionDef;
    const key = camelCase(def.name);
    if (def.type === 'boolean') out[key] = eq < 0 ? true : word.slice(eq + 1) === 'true';
    else if (def.array) ((out[key] ??= []) as string[]).push(word.slice(eq + 1));
    else out[key] = word.slice(eq + 1);
  }
  return out;
}

/**
 * The options of a table as a one-line usage: `[-i] [-e K=V] [--env-file F]` (globals
 * left out; a short name where there is one).
 */
export function usageOfOptions(table: OptionTable): string {
  return table.defs.filter((d) => !d.global).map((d) => {
    const short = d.aliases.find((a) => a.length === 1);
    return `[${short ? `-${short}` : `--${d.name}`}${d.metavar ? ` ${d.metavar}` : ''}]`;
  }).join(' ');
}

/**
 * Declares a table's options on a command's yargs (for `--help` and types) and makes
 * yargs halt at the command word, so that the raw words reach the lexer untouched.
 * `defaults` gives options a default shown in the help.
 */
export function declareOptions<T>(y: Argv<T>, table: OptionTable, defaults: Record<string, string> = {}): Argv<T> {
  let out = y.parserConfiguration({
    'halt-at-non-option': true,
    'populate--': true,
    'parse-positional-numbers': false,
  });
  for (const def of table.defs) {
    if (def.global) continue;
    out = out.option(def.name, {
      alias: def.aliases,
      type: def.type,
      ...(def.array ? { array: true } : {}),
      ...(def.name in defaults ? { default: defaults[def.name] } : {}),
      describe: def.describe,
    }) as Argv<T>;
  }
  return out;
}

/**
 * The raw words after the command word, from a yargs argv parsed with `declareOptions`
 * (yargs puts all of them, the command word first, in `argv['--']`).
 */
export function rawArgsAfterCommand(argv: object, verb: string): string[] {
  const dashes = (argv as { '--'?: unknown })['--'];
  const raw = Array.isArray(dashes) ? dashes.map(String) : [];
  if (raw[0] !== verb) {
    throw new Error(`${verb} options: expected the raw arguments of "${verb}" in argv['--'] (was declareOptions, or runOptionsBuilder, used?)`);
  }
  return raw.slice(1);
}
