/**
 * Health checks, log options and the stop timeout, the pure parts: the flags
 * (cli/health-options.ts, run-request.ts), the check a sandbox gets from flags and image
 * (state/health.ts), Podman's rules for a result, the image config's Healthcheck, the
 * inspect shapes, and the plan's --health-check.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunArgv } from '../../src/cli/run-option-table.js';
import { toRunRequest, type RunOptionsContext } from '../../src/cli/run-request.js';
import { parseHealthArgs, parseHealthCmd } from '../../src/cli/health-options.js';
import {
  applyHealthResult, healthCommand, healthOutput, inspectHealth, inspectHealthcheck, resolveHealthcheck, startingHealth,
  type HealthLogEntry, type HealthState,
} from '../../src/state/health.js';
import { runConfigOf, type OciImageConfig } from '../../src/images/config.js';
import { healthRunner, storeRootOf } from '../../src/api/healthcheck.js';
import { resolveStorePaths } from '../../src/state/paths.js';
import { buildLaunchArgs, type LaunchInput } from '../../src/runtime/plan.js';
import { sandboxDirs } from '../../src/state/sandbox-dir.js';
import { encodeWords, Flag } from '../../src/runtime/protocol.js';
import { throwsSandbox } from './assert-sandbox-error.js';

const ctx: RunOptionsContext = { env: { HOME: '/home/u' }, cwd: '/w', readFile: () => { throw new Error('no files'); } };
const req = (argv: string[]) => toRunRequest(parseRunArgv(argv), ctx);

describe('health flags', () => {
  it('--health-cmd: a shell command, a JSON array (exec form), none', () => {
    assert.deepEqual(parseHealthCmd('curl -f localhost || exit 1'), ['CMD-SHELL', 'curl -f localhost || exit 1']);
    assert.deepEqual(parseHealthCmd('["/bin/check", "a b"]'), ['CMD', '/bin/check', 'a b']);
    assert.deepEqual(parseHealthCmd('["CMD-SHELL", "exit 0"]'), ['CMD-SHELL', 'exit 0']);
    assert.deepEqual(parseHealthCmd('none'), ['NONE']);
    throwsSandbox(() => parseHealthCmd('[not json'), 'invalid --health-cmd "[not json": not a JSON array of strings');
    throwsSandbox(() => parseHealthCmd(' '), '--health-cmd is empty');
  });

  it('durations are Go durations; disable; only what was given is kept', () => {
    assert.deepEqual(parseHealthArgs({}), undefined);
    assert.deepEqual(parseHealthArgs({ healthInterval: '1m30s', healthTimeout: '500ms', healthStartPeriod: '0s', healthRetries: '5' }),
      { intervalMs: 90_000, timeoutMs: 500, startPeriodMs: 0, retries: 5 });
    assert.deepEqual(parseHealthArgs({ healthCmd: 'true', healthInterval: 'disable' }), { test: ['CMD-SHELL', 'true'], intervalMs: 0 });
    assert.deepEqual(parseHealthArgs({ noHealthcheck: true }), { test: ['NONE'] });
  });

  it("bad values are refused with Podman's words", () => {
    throwsSandbox(() => parseHealthArgs({ healthRetries: '0' }), 'healthcheck-retries must be greater than 0 (got "0")');
    throwsSandbox(() => parseHealthArgs({ healthRetries: 'x' }), 'healthcheck-retries must be greater than 0 (got "x")');
    throwsSandbox(() => parseHealthArgs({ healthTimeout: '0s' }), 'healthcheck-timeout must be at least 1 second');
    throwsSandbox(() => parseHealthArgs({ healthStartPeriod: '-1s' }), 'healthcheck-start-period must be 0 seconds or greater');
    throwsSandbox(() => parseHealthArgs({ healthInterval: 'soon' }), 'invalid healthcheck-interval: "soon" is not a duration');
    throwsSandbox(() => parseHealthArgs({ healthCmd: 'true', noHealthcheck: true }), 'cannot specify both --no-healthcheck and --health-cmd');
  });

  it('reach the RunRequest through the option table', () => {
    const r = req(['--health-cmd', 'echo ok', '--health-retries=2', '--no-healthcheck=false', 'bb']);
    assert.deepEqual(r.healthcheck, { test: ['CMD-SHELL', 'echo ok'], retries: 2 });
    assert.equal(req(['bb']).healthcheck, undefined);
  });
});

describe('the check a sandbox gets', () => {
  const image = { test: ['CMD', '/check'], intervalMs: 5000, retries: 4 };
  it("flags over the image's, Podman's defaults for the rest", () => {
    assert.deepEqual(resolveHealthcheck(undefined, image), { test: ['CMD', '/check'], intervalMs: 5000, timeoutMs: 30_000, startPeriodMs: 0, retries: 4 });
    assert.deepEqual(resolveHealthcheck({ retries: 1, intervalMs: 0 }, image), { test: ['CMD', '/check'], intervalMs: 0, timeoutMs: 30_000, startPeriodMs: 0, retries: 1 });
    assert.deepEqual(resolveHealthcheck({ test: ['CMD-SHELL', 'x'] }, image)?.test, ['CMD-SHELL', 'x']);
  });
  it('none: no command, NONE, or an unknown form', () => {
    assert.equal(resolveHealthcheck(undefined, undefined), undefined);
    assert.equal(resolveHealthcheck({ intervalMs: 1000 }, undefined), undefined, 'timing flags alone make no check');
    assert.equal(resolveHealthcheck({ test: ['NONE'] }, image), undefined, '--no-healthcheck drops the image check');
    assert.equal(resolveHealthcheck(undefined, { test: ['WHAT', 'x'] }), undefined);
  });
  it('CMD-SHELL runs through /bin/sh -c, CMD as it is', () => {
    assert.deepEqual(healthCommand(resolveHealthcheck({ test: ['CMD-SHELL', 'a; b'] }, undefined)!), ['/bin/sh', '-c', 'a; b']);
    assert.deepEqual(healthCommand(resolveHealthcheck({ test: ['CMD', '/c', 'x'] }, undefined)!), ['/c', 'x']);
  });
  it("the image config's Healthcheck (nanoseconds) becomes milliseconds; zeros are the defaults", () => {
    const config: OciImageConfig = {
      architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] },
      config: { Healthcheck: { Test: ['CMD-SHELL', 'echo hi'], Interval: 2e9, Timeout: 0, StartPeriod: 5e9, Retries: 0 } },
    };
    assert.deepEqual(runConfigOf(config).healthcheck, { test: ['CMD-SHELL', 'echo hi'], intervalMs: 2000, startPeriodMs: 5000 });
  });
});

describe("a result, by Podman's rules", () => {
  const entry = (code: number, n = 0): HealthLogEntry => ({ Start: `s${n}`, End: `e${n}`, ExitCode: code, Output: '' });
  it('a pass is healthy and ends the streak', () => {
    const failing: HealthState = { Status: 'starting', FailingStreak: 2, Log: [] };
    assert.deepEqual(applyHealthResult(failing, entry(0), 3, false), { Status: 'healthy', FailingStreak: 0, Log: [entry(0)] });
  });
  it('failures: still starting until `retries` in a row, then unhealthy', () => {
    let h: HealthState | undefined;
    h = applyHealthResult(h, entry(1), 2, false);
    assert.deepEqual([h.Status, h.FailingStreak], ['starting', 1]);
    h = applyHealthResult(h, entry(1), 2, false);
    assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 2]);
    h = applyHealthResult(h, entry(-1), 2, false);
    assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 3], 'a timeout is a failure');
    const healthy = applyHealthResult(undefined, entry(0), 3, false);
    assert.equal(applyHealthResult(healthy, entry(1), 3, false).Status, 'healthy', 'one failure of a healthy sandbox keeps it healthy');
  });
  it('failures in the start period do not count', () => {
    const h = applyHealthResult(undefined, entry(1), 1, true);
    assert.deepEqual([h.Status, h.FailingStreak, h.Log.length], ['starting', 0, 1]);
  });
  it('the last five results are kept', () => {
    let h: HealthState | undefined;
    for (let i = 0; i < 7; i++) h = applyHealthResult(h, entry(0, i), 3, false);
    assert.deepEqual(h!.Log.map((e) => e.Start), ['s2', 's3', 's4', 's5', 's6']);
  });
  it('a start begins again from starting, keeping the log', () => {
    assert.deepEqual(startingHealth({ Status: 'unhealthy', FailingStreak: 4, Log: [entry(1)] }), { Status: 'starting', FailingStreak: 0, Log: [entry(1)] });
  });
  it('output: one last newline dropped, at most 500 characters', () => {
    assert.equal(healthOutput('ok\n'), 'ok');
    assert.equal(healthOutput('a\nb\n\n'), 'a\nb\n');
    assert.equal(healthOutput('x'.repeat(600)).length, 500);
  });
});

describe('inspect shapes', () => {
  it('State.Health: empty without a check (Podman 4)', () => {
    assert.deepEqual(inspectHealth(undefined), { Status: '', FailingStreak: 0, Log: null });
    assert.deepEqual(inspectHealth(startingHealth()), { Status: 'starting', FailingStreak: 0, Log: null });
  });
  it("Config.Healthcheck: Docker's, in nanoseconds, StartPeriod when set", () => {
    assert.deepEqual(inspectHealthcheck({ test: ['CMD-SHELL', 'x'], intervalMs: 1000, retries: 2 }), { Test: ['CMD-SHELL', 'x'], Interval: 1e9, Timeout: 30e9, Retries: 2 });
    assert.deepEqual(inspectHealthcheck({ test: ['CMD', 'x'], startPeriodMs: 60_000 }), { Test: ['CMD', 'x'], StartPeriod: 60e9, Interval: 30e9, Timeout: 30e9, Retries: 3 });
  });
});

describe('log options and the stop timeout', () => {
  it('--log-driver, --log-opt max-size/max-file/path', () => {
    const r = req(['--log-driver', 'json-file', '--log-opt', 'max-size=8k', '--log-opt', 'max-file=1', '--log-opt', 'path=logs/a.log', 'bb']);
    assert.deepEqual([r.logDriver, r.logMaxSize, r.logMaxFiles, r.logPath], ['json-file', 8192, 1, '/w/logs/a.log']);
    assert.equal(req(['--log-driver=none', 'bb']).logDriver, 'none');
    throwsSandbox(() => req(['--log-driver', 'syslog', 'bb']), 'invalid log driver "syslog"', 'use --log-driver k8s-file|json-file|none');
    throwsSandbox(() => req(['--log-driver', 'journald', 'bb']), '--log-driver journald is not supported yet');
    throwsSandbox(() => req(['--log-opt', 'max-size=1x', 'bb']), "invalid size: '1x' in --log-opt max-size=1x");
    throwsSandbox(() => req(['--log-opt', 'max-file=3', 'bb']), '--log-opt max-file=3 is not supported yet: the log keeps at most one old file');
    throwsSandbox(() => req(['--log-opt', 'tag=x', 'bb']), 'unsupported --log-opt "tag=x"');
  });
  it('--stop-timeout: whole seconds', () => {
    assert.equal(req(['--stop-timeout', '3', 'bb']).stopTimeout, 3);
    assert.equal(req(['--stop-timeout=0', 'bb']).stopTimeout, 0);
    throwsSandbox(() => req(['--stop-timeout', '1.5', 'bb']), 'invalid --stop-timeout "1.5"');
  });
});

describe('the periodic runner', () => {
  it('the store root is passed on only for a --root store (an XDG one comes from the environment)', () => {
    const rooted = resolveStorePaths({ env: {}, uid: 1000, home: '/home/u', rootOverride: '/tmp/r' });
    assert.equal(storeRootOf(rooted), '/tmp/r');
    const xdg = resolveStorePaths({ env: { XDG_RUNTIME_DIR: '/run/user/1000' }, uid: 1000, home: '/home/u' });
    assert.equal(storeRootOf(xdg), undefined);
  });
  it('a --runroot store gives the runner --root and --runroot before the verb', () => {
    const paths = resolveStorePaths({ env: {}, uid: 1000, home: '/home/u', rootOverride: '/tmp/r', runrootOverride: '/tmp/live' });
    const runner = healthRunner(paths, 'abc');
    assert.deepEqual(runner.slice(2), ['--root', '/tmp/r', '--runroot', '/tmp/live', 'healthcheck', 'run', 'abc']);
    assert.deepEqual(healthRunner(resolveStorePaths({ env: {}, uid: 1000, home: '/home/u', rootOverride: '/tmp/r' }), 'abc').slice(2), ['--root', '/tmp/r', 'healthcheck', 'run', 'abc']);
  });
  it('the plan carries the interval and the runner as LENGTH:WORD', () => {
    const input: LaunchInput = {
      request: req(['bb', 'sleep', '1']), image: { env: [] }, root: { kind: 'layers', lowers: ['/l'] }, dirs: sandboxDirs('/d'), hostname: 'h',
      uidMaps: [], gidMaps: [], capabilities: [], cleanup: false,
      healthCheck: { intervalMs: 1500, runner: ['/usr/bin/node', '/x/bin/sandbox', 'healthcheck', 'run', 'id é'] },
    };
    const args = buildLaunchArgs({ ...input, request: { ...input.request, network: 'none' } });
    const at = args.indexOf(Flag.healthCheck);
    assert.deepEqual(args.slice(at, at + 3), [Flag.healthCheck, '1500', '13:/usr/bin/node14:/x/bin/sandbox11:healthcheck3:run5:id é']);
    assert.equal(encodeWords(['é']), '2:é', 'lengths in bytes');
  });
});
