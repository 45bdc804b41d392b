/**
 * The full CLI: yargs. argv -> options -> library call -> render. Each command lives in
 * its own module under ./commands and is registered there. Loaded by main.ts only
 * when its fast path does not apply (yargs costs ~15 ms of start-up).
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { SandboxError } from '../errors.js';
import { commands } from './commands/index.js';
import { missingCommand } from './podman-gaps.js';
import { closest } from './suggest.js';
import { declareGlobals, globalOptionsHelp, takesNextWord } from './global-options.js';

/**
 * The width help wraps to: $COLUMNS when set (as `ls` and others read it; also the
 * tests' hook), else the terminal's, else 80.
 */
export function helpWidth(env: NodeJS.ProcessEnv = process.env, columns = process.stdout.isTTY ? process.stdout.columns : undefined): number {
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return columns && columns > 0 ? columns : 80;
}

/** The words that name commands, after `skip` of them: options (and the global options' values) left out. */
function commandWords(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') break;
    if (takesNextWord(w)) i += 1;
    else if (!w.startsWith('-')) out.push(w);
  }
  return out;
}

/**
 * When yargs fails because a command word is not one of ours: the error to report
 * instead (a Podman command we lack says so and what to use meanwhile; a typo gets the
 * closest command), else undefined. `context` is the command path yargs had matched
 * (`['image']`), `known` the commands (and aliases) it offers there.
 */
export function unknownCommandError(argv: readonly string[], context: readonly string[], known: readonly string[]): SandboxError | undefined {
  if (known.length === 0) return undefined; // a command without subcommands: its own words are arguments
  const words = commandWords(argv);
  if (context.some((c, i) => words[i] !== c)) return undefined;
  const word = words[context.length];
  if (word === undefined || known.includes(word)) return undefined;
  const typed = [...context, word];
  const gap = missingCommand([...typed, ...words.slice(context.length + 1, context.length + 2)]);
  const name = typed.join(' ');
  if (gap) {
    const shown = gap.command.split(' ').length > typed.length ? gap.command : name;
    return new SandboxError(`"${shown}" is not supported yet`, { hint: gap.meanwhile });
  }
  const near = closest(word, known);
  const where = context.length ? `sandbox ${context.join(' ')} --help` : 'sandbox --help';
  return new SandboxError(`unknown command "${name}"`, { hint: near ? `did you mean "${[...context, near].join(' ')}"? see \`${where}\`` : `see \`${where}\`` });
}

/**
 * yargs' "Unknown argument: bogus" when the word typed was an option (`--bogus`, `-x`):
 * `unknown option "--bogus" for "image ls"`, with the closest real spelling when it is a
 * typo away; undefined when the unknown words were not options.
 */
export function unknownOptionError(argv: readonly string[], names: readonly string[], context: readonly string[], options: readonly string[]): SandboxError | undefined {
  for (const name of names) {
    const typed = argv.find((w) => w === `--${name}` || w.startsWith(`--${name}=`) || (name.length === 1 && /^-[^-]/.test(w) && w.includes(name)));
    if (typed === undefined) continue;
    const option = typed.startsWith('--') ? `--${name}` : `-${name}`;
    const near = option.startsWith('--') ? closest(name, options.filter((o) => o.length > 1)) : undefined;
    const help = `see \`sandbox ${[...context, '--help'].join(' ')}\``;
    return new SandboxError(`unknown option "${option}"${context.length ? ` for "${context.join(' ')}"` : ''}`, { hint: near ? `did you mean --${near}? ${help}` : help });
  }
  return undefined;
}

/**
 * The options typed that are none of `known` (names without dashes; `--no-X` counts as X),
 * up to `--`: what yargs took as an unknown option's value before it complained that a
 * positional argument is missing (`logs --folow NAME`).
 */
export function unknownOptionNames(argv: readonly string[], known: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of argv) {
    if (w === '--') break;
    if (w.startsWith('--')) {
      const name = w.slice(2).split('=')[0]!;
      if (!known.includes(name) && !known.includes(name.replace(/^no-/, ''))) out.push(name);
    } else if (/^-[^-]/.test(w)) {
      for (const letter of w.slice(1)) if (!known.includes(letter)) out.push(letter);
    }
  }
  return out;
}

/**
 * yargs' own view of where it failed (its internals, stable through yargs 17; the one
 * instance is reused for every level of commands): the commands matched so far and the
 * ones offered there.
 */
