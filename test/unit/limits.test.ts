/**
 * Values over a system limit are one line naming the limit, at each value's own validator:
 * names (state/names.ts), hostname, paths (runtime/limits.ts through run-request and
 * exec-options), image references (images/refs.ts), environment and command strings
 * (runtime/plan.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { parseRunArgv } from '../../src/cli/run-option-table.js';
import { toRunRequest, type RunOptionsContext } from '../../src/cli/run-request.js';
import { parseExecArgv, toExecRequest } from '../../src/cli/exec-options.js';
import { checkName, MAX_NAME_LENGTH } from '../../src/state/names.js';
import { parseImageRef } from '../../src/images/refs.js';
import { buildEnv, resolveCommand } from '../../src/runtime/plan.js';
import { MAX_ARG_STRLEN, NAME_MAX, PATH_MAX } from '../../src/runtime/limits.js';
import { runRequest } from '../../src/api/index.js';

const ctx: RunOptionsContext = { env: { HOME: '/home/u' }, cwd: '/w', readFile: () => { throw new Error('no files'); } };
const run = (...argv: string[]) => toRunRequest(parseRunArgv([...argv, 'img', 'true']), ctx);

/** Throws one line (a SandboxError) that matches `why`, and quotes no value longer than a screen line. */
function refused(fn: () => unknown, why: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SandboxError, `a SandboxError, not ${String(e)}`);
    assert.match(e.message, why);
    assert.ok(!e.message.includes('\n') && e.message.length < 250, `one short line: ${e.message.slice(0, 300)}`);
    return true;
  });
}

describe('names of sandboxes and volumes (files in the store)', () => {
  it(`take up to ${MAX_NAME_LENGTH} characters, and say the limit beyond`, () => {
    assert.equal(checkName('a'.repeat(MAX_NAME_LENGTH), 'sandbox'), 'a'.repeat(MAX_NAME_LENGTH));
    refused(() => checkName('a'.repeat(MAX_NAME_LENGTH + 1), 'sandbox'), new RegExp(`sandbox name "a+\\.\\.\\." is ${MAX_NAME_LENGTH + 1} characters long: the limit is ${MAX_NAME_LENGTH}`));
    refused(() => run('--name', 'n'.repeat(300)), /sandbox name .* is 300 characters long: the limit is 200/);
    refused(() => run('-v', `${'v'.repeat(300)}:/data`), /volume name .* is 300 characters long: the limit is 200/);
    refused(() => checkName('v'.repeat(256), 'volume'), /volume name .* the limit is 200/);
    refused(() => checkName('-x', 'volume'), /invalid volume name "-x"/);
  });
  it('leave room for the store\'s temporary names within NAME_MAX', () => {
    assert.ok(MAX_NAME_LENGTH + '.removing-'.length + '-12345678'.length <= NAME_MAX);
    assert.ok(MAX_NAME_LENGTH + '.'.length + '.123456789abc.tmp'.length <= NAME_MAX);
  });
});

describe('--hostname', () => {
  it('takes 64 characters (HOST_NAME_MAX), and says so beyond', () => {
    assert.equal(run('--hostname', 'h'.repeat(63)).hostname, 'h'.repeat(63));
    refused(() => run('--hostname', `${'h'.repeat(60)}.${'h'.repeat(4)}`), /hostname .* is 65 characters long: the limit is 64 \(HOST_NAME_MAX\)/);
  });
});

describe('paths: PATH_MAX and NAME_MAX', () => {
  const long = `/${'p'.repeat(PATH_MAX)}`;
  const longComponent = `/x/${'c'.repeat(NAME_MAX + 1)}`;
  it('-w, -v (both sides) and --tmpfs', () => {
    refused(() => run('-w', long), /working directory .* is 4097 bytes long: the limit is 4095 \(PATH_MAX\)/);
    refused(() => run('-w', longComponent), /working directory .* has a component of 256 bytes: the limit is 255 \(NAME_MAX\)/);
    refused(() => run('-v', `/tmp:${long}`), /volume destination .* the limit is 4095 \(PATH_MAX\)/);
    refused(() => run('-v', `${long}:/x`), /host path of -v .* the limit is 4095 \(PATH_MAX\)/);
    refused(() => run('-v', `${longComponent}:/x`), /host path of -v .*\(NAME_MAX\)/);
    refused(() => run('--tmpfs', longComponent), /--tmpfs path .*\(NAME_MAX\)/);
    // Multi-byte characters count as the bytes the kernel sees.
    refused(() => run('-w', `/${'é'.repeat(128)}`), /has a component of 256 bytes/);
    assert.equal(run('-w', `/${'c'.repeat(NAME_MAX)}`).workdir, `/${'c'.repeat(NAME_MAX)}`);
  });
  it('exec -w', () => {
    const exec = (w: string) => toExecRequest(parseExecArgv(['-w', w, 'box', 'true']), { env: {}, readFile: () => '' });
    refused(() => exec(longComponent), /working directory .*\(NAME_MAX\)/);
    assert.equal(exec('/ok').workdir, '/ok');
  });
});

describe('image references (Docker\'s limits)', () => {
  it('a repository name of at most 255 characters, a tag of at most 128', () => {
    assert.equal(parseImageRef(`${'r'.repeat(255)}:t`).name.length, 255);
    refused(() => parseImageRef('r'.repeat(256)), /image name .* is 256 characters long: the limit is 255/);
    refused(() => parseImageRef(`example.com/${'r'.repeat(250)}`), /is 262 characters long: the limit is 255/);
    assert.equal(parseImageRef(`r:${'t'.repeat(128)}`).tag.length, 128);
    refused(() => parseImageRef(`r:${'t'.repeat(129)}`), /image tag .* is 129 characters long: the limit is 128/);
  });
});

describe('environment and command strings (MAX_ARG_STRLEN)', () => {
  const image = { env: [] as string[] };
  it('an environment entry over 128 KiB names the variable and the limit', () => {
    const big = 'x'.repeat(MAX_ARG_STRLEN);
    refused(() => buildEnv(image, runRequest('img', ['true'], { env: { BIG: big } }), 'h'), /environment variable BIG is 131076 bytes long: the limit is 131071 \(MAX_ARG_STRLEN/);
    refused(() => buildEnv({ env: [`FROM_IMAGE=${big}`] }, runRequest('img', ['true']), 'h'), /environment variable FROM_IMAGE/);
    const fits = 'x'.repeat(MAX_ARG_STRLEN - 'OK='.length - 1);
    assert.ok(buildEnv(image, runRequest('img', ['true'], { env: { OK: fits } }), 'h').includes(`OK=${fits}`));
  });
  it('a command argument over 128 KiB (an image\'s Cmd) too', () => {
    refused(() => resolveCommand({ env: [], cmd: ['echo', 'y'.repeat(MAX_ARG_STRLEN)] }, runRequest('img', [])), /command argument "y+\.\.\." is 131072 bytes long/);
  });
});
