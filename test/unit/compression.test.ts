/** Compressed layers and tarballs: recognising the compression by the first bytes, and decompressing. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxError } from '../../src/errors.js';
import { decompressStream, detectCompression, fileCompression } from '../../src/images/compression.js';

const bytes = (...b: number[]) => Buffer.from(b);

describe('detectCompression', () => {
  it('gzip: 1f 8b', () => {
    assert.equal(detectCompression(bytes(0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0)), 'gzip');
    assert.equal(detectCompression(gzipSync(Buffer.from('hello')).subarray(0, 8)), 'gzip');
  });

  it('xz: fd 37 7a 58 5a 00', () => {
    assert.equal(detectCompression(bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04)), 'xz');
  });

  it('zstd: 28 b5 2f fd', () => {
    assert.equal(detectCompression(bytes(0x28, 0xb5, 0x2f, 0xfd, 0x24, 0, 0, 0)), 'zstd');
  });

  it('bzip2: "BZh"', () => {
    assert.equal(detectCompression(Buffer.from('BZh91AY&')), 'bzip2');
  });

  it('none: a plain tar header, or too few bytes', () => {
    assert.equal(detectCompression(Buffer.from('./etc/\0\0')), 'none');
    assert.equal(detectCompression(Buffer.alloc(8)), 'none');
    assert.equal(detectCompression(Buffer.alloc(0)), 'none');
    assert.equal(detectCompression(bytes(0x1f)), 'none');
  });

  it('near misses are not taken for compressed data', () => {
    assert.equal(detectCompression(bytes(0x1f, 0x8c, 0, 0, 0, 0, 0, 0)), 'none');
    assert.equal(detectCompression(bytes(0x8b, 0x1f, 0, 0, 0, 0, 0, 0)), 'none');
    assert.equal(detectCompression(bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01, 0, 0)), 'none');
    assert.equal(detectCompression(bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a)), 'none');
    assert.equal(detectCompression(bytes(0x28, 0xb5, 0x2f, 0xfe, 0, 0, 0, 0)), 'none');
    assert.equal(detectCompression(Buffer.from('BZ')), 'none');
    assert.equal(detectCompression(Buffer.from('bzh91AY&')), 'none');
  });
});

describe('fileCompression', () => {
  it('reads the first bytes of a file, short or empty ones too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-compression-'));
    writeFileSync(join(dir, 'a.gz'), gzipSync(Buffer.from('hello')));
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'short'), Buffer.from([0x1f]));
    assert.equal(fileCompression(join(dir, 'a.gz')), 'gzip');
    assert.equal(fileCompression(join(dir, 'empty')), 'none');
    assert.equal(fileCompression(join(dir, 'short')), 'none');
    rmSync(dir, { recursive: true });
  });
});

describe('decompressStream through the zstd tool', () => {
  const plain = randomBytes(3 << 20);
  const zstd = spawnSync('zstd', ['-q', '-c'], { input: plain, maxBuffer: 16 << 20 });
  const read = async (input: Buffer): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of decompressStream(Readable.from([input]), 'zstd')) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  it('gives back the bytes that were compressed', async () => {
    assert.equal(zstd.status, 0, 'zstd is needed for this test: apt-get install zstd');
    assert.ok((await read(zstd.stdout)).equals(plain));
  });

  it('fails, never ends cleanly, when the data is cut short (the tool exits non-zero)', async () => {
    await assert.rejects(read(zstd.stdout.subarray(0, zstd.stdout.length >> 1)), (err: unknown) => {
      assert.ok(err instanceof SandboxError, String(err));
      assert.match(err.message, /^cannot decompress \(zstd\): .+/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  });

  it('names the package when the tool is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(read(zstd.stdout), (err: unknown) => {
        assert.ok(err instanceof SandboxError, String(err));
        assert.equal(err.message, 'zstd is needed to read zstd-compressed data');
        assert.equal(err.hint, 'sudo apt-get install zstd');
        return true;
      });
    } finally {
      process.env.PATH = path;
    }
  });
});
