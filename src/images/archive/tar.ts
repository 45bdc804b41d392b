/**
 * Tar streams of image archives (docker-archive, oci-archive), over tar-stream. Reading
 * yields entries one at a time with their data as a stream, after undoing a compression
 * of the whole archive (`podman save | gzip`); writing takes entries one at a time with
 * backpressure, so a layer of gigabytes never sits in memory on either side.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract, pack as tarPack, type Pack } from 'tar-stream';
import { detectCompression, decompressStream } from '../compression.js';

export interface TarEntry {
  /** The entry's path, normalised (see `archivePath`); undefined for one that leaves the archive. */
  path: string | undefined;
  type: 'file' | 'link' | 'other';
  size: number;
  /** Target of a symlink or hard link, as written. */
  linkname?: string;
  /** The file's data; must be read to the end (or not at all: then it is skipped). */
  data: AsyncIterable<Buffer>;
}

/**
 * `./a//b/../c` -> `a/c`. An archive's own paths only: a path that climbs out of the
 * archive's root is no path of the archive (undefined).
 */
export function archivePath(name: string, base = ''): string | undefined {
  const out: string[] = base ? base.split('/') : [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

/** Where a symlink or hard link entry points, as an archive path. */
export function linkTarget(entryPath: string, linkname: string, hard: boolean): string | undefined {
  // Hard link names are relative to the archive's root, symlinks to their own directory.
  if (hard || linkname.startsWith('/')) return archivePath(linkname);
  const dir = entryPath.includes('/') ? entryPath.slice(0, entryPath.lastIndexOf('/')) : '';
  return archivePath(linkname, dir);
}

/** The first `n` bytes of a stream, and a stream of all of it (nothing is consumed). */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; all: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) { done = true; break; }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    chunks.push(chunk);
    have += chunk.length;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* chunks;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head: Buffer.concat(chunks).subarray(0, n), all: Readable.from(rest(), { objectMode: false, highWaterMark: 1 << 20 }) };
}

/**
 * The entries of a tar archive, plain or compressed as a whole (gzip, zstd, xz, bzip2).
 * A truncated or damaged archive ends the iteration with an error.
 */
export async function* readTar(input: Readable): AsyncGenerator<TarEntry> {
  const { head, all } = await peek(input, 8);
  if (head.length === 0) throw Object.assign(new Error('the archive is empty'), { code: 'EMPTY_ARCHIVE' });
  const plain = decompressStream(all, detectCompression(head));
  const extract = tarExtract();
  plain.on('error', (err) => extract.destroy(err));
  plain.pipe(extract);
  let complete = false;
  try {
    yield* entries(extract);
    complete = true;
  } finally {
    // A consumer that stopped early (a bad entry) stops the reading and any decompressor.
    if (!complete) { extract.destroy(); plain.destroy(); input.destroy(); }
  }
}

async function* entries(extract: ReturnType<typeof tarExtract>): AsyncGenerator<TarEntry> {
  for await (const entry of extract) {
    const h = entry.header;
    const type = h.type === 'file' || h.type === 'contiguous-file' ? 'file'
      : h.type === 'symlink' || h.type === 'link' ? 'link' : 'other';
    const path = archivePath(h.name);
    const linkname = type === 'link' && h.linkname
      ? (path === undefined ? undefined : linkTarget(path, h.linkname, h.type === 'link'))
      : undefined;
    // tar-stream's entries are streamx streams: async-iterable like Node's.
    const e: TarEntry = { path, type, size: h.size ?? 0, data: entry as unknown as AsyncIterable<Buffer> & { resume(): void } };
    if (type === 'link') e.linkname = linkname ?? '';
    yield e;
    // Whatever the consumer left unread is skipped, so that the next header comes.
    entry.resume();
  }
}

/** Writes a tar archive entry by entry into `out`; `finish` resolves when all is written. */
export class TarWriter {
  private readonly pack: Pack;
  private readonly done: Promise<void>;
  private readonly mtime = new Date(0);

  constructor(out: Writable) {
    this.pack = tarPack();
    this.done = pipeline(this.pack, out);
    this.done.catch(() => { /* surfaced by finish(), or by the entry that failed */ });
  }

  /** A small file held in memory (JSON documents). */
  addBytes(name: string, bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pack.entry({ name, size: bytes.length, mode: 0o644, mtime: this.mtime, uid: 0, gid: 0, type: 'file' }, bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** A file streamed from `source`, which must yield exactly `size` bytes. */
  async addStream(name: string, size: number, source: AsyncIterable<Uint8Array> | Readable): Promise<void> {
    let entryError: Error | null | undefined;
    const finished = new Promise<void>((resolve, reject) => {
      const sink = this.pack.entry({ name, size, mode: 0o644, mtime: this.mtime, uid: 0, gid: 0, type: 'file' }, (err) => {
        entryError = err;
        if (err) reject(err); else resolve();
      });
      pipeline(source instanceof Readable ? source : Readable.from(source), sink).catch((err) => {
        // A failed source must not leave a short entry behind: the whole archive is off.
        this.pack.destroy(err as Error);
        reject(err);
      });
    });
    await finished;
    if (entryError) throw entryError;
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }

  /** Abandons the archive (the output gets an error, the caller removes a partial file). */
  abort(err: Error): void {
    this.pack.destroy(err);
  }
}
