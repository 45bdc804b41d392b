/** `sandbox import`: recognising the compression of a tarball from its first bytes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCompression, fileCompression } from '../../src/images/compression.js';

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
