/**
 * `exec [OPTIONS] NAME COMMAND...`: options before the name, the command after it,
 * verbatim (`exec box sh -c 'ls -l'` must not read -c or -l as ours), split by the lexer
 * `run` uses (argv-lexer.ts: `-it`, `-itd`, `-eK=V`, `--tty=false`); then validation into
 * an ExecRequest. Pure, and part of exec's own bundle: no yargs here.
 */
import { SandboxError } from '../errors.js';
import { collectOptions, lexArgv, optionTable, usageOfOptions, type OptionDef } from './argv-lexer.js';
import { checkPathLimits } from '../runtime/limits.js';
import type { ExecRequest } from '../api/exec.js';
import { parseEnvAssignment, parseEnvFile } from './env-file.js';
import { MISSING_EXEC_OPTIONS, missingOptions } from './podman-gaps.js';

export interface ExecArgs {
  name?: string;
  command: string[];
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  privileged: boolean;
  help: boolean;
  root?: string;
}

/**
 * The option table of `exec`: it drives the lexer (argv-lexer.ts, as run's table does),
 * the yargs options shown by `sandbox exec --help` (commands/exec.ts) and EXEC_USAGE.
 */
export const EXEC_OPTIONS: readonly OptionDef[] = [
  { name: 'interactive', aliases: ['i'], type: 'boolean', describe: 'Keep stdin open' },
  { name: 'tty', aliases: ['t'], type: 'boolean', describe: 'Give the command a terminal' },
  { name: 'detach', aliases: ['d'], type: 'boolean', describe: 'Run in the background' },
  { name: 'env', aliases: ['e'], type: 'string', array: true, metavar: 'K=V', describe: 'Set a variable: K=V, or K to copy yours' },
  { name: 'env-file', aliases: [], type: 'string', array: true, metavar: 'F', describe: 'Read K=V lines from a file' },
  { name: 'workdir', aliases: ['w'], type: 'string', metavar: 'DIR', describe: 'Working directory inside (must exist)' },
  { name: 'user', aliases: ['u'], type: 'string', metavar: 'USER[:GROUP]', describe: 'UID[:GID] or NAME[:GROUP]' },
  { name: 'privileged', aliases: [], type: 'boolean', describe: 'Every capability for the command (inside the user namespace)' },
  { name: 'help', aliases: ['h'], type: 'boolean', describe: 'Show help', global: true },
  { name: 'root', aliases: [], type: 'string', describe: 'Keep all state under this directory', global: true },
];

export const EXEC_TABLE = optionTable(EXEC_OPTIONS);

export const EXEC_USAGE = `sandbox exec ${usageOfOptions(EXEC_TABLE)} NAME COMMAND [ARG...]`;

function usageError(message: string): SandboxError {
  return new SandboxError(message, { hint: EXEC_USAGE });
}

/** The words after `exec`: options (EXEC_OPTIONS) before the name, the command after it, verbatim. */
export function parseExecArgv(words: string[]): ExecArgs {
  const { head, positional, rest } = lexArgv(words, EXEC_TABLE, { verb: 'exec', usageHint: EXEC_USAGE, missing: missingOptions(MISSING_EXEC_OPTIONS) });
  const o = collectOptions(head, EXEC_TABLE) as Partial<ExecArgs>;
  if (rest[0] === '--') rest.shift();
  return {
    ...(positional !== undefined ? { name: positional } : {}),
    command: rest,
    interactive: o.interactive === true,
    tty: o.tty === true,
    detach: o.detach === true,
    env: o.env ?? [],
    envFile: o.envFile ?? [],
    ...(o.workdir !== undefined ? { workdir: o.workdir } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    privileged: o.privileged === true,
    help: o.help === true,
    ...(o.root !== undefined ? { root: o.root } : {}),
  };
}

export function toExecRequest(a: ExecArgs, ctx: { env: NodeJS.ProcessEnv; readFile: (p: string) => string }): ExecRequest {
  if (!a.name) throw usageError('"exec" requires a sandbox name and a command');
  if (a.command.length === 0) throw usageError('"exec" requires a command after the sandbox name');
  const env: Record<string, string> = {};
  for (const file of a.envFile) {
    let text: string;
    try { text = ctx.readFile(file); } catch (err) {
      throw new SandboxError(`cannot read env file ${file} (${(err as NodeJS.ErrnoException).code ?? err})`, { hint: `check that ${file} exists and is readable` });
    }
    for (const [k, v] of parseEnvFile(text, ctx.env, file)) env[k] = v;
  }
  for (const e of a.env) {
    const kv = parseEnvAssignment(e, ctx.env, `-e ${JSON.stringify(e)}`);
    if (kv) env[kv[0]] = kv[1];
  }
  if (a.workdir !== undefined && !a.workdir.startsWith('/')) {
    throw new SandboxError(`the working directory must be an absolute path inside the sandbox: ${a.workdir}`, { hint: 'use -w /absolute/path' });
  }
  if (a.workdir !== undefined) checkPathLimits(a.workdir, 'working directory', 'use -w /absolute/path (the path inside the sandbox)');
  return {
    command: a.command, interactive: a.interactive, tty: a.tty, detach: a.detach, env,
    ...(a.workdir !== undefined ? { workdir: a.workdir } : {}),
    ...(a.user !== undefined ? { user: a.user } : {}),
    ...(a.privileged ? { privileged: true } : {}),
  };
}
