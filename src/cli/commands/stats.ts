/**
 * `sandbox stats [--no-stream] [--format json] [NAME...]`: CPU %, memory, pids, network
 * and block I/O of running sandboxes (all of them without names). CPU, memory and pids
 * come from the sandbox's own cgroup when it has one, else from /proc (src/api/stats.ts):
 * the JSON's `source` says which. `--no-stream` prints one reading (two samples 500 ms
 * apart, as Docker's one interval); otherwise it refreshes every 2 s until Ctrl-C,
 * clearing the screen only when stdout is a terminal.
 */
import type { CommandModule } from 'yargs';
import { setTimeout as sleep } from 'node:timers/promises';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';
import { humanSize, table } from '../format.js';
import { sampleAll, statsBetween, statsOnce, statsTargets, type SandboxStats, type StatsSample } from '../../api/stats.js';

interface StatsArgs extends GlobalArgs {
  names: string[];
  stream?: boolean;
  format?: string;
}

const REFRESH_MS = 2000;

/** MEM USAGE: the usage, and ` / LIMIT` when a limit is in force (as Podman's MEM USAGE / LIMIT). */
function memoryText(s: SandboxStats): string {
  const size = (n: number) => humanSize(n, { binary: true, precision: 3 });
  return s.memoryLimitBytes ? `${size(s.memoryBytes)} / ${size(s.memoryLimitBytes)}` : size(s.memoryBytes);
}

function render(stats: SandboxStats[], json: boolean): string {
  if (json) {
    return JSON.stringify(stats.map((s) => ({
      id: s.id, name: s.name, cpuPercent: Number(s.cpuPercent.toFixed(2)), memoryBytes: s.memoryBytes, pids: s.pids,
      netRxBytes: s.netRxBytes, netTxBytes: s.netTxBytes, blockReadBytes: s.blockReadBytes, blockWriteBytes: s.blockWriteBytes,
      memoryLimitBytes: s.memoryLimitBytes, source: s.source,
    })), null, 2) + '\n';
  }
  return table(
    ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE', 'PIDS', 'NET I/O', 'BLOCK I/O'],
    stats.map((s) => [
      s.id.slice(0, 12), s.name, `${s.cpuPercent.toFixed(2)}%`, memoryText(s), String(s.pids),
      `${humanSize(s.netRxBytes, { precision: 3 })} / ${humanSize(s.netTxBytes, { precision: 3 })}`,
      `${humanSize(s.blockReadBytes, { precision: 3 })} / ${humanSize(s.blockWriteBytes, { precision: 3 })}`,
    ]),
  );
}

export const statsCommand: CommandModule<GlobalArgs, StatsArgs> = {
  command: 'stats [names..]',
  describe: 'Show CPU, memory, pids and I/O of running sandboxes (from their cgroup, else /proc)',
  builder: (y) => y
    .positional('names', { type: 'string', array: true, default: [], describe: 'Sandboxes (default: all running)' })
    .option('stream', { type: 'boolean', default: true, describe: 'Refresh every 2 s (--no-stream: print one reading and exit)' })
    .option('format', { type: 'string', choices: ['table', 'json'], describe: 'Output format' }),
  handler: async (argv) => {
    const paths = storePathsFromArgs(argv);
    const names = (argv.names ?? []).map(String);
    const json = argv.format === 'json';
    if (argv.stream === false) {
      process.stdout.write(render(await statsOnce(paths, names), json));
      return;
    }
    const tty = !!process.stdout.isTTY;
    let previous = new Map<string, StatsSample>();
    // The first reading after one short interval, then every REFRESH_MS against the previous one.
    const first = sampleAll(paths, statsTargets(paths, names), names.length > 0);
    for (const s of first) previous.set(s.id, s);
    await sleep(500);
    for (;;) {
      const samples = sampleAll(paths, statsTargets(paths, names), false);
      const stats = samples.map((s) => statsBetween(previous.get(s.id), s));
      previous = new Map(samples.map((s) => [s.id, s]));
      process.stdout.write((tty ? '\x1b[2J\x1b[H' : '') + render(stats, json));
      await sleep(REFRESH_MS);
    }
  },
};
