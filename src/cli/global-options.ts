/**
 * Podman's global options, the ones scripts put before the verb (`podman --log-level debug
 * --root DIR ps`): one table of what each is and what it does here, read by main.ts's
 * fast paths (run, create, exec, ps, healthcheck) and declared to yargs for the rest, so
 * every path accepts the same words with the same effect. main.ts loads this on every
 * start: no imports beyond errors.js (which it loads anyway) and types.
 */
import type { Argv } from 'yargs';
import { SandboxError } from '../errors.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'panic'] as const;

export interface GlobalOptionDef {
  /** The long name, as typed after `--`. */
  name: string;
  /** A one-letter spelling Podman has, understood before the verb only (`-D`, `-r`, `-c`). */
  short?: string;
  /** Takes a value (`--root DIR`); else a flag. */
  value: boolean;
  describe: string;
  /** The values Podman takes; anything else is refused as Podman refuses it. */
  choices?: readonly string[];
  /** Of `choices`, the ones we honour; the others are refused, saying why (`refusal`). */
  honoured?: readonly string[];
  /** Why the option (or an unhonoured value) cannot work here: the whole option is refused when there is no `honoured`. */
  refusal?: { message: string; hint: string };
  /** Accepted and changes nothing here: the one line printed about it at --log-level info or lower. */
  ignored?: string;
}

const NO_DAEMON = {
  message: 'refused: there is no service to connect to; sandbox runs every command in this process, without a daemon',
  hint: 'leave it out: the command runs here, as your user, against your own store',
};

export const GLOBAL_OPTIONS: readonly GlobalOptionDef[] = [
  { name: 'root', value: true, describe: 'Keep all state under this directory (also SANDBOX_ROOT)' },
  { name: 'runroot', value: true, describe: 'Keep live state (locks, sockets, pid files) in this directory instead of ROOT/run or $XDG_RUNTIME_DIR/sandbox' },
  { name: 'log-level', value: true, choices: LOG_LEVELS, describe: `What to report on stderr: ${LOG_LEVELS.join(', ')} (default warn; info says which options change nothing here)` },
  { name: 'debug', short: 'D', value: false, describe: 'The same as --log-level debug' },
  { name: 'noout', value: false, describe: "Print nothing on stdout (sandbox's own output; a sandbox's command still writes where it writes)" },
  {
    name: 'events-backend', value: true, choices: ['file', 'journald', 'none'], honoured: ['file', 'none'],
    refusal: { message: 'not supported: events are kept in the store\'s file (`sandbox events`), not in the journal', hint: 'use --events-backend file (or none), or leave it out' },
    ignored: 'events are always kept in the store\'s file (`sandbox events` reads it)', describe: 'file or none: accepted; events are always kept in the store',
  },
  {
    name: 'storage-driver', value: true, honoured: ['overlay'],
    refusal: { message: 'not supported: a sandbox\'s root is always an overlay (the kernel\'s, else fuse-overlayfs)', hint: 'use --storage-driver overlay, or leave it out' },
    describe: 'overlay (the only one: the kernel\'s overlay, else fuse-overlayfs)',
  },
  {
    name: 'cgroup-manager', value: true, choices: ['cgroupfs', 'systemd'],
    ignored: 'sandbox uses the cgroup delegated to you, as `sandbox doctor` shows; no manager is called', describe: 'cgroupfs or systemd: accepted; sandbox uses the cgroup delegated to you',
  },
  {
    name: 'runtime', value: true,
    ignored: 'sandbox starts its sandboxes with its own helper, not an OCI runtime', describe: 'Accepted and ignored: sandbox starts sandboxes with its own helper, not an OCI runtime',
  },
  { name: 'url', value: true, refusal: NO_DAEMON, describe: 'Refused: no daemon to connect to' },
  { name: 'remote', short: 'r', value: false, refusal: NO_DAEMON, describe: 'Refused: no daemon to connect to' },
  { name: 'connection', short: 'c', value: true, refusal: NO_DAEMON, describe: 'Refused: no daemon to connect to' },
];

const BY_LONG = new Map(GLOBAL_OPTIONS.map((o) => [o.name, o]));
const BY_SHORT = new Map(GLOBAL_OPTIONS.filter((o) => o.short).map((o) => [o.short!, o]));

/** The options' values by long name (a flag is true); the last of a repeated option wins. */
export type GlobalValues = Record<string, string | boolean | undefined>;

/** True when `word` is a global option that takes its value as the next word (`--root`, not `--root=X`). */
export function takesNextWord(word: string): boolean {
  return word.startsWith('--') && BY_LONG.get(word.slice(2))?.value === true;
}

/**
 * The global options at the start of `argv`, up to the command word: their values, where
 * the command word is, and the words with them written `--long=value` (one word each,
 * short spellings made long), which yargs reads as it reads the same options after the
 * verb. A global option without its value is an error; unknown options end the globals
 * (yargs reports them).
 */
