import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_COMMANDS, MISSING_EXEC_OPTIONS, MISSING_RUN_OPTIONS, missingCommand, missingOptions } from '../../src/cli/podman-gaps.js';
import { RUN_OPTIONS } from '../../src/cli/run-option-table.js';
import { EXEC_OPTIONS } from '../../src/cli/exec-options.js';
import { commands } from '../../src/cli/commands/index.js';
import { editDistance, closest } from '../../src/cli/suggest.js';
import { unknownCommandError, unknownOptionError, unknownOptionNames, helpWidth } from '../../src/cli/yargs-cli.js';

/** Every spelling of a table: `--name` and `-n`. */
function spellings(defs: readonly { name: string; aliases: string[] }[]): Set<string> {
  return new Set(defs.flatMap((d) => [d.name, ...d.aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`))));
}

describe('podman-gaps: the tables of what we lack', () => {
  // When an option or a command lands, its row must go: these fail until it does.
  it('no missing run/create option is one we have', () => {
    const ours = spellings(RUN_OPTIONS);
    for (const row of MISSING_RUN_OPTIONS) for (const n of row.names) assert.ok(!ours.has(n), `${n} is in RUN_OPTIONS now: delete its row in podman-gaps.ts`);
  });
  it('no missing exec option is one we have', () => {
    const ours = spellings(EXEC_OPTIONS);
    for (const row of MISSING_EXEC_OPTIONS) for (const n of row.names) assert.ok(!ours.has(n), `${n} is in EXEC_OPTIONS now: delete its row in podman-gaps.ts`);
  });
  it('no missing top-level command is one we have', () => {
    const ours = new Set(commands.flatMap((c) => [String(c.command).split(' ')[0]!, ...[c.aliases ?? []].flat()]));
    for (const row of MISSING_COMMANDS) {
      if (!row.command.includes(' ')) assert.ok(!ours.has(row.command), `${row.command} is a command now: delete its row in podman-gaps.ts`);
    }
  });
  it('each spelling once, each row with a meanwhile', () => {
    for (const rows of [MISSING_RUN_OPTIONS, MISSING_EXEC_OPTIONS]) {
      const seen = new Set<string>();
      for (const row of rows) {
        assert.ok(row.meanwhile.length > 5);
        for (const n of row.names) {
          assert.match(n, /^(-[a-zA-Z]|--[a-z0-9-]+)$/);
          assert.ok(!seen.has(n), n);
          seen.add(n);
        }
      }
    }
    assert.equal(new Set(MISSING_COMMANDS.map((r) => r.command)).size, MISSING_COMMANDS.length);
  });
  it('lookups', () => {
    assert.match(missingOptions(MISSING_RUN_OPTIONS).get('--cpu-rt-period')!.meanwhile, /--memory, --cpus/);
    assert.equal(missingOptions(MISSING_RUN_OPTIONS).get('-a'), missingOptions(MISSING_RUN_OPTIONS).get('--attach'));
    assert.equal(missingOptions(MISSING_EXEC_OPTIONS).get('--memory-swappiness'), undefined);
    assert.equal(missingCommand(['secret', 'ls'])?.command, 'secret');
    assert.equal(missingCommand(['container', 'init'])?.command, 'container init');
    assert.match(missingCommand(['container', 'init'])!.meanwhile, /sandbox create/);
    assert.equal(missingCommand(['container', 'pause']), undefined, 'pause is ours');
    assert.equal(missingCommand(['container', 'checkpoint'])?.command, 'container checkpoint');
    assert.equal(missingCommand(['volume', 'export'])?.command, 'volume export');
    assert.equal(missingCommand(['frobnicate']), undefined);
    assert.equal(missingCommand(['secret', 'init'])?.command, 'secret', 'secret is no group of Podman\'s top-level commands');
    assert.equal(missingCommand(['network', 'reload'])?.command, 'network reload');
  });
});

describe('suggest', () => {
  it('edit distance counts a swap of neighbours as one', () => {
    assert.equal(editDistance('stop', 'stop'), 0);
    assert.equal(editDistance('stpo', 'stop'), 1);
    assert.equal(editDistance('build', 'kill'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('pause', 'push'), 2);
  });
  it('only a typo is suggested', () => {
    const cmds = ['run', 'stop', 'start', 'kill', 'push', 'pull', 'import', 'load', 'images', 'inspect'];
    assert.equal(closest('stpo', cmds), 'stop');
    assert.equal(closest('imgaes', cmds), 'images');
    assert.equal(closest('build', cmds), undefined, 'build is no typo of kill');
    assert.equal(closest('pause', cmds), undefined, 'pause is no typo of push');
    assert.equal(closest('port', cmds), undefined, 'port is no typo of import');
    assert.equal(closest('pod', cmds), undefined, 'pod is no typo of load');
    assert.equal(closest('run', cmds), undefined, 'a word is not its own suggestion');
  });
});

describe('unknown commands', () => {
  const top = ['run', 'stop', 'image', 'images', 'ps', 'list', 'ls'];
  it("Podman's commands that we lack say so", () => {
    const e = unknownCommandError(['build', '-t', 'x', '.'], [], top);
    assert.equal(e?.message, '"build" is not supported yet');
    assert.match(e?.hint ?? '', /sandbox load/);
    assert.equal(unknownCommandError(['--root', '/s', 'secret', 'ls'], [], top)?.message, '"secret" is not supported yet');
    assert.equal(unknownCommandError(['image', 'build', '.'], ['image'], ['ls', 'rm'])?.message, '"image build" is not supported yet');
  });
  it('a typo gets the near command, anything else none', () => {
    assert.equal(unknownCommandError(['stpo', 'x'], [], top)?.hint, 'did you mean "stop"? see `sandbox --help`');
    assert.equal(unknownCommandError(['frobnicate'], [], top)?.message, 'unknown command "frobnicate"');
    assert.equal(unknownCommandError(['frobnicate'], [], top)?.hint, 'see `sandbox --help`');
    assert.equal(unknownCommandError(['image', 'lss'], ['image'], ['ls', 'rm'])?.hint, 'did you mean "image ls"? see `sandbox image --help`');
  });
  it('not about commands: undefined (yargs says what is wrong)', () => {
    assert.equal(unknownCommandError(['stop'], [], top), undefined, 'a known command');
    assert.equal(unknownCommandError(['logs', 'build'], ['logs'], []), undefined, 'a command without subcommands takes words');
    assert.equal(unknownCommandError([], [], top), undefined);
  });
});

describe('help width', () => {
  it('COLUMNS, else the terminal, else 80', () => {
    assert.equal(helpWidth({ COLUMNS: '40' }, 120), 40);
    assert.equal(helpWidth({}, 120), 120);
    assert.equal(helpWidth({}, undefined), 80);
    assert.equal(helpWidth({ COLUMNS: 'x' }, undefined), 80);
  });
});

describe('unknown options of yargs commands', () => {
  it('an unknown option is named as typed, with a near spelling', () => {
    const e = unknownOptionError(['images', '--fromat', 'json'], ['fromat'], ['images'], ['format', 'quiet', 'q', 'all', 'a']);
    assert.equal(e?.message, 'unknown option "--fromat" for "images"');
    assert.equal(e?.hint, 'did you mean --format? see `sandbox images --help`');
    assert.equal(unknownOptionError(['ps', '-Z'], ['Z'], ['ps'], ['all'])?.message, 'unknown option "-Z" for "ps"');
    assert.equal(unknownOptionError(['ps', '--zzz'], ['zzz'], ['ps'], ['all'])?.hint, 'see `sandbox ps --help`');
  });
  it('unknown words that were no options: undefined', () => {
    assert.equal(unknownOptionError(['volume', 'export', 'x'], ['export', 'x'], ['volume'], []), undefined);
  });
});

describe('unknown options that took a value', () => {
  it('names the options typed that yargs does not know', () => {
    assert.deepEqual(unknownOptionNames(['logs', '--folow', 'x'], ['follow', 'f', 'tail', 'n']), ['folow']);
    assert.deepEqual(unknownOptionNames(['logs', '-fZ', 'x', '--no-follow', '--', '--bogus'], ['follow', 'f']), ['Z']);
  });
});
