/**
 * `sandbox import TARBALL NAME[:TAG]`: a root filesystem tarball becomes a one-layer
 * image, as `podman import`. The tar is unpacked by GNU tar running as root of the
 * user's namespace, so files owned by other ids keep those ids inside sandboxes; the
 * layer's diff id is the sha256 of the uncompressed stream, computed on the way.
 */
import { createReadStream, mkdirSync, openSync, readSync, closeSync, renameSync, existsSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { randomHex } from '../state/random.js';
import { createGunzip } from 'node:zlib';
import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { basename, join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { runInUserns, removeTree } from '../runtime/userns.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { newRootfsConfig } from './config.js';
import { addImage, writeConfigBlob, layerDir } from './store.js';
import { parseImageRef } from './refs.js';

type Compression = 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
}

function decompressed(file: string, compression: Compression): Readable {
  const raw = createReadStream(file);
  if (compression === 'none') return raw;
  if (compression === 'gzip') return raw.pipe(createGunzip());
  const tool = { xz: 'xz', zstd: 'zstd', bzip2: 'bzip2' }[compression];
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.on('error', () => {
    out.destroy(new SandboxError(`${tool} is needed to read this tarball`, { hint: `sudo apt-get install ${tool === 'xz' ? 'xz-utils' : tool}` }));
  });
  raw.pipe(child.stdin);
  const out = new PassThrough();
  child.stdout.pipe(out);
  return out;
}

export interface ImportOptions {
  changes?: string[];
  message?: string;
}

/** Imports a rootfs tarball; returns the new image's id. */
export async function importTarball(paths: StorePaths, tarball: string, reference: string, options: ImportOptions = {}): Promise<string> {
  parseImageRef(reference); // validate before any work
  let size: number;
  try {
    size = statSync(tarball).size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SandboxError(`cannot read ${tarball}: ${code === 'ENOENT' ? 'no such file' : code ?? String(err)}`, { hint: 'give the path of a tar archive of a root filesystem' });
  }
  const head = Buffer.alloc(8);
  const fd = openSync(tarball, 'r');
  readSync(fd, head, 0, 8, 0);
  closeSync(fd);

  const layers = join(paths.data, 'layers');
  mkdirSync(layers, { recursive: true });
  const staging = join(layers, `.import-${randomHex(6)}`);
  mkdirSync(join(staging, 'diff'), { recursive: true });
  const hash = createHash('sha256');
  const stream = decompressed(tarball, detectCompression(head));
  const tee = new PassThrough();
  // A broken input (truncated gzip, say) stops tar and fails the import with its reason.
  const abort = new AbortController();
  let inputError: Error | undefined;
  const fail = (err: Error) => { inputError ??= err; abort.abort(); tee.end(); };
  stream.on('data', (chunk: Buffer) => hash.update(chunk));
  stream.on('error', fail);
  stream.pipe(tee);
  try {
    await runInUserns(
      ['tar', '-x', '-f', '-', '-C', join(staging, 'diff'), '--numeric-owner', '--same-owner', '--same-permissions',
        // Device nodes cannot be made without real root; sandboxes get a fresh /dev anyway.
        '--exclude=./dev/*', '--exclude=dev/*'],
      { stdin: tee, captureStderr: true, signal: abort.signal },
    );
    if (inputError) throw inputError;
  } catch (err) {
    await removeTree(staging).catch(() => {});
    const why = (inputError ?? err) instanceof Error ? (inputError ?? (err as Error)).message : String(err);
    throw new SandboxError(`cannot unpack ${tarball}: ${why}`, {
      hint: /Cannot change ownership|Invalid argument/.test(why)
        ? 'the tarball has files owned by ids outside your /etc/subuid range (see `sandbox doctor`)'
        : 'is it a whole tar archive (optionally gzip, xz, zstd or bzip2 compressed)?',
    });
  }
  const diffId = `sha256:${hash.digest('hex')}`;
  writeJsonAtomic(join(staging, 'layer.json'), { diffId, size, source: basename(tarball) });
  const final = layerDir(paths, diffId);
  if (existsSync(final)) await removeTree(staging);
  else {
    try {
      renameSync(staging, final);
    } catch (err) {
      await removeTree(staging);
      if (!existsSync(final)) throw err; // a parallel import of the same layer won the rename
    }
  }
  const config = newRootfsConfig(diffId, options.changes ?? [], `sandbox import ${basename(tarball)}`);
  if (options.message) config.history = [{ ...config.history![0], comment: options.message }];
  const id = await writeConfigBlob(paths, config);
  await addImage(paths, { id, layers: [diffId], created: config.created!, size }, [reference]);
  return id;
}
