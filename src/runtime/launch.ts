/**
 * Starting the native helper and waiting for it. The CLI stays the helper's parent
 * for foreground runs and passes on every signal meant for it (SIGINT, SIGTERM, ...),
 * so Ctrl-C and `kill` reach the sandboxed process, not the CLI. A Ctrl-C typed at
 * the terminal reaches the helper directly too; it drops the CLI's copy.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnPlain } from './spawn.js';
import { SandboxError, EXIT_SANDBOX_ERROR } from '../errors.js';
import { managerEnv } from './cgroup/scope.js';
import { ARGS_ENV, ARGS_FD, PLAN_ENV, PRESERVE_FDS_BASE, encodeWords, parseStatusLine, type StatusLine } from './protocol.js';

/** What the helper reports on its status descriptor (a status line, runtime/protocol.ts). */
export interface HelperStatus extends StatusLine {
  /** Added by runHelper: the helper's own pid (the sandbox's monitor). */
  monitorPid?: number;
}

export interface LaunchOptions {
  /** 'inherit' for -i, otherwise the sandbox reads /dev/null. */
  stdin: 'inherit' | 'ignore';
  onStatus?: (status: HelperStatus) => void;
  /** Pass this process's signals on to the sandbox (the CLI does; a library user may not want it). */
  forwardSignals?: boolean;
  /** Words before the helper's argv: a transient systemd scope that execs it in place (runtime/cgroup/scope.ts). */
  prefix?: string[];
  /**
   * `run --attach`: the command's streams left out are not shown (a kept sandbox still
   * logs them). Our own messages (`sandbox: ...`, `hint: ...`) still reach our stderr.
   */
  detachedStreams?: { stdout?: boolean; stderr?: boolean };
  /** `run --preserve-fds N`: our fds 3..3+N-1, passed to the helper at PRESERVE_FDS_BASE.. (the plan says so). */
  preserveFds?: number;
}

/** Passes on only our own message lines of the helper's stderr (`run -a stdout`: the command's are dropped). */
function ownMessagesOnly(stream: NodeJS.ReadableStream | null): void {
  let rest = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (d: string) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) if (/^(sandbox|hint): /.test(l)) process.stderr.write(`${l}\n`);
  });
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGCONT'];

/** The exit status of the helper as a shell reports it: 128+N when a signal ended it. */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + ((require('node:os') as typeof import('node:os')).constants.signals[signal] ?? 0);
  return code ?? EXIT_SANDBOX_ERROR;
}

function helperStartError(err: Error): SandboxError {
  return new SandboxError(`cannot start the sandbox helper: ${err.message}`, { hint: 'run `npm run build`, then `sandbox doctor`', cause: err });
}

/** Calls `each` for every JSON line the helper writes on its status descriptor. */
function onStatusLines(stream: NodeJS.ReadableStream | null, each: (status: HelperStatus) => void): void {
  let buf = '';
  stream?.setEncoding?.('utf8');
  stream?.on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const status = parseStatusLine(line);
      if (status) each(status);
    }
  });
}

/** A plan up to this many bytes goes in the helper's environment (one variable holds 128 KiB at most); a longer one through a pipe. */
const MAX_PLAN_IN_ENV = 64 * 1024;

/** The plan as `--args-env` reads it: each word as its length in UTF-8 bytes, ':' and the word. */
export function encodePlanForEnv(args: readonly string[]): string {
  return encodeWords(args);
}

/**
 * How a plan reaches the helper, the same for run, start and exec: in its environment
 * (`--args-env`), which needs no pipe (so exec can start the helper without
 * node:child_process, see spawnPlain); a plan too long for one variable on fd 4
 * (`--args-fd 4`, NUL-separated words). Never in argv: every `ps` listing shows that.
 */
export type PlanChannel =
  | { argv: [typeof ARGS_ENV]; env: string }
  | { argv: [typeof ARGS_FD, '4']; pipe: string };

export function planChannel(args: readonly string[]): PlanChannel {
  const env = encodePlanForEnv(args);
  // In bytes: a plan of many non-ASCII characters is up to three times its length.
  if (Buffer.byteLength(env) <= MAX_PLAN_IN_ENV) return { argv: [ARGS_ENV], env };
  return { argv: [ARGS_FD, '4'], pipe: args.map((a) => `${a}\0`).join('') };
}

