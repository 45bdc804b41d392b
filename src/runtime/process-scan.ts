/**
 * Who uses what: a scan of this user's processes (`system check`, `container prune`). A
 * process "uses" a path when it has a file or its working directory there, names it on
 * its command line (fuse-overlayfs), or has it mounted in its mount namespace (a
 * sandbox's init). One pass over /proc, then any number of questions (`pidsUsing`).
 */
import { readFileSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';

export interface ProcessScan {
  /** pid -> everything the process refers to (command line, cwd, open files, its mounts), newline-separated. */
  refs: Map<number, string>;
  exe: Map<number, string>;
  mntNs: Map<number, string>;
}

function tryReadlink(path: string): string {
  try { return readlinkSync(path); } catch { return ''; }
}

function tryRead(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

/** Reads what every process of ours refers to; mount tables once per mount namespace. */
export function scanProcesses(): ProcessScan {
  const uid = process.getuid?.() ?? 0;
  const scan: ProcessScan = { refs: new Map(), exe: new Map(), mntNs: new Map() };
  const mountsOfNs = new Map<string, string>();
  let pids: string[];
  try { pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)); } catch { return scan; }
  for (const p of pids) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    let st: Stats;
    try { st = statSync(`/proc/${p}`); } catch { continue; }
    if (st.uid !== uid) continue;
    const parts: string[] = [tryRead(`/proc/${p}/cmdline`).split('\0').join(' '), tryReadlink(`/proc/${p}/cwd`)];
    try {
      for (const fd of readdirSync(`/proc/${p}/fd`)) parts.push(tryReadlink(`/proc/${p}/fd/${fd}`));
    } catch { /* gone, or not ours to read */ }
    const ns = tryReadlink(`/proc/${p}/ns/mnt`);
    if (ns) {
      let mounts = mountsOfNs.get(ns);
      if (mounts === undefined) {
        mounts = tryRead(`/proc/${p}/mountinfo`);
        mountsOfNs.set(ns, mounts);
      }
      parts.push(mounts);
      scan.mntNs.set(pid, ns);
    }
    scan.refs.set(pid, parts.join('\n'));
    scan.exe.set(pid, tryReadlink(`/proc/${p}/exe`));
  }
  return scan;
}

/** The pids (of ours) that refer to `needle` (a path, or a unique part of one). */
export function pidsUsing(scan: ProcessScan, needle: string): number[] {
  const out: number[] = [];
  for (const [pid, refs] of scan.refs) if (refs.includes(needle)) out.push(pid);
  return out;
}
