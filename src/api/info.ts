/**
 * `sandbox info` / `system info`: the host and the store, in the structure of `podman
 * info` (its JSON keys; the CLI gives templates Podman's Go field names, see
 * cli/commands/info.ts). Only what is true here: no cgroup manager, pods or networks are
 * claimed; the "OCI runtime" is our launch helper.
 */
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { availableParallelism, freemem, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { StorePaths } from '../state/paths.js';
import { readJsonIfExists } from '../state/atomic.js';
import { buildIdMappings, parseSubordinateIds } from '../runtime/idmap.js';
import { defaultCapabilities } from '../runtime/capabilities.js';
import { findTool, helperPath } from '../runtime/host-tools.js';
import { listSandboxes } from './lifecycle.js';
import { listImages } from './images.js';
import { GOARCH, SANDBOX_VERSION } from './version.js';


function readText(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

/** KEY=value lines (os-release) as a map. Pure. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return out;
}

/** Podman's uptime text: "2h 51m 11.00s (Approximately 0.08 days)". Pure. */
export function uptimeText(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = (seconds % 60).toFixed(2);
  return `${h}h ${m}m ${s}s (Approximately ${(seconds / 86400).toFixed(2)} days)`;
}

function meminfo(key: string): number {
  const m = new RegExp(`^${key}:\\s+([0-9]+) kB`, 'm').exec(readText('/proc/meminfo'));
  return m ? Number(m[1]) * 1024 : 0;
}

function idMap(file: '/etc/subuid' | '/etc/subgid', id: number, name: string | undefined) {
  return buildIdMappings(id, parseSubordinateIds(readText(file), { id, ...(name ? { name } : {}) }))
    .map((m) => ({ container_id: m.inside, host_id: m.outside, size: m.count }));
}

/** The first line a tool prints for --version ('' when it cannot be run). */
function toolVersion(path: string | undefined): string {
  if (!path) return '';
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim();
  } catch {
    return '';
  }
}

export async function systemInfo(paths: StorePaths): Promise<Record<string, unknown>> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const user = process.env.USER || process.env.LOGNAME;
  const os = parseOsRelease(readText('/etc/os-release'));
  const views = listSandboxes(paths, { all: true });
  const running = views.filter((v) => v.state.status === 'running' && !v.state.paused).length;
  const paused = views.filter((v) => v.state.paused).length;
  const images = new Set(listImages(paths).map((r) => r.id)).size;
  let allocated = 0;
  let used = 0;
  try {
    const fs = statfsSync(existsSync(paths.data) ? paths.data : '/');
    allocated = fs.blocks * fs.bsize;
    used = (fs.blocks - fs.bfree) * fs.bsize;
  } catch { /* unknown */ }
  const slirp = findTool('slirp4netns');
  const cow = readJsonIfExists<{ native?: boolean }>(join(paths.cache, 'copy-on-write.json'));
  const uptime = Number(readText('/proc/uptime').split(' ')[0]) || 0;
  const version = SANDBOX_VERSION;
  return {
    host: {
      arch: GOARCH[process.arch] ?? process.arch,
      cgroupVersion: existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1',
      cpus: availableParallelism(),
      distribution: { distribution: os.ID ?? 'unknown', version: os.VERSION_ID ?? '', codename: os.VERSION_CODENAME ?? '' },
      eventLogger: 'file',
      hostname: hostname(),
      idMappings: { gidmap: idMap('/etc/subgid', gid, user), uidmap: idMap('/etc/subuid', uid, user) },
      kernel: release(),
      memFree: freemem(),
      memTotal: totalmem(),
      ociRuntime: { name: 'sandbox-launch', path: helperPath(), version },
      os: 'linux',
      security: {
        apparmorEnabled: false, capabilities: defaultCapabilities().join(','), rootless: uid !== 0,
        // Every sandbox's command runs under a seccomp filter (runtime/seccomp/) where the kernel has them.
        seccompEnabled: existsSync('/proc/sys/kernel/seccomp/actions_avail'), seccompProfilePath: 'default', selinuxEnabled: false,
      },
      slirp4netns: { executable: slirp ?? '', version: toolVersion(slirp) },
      swapFree: meminfo('SwapFree'),
      swapTotal: meminfo('SwapTotal'),
      uptime: uptimeText(uptime),
    },
    store: {
      configFile: paths.config,
      containerStore: { number: views.length, paused, running, stopped: views.length - running - paused },
      // What the probe (runtime/cow.ts) chose on the first run; 'overlay' before any run.
      graphDriverName: cow && cow.native === false ? 'fuse-overlayfs' : 'overlay',
      graphRoot: paths.data,
      graphRootAllocated: allocated,
      graphRootUsed: used,
      imageStore: { number: images },
      runRoot: paths.runtime,
      volumePath: join(paths.data, 'volumes'),
    },
    version: {
      Version: version,
      NodeVersion: process.version,
      OsArch: `linux/${GOARCH[process.arch] ?? process.arch}`,
      Os: 'linux',
    },
  };
}