function failureContext(y: Argv): { context: string[]; known: string[] } {
  try {
    const internal = (y as unknown as { getInternalMethods(): { getContext(): { commands: string[] }; getCommandInstance(): { getCommands(): string[] } } })
      .getInternalMethods();
    return { context: [...internal.getContext().commands], known: internal.getCommandInstance().getCommands() };
  } catch {
    return { context: [], known: commands.flatMap((c) => [String(c.command).split(' ')[0]!, ...[c.aliases ?? []].flat()]) };
  }
}

/** Commands whose `-h` is their own option (--hostname, as in Podman), not help. */
const OWN_SHORT_H = new Set(['run', 'create']);

/**
 * A command with `-h` for help, as Podman's have, unless `-h` is its own option: the alias
 * is given per command (and at the top level only when no command is named), not globally.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function withShortHelp(command: CommandModule<any, any>): CommandModule<any, any> {
  if (OWN_SHORT_H.has(String(command.command).split(' ')[0]!)) return command;
  const builder = command.builder;
  return {
    ...command,
    builder: (y: Argv) => {
      const built = typeof builder === 'function' ? builder(y) : builder ? y.options(builder) : y;
      return (built as Argv).alias('help', 'h');
    },
  };
}

/**
 * An option given twice that takes one value: the last one counts, as in Podman (pflag)
 * and Docker (`--format a --format b` is b). yargs collects such repeats into an array;
 * options declared `array` (repeatable: -e, --filter) keep theirs.
 */
export function lastValueWins(argv: Record<string, unknown>, repeatable: readonly string[]): void {
  for (const [key, value] of Object.entries(argv)) {
    if (key !== '_' && key !== '--' && Array.isArray(value) && value.length && !repeatable.includes(key)) argv[key] = value[value.length - 1];
  }
}

/** A message of several lines as one: the lines joined by a space, their indentation dropped. */
export function oneLine(message: string): string {
  return message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
}

export async function runYargs(argv: string[]): Promise<void> {
  let cli = declareGlobals(yargs(argv)
    .scriptName('sandbox')
    .usage('$0 <command> [options]\n\nRootless sandboxes and containers: no daemon, no setuid binary of ours.'))
    // Repeatable options take one value each (-c A -c B), as in Docker: never the positionals after them.
    .parserConfiguration({ 'halt-at-non-option': false, 'populate--': true, 'greedy-arrays': false })
    .strict()
    .demandCommand(1, 'sandbox: no command given\nhint: try `sandbox --help`')
    .help()
    .version(false)
    .wrap(helpWidth())
    .fail((msg, err) => {
      if (err) throw err;
      // A command word we do not have: Podman's that we lack, or a typo (yargs' own
      // "Did you mean" offers anything within 3 edits: `build` -> kill). Its recommendation is off.
      const { context, known } = failureContext(cli);
      const unknown = unknownCommandError(argv, context, known);
      if (unknown) throw unknown;
      const options = Object.keys((cli as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
      const unknownArgs = /^Unknown arguments?: (.+)$/.exec(msg);
      // An unknown option that took the positional after it as its value: name the option.
      const names = unknownArgs ? unknownArgs[1]!.split(', ') : /^Not enough non-option arguments/.test(msg) ? unknownOptionNames(argv, options) : [];
      const option = unknownOptionError(argv, names, context, options);
      if (option) throw option;
      const few = /^Not enough non-option arguments: got \d+, need at least (\d+)/.exec(msg);
      if (few && context.length) {
        const needs = known.length ? 'a command' : `at least ${few[1]} argument${few[1] === '1' ? '' : 's'}`;
        throw new SandboxError(`"${context.join(' ')}" needs ${needs}`, { hint: `see \`sandbox ${context.join(' ')} --help\`` });
      }
      // yargs validation failures (unknown option, missing argument): our error, exit 125.
      // One line: yargs' "Invalid values:\n  Argument: sort, Given: ..." keeps what follows its colon.
      throw new SandboxError(oneLine(msg.replace(/^sandbox: /, '').split('\nhint: ')[0]!), {
        hint: msg.includes('\nhint:') ? msg.split('\nhint: ')[1] : 'see `sandbox --help` or `sandbox COMMAND --help`',
      });
    });
  cli = cli.middleware((args) => {
    // Repeatable: declared `array`, or `nargs` (one value per flag, collected), and their aliases.
    const o = (cli as unknown as { getOptions(): { array: string[]; narg: Record<string, number>; alias: Record<string, string[]> } }).getOptions();
    const repeatable = [...o.array, ...Object.keys(o.narg)];
    lastValueWins(args, [...repeatable, ...repeatable.flatMap((k) => o.alias[k] ?? [])]);
  }, true);
  if (commandWords(argv).length === 0) cli = cli.alias('help', 'h').epilog(globalOptionsHelp());
  for (const command of commands) cli = cli.command(withShortHelp(command));
  await cli.parseAsync();
}
