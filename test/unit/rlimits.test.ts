/** `--ulimit`: parsing as Podman, the check against the caller's hard limits, the helper's words for run and exec, inspect's shape. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';
import { checkUlimitsAllowed, inspectUlimits, parseHardLimits, parseUlimit, parseUlimits, rlimitArgs, ULIMIT_NAMES } from '../../src/runtime/rlimits.js';
import { parseRunArgv } from '../../src/cli/run-option-table.js';
import { toRunRequest } from '../../src/cli/run-request.js';
import { buildLaunchArgs, execArgs } from '../../src/runtime/plan.js';
import type { RunRequest } from '../../src/types.js';

function refused(fn: () => unknown, why: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SandboxError, String(e));
    assert.match(e.message, why);
    assert.ok(!e.message.includes('\n'));
    assert.ok(e.hint, 'a hint');
    assert.equal(e.exitCode, 125);
    return true;
  });
}

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max processes             96370                96370                processes
Max open files            1024                 4096                 files
Max locked memory         8388608              8388608              bytes
Max realtime timeout      unlimited            unlimited            us
`;

describe('--ulimit NAME=SOFT[:HARD]', () => {
  it('takes Podman\'s names, HARD defaulting to SOFT, -1 and unlimited for "as high as allowed"', () => {
    assert.deepEqual(parseUlimit('nofile=1024:2048'), { name: 'nofile', soft: 1024, hard: 2048 });
    assert.deepEqual(parseUlimit('nproc=30'), { name: 'nproc', soft: 30, hard: 30 });
    assert.deepEqual(parseUlimit('core=-1'), { name: 'core', soft: -1, hard: -1 });
    assert.deepEqual(parseUlimit('stack=8388608:unlimited'), { name: 'stack', soft: 8388608, hard: -1 });
    assert.equal(Object.keys(ULIMIT_NAMES).length, 15);
    for (const name of Object.keys(ULIMIT_NAMES)) assert.equal(parseUlimit(`${name}=0`).name, name);
  });
  it('refuses what Podman refuses, in one line with a hint', () => {
    refused(() => parseUlimit('nofile'), /invalid --ulimit "nofile": no "="/);
    refused(() => parseUlimit('foo=1'), /unknown limit "foo"/);
    refused(() => parseUlimit('nofile=200:100'), /the soft limit 200 is above the hard limit 100/);
    refused(() => parseUlimit('nofile=-1:100'), /soft limit unlimited is above the hard limit 100/);
    refused(() => parseUlimit('nofile=1:2:3'), /invalid --ulimit/);
    refused(() => parseUlimit('nofile=1k'), /"1k" is not a number/);
    refused(() => parseUlimit('nofile=-2'), /is not a number/);
    refused(() => parseUlimit('nofile='), /invalid --ulimit/);
  });
  it('is repeatable: a later one for the same name wins; `host` sets nothing', () => {
    assert.deepEqual(parseUlimits(['nofile=1', 'nproc=5', 'nofile=2:3', 'host']), [{ name: 'nofile', soft: 2, hard: 3 }, { name: 'nproc', soft: 5, hard: 5 }]);
    assert.deepEqual(parseUlimits(['host']), []);
  });
  it('reaches the request through run\'s options', () => {
    const ctx = { env: {}, cwd: '/', readFile: () => '' };
    const r = toRunRequest(parseRunArgv(['--ulimit', 'nofile=10:20', '--ulimit=nproc=7', 'img', 'true']), ctx);
    assert.deepEqual(r.ulimits, [{ name: 'nofile', soft: 10, hard: 20 }, { name: 'nproc', soft: 7, hard: 7 }]);
    assert.equal(toRunRequest(parseRunArgv(['img', 'true']), ctx).ulimits, undefined);
    refused(() => toRunRequest(parseRunArgv(['--ulimit', 'nofile=3:2', 'img']), ctx), /soft limit 3 is above/);
  });
});

describe('the caller\'s hard limits', () => {
  it('are read from /proc/PID/limits by Podman\'s names', () => {
    const hard = parseHardLimits(LIMITS);
    assert.equal(hard.get('nofile'), 4096);
    assert.equal(hard.get('nproc'), 96370);
    assert.equal(hard.get('cpu'), -1);
    assert.equal(hard.get('rttime'), -1);
    assert.equal(hard.get('core'), undefined);
  });
  it('bound what may be asked (a user cannot raise a hard limit); -1 is always allowed', () => {
    const hard = parseHardLimits(LIMITS);
    checkUlimitsAllowed([{ name: 'nofile', soft: 100, hard: 4096 }, { name: 'nofile', soft: -1, hard: -1 }, { name: 'cpu', soft: 9e9, hard: 9e9 }], hard);
    refused(() => checkUlimitsAllowed([{ name: 'nofile', soft: 100, hard: 4097 }], hard), /--ulimit nofile=100:4097: 4097 is above your own hard limit for nofile \(4096\)/);
    refused(() => checkUlimitsAllowed([{ name: 'nofile', soft: 5000, hard: -1 }], hard), /5000 is above your own hard limit/);
  });
  it('of this process are readable', async () => {
    const { callerHardLimits } = await import('../../src/runtime/rlimits.js');
    assert.ok(callerHardLimits().has('nofile'));
  });
});

describe('the helper\'s words and inspect', () => {
  const request = (over: Partial<RunRequest> = {}): RunRequest => ({
    image: 'bb', command: ['true'], remove: false, detach: false, interactive: false, tty: false, env: {}, volumes: [], tmpfs: [],
    readOnly: false, network: 'none', capAdd: [], capDrop: [], noNewPrivileges: false, labels: {}, ...over,
  });
  const ulimits = [{ name: 'nofile', soft: 10, hard: 20 }, { name: 'nproc', soft: -1, hard: -1 }];
  const words = ['--rlimit', 'nofile', '10', '20', '--rlimit', 'nproc', '-1', '-1'];
  const has = (args: string[], seq: string[]) => args.some((_, i) => seq.every((w, j) => args[i + j] === w));
  it('are --rlimit NAME SOFT HARD, before the command, for run and for exec', () => {
    assert.deepEqual(rlimitArgs(ulimits), words);
    assert.deepEqual(rlimitArgs(undefined), []);
    const run = buildLaunchArgs({
      request: request({ ulimits }), image: { env: [] }, root: { kind: 'layers', lowers: ['/l'] },
      dirs: { dir: '/d', upper: '/d/u', work: '/d/w', merged: '/d/m', hostDirs: '/d/h', hosts: '/d/hosts', hostname: '/d/hn', resolvConf: '/d/r', containerEnv: '/d/ce' },
      hostname: 'h', uidMaps: [], gidMaps: [], capabilities: [], cleanup: false,
    });
    assert.ok(has(run, words) && run.indexOf('--rlimit') < run.indexOf('--'), run.join(' '));
    const exec = execArgs({ request: request({ ulimits }), hostname: 'h' }, { env: [] }, { command: ['sh'], interactive: false, tty: false, env: {} }, 42);
    assert.ok(has(exec, words) && exec.indexOf('--rlimit') < exec.indexOf('--'), exec.join(' '));
    assert.ok(!execArgs({ request: request(), hostname: 'h' }, { env: [] }, { command: ['sh'], interactive: false, tty: false, env: {} }, 42).includes('--rlimit'));
  });
  it('shows HostConfig.Ulimits as Podman does', () => {
    assert.deepEqual(inspectUlimits(ulimits), [{ Name: 'RLIMIT_NOFILE', Soft: 10, Hard: 20 }, { Name: 'RLIMIT_NPROC', Soft: -1, Hard: -1 }]);
    assert.deepEqual(inspectUlimits(undefined), []);
  });
});
