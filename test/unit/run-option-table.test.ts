import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import yargs, { type Argv } from 'yargs';
import { RUN_OPTIONS, parseRunArgv, runOptionsBuilder, splitRunArgv, type RunArgs } from '../../src/cli/run-option-table.js';
import { rawArgsAfterCommand } from '../../src/cli/argv-lexer.js';
import { throwsSandbox } from './assert-sandbox-error.js';

describe('splitRunArgv', () => {
  it('combined short flags and the command verbatim after the image', () => {
    assert.deepEqual(splitRunArgv(['--rm', '-it', 'bb', 'sh', '-c', 'ls -l']), {
      head: ['--rm', '--interactive', '--tty'],
      image: 'bb',
      command: ['sh', '-c', 'ls -l'],
    });
    assert.deepEqual(splitRunArgv(['-itd', 'bb']).head, ['--interactive', '--tty', '--detach']);
  });

  it('does not read the command\'s options as ours', () => {
    assert.deepEqual(splitRunArgv(['bb', 'ls', '-l', '--rm', '-e', 'X', '--bogus']), {
      head: [],
      image: 'bb',
      command: ['ls', '-l', '--rm', '-e', 'X', '--bogus'],
    });
    assert.deepEqual(splitRunArgv(['--rm', 'bb', 'sh', '-c', 'ls -l']).command, ['sh', '-c', 'ls -l']);
  });

  it('value options: separate, attached, with =', () => {
    assert.deepEqual(splitRunArgv(['-e=X', 'bb']).head, ['--env=X']);
    assert.deepEqual(splitRunArgv(['-eK=V', 'bb']).head, ['--env=K=V']);
    assert.deepEqual(splitRunArgv(['-e', 'K=V', 'bb']).head, ['--env=K=V']);
    assert.deepEqual(splitRunArgv(['--env', 'X', 'bb']).head, ['--env=X']);
    assert.deepEqual(splitRunArgv(['--env=A=B', 'bb']).head, ['--env=A=B']);
    assert.deepEqual(splitRunArgv(['-v', 'a:b', 'bb']).head, ['--volume=a:b']);
    assert.deepEqual(splitRunArgv(['--name=x', 'bb']).head, ['--name=x']);
    assert.deepEqual(splitRunArgv(['-u', '0', 'bb']).head, ['--user=0']);
    assert.deepEqual(splitRunArgv(['--net', 'host', 'bb']).head, ['--network=host']);
    assert.deepEqual(splitRunArgv(['--entrypoint=', 'bb']).head, ['--entrypoint=']);
    assert.deepEqual(splitRunArgv(['-e=', 'bb']).head, ['--env=']);
  });

  it('a value option inside a cluster takes the rest of the word or the next word', () => {
    assert.deepEqual(splitRunArgv(['-ie', 'A=1', 'bb']).head, ['--interactive', '--env=A=1']);
    assert.deepEqual(splitRunArgv(['-dw/src', 'bb']).head, ['--detach', '--workdir=/src']);
  });

  it('a value is the next word even when it starts with "-"', () => {
    assert.deepEqual(splitRunArgv(['-e', '-x', 'bb']), { head: ['--env=-x'], image: 'bb', command: [] });
    assert.deepEqual(splitRunArgv(['--name', '--rm', 'bb']).head, ['--name=--rm']);
  });

  it('booleans take =true / =false', () => {
    assert.deepEqual(splitRunArgv(['--rm=false', '-i=true', 'bb']).head, ['--rm=false', '--interactive=true']);
    throwsSandbox(() => splitRunArgv(['--rm=maybe', 'bb']), 'option "--rm" takes true or false, not "maybe"');
  });

  it('"--" ends the options and one "--" after the image is dropped', () => {
    assert.deepEqual(splitRunArgv(['bb', '--', 'ls', '-l']), { head: [], image: 'bb', command: ['ls', '-l'] });
    assert.deepEqual(splitRunArgv(['--rm', '--', 'bb', 'ls']), { head: ['--rm'], image: 'bb', command: ['ls'] });
    assert.deepEqual(splitRunArgv(['--', 'bb', '--', 'ls']), { head: [], image: 'bb', command: ['ls'] });
    assert.deepEqual(splitRunArgv(['bb', 'ls', '--', 'x']).command, ['ls', '--', 'x']);
    assert.deepEqual(splitRunArgv(['bb', '--', '--']).command, ['--']);
    assert.deepEqual(splitRunArgv(['--']), { head: [], command: [] });
  });

  it('with --rootfs the word after the first positional is the command\'s, "--" included', () => {
    assert.deepEqual(splitRunArgv(['--rootfs', '/r', 'ls', '--', 'x']), {
      head: ['--rootfs=/r'],
      image: 'ls',
      command: ['--', 'x'],
    });
  });

  it('no image', () => {
    assert.deepEqual(splitRunArgv([]), { head: [], command: [] });
    assert.deepEqual(splitRunArgv(['--rm', '-it']), { head: ['--rm', '--interactive', '--tty'], command: [] });
  });

  it('global options pass through; -h is --hostname (Podman, Docker), only --help is help', () => {
    assert.deepEqual(splitRunArgv(['--help']).head, ['--help']);
    assert.deepEqual(splitRunArgv(['-h', 'hh', 'bb']).head, ['--hostname=hh']);
    assert.deepEqual(splitRunArgv(['-ith', 'hh', 'bb']).head, ['--interactive', '--tty', '--hostname=hh']);
    throwsSandbox(() => splitRunArgv(['-h']), 'option "-h" needs a value');
    assert.deepEqual(splitRunArgv(['--root', '/s', 'bb']).head, ['--root=/s']);
  });

  it('unknown options before the image are errors naming them', () => {
    const hint = 'sandbox run [OPTIONS] IMAGE [COMMAND...]; see `sandbox run --help`';
    throwsSandbox(() => splitRunArgv(['--bogus', 'bb']), 'unknown option "--bogus" for "run"', hint);
    throwsSandbox(() => splitRunArgv(['--bogus=1', 'bb']), 'unknown option "--bogus" for "run"');
    throwsSandbox(() => splitRunArgv(['-itx', 'bb']), 'unknown option "-x" (in "-itx") for "run"');
    throwsSandbox(() => splitRunArgv(['-x', 'bb']), 'unknown option "-x" for "run"');
    throwsSandbox(() => splitRunArgv(['-rm', 'bb']), 'unknown option "-r" (in "-rm") for "run"');
    throwsSandbox(() => splitRunArgv(['--no-rm', 'bb'], 'create'), 'unknown option "--no-rm" for "create"',
      'sandbox create [OPTIONS] IMAGE [COMMAND...]; see `sandbox create --help`');
  });

  it('a typo of an option gets the real spelling; a distant word gets none', () => {
    throwsSandbox(() => splitRunArgv(['--volumes', '/x', 'bb']), 'unknown option "--volumes" for "run"',
      'did you mean --volume? sandbox run [OPTIONS] IMAGE [COMMAND...]; see `sandbox run --help`');
    throwsSandbox(() => splitRunArgv(['--hlep']), 'unknown option "--hlep" for "run"', /^did you mean --help\?/);
    throwsSandbox(() => splitRunArgv(['--pubilsh=80', 'bb']), 'unknown option "--pubilsh" for "run"', /^did you mean --publish\?/);
    throwsSandbox(() => splitRunArgv(['--frobnicate', 'bb']), 'unknown option "--frobnicate" for "run"', /^sandbox run /);
  });

  it("Podman's options that we lack say so, with what to use meanwhile", () => {
    throwsSandbox(() => splitRunArgv(['--cpu-rt-period', '100', 'bb']), '--cpu-rt-period is not supported yet', /--memory, --cpus/);
    throwsSandbox(() => splitRunArgv(['--cpu-rt-runtime', '10', 'bb'], 'create'), '--cpu-rt-runtime is not supported yet', /--memory, --cpus/);
    // -m and -c are ours now (resource limits): bundled with others as Podman's.
    assert.deepEqual(splitRunArgv(['-itm', '1g', 'bb']).head, ['--interactive', '--tty', '--memory=1g']);
  });

  it('a value option at the end is an error', () => {
    throwsSandbox(() => splitRunArgv(['--name']), 'option "--name" needs a value');
    throwsSandbox(() => splitRunArgv(['-it', '-e']), 'option "-e" needs a value');
    throwsSandbox(() => splitRunArgv(['-ite']), 'option "-e" needs a value');
  });
});

