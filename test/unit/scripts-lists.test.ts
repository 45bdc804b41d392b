/** Issue 18, items 3 and 8 (listing options, outputs scripts parse): the pure parts. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderRows, table } from '../../src/cli/format.js';
import { lastValueWins, oneLine } from '../../src/cli/yargs-cli.js';
import { shortCommand } from '../../src/cli/commands/ps.js';
import { versionText } from '../../src/cli/commands/version.js';
import { parseVolumeOptions } from '../../src/cli/volume-options.js';
import { SandboxError } from '../../src/errors.js';

function assertSandboxError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof SandboxError && message.test(err.message) && !err.message.includes('\n'));
}

test('--noheading: the rows only, aligned as with the header; nothing at all for no rows', () => {
  assert.equal(table(['A', 'LONG HEADER'], [['x', 'y']]), 'A   LONG HEADER\nx   y\n');
  assert.equal(table(['NAME', 'B'], [['x', 'y']], true), 'x      y\n');
  assert.equal(table(['A'], [], true), '');
  assert.equal(table(['A'], []), 'A\n');
  assert.equal(renderRows('table {{.N}}', [{ N: 'v' }], true), 'v\n');
  assert.equal(renderRows('table {{.N}}', [{ N: 'v' }]), 'N\nv\n');
});

test('an option given twice that takes one value: the last counts; repeatable ones keep all', () => {
  const argv: Record<string, unknown> = { _: ['ps'], format: ['json', '{{.Names}}'], filter: ['a=1', 'b=2'], n: [1, 3] };
  lastValueWins(argv, ['filter']);
  assert.deepEqual(argv, { _: ['ps'], format: '{{.Names}}', filter: ['a=1', 'b=2'], n: 3 });
});

test("yargs' messages of several lines become one", () => {
  assert.equal(oneLine('Invalid values:\n  Argument: sort, Given: "x", Choices: "a", "b"\n'), 'Invalid values: Argument: sort, Given: "x", Choices: "a", "b"');
});

test("ps COMMAND as Podman's: unquoted, longer than 17 characters cut to 17 and ...", () => {
  assert.equal(shortCommand(['sleep', '100'], false), 'sleep 100');
  assert.equal(shortCommand(['echo', '123456789012'], false), 'echo 123456789012');
  assert.equal(shortCommand(['echo', '1234567890123'], false), 'echo 123456789012...');
  assert.equal(shortCommand(['echo', '1234567890123'], true), 'echo 1234567890123');
});

test("version: Podman's Version: line for scripts", () => {
  const text = versionText({ APIVersion: '1.2.3', Version: '1.2.3', NodeVersion: 'v20.0.0', OsArch: 'linux/amd64', Os: 'linux' });
  assert.match(text, /^Version: {6}1\.2\.3$/m);
  assert.match(text, /^OS\/Arch: {6}linux\/amd64$/m);
});

test('volume create -o: tmpfs and bind volumes; a device, other keys and half a bind refused', () => {
  assert.deepEqual(parseVolumeOptions([]), { options: {} });
  const t = parseVolumeOptions(['type=tmpfs', 'device=tmpfs', 'o=size=10m,mode=1777']);
  assert.deepEqual(t.options, { type: 'tmpfs', device: 'tmpfs', o: 'size=10m,mode=1777' });
  assert.deepEqual(t.tmpfsOptions, ['size=10m', 'mode=1777', 'rw', 'nosuid', 'nodev', 'tmpcopyup']);
  assert.ok(!parseVolumeOptions(['type=tmpfs']).tmpfsOptions!.includes('noexec'), 'no noexec without o=, as Podman');
  assertSandboxError(() => parseVolumeOptions(['type=tmpfs', 'o=size=lots']), /invalid --tmpfs/);
  const dir = mkdtempSync(join(tmpdir(), 'vol-opt-'));
  try {
    assert.deepEqual(parseVolumeOptions(['type=none', 'o=bind', `device=${dir}`]).options, { type: 'none', o: 'bind', device: dir });
    assertSandboxError(() => parseVolumeOptions(['type=none', 'o=bind,ro', `device=${dir}`]), /only bind or rbind/);
  } finally {
    rmSync(dir, { recursive: true });
  }
  assertSandboxError(() => parseVolumeOptions(['o=bind', 'device=/no/such/dir']), /no such directory/);
  assertSandboxError(() => parseVolumeOptions(['o=bind']), /needs device=/);
  assertSandboxError(() => parseVolumeOptions(['type=ext4', 'device=/dev/sdb']), /needs root/);
  assertSandboxError(() => parseVolumeOptions(['size=1']), /the options are type=, device= and o=/);
});