/** child_process.spawn's stdio and env for `channel`: the plan's fd 4 (a pipe) or variable. */
function spawnPlan(
  helper: string, channel: PlanChannel, stdio: ('inherit' | 'ignore' | 'pipe')[], detached = false, prefix: string[] = [],
  lifeline = false, preserveFds = 0,
): ChildProcess {
  const [file, ...argv] = [...prefix, helper, ...channel.argv];
  // fd 4 is the plan's pipe or nothing; fd 5 the starter's lifeline (api/sdk/lifeline.ts).
  const planFd: 'pipe' | 'ignore' = 'pipe' in channel ? 'pipe' : 'ignore';
  const extra: ('pipe' | 'ignore' | number)[] = lifeline ? [planFd, 'pipe'] : 'pipe' in channel ? ['pipe'] : [];
  if (preserveFds > 0) {
    while (stdio.length + extra.length < PRESERVE_FDS_BASE) extra.push('ignore');
    for (let i = 0; i < preserveFds; i++) extra.push(3 + i);
  }
  const child = 'pipe' in channel
    ? spawn(file!, argv, { detached, stdio: [...stdio, ...extra] })
    : spawn(file!, argv, { detached, stdio: [...stdio, ...extra], env: { ...process.env, [PLAN_ENV]: channel.env } });
  if ('pipe' in channel) {
    const plan = child.stdio[4] as NodeJS.WritableStream | null;
    plan?.on('error', () => { /* the helper died early; its exit status tells why */ });
    plan?.end(channel.pipe);
  }
  return child;
}

export interface DetachedStart {
  /** The monitor's pid: it outlives us. */
  monitorPid: number;
  /** The sandbox's init (its PID 1), as seen from here. */
  initPid: number;
  /** With `lifeline`: our end of the starter's lifeline (fd LIFELINE_FD in the monitor), for api/sdk/lifeline.ts to hold. */
  lifeline?: import('node:net').Socket;
}

/** Where the monitor finds the starter's lifeline, when it has one (`--owner-lifeline 5 MARKER`). */
export const LIFELINE_FD = 5;

/**
 * Starts the helper as the monitor of a detached sandbox: in its own session, its
 * output to the sandbox's log. Resolves once the command has started; rejects with the
 * helper's own error lines and exit code when setup failed.
 */
export function startDetachedHelper(helper: string, args: string[], prefix?: string[], lifeline = false): Promise<DetachedStart> {
  const child = spawnPlan(helper, planChannel(args), ['ignore', 'ignore', 'pipe', 'pipe'], true, prefix, lifeline);
  const ownEnd = lifeline ? (child.stdio as unknown as (import('node:net').Socket | null)[])[LIFELINE_FD] ?? null : null;
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => { if (stderr.length < 16384) stderr += d; });
  return new Promise((resolve, reject) => {
    let initPid = 0;
    const status = child.stdio[3] as NodeJS.ReadableStream | null;
    const detach = () => {
      child.stderr?.destroy();
      (status as unknown as { destroy?: () => void } | null)?.destroy?.();
      child.unref();
    };
    onStatusLines(status, (s) => {
      if (s.pid !== undefined) initPid = s.pid;
      if (s.started && child.pid !== undefined) {
        detach();
        resolve({ monitorPid: child.pid, initPid, ...(ownEnd ? { lifeline: ownEnd } : {}) });
      }
    });
    child.on('error', (err) => reject(new SandboxError(`cannot start the sandbox helper: ${err.message}`, { cause: err })));
    child.on('exit', (code, signal) => {
      ownEnd?.destroy();
      // Exited before the command started: setup failed, and the helper said why.
      const lines = stderr.trim().split('\n');
      const message = (lines.find((l) => l.startsWith('sandbox: ')) ?? lines[0] ?? 'the sandbox could not be started').replace(/^sandbox: /, '');
      const hint = lines.find((l) => l.startsWith('hint: '))?.slice(6);
      reject(new SandboxError(message || `the sandbox helper exited (${signal ?? code})`, {
        exitCode: code ?? EXIT_SANDBOX_ERROR,
        ...(hint ? { hint } : {}),
      }));
    });
  });
}

/** Runs the helper with the status pipe on fd 3 and the plan as planChannel says; resolves to the exit code. */
export function runHelper(helper: string, args: string[], options: LaunchOptions): Promise<number> {
  return runHelperWith(helper, planChannel(args), options);
}

