/** Crash-safe writes: the file appears whole, no temporary file is left behind. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonIfExists, writeFileAtomic, writeJsonAtomic } from '../../src/state/atomic.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'sandbox-atomic-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

describe('writeFileAtomic', () => {
  it('writes the content and leaves only the target in the directory', () => {
    const d = join(dir, 'one');
    mkdirSync(d);
    writeFileAtomic(join(d, 'f.txt'), 'hello');
    assert.equal(readFileSync(join(d, 'f.txt'), 'utf8'), 'hello');
    assert.deepEqual(readdirSync(d), ['f.txt']);
  });

  it('replaces an existing file whole, with bytes too, and still leaves no temp file', () => {
    const d = join(dir, 'two');
    mkdirSync(d);
    writeFileSync(join(d, 'f'), 'a much longer old content');
    writeFileAtomic(join(d, 'f'), new Uint8Array([0, 1, 2, 255]));
    assert.deepEqual([...readFileSync(join(d, 'f'))], [0, 1, 2, 255]);
    for (let i = 0; i < 5; i++) writeFileAtomic(join(d, 'f'), `v${i}`);
    assert.equal(readFileSync(join(d, 'f'), 'utf8'), 'v4');
    assert.deepEqual(readdirSync(d), ['f']);
  });

  it('uses the given mode (0644 by default)', () => {
    const d = join(dir, 'mode');
    mkdirSync(d);
    const old = process.umask(0o022);
    try {
      writeFileAtomic(join(d, 'default'), 'x');
      writeFileAtomic(join(d, 'private'), 'x', 0o600);
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(join(d, 'default')).mode & 0o777, 0o644);
    assert.equal(statSync(join(d, 'private')).mode & 0o777, 0o600);
  });

  it('a failed rename (target is a non-empty directory) throws and removes the temp file', () => {
    const d = join(dir, 'fail');
    mkdirSync(join(d, 'target', 'child'), { recursive: true });
    assert.throws(() => writeFileAtomic(join(d, 'target'), 'x'));
    assert.deepEqual(readdirSync(d), ['target']);
  });

  it('a missing directory is an error, nothing is created', () => {
    assert.throws(() => writeFileAtomic(join(dir, 'nope', 'f'), 'x'), { code: 'ENOENT' });
  });
});

describe('writeJsonAtomic / readJsonIfExists', () => {
  it('round-trips a value; the file is pretty JSON ending with a newline', () => {
    const f = join(dir, 'v.json');
    writeJsonAtomic(f, { a: 1, b: ['x'] });
    assert.equal(readFileSync(f, 'utf8'), '{\n  "a": 1,\n  "b": [\n    "x"\n  ]\n}\n');
    assert.deepEqual(readJsonIfExists(f), { a: 1, b: ['x'] });
  });

  it('is undefined for a missing file or directory', () => {
    assert.equal(readJsonIfExists(join(dir, 'missing.json')), undefined);
    assert.equal(readJsonIfExists(join(dir, 'missing-dir', 'x.json')), undefined);
  });

  it('other errors are thrown: invalid JSON, a directory', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, '{ not json');
    assert.throws(() => readJsonIfExists(f), SyntaxError);
    assert.throws(() => readJsonIfExists(dir), { code: 'EISDIR' });
  });
});
