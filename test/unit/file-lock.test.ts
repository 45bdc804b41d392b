import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withFileLock, type FileLockOptions } from '../../src/state/file-lock.js';

function lockIn(dir: string, extra: Partial<FileLockOptions> = {}): FileLockOptions {
  return { dir, lockPath: join(dir, '.lock'), staleMs: 5_000, waitMs: 2_000, busy: () => new Error('busy'), ...extra };
}

test('withFileLock: holders take turns, and the lock is free again afterwards', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-lock-'));
  try {
    const order: string[] = [];
    const holder = (name: string) => withFileLock(lockIn(dir), async () => {
      order.push(`${name} in`);
      await new Promise((r) => setTimeout(r, 50));
      order.push(`${name} out`);
    });
    await Promise.all([holder('a'), holder('b')]);
    // Never two inside at once, whoever went first.
    assert.ok(order[1]!.endsWith('out') && order[3]!.endsWith('out') && order[0]!.slice(0, 1) === order[1]!.slice(0, 1), order.join(', '));
    assert.equal(await withFileLock(lockIn(dir), () => 42), 42);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('withFileLock: a live holder past waitMs is the caller\'s busy error; a missing directory its missing error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-lock-'));
  try {
    let inner: unknown;
    await withFileLock(lockIn(dir), async () => {
      inner = await withFileLock(lockIn(dir, { waitMs: 100 }), () => 'got it').catch((e: Error) => e.message);
    });
    assert.equal(inner, 'busy');
    await assert.rejects(withFileLock(lockIn(join(dir, 'gone'), { missing: () => new Error('no such thing') }), () => 1), /no such thing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('withFileLock: with mayVanish, a directory renamed away while held is no error', async () => {
  const base = mkdtempSync(join(tmpdir(), 'file-lock-'));
  try {
    const dir = join(base, 'box');
    mkdirSync(dir);
    const got = await withFileLock(lockIn(dir, { mayVanish: true }), () => {
      renameSync(dir, join(base, '.removing-box'));
      return 'done';
    });
    assert.equal(got, 'done');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
