/**
 * `child_process.spawn`, loaded on first use: node:child_process pulls in node:net and
 * streams (~10 ms of start-up), which commands that start no process should not pay.
 * A plain require, not import(): bin/sandbox runs the bundle through vm.Script.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';

export function spawn(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const cp = require('node:child_process') as typeof import('node:child_process');
  return cp.spawn(command, args, options);
}