function runHelperWith(helper: string, channel: PlanChannel, options: LaunchOptions): Promise<number> {
  const off = options.detachedStreams ?? {};
  const child = spawnPlan(helper, channel, [options.stdin, off.stdout ? 'ignore' : 'inherit', off.stderr ? 'pipe' : 'inherit', options.onStatus ? 'pipe' : 'ignore'], false, options.prefix, false, options.preserveFds ?? 0);
  if (off.stderr) ownMessagesOnly(child.stderr);
  const forward = (sig: NodeJS.Signals) => { try { child.kill(sig); } catch { /* gone */ } };
  if (options.forwardSignals) for (const s of FORWARDED) process.on(s, forward);
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      if (options.forwardSignals) for (const s of FORWARDED) process.off(s, forward);
      resolve(code);
    };
    if (options.onStatus) {
      const status = child.stdio[3] as NodeJS.ReadableStream | null;
      onStatusLines(status, (line) => {
        options.onStatus?.({ ...line, ...(child.pid !== undefined ? { monitorPid: child.pid } : {}) });
        if (line.detached) {
          // The sandbox goes on in the background (the helper left our terminal): so do we, with 0.
          (status as unknown as { destroy?: () => void } | null)?.destroy?.();
          child.unref();
          finish(0);
        }
      });
    }
    child.on('error', (err) => reject(helperStartError(err)));
    child.on('exit', (code, signal) => finish(exitStatus(code, signal)));
  });
}

/**
 * Runs the helper with our stdout and stderr, stdin or /dev/null, and nothing else: no
 * status pipe, the plan in its environment (`--args-env`), so that neither pipes nor
 * node:child_process are needed (see spawnPlain). What `exec` uses: every Makefile line
 * may pay its start-up. Resolves to the exit code.
 */
export function runPlainHelper(helper: string, args: string[], options: Pick<LaunchOptions, 'stdin' | 'forwardSignals' | 'prefix'>): Promise<number> {
  const channel = planChannel(args);
  if ('pipe' in channel) return runHelperWith(helper, channel, options);
  const [file, ...argv] = [...(options.prefix ?? []), helper, ...channel.argv];
  return new Promise((resolve, reject) => {
    let ended = false;
    const forward = (sig: NodeJS.Signals) => { child.kill(sig); };
    const end = () => {
      ended = true;
      if (options.forwardSignals) for (const s of FORWARDED) process.off(s, forward);
    };
    const child = spawnPlain(file!, argv, {
      // systemd-run (a prefix) finds the user's manager through these.
      env: { ...(options.prefix ? managerEnv() : {}), [PLAN_ENV]: channel.env },
      stdio: [options.stdin === 'inherit' ? 0 : 'ignore', 1, 2],
      onExit: (code, signal) => { end(); resolve(exitStatus(code, signal)); },
      onError: (err) => { end(); reject(helperStartError(err)); },
    });
    if (options.forwardSignals && !ended) for (const s of FORWARDED) process.on(s, forward);
  });
}

/**
 * Starts the helper with the command's stdin, stdout and stderr as pipes of the child
 * returned (the library's exec: Sandbox.exec and spawn). The caller waits for its end.
 */
export function spawnPipedHelper(helper: string, args: string[], prefix?: string[]): ChildProcess {
  return spawnPlan(helper, planChannel(args), ['pipe', 'pipe', 'pipe', 'ignore'], false, prefix);
}

export interface CapturedRun {
  /** The helper's exit status (128+N when a signal ended it). */
  code: number;
  /** Its stdout and stderr together, as they came. */
  output: string;
  /** It was still running after `timeoutMs` and was ended (signal `endSignal`). */
  timedOut: boolean;
}

/**
 * Runs the helper with no stdin, its stdout and stderr captured together (up to
 * `maxOutput` bytes), and `endSignal` sent to it after `timeoutMs`: what a health
 * check is. Resolves when it has ended.
 */
export function runCapturedHelper(helper: string, args: string[], options: { timeoutMs: number; endSignal: number; maxOutput: number }): Promise<CapturedRun> {
  const channel = planChannel(args);
  const child = spawnPlan(helper, channel, ['ignore', 'pipe', 'pipe', 'ignore']);
  const chunks: Buffer[] = [];
  let size = 0;
  const take = (d: Buffer) => {
    if (size >= options.maxOutput) return;
    chunks.push(d.subarray(0, options.maxOutput - size));
    size += d.length;
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // process.kill: child.kill() refuses signal numbers Node has no name for (real-time ones).
    try { if (child.pid) process.kill(child.pid, options.endSignal); } catch { /* gone */ }
  }, options.timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', (err) => { clearTimeout(timer); reject(helperStartError(err)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: exitStatus(code, signal), output: Buffer.concat(chunks).toString('utf8'), timedOut });
    });
  });
}
