/** Stores in temporary directories for the unit tests: one home for the store layout they use. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { resolveStorePaths, type StorePaths } from '../../src/state/paths.js';

/** The store below `root`, laid out as `--root` lays it out (data, run, config, cache). */
export function storeAt(root: string): StorePaths {
  return resolveStorePaths({ env: {}, uid: process.getuid?.() ?? 0, home: '/', rootOverride: root });
}

/** A new store in a fresh temporary directory (`prefix` names it); the test removes it. */
export function tempStore(prefix: string): StorePaths {
  return storeAt(mkdtempSync(join(tmpdir(), prefix)));
}

/**
 * A maker of fresh, empty stores for one test file (or suite): each call gives a new store
 * below one temporary directory, which is removed after the file's (or suite's) tests.
 */
export function tempStores(prefix: string): () => StorePaths {
  const base = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(base, { recursive: true, force: true }));
  let n = 0;
  return () => storeAt(join(base, `s${n++}`));
}