export function leadingGlobals(argv: readonly string[]): { at: number; values: GlobalValues; words: string[] } {
  const values: GlobalValues = {};
  const normal: string[] = [];
  let at = 0;
  while (at < argv.length) {
    const w = argv[at]!;
    const eq = w.indexOf('=');
    const def = w.startsWith('--') ? BY_LONG.get(w.slice(2, eq < 0 ? undefined : eq)) : /^-[A-Za-z]$/.test(w) ? BY_SHORT.get(w[1]!) : undefined;
    if (!def) break;
    let value: string | boolean = true;
    if (def.value) {
      if (eq >= 0 && w.startsWith('--')) value = w.slice(eq + 1);
      else if (at + 1 < argv.length) value = argv[++at]!;
      else throw new SandboxError(`option "--${def.name}" needs a value`, { hint: 'see `sandbox --help`' });
    } else if (eq >= 0) {
      break; // --noout=x: yargs says what is wrong with it
    }
    values[def.name] = value;
    normal.push(value === true ? `--${def.name}` : `--${def.name}=${value}`);
    at += 1;
  }
  return { at, values, words: [...normal, ...argv.slice(at)] };
}

let logLevel = 'warn';
const announced = new Set<string>();

/** True when messages of `level` are shown at the --log-level given (default warn). */
export function logs(level: (typeof LOG_LEVELS)[number]): boolean {
  const rank = (l: string) => { const i = LOG_LEVELS.indexOf(l as (typeof LOG_LEVELS)[number]); return l === 'warning' ? 3 : i; };
  return rank(level) >= rank(logLevel);
}

/**
 * Checks the global options' values and makes them take effect (log level, --noout; the
 * store's directories are the caller's, `storeArgs`). Refuses what cannot work here, as
 * one error. Idempotent: the fast paths apply the leading options, yargs all of them.
 */
export function applyGlobals(values: GlobalValues): void {
  if (values.debug === true) logLevel = 'debug';
  for (const def of GLOBAL_OPTIONS) {
    const v = values[def.name];
    if (v === undefined || v === false) continue;
    const shown = typeof v === 'string' ? `--${def.name} ${v}` : `--${def.name}`;
    if (def.choices && typeof v === 'string' && !def.choices.includes(v)) {
      throw new SandboxError(`${shown}: not one of ${def.choices.join(', ')}`, { hint: `see \`sandbox --help\`` });
    }
    if (def.refusal && (!def.honoured || (typeof v === 'string' && !def.honoured.includes(v)))) {
      throw new SandboxError(`${shown}: ${def.refusal.message}`, { hint: def.refusal.hint });
    }
    if (def.name === 'log-level' && typeof v === 'string') logLevel = v;
  }
  if (values.noout === true && !announced.has('noout')) {
    announced.add('noout');
    process.stdout.write = (() => true) as typeof process.stdout.write;
  }
  for (const def of GLOBAL_OPTIONS) {
    if (!def.ignored || values[def.name] === undefined || announced.has(def.name) || !logs('info')) continue;
    announced.add(def.name);
    process.stderr.write(`sandbox: info: --${def.name} ${String(values[def.name])} changes nothing: ${def.ignored}\n`);
  }
}

/** The store's directories the options name: what storePathsFromArgs reads. */
export function storeArgs(values: GlobalValues): { root?: string; runroot?: string } {
  return {
    ...(typeof values.root === 'string' ? { root: values.root } : {}),
    ...(typeof values.runroot === 'string' ? { runroot: values.runroot } : {}),
  };
}

/** The store options anywhere in `words` up to `--` (the last of each wins): for messages after a failure. */
export function storeArgsOfWords(words: readonly string[]): { root?: string; runroot?: string } {
  const values: GlobalValues = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') break;
    for (const name of ['root', 'runroot']) {
      if (w === `--${name}` && i + 1 < words.length) values[name] = words[++i];
      else if (w.startsWith(`--${name}=`)) values[name] = w.slice(name.length + 3);
    }
  }
  return storeArgs(values);
}

/**
 * Declares the table to yargs (global: valid before and after the verb), and applies the
 * values before any handler. Only --root is listed in every command's help; the others
 * are in `sandbox --help`'s epilogue (globalOptionsHelp).
 */
export function declareGlobals<T>(y: Argv<T>): Argv<T> {
  let out = y;
  for (const def of GLOBAL_OPTIONS) {
    out = out.option(def.name, { type: def.value ? 'string' : 'boolean', global: true, describe: def.describe, ...(def.name !== 'root' ? { hidden: true } : {}) }) as Argv<T>;
  }
  return out.middleware((argv) => applyGlobals(argv as GlobalValues), true) as Argv<T>;
}

/** The table as `sandbox --help` lists it, after the commands. */
export function globalOptionsHelp(): string {
  const spell = (d: GlobalOptionDef) => `${d.short ? `-${d.short}, ` : ''}--${d.name}${d.value ? ' VALUE' : ''}`;
  const width = Math.max(...GLOBAL_OPTIONS.map((d) => spell(d).length));
  return ['Global options (before or after the command, as in Podman):', ...GLOBAL_OPTIONS.map((d) => `  ${spell(d).padEnd(width)}  ${d.describe}`)].join('\n');
}
