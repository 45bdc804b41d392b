/**
 * `top`: the processes inside a running sandbox, read from the host's /proc.
 *
 * Which processes: every host process whose pid namespace (readlink /proc/P/ns/pid) is
 * the one of the sandbox's command. Exec'd processes are in it too although their parent
 * (the exec helper) is outside, so walking the init's descendants would miss them. The
 * init itself is not dumpable (on purpose), so its namespace link cannot be read: it is
 * added by its recorded pid (it is PID 1 of that namespace by construction).
 *
 * Per process: /proc/P/status (NSpid: the last number is the pid inside; Uid),
 * /proc/P/stat (state, utime+stime, start time), /proc/P/cmdline (a zombie has none:
 * shown as `[comm]`, like ps). Users are mapped back through the sandbox's uid map and
 * named from its /etc/passwd (through /proc/P/root) when readable, else numeric.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, type SandboxRecord } from '../state/sandboxes.js';
import { commandPid, initPid } from '../state/sandbox-dir.js';
import { userIdMaps } from '../runtime/userns.js';
import type { IdMapping } from '../runtime/idmap.js';
import { currentState } from './lifecycle.js';

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux ABI Node runs on. */
export const CLOCK_TICKS = 100;

export interface ProcStat {
  /** Pid on the host. */
  hostPid: number;
  /** Pid inside the sandbox (last NSpid entry). */
  pid: number;
  /** Parent pid on the host. */
  hostPpid: number;
  /** Uid on the host (real uid). */
  hostUid: number;
  /** One letter: R S D Z T t X I ... */
  state: string;
  comm: string;
  /** Arguments; empty for zombies and kernel threads. */
  argv: string[];
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Start time after boot, in clock ticks (with hostPid, names one process for good). */
  startTicks: number;
  /** Resident set, bytes (0 for zombies). */
  rssBytes: number;
}

export interface TopProcess {
  pid: number;
  hostPid: number;
  /** Name inside (from the sandbox's /etc/passwd), else the uid inside as a number; `?` when unmapped. */
  user: string;
  uid: number | null;
  /** Cumulated CPU time, `[DD-]HH:MM:SS` as ps prints it. */
  time: string;
  cpuSeconds: number;
  stat: string;
  command: string;
}

export interface TopResult {
  id: string;
  name: string;
  processes: TopProcess[];
  zombies: number;
  /** The name of PID 1 inside: `sandbox-init` when it is ours, else its comm. */
  pid1: string;
}

function readOr(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

/** Parses /proc/P/stat and /proc/P/status (+ cmdline); undefined when the process is gone. */
function readProc(hostPid: number): ProcStat | undefined {
  const stat = readOr(`/proc/${hostPid}/stat`);
  const status = readOr(`/proc/${hostPid}/status`);
  if (!stat || !status) return undefined;
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(open + 1, close);
  // Fields after the comm, numbered from 3 (state) as in proc(5).
  const f = stat.slice(close + 2).trim().split(/\s+/);
  const field = (n: number): number => Number(f[n - 3] ?? 0);
  const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/).map(Number) ?? [hostPid];
  const uid = Number(/^Uid:\s*(\d+)/m.exec(status)?.[1] ?? -1);
  const rssKb = Number(/^VmRSS:\s*(\d+)/m.exec(status)?.[1] ?? 0);
  const cmdline = readOr(`/proc/${hostPid}/cmdline`) ?? '';
  return {
    hostPid,
    pid: nspid[nspid.length - 1] ?? hostPid,
    hostPpid: field(4),
    hostUid: uid,
    state: f[0] ?? '?',
    comm,
    argv: cmdline.split('\0').filter((s, i, a) => !(s === '' && i === a.length - 1)),
    cpuTicks: field(14) + field(15),
    startTicks: field(22),
    rssBytes: rssKb * 1024,
  };
}

function notRunning(record: SandboxRecord): SandboxError {
  return new SandboxError(`sandbox ${record.name} is not running`, { hint: `start it with \`sandbox start ${record.name}\`` });
}

