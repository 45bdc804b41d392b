/**
 * Starting the native helper and waiting for it. The CLI stays the helper's parent
 * for foreground runs and passes on every signal meant for it (SIGINT, SIGTERM, ...),
 * so Ctrl-C and `kill` reach the sandboxed process, not the CLI. A Ctrl-C typed at
 * the terminal reaches the helper directly too; it drops the CLI's copy.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import { SandboxError, EXIT_SANDBOX_ERROR } from '../errors.js';

/** What the helper reports on its status descriptor, one JSON object per line. */
export interface HelperStatus {
  pid?: number;
  started?: boolean;
  exit_code?: number;
}

export interface LaunchOptions {
  /** 'inherit' for -i, otherwise the sandbox reads /dev/null. */
  stdin: 'inherit' | 'ignore';
  onStatus?: (status: HelperStatus) => void;
  /** Pass this process's signals on to the sandbox (the CLI does; a library user may not want it). */
  forwardSignals?: boolean;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGCONT'];

/** Runs the helper with the status pipe on fd 3 and the plan on fd 4; resolves to the exit code. */
export function runHelper(helper: string, args: string[], options: LaunchOptions): Promise<number> {
  const stdio: StdioOptions = [options.stdin, 'inherit', 'inherit', options.onStatus ? 'pipe' : 'ignore', 'pipe'];
  const child = spawn(helper, ['--args-fd', '4'], { stdio });
  const plan = child.stdio[4] as NodeJS.WritableStream | null;
  plan?.on('error', () => { /* the helper died early; its exit status tells why */ });
  plan?.end(args.map((a) => `${a}\0`).join(''));
  const forward = (sig: NodeJS.Signals) => { try { child.kill(sig); } catch { /* gone */ } };
  if (options.forwardSignals) for (const s of FORWARDED) process.on(s, forward);
  if (options.onStatus) {
    let buf = '';
    const pipe = child.stdio[3] as NodeJS.ReadableStream | null;
    pipe?.setEncoding?.('utf8');
    pipe?.on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try { options.onStatus?.(JSON.parse(line) as HelperStatus); } catch { /* not ours */ }
      }
    });
  }
  return new Promise((resolve, reject) => {
    child.on('error', (err) => {
      reject(new SandboxError(`cannot start the sandbox helper: ${err.message}`, { hint: 'run `npm run build`, then `sandbox doctor`', cause: err }));
    });
    child.on('exit', (code, signal) => {
      if (options.forwardSignals) for (const s of FORWARDED) process.off(s, forward);
      if (signal) resolve(128 + (constants.signals[signal] ?? 0));
      else resolve(code ?? EXIT_SANDBOX_ERROR);
    });
  });
}
