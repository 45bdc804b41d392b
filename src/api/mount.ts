/**
 * `mount NAME` / `unmount NAME`: a sandbox's root as a directory for the user, as rootless
 * Podman's: only inside `sandbox unshare` (a mount needs the namespace's root, and the
 * files' owners read right only with the sandboxes' id mapping), where it stays mounted
 * for as long as that namespace lives. A stopped sandbox's root is mounted (the image's
 * layers under its writable layer) on its `merged` directory. A running one is refused
 * (its root is mounted in its own namespace; see mountSandbox).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, listRecords, type SandboxRecord } from '../state/sandboxes.js';
import { commandPid, sandboxDir, sandboxDirs, sandboxesDir } from '../state/sandbox-dir.js';
import { currentState } from '../state/status.js';
import { findTool } from '../runtime/host-tools.js';
import { spawn } from '../runtime/spawn.js';
import { insideUnshare } from './unshare.js';
import { resolveRoot } from './run.js';

function requireUnshare(verb: string): void {
  if (insideUnshare()) return;
  throw new SandboxError(`cannot run \`sandbox ${verb}\` outside \`sandbox unshare\` (as rootless Podman: a mount needs the user namespace)`, {
    hint: `run it there: \`sandbox unshare\`, then \`sandbox ${verb} NAME\` in that shell; or in one go: sandbox unshare sh -c 'ls "$(sandbox mount NAME)"'`,
  });
}

/** Mount points (decoded) in this mount namespace, from /proc/self/mountinfo. */
function mountPointsHere(): string[] {
  let text = '';
  try { text = readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return []; }
  return text.split('\n').filter(Boolean).map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

function run(file: string, args: string[], cwd?: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 125, stderr: stderr.trim() }));
  });
}

/** Mounts the root of the stopped sandbox `record` on its merged directory. */
async function mountStopped(paths: StorePaths, record: SandboxRecord): Promise<string> {
  const dirs = sandboxDirs(sandboxDir(paths, record.id));
  if (mountPointsHere().includes(dirs.merged)) return dirs.merged;
  const { root } = resolveRoot(paths, record.imageId ? { ...record.request, image: record.imageId } : record.request);
  if (root.kind !== 'layers') {
    throw new SandboxError(`cannot mount sandbox ${record.name}: its root is your own system (the host image), one overlay per directory`, {
      hint: `its changes are under ${dirs.hostDirs}/*/upper; or use \`sandbox cp\` / \`sandbox exec\``,
    });
  }
  const { mkdirSync } = require('node:fs') as typeof import('node:fs');
  for (const d of [dirs.upper, dirs.work, dirs.merged]) mkdirSync(d, { recursive: true });
  // Lower layers relative to their directory (the mount's working directory): many
  // layers' full paths would not fit in one page of mount options.
  const opts = `lowerdir=${root.lowers.join(':')},upperdir=${dirs.upper},workdir=${dirs.work}`;
  const mount = findTool('mount') ?? '/bin/mount';
  const native = await run(mount, ['-t', 'overlay', 'overlay', '-o', `${opts},userxattr`, dirs.merged], root.base);
  if (native.code === 0) return dirs.merged;
  const fuse = findTool('fuse-overlayfs');
  const viaFuse = fuse ? await run(fuse, ['-o', opts, dirs.merged], root.base) : undefined;
  if (viaFuse?.code === 0) return dirs.merged;
  throw new SandboxError(`cannot mount the root of sandbox ${record.name}: ${native.stderr || `mount exited ${native.code}`}${viaFuse ? `; fuse-overlayfs: ${viaFuse.stderr}` : ''}`, {
    hint: '`sandbox doctor` checks overlay and fuse-overlayfs',
  });
}

/** `mount NAME`: the path where the sandbox's root can be read (and written) in this namespace. */
export async function mountSandbox(paths: StorePaths, ref: string): Promise<string> {
  requireUnshare('mount');
  const record = findSandbox(paths, ref);
  if (currentState(paths, record).status === 'running') {
    // Its overlay is mounted in its own mount namespace; a second mount of the same
    // writable layer would not be coherent with it, and /proc/PID/root of its command is
    // not reachable from this sibling user namespace.
    const pid = commandPid(paths, record);
    throw new SandboxError(`cannot mount sandbox ${record.name}: it is running, with its root mounted in its own namespace`, {
      hint: `stop it first (sandbox stop ${record.name}); meanwhile \`sandbox exec\` and \`sandbox cp\` reach its files${pid ? `, and outside \`sandbox unshare\` so does /proc/${pid}/root while it runs` : ''}`,
    });
  }
  return mountStopped(paths, record);
}

/** `unmount NAME`: undoes `mount` (nothing to do for a running sandbox); returns whether something was unmounted. */
export async function unmountSandbox(paths: StorePaths, ref: string): Promise<boolean> {
  requireUnshare('unmount');
  const record = findSandbox(paths, ref);
  const merged = sandboxDirs(sandboxDir(paths, record.id)).merged;
  if (!mountPointsHere().includes(merged)) return false;
  const r = await run(findTool('umount') ?? '/bin/umount', [merged]);
  if (r.code !== 0) throw new SandboxError(`cannot unmount ${merged}: ${r.stderr}`, { hint: 'is a process still using it (its working directory there)?' });
  return true;
}

/** `mount` without a name: the sandboxes mounted in this namespace, with where. */
export function mountedSandboxes(paths: StorePaths): { id: string; path: string }[] {
  requireUnshare('mount');
  const here = new Set(mountPointsHere());
  const out: { id: string; path: string }[] = [];
  for (const record of listRecords(paths)) {
    const merged = join(sandboxesDir(paths), record.id, 'merged');
    if (here.has(merged)) out.push({ id: record.id, path: merged });
  }
  return out;
}
