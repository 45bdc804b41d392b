import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import yargs from 'yargs';
import { EXEC_OPTIONS, EXEC_TABLE, EXEC_USAGE, parseExecArgv, toExecRequest } from '../../src/cli/exec-options.js';
import { declareOptions, lexArgv } from '../../src/cli/argv-lexer.js';
import { encodePlanForEnv, planChannel } from '../../src/runtime/launch.js';
import type { SandboxRecord } from '../../src/state/sandboxes.js';
import type { RunRequest } from '../../src/types.js';
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
  it('reads booleans as run does: --tty=false is false, a bad value is refused', () => {
    const a = parseExecArgv(['--tty=false', '-i=true', '-d', 'box', 'true']);
    assert.equal(a.tty, false);
    assert.equal(a.interactive, true);
    assert.equal(a.detach, true);
    assert.throws(() => parseExecArgv(['--tty=maybe', 'box', 'true']), /takes true or false/);
  });

  it('one table: the usage line and the yargs options come from it', () => {
    assert.equal(EXEC_USAGE, 'sandbox exec [-i] [-t] [-d] [-e K=V] [--env-file F] [-w DIR] [-u USER[:GROUP]] [--privileged] NAME COMMAND [ARG...]');
    const argv = ['-it', '-d', '-e', 'A=1', '-e', 'B', '--env-file', 'f', '-w', '/w', '-u', '0', '--privileged', 'box'];
    const ours = parseExecArgv(argv) as unknown as Record<string, unknown>;
    const { head } = lexArgv(argv, EXEC_TABLE, { verb: 'exec', usageHint: EXEC_USAGE });
    const theirs = declareOptions(yargs(), EXEC_TABLE).strict().parseSync(head) as Record<string, unknown>;
    let compared = 0;
    for (const def of EXEC_OPTIONS.filter((d) => !d.global)) {
      const key = def.name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      assert.deepEqual(theirs[key], ours[key], key);
      compared++;
    }
    assert.equal(compared, 8);
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

describe('encodePlanForEnv', () => {
  it('writes each word as its length in UTF-8 bytes, a colon and the word', () => {
    assert.equal(encodePlanForEnv(['--env', 'A=1:2', '', 'ü']), '5:--env5:A=1:20:2:ü');
  });
});

describe('planChannel', () => {
  it("puts a plan in the helper's environment, and one too long for a variable on fd 4 as NUL-separated words", () => {
    assert.deepEqual(planChannel(['--tty', '--', 'sh']), { argv: ['--args-env'], env: '5:--tty2:--2:sh' });
    const long = ['--env', `A=${'x'.repeat(70 * 1024)}`, '--', 'true'];
    const c = planChannel(long);
    assert.deepEqual(c.argv, ['--args-fd', '4']);
    assert.ok('pipe' in c && c.pipe === `${long.join('\0')}\0`);
    // Counted in bytes: 30,000 euro signs are 90,000 bytes, too many for the variable.
    assert.deepEqual(planChannel(['--env', `A=${'\u20ac'.repeat(30_000)}`]).argv, ['--args-fd', '4']);
  });
});
