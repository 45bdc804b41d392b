import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseExecArgv, toExecRequest } from '../../src/cli/exec-options.js';
import { execArgs, type ExecRequest } from '../../src/api/exec.js';
import { encodePlanForEnv } from '../../src/runtime/launch.js';
import type { ContainerRecord } from '../../src/state/containers.js';
import type { RunRequest } from '../../src/api/types.js';
import { SandboxError } from '../../src/errors.js';

const ctx = { env: { HOST_VAR: 'from-host' }, readFile: (p: string) => (p === '/env' ? 'A=1\n# c\nB=2\n' : '') };

describe('parseExecArgv', () => {
  it('takes options before the name and the command verbatim after it', () => {
    const a = parseExecArgv(['-it', '-e', 'K=V', '--workdir=/w', 'box', 'sh', '-c', 'ls -l', '-e']);
    assert.equal(a.name, 'box');
    assert.deepEqual(a.command, ['sh', '-c', 'ls -l', '-e']);
    assert.equal(a.interactive, true);
    assert.equal(a.tty, true);
    assert.deepEqual(a.env, ['K=V']);
    assert.equal(a.workdir, '/w');
  });

  it('reads a value glued to a short flag, after =, or as the next word; -- ends the options', () => {
    const a = parseExecArgv(['-uapp', '-w=/tmp', '--env-file', '/env', '--', 'box', '--', 'x']);
    assert.equal(a.user, 'app');
    assert.equal(a.workdir, '/tmp');
    assert.deepEqual(a.envFile, ['/env']);
    assert.equal(a.name, 'box');
    assert.deepEqual(a.command, ['x']);
  });

  it('refuses unknown options and missing values, with the usage as the hint', () => {
    assert.throws(() => parseExecArgv(['--nope', 'box', 'true']), (e: unknown) => e instanceof SandboxError && /--nope/.test(e.message) && !!e.hint);
    assert.throws(() => parseExecArgv(['-itx', 'box', 'true']), /-x/);
    assert.throws(() => parseExecArgv(['-e']), /needs a value/);
  });
});

describe('toExecRequest', () => {
  it('merges --env-file, then -e (K alone copies ours); a relative -w is refused', () => {
    const r = toExecRequest(parseExecArgv(['--env-file', '/env', '-e', 'B=3', '-e', 'HOST_VAR', 'box', 'true']), ctx);
    assert.deepEqual(r.env, { A: '1', B: '3', HOST_VAR: 'from-host' });
    assert.throws(() => toExecRequest(parseExecArgv(['-w', 'rel', 'box', 'true']), ctx), /absolute/);
    assert.throws(() => toExecRequest(parseExecArgv(['box']), ctx), /requires a command/);
    assert.throws(() => toExecRequest(parseExecArgv([]), ctx), /requires a sandbox name/);
  });
});

function record(over: Partial<RunRequest> = {}): ContainerRecord {
  const request = {
    image: 'bb', command: ['sleep', '600'], remove: false, detach: true, interactive: false, tty: false,
    env: { FROM_RUN: 'r', SHARED: 'run' }, volumes: [], tmpfs: [], readOnly: false, network: 'none',
    capAdd: [], capDrop: [], noNewPrivileges: false, labels: {}, ...over,
  } as RunRequest;
  return { id: 'a'.repeat(64), name: 'box', created: '', image: 'bb', command: request.command, hostname: 'aaaaaaaaaaaa', request, state: { status: 'running', pid: 2 } };
}

const req = (over: Partial<ExecRequest> = {}): ExecRequest => ({ command: ['true'], interactive: false, tty: false, detach: false, env: {}, ...over });
const image = { env: ['PATH=/image/bin', 'SHARED=image'], workingDir: '/srv', user: 'app' };

function envOf(args: string[]): string[] {
  return args.flatMap((a, i) => (args[i - 1] === '--env' ? [a] : []));
}

describe('execArgs', () => {
  it("joins the target; the image's environment, run's -e over it, exec's -e over that", () => {
    const args = execArgs(record(), image, req({ env: { SHARED: 'exec', NEW: 'n' } }), 42);
    assert.deepEqual(args.slice(0, 2), ['--target', '42']);
    assert.deepEqual(envOf(args), ['PATH=/image/bin', 'SHARED=exec', 'container=sandbox', 'HOSTNAME=aaaaaaaaaaaa', 'FROM_RUN=r', 'NEW=n']);
    assert.deepEqual(args.slice(args.indexOf('--')), ['--', 'true']);
  });

  it("takes the working directory and user of exec, else of run, else of the image", () => {
    const fromImage = execArgs(record(), image, req(), 1);
    assert.equal(fromImage[fromImage.indexOf('--chdir') + 1], '/srv');
    assert.equal(fromImage[fromImage.indexOf('--user') + 1], 'app');
    const fromRun = execArgs(record({ workdir: '/run', user: '0' }), image, req(), 1);
    assert.equal(fromRun[fromRun.indexOf('--chdir') + 1], '/run');
    assert.equal(fromRun[fromRun.indexOf('--user') + 1], '0');
    const fromExec = execArgs(record({ workdir: '/run' }), image, req({ workdir: '/x', user: '5:5' }), 1);
    assert.equal(fromExec[fromExec.indexOf('--chdir') + 1], '/x');
    assert.equal(fromExec[fromExec.indexOf('--user') + 1], '5:5');
  });

  it('-t sets TERM and asks for a terminal; -i adds stdin only with -t (without it, stdin is simply passed)', () => {
    const t = execArgs(record(), image, req({ tty: true, interactive: true }), 1);
    assert.ok(t.includes('--tty') && t.includes('--stdin'));
    assert.ok(envOf(t).includes('TERM=xterm'));
    const i = execArgs(record(), image, req({ interactive: true }), 1);
    assert.ok(!i.includes('--tty') && !i.includes('--stdin'));
  });

  it("keeps the host's network namespace of a --network host sandbox; capabilities and no_new_privs as at run", () => {
    assert.ok(execArgs(record({ network: 'host' }), image, req(), 1).includes('--exec-host-net'));
    assert.ok(!execArgs(record(), image, req(), 1).includes('--exec-host-net'));
    const a = execArgs(record({ capDrop: ['ALL'], capAdd: ['NET_RAW'], noNewPrivileges: true }), image, req(), 1);
    assert.equal(a[a.indexOf('--caps') + 1], '13');
    assert.ok(a.includes('--no-new-privs'));
  });
});

describe('encodePlanForEnv', () => {
  it('writes each word as its length in UTF-8 bytes, a colon and the word', () => {
    assert.equal(encodePlanForEnv(['--env', 'A=1:2', '', 'ü']), '5:--env5:A=1:20:2:ü');
  });
});
