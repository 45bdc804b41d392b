/**
 * Compressed streams of layers and tarballs: detection by magic bytes, and the
 * decompressing stream. gzip runs in Node's zlib (on the thread pool, so layers
 * decompress in parallel); zstd, xz and bzip2 run their command-line tools, as Node 20's
 * zlib has no zstd.
 */
import { PassThrough, type Readable } from 'node:stream';
import { SandboxError } from '../errors.js';
import { loadExeca } from '../execa.js';

export type StreamCompression = 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'none';

export function detectCompression(head: Buffer): StreamCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
}

/** The compression of a file, by its first bytes. */
export function fileCompression(path: string): StreamCompression {
  const { closeSync, openSync, readSync } = require('node:fs') as typeof import('node:fs');
  const head = Buffer.alloc(8);
  const fd = openSync(path, 'r');
  try {
    return detectCompression(head.subarray(0, readSync(fd, head, 0, 8, 0)));
  } finally {
    closeSync(fd);
  }
}

const TOOLS: Record<'xz' | 'zstd' | 'bzip2', { command: string; args: string[]; pkg: string }> = {
  xz: { command: 'xz', args: ['-dc', '-T0'], pkg: 'xz-utils' },
  zstd: { command: 'zstd', args: ['-dcq'], pkg: 'zstd' },
  bzip2: { command: 'bzip2', args: ['-dc'], pkg: 'bzip2' },
};

/** The decompressed bytes of `input`; errors of the input or the tool surface on the result. */
export function decompressStream(input: Readable, compression: StreamCompression): Readable {
  if (compression === 'none') return input;
  if (compression === 'gzip') {
    const { createGunzip } = require('node:zlib') as typeof import('node:zlib');
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    input.on('error', (err) => gunzip.destroy(err));
    return input.pipe(gunzip);
  }
  const tool = TOOLS[compression];
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  input.on('error', (err) => out.destroy(err));
  loadExeca().then(({ execa }) => {
    if (out.destroyed) return;
    // The tool's stdout is piped on as it comes (execa's duplex() reads it chunk by chunk,
    // 1.4 to 1.7 times slower here); execa's promise settles once the tool has exited and
    // its stdout has ended, so `out` ends only after a clean exit, and fails with the tool's error.
    const decompressor = execa(tool.command, tool.args, { buffer: { stdout: false, stderr: true } });
    decompressor.stdout.pipe(out, { end: false });
    decompressor.stdin.on('error', () => { /* the tool exited early: its status tells */ });
    input.pipe(decompressor.stdin);
    out.on('close', () => decompressor.kill('SIGKILL'));
    decompressor.then(() => out.end(), (err: Error & { code?: string; stderr?: unknown }) => {
      out.destroy(err.code === 'ENOENT'
        ? new SandboxError(`${tool.command} is needed to read ${compression}-compressed data`, { hint: `sudo apt-get install ${tool.pkg}` })
        : new SandboxError(`cannot decompress (${compression}): ${toolSaid(err)}`));
    });
  }, (err: unknown) => out.destroy(err as Error));
  return out;
}

/** The first line of what the tool said, else execa's short message (exit status or signal). */
function toolSaid(err: Error & { stderr?: unknown; shortMessage?: string }): string {
  const said = typeof err.stderr === 'string' ? err.stderr.trim().split('\n')[0] : '';
  return said || err.shortMessage || err.message;
}
