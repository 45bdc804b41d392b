/**
 * `export NAME`: a sandbox's whole filesystem (image layers plus its writable layer) as
 * one tar stream, as `podman export`. The layers are stacked read-only in a mount
 * namespace of our own, inside the user's namespace (so files of other ids keep them):
 * an overlay with only lower directories needs no work directory and changes nothing,
 * so it works the same for running and stopped sandboxes, and never sees the running
 * sandbox's /proc, /sys or volumes.
 */
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { ensureStoreDir } from '../state/store-dirs.js';
import { findSandbox } from '../state/sandboxes.js';
import { sandboxDir, sandboxDirs } from '../state/sandbox-dir.js';
import { findTool } from '../runtime/host-tools.js';
import { startInUserns } from '../runtime/userns.js';
import { copyOnWrite } from '../runtime/cow.js';
import { resolveRoot } from './run.js';

/** The shell step run as root of the user's namespace, in a new mount namespace: mount, tar, done. */
const SCRIPT = [
  'set -e',
  'MNT=$1 LOWERS=$2 FUSE=$3 BASE=$4',
  // Lower layers are short names relative to BASE (the mount options must fit in a page).
  'if [ -n "$BASE" ]; then cd "$BASE"; fi',
  'if [ -n "$FUSE" ]; then "$FUSE" -o "lowerdir=$LOWERS" "$MNT"; else mount -t overlay overlay -o "ro,userxattr,lowerdir=$LOWERS" "$MNT"; fi',
  'set +e',
  'tar -C "$MNT" -c -f - --numeric-owner --xattrs --xattrs-include="user.*" --xattrs-include=security.capability .',
  'status=$?',
  'if [ -n "$FUSE" ]; then fusermount3 -u "$MNT" 2>/dev/null || fusermount -u "$MNT" 2>/dev/null || true; fi',
  'exit $status',
].join('\n');

export async function exportSandbox(paths: StorePaths, ref: string, output: Writable): Promise<void> {
  const record = findSandbox(paths, ref);
  const { root } = resolveRoot(paths, record.imageId ? { ...record.request, image: record.imageId } : record.request);
  if (root.kind !== 'layers') {
    throw new SandboxError(`sandbox ${record.name} runs on the host's own directories (image host): there is nothing of its own to export`, {
      hint: 'copy what you need with `sandbox cp NAME:/path -`',
    });
  }
  const lowers = [sandboxDirs(sandboxDir(paths, record.id)).upper, ...root.lowers].join(':');
  const cow = await copyOnWrite(paths);
  const unshare = findTool('unshare');
  if (!unshare) throw new SandboxError('unshare is needed for export', { hint: 'sudo apt-get install util-linux' });
  // The mount point only exists in our mount namespace's view; the directory itself is ours to remove.
  const { mkdtempSync, rmdirSync } = require('node:fs') as typeof import('node:fs');
  const mnt = mkdtempSync(join(ensureStoreDir(paths, 'runtime'), 'export-'));
  const run = startInUserns([unshare, '-m', 'sh', '-c', SCRIPT, 'export', mnt, lowers, cow.mode === 'fuse' ? cow.fuseOverlayfs : '', root.base ?? ''], {
    stdout: true,
    captureStderr: true,
    failure: (reason, status) => new SandboxError(`cannot export sandbox ${record.name}: ${reason ?? status}`, {
      hint: 'see `sandbox doctor`; a layer of its image may be missing (`sandbox system check`)',
    }),
  });
  const drained = new Promise<void>((resolve) => { run.stdout!.on('end', resolve); run.stdout!.on('close', resolve); });
  // An output that cannot be written (no such directory, a closed pipe) ends the tar too:
  // otherwise it would wait forever on a pipe nobody reads.
  const writeFailed = new Promise<never>((_resolve, reject) => {
    const fail = (err: Error) => {
      (run.stdout as NodeJS.ReadableStream & { destroy(): void }).destroy();
      const code = (err as NodeJS.ErrnoException).code;
      reject(new SandboxError(`cannot write the export of ${record.name}: ${code ?? err.message}`, {
        hint: code === 'EPIPE' ? 'the reader of the output went away' : 'check that the destination is writable',
        cause: err,
      }));
    };
    if (output.errored) fail(output.errored);
    else output.once('error', fail);
  });
  run.done.catch(() => { /* a write failure is the reason then */ });
  run.stdout!.pipe(output, { end: false });
  try {
    await Promise.race([Promise.all([run.done, drained]), writeFailed]);
  } finally {
    try { rmdirSync(mnt); } catch { /* still mounted somewhere? leave it */ }
  }
}
