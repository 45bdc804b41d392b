/**
 * An image archive read in one pass: archives come from pipes (`podman save | sandbox
 * load`) and name their contents only in a document that may come last (podman writes
 * manifest.json after the layers), so every file is taken as it passes. Small files stay
 * in memory; larger ones are hashed into temporary files beside the blob store, adopted
 * as blobs only once the whole archive has been read and judged, and removed otherwise:
 * nothing of a truncated or corrupt archive ever enters the store.
 */
import { readFileSync, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { SandboxError } from '../../errors.js';
import type { StorePaths } from '../../state/paths.js';
import { adoptBlob, digestOf, hasBlob, putBlobBytes, writeTempBlob, type StoreClaim } from '../blobs.js';
import { digestOfBlobFile } from './oci-archive.js';
import { readTar } from './tar.js';

/** Files up to this size are kept in memory (JSON documents, tiny layers)... */
const MEMORY_FILE_LIMIT = 1 << 20;
/** ...as long as all of them together stay under this. */
const MEMORY_TOTAL_LIMIT = 32 << 20;

export interface StagedFile {
  path: string;
  size: number;
  digest: string;
  /** The first bytes (compression magic). */
  head: Buffer;
  bytes?: Buffer;
  /** Temporary file holding the data, when not in memory. */
  temp?: string;
}

export class StagedArchive {
  readonly files = new Map<string, StagedFile>();
  readonly links = new Map<string, string>();

  /** The file at `path`, following symlinks and hard links (podman links `<id>/layer.tar`). */
  get(path: string): StagedFile | undefined {
    let p = path;
    for (let hops = 0; hops < 16; hops++) {
      const f = this.files.get(p);
      if (f) return f;
      const next = this.links.get(p);
      if (next === undefined) return undefined;
      p = next;
    }
    return undefined;
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  /** A file's bytes (JSON documents; large ones are read back from their temp file). */
  bytes(file: StagedFile): Buffer {
    return file.bytes ?? readFileSync(file.temp!);
  }

  /**
   * Puts a file into the blob store (once), claimed by the load's lease (after a failure
   * the lease's abandon removes what no image uses); its digest was computed on the way in.
   */
  async commit(paths: StorePaths, lease: StoreClaim, file: StagedFile): Promise<{ digest: string; size: number }> {
    await lease.claim({ blobs: [file.digest] });
    if (!hasBlob(paths, file.digest)) {
      if (file.bytes) await putBlobBytes(paths, lease, file.bytes, file.digest);
      else {
        await adoptBlob(paths, lease, { temp: file.temp!, digest: file.digest, size: file.size });
        delete file.temp;
      }
    }
    return { digest: file.digest, size: file.size };
  }

  /** Removes the temporary files left (always call, in a finally). */
  dispose(): void {
    for (const f of this.files.values()) if (f.temp) rmSync(f.temp, { force: true });
  }
}

/** Reads a tar archive (plain or compressed) into a StagedArchive. */
export async function stageArchive(
  paths: StorePaths, input: Readable, onBytes?: (n: number) => void,
): Promise<StagedArchive> {
  const staged = new StagedArchive();
  let inMemory = 0;
  try {
    for await (const entry of readTar(input)) {
      if (entry.path === undefined || entry.path === '') continue; // climbs out: no file of ours
      if (entry.type === 'link') {
        const replaced = staged.files.get(entry.path);
        if (replaced?.temp) rmSync(replaced.temp, { force: true });
        staged.files.delete(entry.path);
        if (entry.linkname) staged.links.set(entry.path, entry.linkname);
        continue;
      }
      if (entry.type !== 'file') continue;
      const previous = staged.files.get(entry.path);
      if (previous?.temp) rmSync(previous.temp, { force: true });
      staged.links.delete(entry.path);
      let file: StagedFile;
      if (entry.size <= MEMORY_FILE_LIMIT && inMemory + entry.size <= MEMORY_TOTAL_LIMIT) {
        const chunks: Buffer[] = [];
        for await (const c of entry.data) { chunks.push(c as Buffer); onBytes?.((c as Buffer).length); }
        const bytes = Buffer.concat(chunks);
        inMemory += bytes.length;
        file = { path: entry.path, size: bytes.length, digest: digestOf(bytes), head: bytes.subarray(0, 8), bytes };
      } else {
        file = await toTempFile(paths, entry.path, entry.data, onBytes);
      }
      // A layout's blob is named by its digest: a mismatch is a corrupt archive, found now.
      const claimed = digestOfBlobFile(entry.path);
      if (claimed && claimed !== file.digest) {
        if (file.temp) rmSync(file.temp, { force: true });
        throw new SandboxError(`the archive is corrupt: ${entry.path} does not match its digest (got ${file.digest})`, {
          hint: 'the archive was damaged in transit or on disk; write it again',
        });
      }
      staged.files.set(entry.path, file);
    }
  } catch (err) {
    staged.dispose();
    throw err;
  }
  return staged;
}

async function toTempFile(
  paths: StorePaths, path: string, data: AsyncIterable<unknown>, onBytes?: (n: number) => void,
): Promise<StagedFile> {
  const head: Buffer[] = [];
  let headLength = 0;
  const blob = await writeTempBlob(paths, data as AsyncIterable<Uint8Array>, {
    onChunk: (chunk) => {
      if (headLength < 8) { head.push(Buffer.from(chunk.subarray(0, 8))); headLength += Math.min(8, chunk.byteLength); }
      onBytes?.(chunk.byteLength);
    },
  });
  return { path, size: blob.size, digest: blob.digest, head: Buffer.concat(head).subarray(0, 8), temp: blob.temp };
}
