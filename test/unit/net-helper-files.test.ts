/** The names and pid files of network helpers (src/network/helper-files.ts; helpers/README.md "Network helpers"). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listHelperFiles, ownerLabel, ownerRuns, parseHelperFileName, parseHelperPidFile } from '../../src/network/helper-files.js';
import type { StorePaths } from '../../src/state/paths.js';

const ID = 'a'.repeat(64);

describe('network helper files', () => {
  it('a file name says its owner, its helper and what it is', () => {
    assert.deepEqual(parseHelperFileName(`${ID}.slirp4netns.pid`), { owner: ID, name: 'slirp4netns', what: 'pid' });
    assert.deepEqual(parseHelperFileName(`${ID}.pasta.pid.tmp`), { owner: ID, name: 'pasta', what: 'pid.tmp' });
    assert.deepEqual(parseHelperFileName('network-0123abc.switch.sock'), { owner: 'network-0123abc', name: 'switch', what: 'sock' });
    for (const bad of ['stray', `${ID}.pid`, '.x.pid', 'a..pid']) assert.equal(parseHelperFileName(bad), undefined, bad);
  });

  it('a pid file is "PID STARTTIME"', () => {
    assert.deepEqual(parseHelperPidFile('123 456\n'), { pid: 123, startTime: 456 });
    assert.deepEqual(parseHelperPidFile('123 456'), { pid: 123, startTime: 456 });
    for (const bad of ['', '123', '123 x\n', ' 1 2', '1 2\n3']) assert.equal(parseHelperPidFile(bad), undefined, bad);
  });

  it('owners: a sandbox by its id, other kinds by KIND-ID; an unknown kind or no owner is unknown', () => {
    const root = mkdtempSync(join(tmpdir(), 'net-helpers-'));
    try {
      const paths: StorePaths = { data: join(root, 'data'), runtime: join(root, 'run'), config: join(root, 'config'), cache: join(root, 'cache') };
      assert.equal(ownerRuns(paths, ID), false);
      assert.equal(ownerRuns(paths, 'nosuchkind-1234'), 'unknown');
      assert.equal(ownerRuns(paths, ''), 'unknown');
      assert.equal(ownerLabel(ID), `sandbox ${'a'.repeat(12)}`);
      assert.equal(ownerLabel('pod-12'), 'pod-12');

      mkdirSync(join(paths.runtime, 'net-helpers'), { recursive: true });
      writeFileSync(join(paths.runtime, 'net-helpers', `${ID}.slirp4netns.pid`), '99999999 1\n');
      writeFileSync(join(paths.runtime, 'net-helpers', `${ID}.pasta.sock`), '');
      writeFileSync(join(paths.runtime, 'net-helpers', 'stray'), '');
      const files = listHelperFiles(paths).sort((a, b) => a.path.localeCompare(b.path));
      assert.deepEqual(files.map((f) => [f.owner, f.name, f.what, f.pid]), [
        [ID, 'pasta', 'sock', undefined],
        [ID, 'slirp4netns', 'pid', 99999999],
        ['', '', 'stray', undefined],
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