describe('parseRunArgv', () => {
  it('collects arrays, the last single value wins', () => {
    assert.deepEqual(
      parseRunArgv(['--rm', '-e', 'A=1', '-eB', '--name', 'a', '--name=b', '-v', '/x:/x', '--rm=false', 'bb', 'sh']),
      { rm: false, env: ['A=1', 'B'], name: 'b', volume: ['/x:/x'], image: 'bb', command: ['sh'] },
    );
    assert.deepEqual(
      parseRunArgv(['--env-file', 'f', '--cap-add=net_admin', '--read-only', '--security-opt', 'no-new-privileges', 'bb']),
      { envFile: ['f'], capAdd: ['net_admin'], readOnly: true, securityOpt: ['no-new-privileges'], image: 'bb', command: [] },
    );
    assert.deepEqual(parseRunArgv(['--help']), { help: true, command: [] });
    assert.deepEqual(parseRunArgv(['-h', 'hh', 'bb']), { hostname: 'hh', image: 'bb', command: [] });
  });

  it('agrees with yargs reading the same normalised head through runOptionsBuilder', () => {
    const argv = ['--rm', '-it', '-e', 'A=1', '-e', 'B', '--env-file', 'x', '-w', '/src', '-u', '0', '--hostname', 'h',
      '-v', 'a:/b', '--tmpfs', '/t', '--read-only', '--entrypoint', '', '--net', 'host', '--cap-add', 'ALL',
      '--cap-drop', 'KILL', '--security-opt', 'no-new-privileges', '-l', 'k=v', '--name', 'n', 'bb'];
    const ours = parseRunArgv(argv) as Record<string, unknown>;
    const theirs = runOptionsBuilder(yargs()).strict().parseSync(splitRunArgv(argv).head) as Record<string, unknown>;
    for (const def of RUN_OPTIONS) {
      const key = def.name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      if (key in ours) assert.deepEqual(theirs[key], ours[key], key);
    }
    assert.equal(Object.keys(ours).length, 20);
  });

  it('works inside a main-like yargs: the command module gets the raw words', async () => {
    let seen: RunArgs | undefined;
    let root: unknown;
    const run = (argv: string[]) =>
      yargs(argv)
        .option('root', { type: 'string', global: true })
        .parserConfiguration({ 'halt-at-non-option': false, 'populate--': true })
        .strict()
        .help()
        .alias('help', 'h')
        .version(false)
        .exitProcess(false)
        .fail((msg, err) => {
          throw err ?? new Error(msg);
        })
        .command({
          command: 'run',
          describe: 'run',
          builder: (y: Argv) => runOptionsBuilder(y),
          handler: (a) => {
            root = a.root;
            seen = parseRunArgv(rawArgsAfterCommand(a, 'run'));
          },
        })
        .parseAsync();
    await run(['--root', '/s', 'run', '--rm', '-it', '-u', '0', '-l', 'a=b', 'bb', 'sh', '-c', 'exit 3', '-l', '010', '1.50']);
    assert.equal(root, '/s');
    assert.deepEqual(seen, {
      rm: true, interactive: true, tty: true, user: '0', label: ['a=b'], image: 'bb',
      command: ['sh', '-c', 'exit 3', '-l', '010', '1.50'],
    });
    await run(['run', 'bb', '--help']);
    assert.deepEqual(seen, { image: 'bb', command: ['--help'] });
  });

  it('rawArgsAfterCommand refuses an argv that yargs did not halt', () => {
    assert.deepEqual(rawArgsAfterCommand({ '--': ['run', 'bb', 0] }, 'run'), ['bb', '0']);
    assert.throws(() => rawArgsAfterCommand({ _: ['run'] }, 'run'), /runOptionsBuilder/);
  });
});
