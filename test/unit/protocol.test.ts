/**
 * The helper protocol has three homes that must agree: helpers/protocol.h (C),
 * src/runtime/protocol.ts (TypeScript) and helpers/README.md (the description). This
 * reads the C header and the parsers of both helpers as text, and runs the built helpers
 * for their usage texts (`npm run build` first).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARGS_ENV, ARGS_FD, Flag, parseStatusLine, PLAN_ENV, SIG_KILL_REQUEST, SIG_STOP_REQUEST } from '../../src/runtime/protocol.js';

const helpers = join(__dirname, '..', '..', 'helpers');
const header = readFileSync(join(helpers, 'protocol.h'), 'utf8');
const readme = readFileSync(join(helpers, 'README.md'), 'utf8');

interface CFlag { id: string; option: string; args: string; meaning: string }

/** The entries of one X-macro group of protocol.h, e.g. ROOT_FLAGS. */
function group(name: string): CFlag[] {
  const start = header.indexOf(`#define ${name}(X)`);
  assert.ok(start >= 0, `protocol.h has no ${name}`);
  const body = header.slice(start, header.indexOf('\n\n', start));
  const str = '"((?:[^"\\\\]|\\\\.)*)"';
  const re = new RegExp(`X\\((\\w+), ${str}, ${str}, ${str}\\)`, 'g');
  return [...body.matchAll(re)].map((m) => ({ id: m[1]!, option: m[2]!, args: m[3]!, meaning: m[4]!.replace(/\\"/g, '"') }));
}

/** The groups a helper's table is made of, in order (LAUNCH_FLAGS(X) IDMAP_FLAGS(X) ...). */
function table(name: string): CFlag[] {
  const m = new RegExp(`#define ${name}\\(X\\) (.*)`).exec(header);
  assert.ok(m, `protocol.h has no ${name}`);
  return [...m[1]!.matchAll(/(\w+)\(X\)/g)].flatMap((g) => group(g[1]!));
}

function define(name: string): string {
  const m = new RegExp(`#define ${name} (.*?)\\s*(/\\*.*)?$`, 'm').exec(header);
  assert.ok(m, `protocol.h has no ${name}`);
  return m[1]!;
}

const launch = table('LAUNCH_FLAGS');
const cp = table('CP_FLAGS');

/** What usage() prints for a table: the lines after the header. */
function usageLines(flags: CFlag[]): string[] {
  return flags.map((f) => `  ${`${f.option}${f.args ? ` ${f.args}` : ''}`.padEnd(36)} ${f.meaning}`);
}

function fenceAfter(heading: string): string {
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README has no "${heading}"`);
  const open = readme.indexOf('```\n', at) + 4;
  return readme.slice(open, readme.indexOf('\n```', open));
}

describe('helper protocol', () => {
  it('defines the same options in C and in TypeScript', () => {
    const c = new Set([...launch, ...cp].map((f) => f.option).filter((o) => o !== '--help'));
    const ts = new Set(Object.values(Flag));
    assert.deepEqual([...ts].sort(), [...c].sort());
  });

  it('gives an option both helpers take one definition (same arguments, same meaning)', () => {
    const shared = cp.filter((f) => launch.some((l) => l.option === f.option));
    assert.deepEqual(shared.map((f) => f.option).sort(), ['--gid-map', '--gidmap-cmd', '--host-dir', '--root-base', '--root-overlay', '--symlink', '--target', '--uid-map', '--uidmap-cmd']);
    for (const f of shared) assert.deepEqual(launch.find((l) => l.option === f.option), f);
  });

  it('parses each option with as many arguments as protocol.h names', () => {
    const plan = readFileSync(join(helpers, 'launch', 'plan.c'), 'utf8');
    const cpc = readFileSync(join(helpers, 'cp.c'), 'utf8');
    const arity = (f: CFlag) => (f.args ? f.args.replace(/'[^']*'/g, 'X').split(' ').length : 0);
    // One branch per option: from its FLAG_ID to the next option's (or the end of the parser).
    const branch = (src: string, id: string) => {
      const at = src.indexOf(`FLAG_${id})`);
      assert.ok(at >= 0, `no branch for FLAG_${id}`);
      const next = src.slice(at + 1).search(/FLAG_\w+\)|else usage\(\)|else die\("internal: unknown/);
      return src.slice(at, at + 1 + next);
    };
    for (const f of launch) {
      if (f.id === 'HELP') continue;
      assert.equal((branch(plan, f.id).match(/ARG\(\)/g) ?? []).length, arity(f), `sandbox-launch ${f.option}`);
    }
    for (const f of cp) assert.equal((branch(cpc, f.id).match(/NEXT\(\)/g) ?? []).length, arity(f), `sandbox-cp ${f.option}`);
  });

  it('documents sandbox-launch --help and sandbox-cp usage in helpers/README.md as they print it', () => {
    const launchDoc = fenceAfter('## sandbox-launch: the plan options');
    const cpDoc = fenceAfter('## sandbox-cp: the options');
    assert.deepEqual(launchDoc.split('\n').slice(-launch.length), usageLines(launch));
    assert.deepEqual(cpDoc.split('\n').slice(-cp.length), usageLines(cp));
    const run = (name: string, args: string[]) => spawnSync(join(helpers, 'build', name), args, { encoding: 'utf8' });
    const l = run('sandbox-launch', ['--help']);
    assert.equal(l.status, 125, l.stderr);
    assert.equal(l.stderr.trimEnd(), launchDoc);
    const c = run('sandbox-cp', []);
    assert.equal(c.status, 2, c.stderr);
    assert.equal(c.stderr.trimEnd(), cpDoc);
  });

  it('has the same signal numbers, plan transport and status lines on both sides', () => {
    assert.equal(Number(define('SIG_STOP_REQUEST')), SIG_STOP_REQUEST);
    assert.equal(Number(define('SIG_KILL_REQUEST')), SIG_KILL_REQUEST);
    assert.equal(define('ARGS_FD'), JSON.stringify(ARGS_FD));
    assert.equal(define('ARGS_ENV'), JSON.stringify(ARGS_ENV));
    assert.equal(define('PLAN_ENV'), JSON.stringify(PLAN_ENV));
    const line = (name: string) => (JSON.parse(define(name)) as string).replace('%d', '7');
    assert.deepEqual(parseStatusLine(line('STATUS_PID')), { pid: 7 });
    assert.deepEqual(parseStatusLine(line('STATUS_STARTED')), { started: true });
    assert.deepEqual(parseStatusLine(line('STATUS_EXIT_CODE')), { exit_code: 7 });
    for (const [name, value] of [['SIG_STOP_REQUEST', SIG_STOP_REQUEST], ['SIG_KILL_REQUEST', SIG_KILL_REQUEST]] as const) {
      assert.match(readme, new RegExp(`\\| ${value} \\(\`${name}\`\\) \\|`));
    }
  });

  it('documents every init/monitor message tag', () => {
    const tags = [...header.matchAll(/#define MSG_\w+ '(.)'/g)].map((m) => m[1]!);
    assert.equal(tags.length, 8);
    for (const t of tags) assert.match(readme, new RegExp(`^\\| \`${t}\` \\| [MI] -> [MI] \\|`, 'm'), `tag ${t}`);
  });

  it('ignores lines on the status descriptor that are not status lines', () => {
    assert.equal(parseStatusLine('not json'), undefined);
    assert.equal(parseStatusLine('[1]'), undefined);
    assert.equal(parseStatusLine('null'), undefined);
    assert.deepEqual(parseStatusLine('{"pid":"3","other":1}'), {});
  });
});
