/**
 * A small tar builder (and reader) for test fixtures: image layers, rootfs tarballs,
 * and the crafted, malicious archives the unpacker must refuse. Built on tar-stream.
 *
 *   const tar = await buildTar([
 *     dir('etc'),
 *     file('etc/hostname', 'box\n', { mode: 0o644, uid: 1000 }),
 *     { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
 *     whiteout('usr/share/doc'),  // usr/share/.wh.doc
 *     opaque('var/cache'),        // var/cache/.wh..wh..opq
 *   ]);
 *   const entries = await readTar(tar);  // [{ header, content }]
 *
 * Entries are written in the order given, names exactly as given (`../x` and `/x`
 * included: that is the point for malicious fixtures).
 */
import { pack as tarPack, extract as tarExtract, type Header } from 'tar-stream';

type Headers = Partial<Header> & Pick<Header, 'name'>;

export type LayerEntryType = 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

export interface LayerEntry {
  /** The archive path, written verbatim. */
  name: string;
  /** Default 'file'. */
  type?: LayerEntryType;
  /** Permission bits incl. setuid/setgid/sticky. Default 0o644 (files), 0o755 (dirs), 0o777 (symlinks). */
  mode?: number;
  /** Default 0. */
  uid?: number;
  gid?: number;
  /** Seconds since the epoch, or a Date. Default 1700000000 (fixed: archives are reproducible). */
  mtime?: number | Date;
  /** Target of a symlink or hard link. */
  linkname?: string;
  /** File content. Default empty. */
  content?: string | Buffer;
  /** Extra PAX records (key -> value), e.g. { 'SCHILY.xattr.user.x': 'y' }. */
  pax?: Record<string, string | Buffer>;
  /** Extended attributes, written as PAX `SCHILY.xattr.NAME` records. */
  xattrs?: Record<string, string | Buffer>;
  /** Write a long name (or link target) as a GNU `././@LongLink` record instead of PAX. */
  gnuLongName?: boolean;
  /** For 'char' and 'block'. */
  devmajor?: number;
  devminor?: number;
}

export interface BuildOptions {
  /** Write the two zero blocks that end an archive. Default true. */
  endMarker?: boolean;
}

export const DEFAULT_MTIME = 1700000000;

const TYPES: Record<LayerEntryType, NonNullable<Headers['type']>> = {
  file: 'file', dir: 'directory', symlink: 'symlink', link: 'link', char: 'character-device', block: 'block-device', fifo: 'fifo',
};

/** A regular file entry. */
export function file(name: string, content: string | Buffer = '', extra: Partial<LayerEntry> = {}): LayerEntry {
  return { ...extra, name, type: 'file', content };
}

/** A directory entry. */
export function dir(name: string, extra: Partial<LayerEntry> = {}): LayerEntry {
  return { ...extra, name, type: 'dir' };
}

/** A symlink entry. */
export function symlink(name: string, target: string, extra: Partial<LayerEntry> = {}): LayerEntry {
  return { ...extra, name, type: 'symlink', linkname: target };
}

/** A hard link entry: `name` becomes another name of `target` (an earlier entry). */
export function hardlink(name: string, target: string, extra: Partial<LayerEntry> = {}): LayerEntry {
  return { ...extra, name, type: 'link', linkname: target };
}

/** The OCI whiteout deleting `path` from lower layers: `dir/.wh.base`. */
export function whiteout(path: string): LayerEntry {
  const i = path.lastIndexOf('/');
  return file(i < 0 ? `.wh.${path}` : `${path.slice(0, i)}/.wh.${path.slice(i + 1)}`);
}

/** The OCI opaque marker: `dir/.wh..wh..opq` hides everything lower layers have in `dir`. */
export function opaque(dirPath: string): LayerEntry {
  return file(`${dirPath.replace(/\/+$/, '')}/.wh..wh..opq`);
}

// --- raw records tar-stream does not write (GNU long names, binary PAX values) ---

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function rawHeader(name: string, typeflag: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0);
  h.write(typeflag, 156, 1, 'latin1');
  h.write('ustar\0' + '00', 257, 8, 'latin1');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest ? Buffer.concat([data, Buffer.alloc(512 - rest)]) : data;
}

function record(typeflag: string, data: Buffer): Buffer {
  return Buffer.concat([rawHeader(typeflag === 'x' ? 'PaxHeader' : '././@LongLink', typeflag, data.length), padded(data)]);
}

function paxRecords(fields: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), body]));
  }
  return Buffer.concat(parts);
}

/** One entry as tar-stream writes it, without the end marker. */
async function packOne(h: Headers, content: Buffer): Promise<Buffer> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  p.entry(h, content);
  p.finalize();
  for await (const c of p) chunks.push(c as Buffer);
  const all = Buffer.concat(chunks);
  return all.subarray(0, all.length - 1024);
}

/** The bytes of one entry (with any PAX or GNU records it needs). */
export async function entryBytes(e: LayerEntry): Promise<Buffer> {
  const type = e.type ?? 'file';
  const content = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
  const pax: Record<string, string | Buffer> = { ...(e.pax ?? {}) };
  for (const [k, v] of Object.entries(e.xattrs ?? {})) pax[`SCHILY.xattr.${k}`] = v;
  const pre: Buffer[] = [];
  let name = e.name;
  let linkname = e.linkname;
  if (e.gnuLongName) {
    if (Buffer.byteLength(name) >= 100) { pre.push(record('L', Buffer.from(name + '\0'))); name = name.slice(0, 99); }
    if (linkname && Buffer.byteLength(linkname) >= 100) { pre.push(record('K', Buffer.from(linkname + '\0'))); linkname = linkname.slice(0, 99); }
  } else if (Object.keys(pax).length) {
    // Our own PAX record (tar-stream mangles binary values such as security.capability).
    if (Buffer.byteLength(name) >= 100) { pax.path = name; name = name.slice(0, 99); }
    if (linkname && Buffer.byteLength(linkname) >= 100) { pax.linkpath = linkname; linkname = linkname.slice(0, 99); }
  }
  if (Object.keys(pax).length) pre.push(record('x', paxRecords(pax)));
  const mtime = e.mtime instanceof Date ? e.mtime : new Date((e.mtime ?? DEFAULT_MTIME) * 1000);
  const h: Headers = {
    name,
    type: TYPES[type],
    mode: e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    mtime,
    size: content.length,
    linkname: linkname ?? undefined,
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
  };
  return Buffer.concat([...pre, await packOne(h, content)]);
}

/** An uncompressed tar archive of the entries, in order. */
export async function buildTar(entries: LayerEntry[], options: BuildOptions = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const e of entries) parts.push(await entryBytes(e));
  if (options.endMarker ?? true) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export interface ReadEntry {
  header: Header & { pax?: Record<string, string> | null };
  content: Buffer;
}

/** Parses an archive (PAX and GNU records applied) into its entries, in order. */
export async function readTar(input: Buffer | NodeJS.ReadableStream): Promise<ReadEntry[]> {
  const x = tarExtract();
  const out: ReadEntry[] = [];
  const done = (async () => {
    for await (const entry of x) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      out.push({ header: entry.header as ReadEntry['header'], content: Buffer.concat(chunks) });
    }
  })();
  if (Buffer.isBuffer(input)) x.end(input);
  else (input as NodeJS.ReadableStream).pipe(x as unknown as NodeJS.WritableStream);
  await done;
  return out;
}
