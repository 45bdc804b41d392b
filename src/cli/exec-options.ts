/**
 * `exec [OPTIONS] NAME COMMAND...`: options before the name, the command after it,
 * verbatim (`exec box sh -c 'ls -l'` must not read -c or -l as ours). Short flags
 * combine (`-it`, `-itd`); values come as the next word or after `=`. Pure.
 */
import { SandboxError } from '../errors.js';
import { checkPathLimits } from '../runtime/limits.js';
import type { ExecRequest } from '../api/exec.js';
import { parseEnvAssignment, parseEnvFile } from './env-file.js';

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
  help: boolean;
  root?: string;
}

const FLAGS: Record<string, 'interactive' | 'tty' | 'detach' | 'help'> = {
  i: 'interactive', interactive: 'interactive', t: 'tty', tty: 'tty', d: 'detach', detach: 'detach', h: 'help', help: 'help',
};
const VALUES: Record<string, 'env' | 'envFile' | 'workdir' | 'user' | 'root'> = {
  e: 'env', env: 'env', 'env-file': 'envFile', w: 'workdir', workdir: 'workdir', u: 'user', user: 'user', root: 'root',
};

export const EXEC_USAGE = 'sandbox exec [-i] [-t] [-d] [-e K=V] [--env-file F] [-w DIR] [-u USER[:GROUP]] NAME COMMAND [ARG...]';

function usageError(message: string): SandboxError {
  return new SandboxError(message, { hint: EXEC_USAGE });
}

export function parseExecArgv(words: string[]): ExecArgs {
  const out: ExecArgs = { command: [], interactive: false, tty: false, detach: false, env: [], envFile: [], help: false };
  const setValue = (key: (typeof VALUES)[string], value: string) => {
    if (key === 'env') out.env.push(value);
    else if (key === 'envFile') out.envFile.push(value);
    else out[key] = value;
  };
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') { i++; break; }
    if (!w.startsWith('-') || w === '-') break;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = w.slice(2, eq < 0 ? undefined : eq);
      if (FLAGS[name]) { out[FLAGS[name]] = true; continue; }
      const key = VALUES[name];
      if (!key) throw usageError(`unknown option "--${name}" for "exec"`);
      const value = eq >= 0 ? w.slice(eq + 1) : words[++i];
      if (value === undefined) throw usageError(`option "--${name}" needs a value`);
      setValue(key, value);
      continue;
    }
    // A cluster of short options: flags, then at most one that takes a value (the rest of the word, or the next word).
    for (let j = 1; j < w.length; j++) {
      const c = w[j]!;
      if (FLAGS[c]) { out[FLAGS[c]] = true; continue; }
      const key = VALUES[c];
      if (!key) throw usageError(`unknown option "-${c}"${w.length > 2 ? ` (in "${w}")` : ''} for "exec"`);
      let value: string | undefined = w.slice(j + 1).replace(/^=/, '');
      if (value === '') value = words[++i];
      if (value === undefined) throw usageError(`option "-${c}" needs a value`);
      setValue(key, value);
      break;
    }
  }
  out.name = words[i];
  out.command = words.slice(i + 1);
  if (out.command[0] === '--') out.command.shift();
  return out;
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
  };
}
