/** Podman's global options (src/cli/global-options.ts): where the verb is, and what is refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyGlobals, leadingGlobals, storeArgs, storeArgsOfWords, takesNextWord } from '../../src/cli/global-options.js';
import { SandboxError } from '../../src/errors.js';

test('leadingGlobals finds the verb after any global options, in any spelling', () => {
  const r = leadingGlobals(['--log-level', 'debug', '--root=/r', '-D', '--runroot', '/rr', '--noout', 'ps', '--root', '/x']);
  assert.equal(r.at, 7);
  assert.deepEqual(r.values, { 'log-level': 'debug', root: '/r', debug: true, runroot: '/rr', noout: true });
  // Normalised for yargs: one word each, long names; the words after the verb untouched.
  assert.deepEqual(r.words, ['--log-level=debug', '--root=/r', '--debug', '--runroot=/rr', '--noout', 'ps', '--root', '/x']);
  assert.deepEqual(storeArgs(r.values), { root: '/r', runroot: '/rr' });
});

test('leadingGlobals stops at the first word that is not a global option', () => {
  assert.equal(leadingGlobals(['ps', '-a']).at, 0);
  assert.equal(leadingGlobals(['--bogus', 'ps']).at, 0);
  assert.equal(leadingGlobals(['--root', '/r', '--bogus', 'ps']).at, 2);
  assert.throws(() => leadingGlobals(['--root']), /"--root" needs a value/);
});

test('the last of a repeated option wins', () => {
  assert.equal(leadingGlobals(['--root', '/a', '--root', '/b', 'ps']).values.root, '/b');
  assert.deepEqual(storeArgsOfWords(['--root', '/a', 'ps', '--root=/b', '--', '--root', '/c']), { root: '/b' });
});

test('values Podman refuses, and options that cannot work here, are one SandboxError each', () => {
  const refused = (values: Record<string, string | boolean>, pattern: RegExp) =>
    assert.throws(() => applyGlobals(values), (err: unknown) => err instanceof SandboxError && err.exitCode === 125 && pattern.test(err.message) && !!err.hint);
  refused({ 'log-level': 'loud' }, /^--log-level loud: not one of trace, debug/);
  refused({ 'cgroup-manager': 'bogus' }, /^--cgroup-manager bogus: not one of cgroupfs, systemd$/);
  refused({ 'storage-driver': 'vfs' }, /^--storage-driver vfs: not supported/);
  refused({ 'events-backend': 'journald' }, /^--events-backend journald: not supported/);
  refused({ url: 'unix:/run/podman.sock' }, /^--url unix:\/run\/podman.sock: refused: there is no service/);
  refused({ remote: true }, /^--remote: refused/);
  refused({ connection: 'x' }, /^--connection x: refused/);
  // What we do, or what changes nothing here, is accepted.
  applyGlobals({ 'storage-driver': 'overlay', 'events-backend': 'none', 'cgroup-manager': 'systemd', runtime: 'crun', 'log-level': 'warn' });
});

test('takesNextWord: the global options whose value is the next word', () => {
  assert.equal(takesNextWord('--root'), true);
  assert.equal(takesNextWord('--log-level'), true);
  assert.equal(takesNextWord('--root=/x'), false);
  assert.equal(takesNextWord('--noout'), false);
  assert.equal(takesNextWord('-r'), false);
});
