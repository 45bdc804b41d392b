/**
 * Compressed streams of layers and tarballs: detection by magic bytes, and the
 * decompressing stream. gzip runs in Node's zlib (on the thread pool, so layers
 * decompress in parallel); zstd, xz and bzip2 run their command-line tools, as Node 20's
 * zlib has no zstd.
 */
import { PassThrough, type Readable } from 'node:stream';
import { SandboxError } from '../errors.js';
import { spawn } from '../runtime/spawn.js';

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
  const child = spawn(tool.command, tool.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { if (stderr.length < 2000) stderr += d; });
  child.on('error', () => {
    out.destroy(new SandboxError(`${tool.command} is needed to read ${compression}-compressed data`, { hint: `sudo apt-get install ${tool.pkg}` }));
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) out.destroy(new SandboxError(`cannot decompress (${compression}): ${stderr.trim().split('\n')[0] ?? `exit ${code}`}`));
  });
  input.on('error', (err) => { child.kill('SIGKILL'); out.destroy(err); });
  out.on('close', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  child.stdin!.on('error', () => { /* the tool exited early; its status tells */ });
  input.pipe(child.stdin!);
  child.stdout!.pipe(out, { end: false });
  // End only when the tool is done AND succeeded, so a failure is never a clean end.
  let stdoutDone = false;
  let exitCode: number | null | undefined;
  const finish = () => { if (stdoutDone && exitCode === 0) out.end(); };
  child.stdout!.on('end', () => { stdoutDone = true; finish(); });
  child.on('exit', (code) => { exitCode = code; finish(); });
  return out;
}
