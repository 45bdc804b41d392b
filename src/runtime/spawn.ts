/**
 * Starting processes without paying for more than we use.
 *
 * `spawn`: `child_process.spawn`, loaded on first use: node:child_process pulls in node:net
 * and streams (~10 ms of start-up), which commands that start no process should not pay.
 * A plain require, not import(): bin/sandbox runs the bundle through vm.Script.
 *
 * `spawnPlain`: a child whose descriptors are all ours or /dev/null (no pipes), with only
 * its exit to wait for, as `exec` runs the helper. It uses the process handle that
 * child_process itself is built on, so that none of child_process, net and streams has
 * to load (~2.5 ms of every exec); where that handle is not what we know (another Node),
 * it falls back to child_process.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';

export function spawn(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const cp = require('node:child_process') as typeof import('node:child_process');
  return cp.spawn(command, args, options);
}

export interface PlainChild {
  pid: number;
  /** Sends a signal; false when the child is gone. */
  kill(signal: NodeJS.Signals): boolean;
}

export interface PlainSpawnOptions {
  /** Exactly the child's environment. */
  env: Record<string, string>;
  /** What fds 0, 1, 2, ... of the child are: one of ours, or /dev/null ('ignore'). */
  stdio: ReadonlyArray<number | 'ignore'>;
  /** The child ended: its exit code, or the signal that ended it. */
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** It could not be started (a system error, with `code`); onExit is not called then. */
  onError: (err: NodeJS.ErrnoException) => void;
}

interface ProcessHandle {
  pid?: number;
  onexit: (exitCode: number, signalCode: string) => void;
  spawn(options: object): number;
  kill(signal: number): number;
  close(): void;
}

/** The process handle class of this Node, if it is the one we know (and taking it prints no deprecation warning). */
function processHandleClass(): (new () => ProcessHandle) | undefined {
  const pending = /--pending-deprecation/;
  if (process.execArgv.some((a) => pending.test(a)) || pending.test(process.env.NODE_OPTIONS ?? '') || process.env.NODE_PENDING_DEPRECATION === '1') {
    return undefined;
  }
  try {
    const binding = (process as unknown as { binding(name: string): { Process?: new () => ProcessHandle } }).binding('process_wrap');
    const P = binding.Process;
    return typeof P === 'function' && typeof P.prototype.spawn === 'function' && typeof P.prototype.kill === 'function' ? P : undefined;
  } catch {
    return undefined;
  }
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return (require('node:os') as typeof import('node:os')).constants.signals[signal];
}

/** Starts `file` (an absolute path) with `args`. */
export function spawnPlain(file: string, args: readonly string[], options: PlainSpawnOptions): PlainChild {
  return spawnWithHandle(file, args, options) ?? spawnWithChildProcess(file, args, options);
}

function spawnWithChildProcess(file: string, args: readonly string[], options: PlainSpawnOptions): PlainChild {
  const child = spawn(file, args, { env: options.env, stdio: [...options.stdio] });
  child.on('error', options.onError);
  child.on('exit', (code, signal) => options.onExit(code, signal));
  return {
    get pid() { return child.pid ?? 0; },
    kill: (signal) => { try { return child.kill(signal); } catch { return false; } },
  };
}

/** undefined when this Node's process handle is not the one we know: child_process then. */
function spawnWithHandle(file: string, args: readonly string[], options: PlainSpawnOptions): PlainChild | undefined {
  const Handle = processHandleClass();
  if (!Handle) return undefined;
  const handle = new Handle();
  let ended = false;
  handle.onexit = (exitCode, signalCode) => {
    ended = true;
    handle.close();
    options.onExit(signalCode ? null : exitCode, (signalCode || null) as NodeJS.Signals | null);
  };
  let err: number;
  try {
    err = handle.spawn({
      file,
      args: [file, ...args],
      envPairs: Object.entries(options.env).map(([k, v]) => `${k}=${v}`),
      stdio: options.stdio.map((s) => (s === 'ignore' ? { type: 'ignore' } : { type: 'fd', fd: s })),
      detached: false,
      windowsHide: false,
      windowsVerbatimArguments: false,
    });
  } catch {
    try { handle.close(); } catch { /* never opened */ }
    return undefined; /* options it does not take: not the handle we know */
  }
  if (err) {
    handle.close();
    ended = true;
    const code = (require('node:util') as typeof import('node:util')).getSystemErrorName(err);
    options.onError(Object.assign(new Error(`spawn ${file} ${code}`), { code, errno: err, syscall: 'spawn', path: file }));
  }
  return {
    pid: handle.pid ?? 0,
    kill: (signal) => {
      const n = signalNumber(signal);
      return !ended && n !== undefined && handle.kill(n) === 0;
    },
  };
}