export interface SandboxProcesses {
  record: SandboxRecord;
  init: number;
  command: number;
  processes: ProcStat[];
}

/** The processes of a running sandbox (init first); throws a SandboxError when it is not running. */
export function sandboxProcesses(paths: StorePaths, record: SandboxRecord): SandboxProcesses {
  if (currentState(paths, record).status !== 'running') throw notRunning(record);
  const init = initPid(paths, record);
  const command = commandPid(paths, record);
  if (!init || !command) throw notRunning(record);
  let ns: string;
  try { ns = readlinkSync(`/proc/${command}/ns/pid`); } catch { throw notRunning(record); }
  const processes: ProcStat[] = [];
  const initStat = readProc(init);
  if (initStat) processes.push(initStat);
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!pid || pid === init) continue;
    let link: string;
    try { link = readlinkSync(`/proc/${pid}/ns/pid`); } catch { continue; } // another user's, or gone
    if (link !== ns) continue;
    const p = readProc(pid);
    if (p) processes.push(p);
  }
  processes.sort((a, b) => a.pid - b.pid);
  return { record, init, command, processes };
}

/** The sandbox's uid map as the kernel has it (through its command), else the one we would write. */
function uidMap(commandPid: number): IdMapping[] {
  const text = readOr(`/proc/${commandPid}/uid_map`);
  const maps = (text ?? '').split('\n').map((l) => l.trim().split(/\s+/).map(Number))
    .filter((n) => n.length === 3 && n.every(Number.isFinite))
    .map(([inside, outside, count]) => ({ inside: inside!, outside: outside!, count: count! }));
  return maps.length ? maps : userIdMaps().uid;
}

/** The uid inside for a host uid, or undefined when it is not mapped. Pure. */
function insideId(maps: IdMapping[], hostId: number): number | undefined {
  for (const m of maps) if (hostId >= m.outside && hostId < m.outside + m.count) return m.inside + hostId - m.outside;
  return undefined;
}

/** uid -> name from an /etc/passwd text. Pure. */
function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
  }
  return names;
}

/** CPU time as ps prints it: `HH:MM:SS`, with `D-` in front past a day. Pure. */
function cpuTime(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, '0')).join(':');
  return d ? `${d}-${hms}` : hms;
}

/** The processes inside a running sandbox, the number of zombies and the name of PID 1. */
export function topSandbox(paths: StorePaths, ref: string): TopResult {
  const record = findSandbox(paths, ref);
  const { init, command, processes } = sandboxProcesses(paths, record);
  const maps = uidMap(command);
  // The sandbox's root, through a process of it whose root we may read (the command's, usually).
  let passwd = new Map<number, string>();
  for (const p of [command, ...processes.map((x) => x.hostPid)]) {
    const text = readOr(`/proc/${p}/root/etc/passwd`);
    if (text !== undefined) { passwd = parsePasswd(text); break; }
  }
  const out: TopProcess[] = processes.map((p) => {
    const uid = insideId(maps, p.hostUid) ?? null;
    const zombie = p.state === 'Z';
    let commandText = p.argv.join(' ');
    if (zombie || !commandText) commandText = `[${p.comm}]${zombie ? ' <defunct>' : ''}`;
    if (p.hostPid === init && p.comm === 'sandbox-launch') commandText = 'sandbox-init';
    return {
      pid: p.pid,
      hostPid: p.hostPid,
      user: uid === null ? '?' : passwd.get(uid) ?? String(uid),
      uid,
      time: cpuTime(p.cpuTicks / CLOCK_TICKS),
      cpuSeconds: p.cpuTicks / CLOCK_TICKS,
      stat: p.state,
      command: commandText,
    };
  });
  const first = processes.find((p) => p.pid === 1);
  const pid1 = !first ? '?' : first.hostPid === init && first.comm === 'sandbox-launch' ? 'sandbox-init' : first.comm;
  return { id: record.id, name: record.name, processes: out, zombies: processes.filter((p) => p.state === 'Z').length, pid1 };
}
