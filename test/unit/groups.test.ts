/**
 * Podman's command groups (src/cli/commands/groups.ts), shell completion
 * (src/cli/completion.ts), `ps` and `volume ls` filters and sorting, and `info`'s YAML and
 * Go field names: the pure parts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commands } from '../../src/cli/commands/index.js';
import { GROUPS, groupSubcommands, verbOf } from '../../src/cli/commands/groups.js';
import { completeWords, completionScript } from '../../src/cli/completion.js';
import { fastVerbWords } from '../../src/cli/fast-verbs.js';
import { checkSortKey, matchesFilters, parseFilters, sortViews } from '../../src/cli/ps-filter.js';
import { matchesVolumeFilters, parseVolumeFilters, timeOf } from '../../src/cli/volume-filter.js';
import { toYaml, withGoNames } from '../../src/cli/commands/info.js';
import { parsePruneFilters, prunable, pruneMatchers } from '../../src/cli/prune-filter.js';
import { parseOsRelease, uptimeText } from '../../src/api/info.js';
import type { SandboxView } from '../../src/api/lifecycle.js';
import type { VolumeInfo } from '../../src/state/volumes.js';
import { SandboxError } from '../../src/errors.js';

/** fn throws our one-line error (exit 125) with a message matching `re`. */
function assertSandboxError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof SandboxError && err.exitCode === 125 && re.test(err.message));
}

test('every verb a group lists is a registered command, and the groups are registered', () => {
  const verbs = new Set(commands.map(verbOf));
  for (const g of GROUPS) {
    assert.ok(verbs.has(g.name), `group ${g.name} is registered`);
    for (const m of g.members) {
      const verb = typeof m === 'string' ? m : m.verb;
      assert.ok(verbs.has(verb), `${g.name} ${verb}: no such top-level command`);
    }
  }
});

test("a group's member is the registry's module: same builder, handler renamed only in name", () => {
  const container = GROUPS.find((g) => g.name === 'container')!;
  const subs = groupSubcommands(container, commands);
  const ls = subs.find((s) => verbOf(s) === 'ls')!;
  const ps = commands.find((c) => verbOf(c) === 'ps')!;
  assert.equal(ls.builder, ps.builder, 'container ls builds as ps');
  assert.deepEqual(ls.aliases, ['list', 'ps']);
  const stop = subs.find((s) => verbOf(s) === 'stop')!;
  assert.equal(stop.builder, commands.find((c) => verbOf(c) === 'stop')!.builder);
  // A verb not registered (yet) is left out, not an error.
  assert.deepEqual(groupSubcommands({ ...container, members: ['no-such-verb'], own: [] }, commands), []);
  const image = groupSubcommands(GROUPS.find((g) => g.name === 'image')!, commands).map(verbOf);
  for (const v of ['ls', 'rm', 'inspect', 'pull', 'push', 'tag', 'untag', 'history', 'prune', 'save', 'load', 'import']) {
    assert.ok(image.includes(v), `image ${v}`);
  }
  const system = groupSubcommands(GROUPS.find((g) => g.name === 'system')!, commands).map(verbOf);
  assert.deepEqual(system.sort(), ['check', 'df', 'events', 'info', 'prune', 'reset']);
});

test('completion: commands, group subcommands, options and choices (no store needed)', () => {
  assert.deepEqual(completeWords(['sta']).sort(), ['start', 'stats']);
  assert.deepEqual(completeWords(['system', 're']), ['reset']);
  assert.deepEqual(completeWords(['container', 'in']), ['inspect']);
  assert.ok(completeWords(['volume', '']).includes('prune'));
  assert.ok(completeWords(['rm', '--']).includes('--force'));
  assert.ok(completeWords(['run', '--']).includes('--network'), "run's options come from its table");
  assert.deepEqual(completeWords(['ps', '--sort', 'c']).sort(), ['command', 'created']);
  assert.deepEqual(completeWords(['completion', '']), [], 'no names for a shell');
  assert.deepEqual(completeWords(['nonsense', '']), []);
  assert.deepEqual(completeWords(['info', '--format', '']), [], 'an option value without choices');
});

test('completion scripts: one per shell, an unknown shell is an error', () => {
  assert.match(completionScript('bash'), /complete -o default -F _sandbox_complete sandbox/);
  assert.match(completionScript('zsh'), /^#compdef sandbox/);
  assert.match(completionScript('fish'), /complete -c sandbox/);
  assertSandboxError(() => completionScript('tcsh'), /no completion for shell/);
});

function view(name: string, created: string, status: 'running' | 'exited' | 'created', exitCode?: number): SandboxView {
  return {
    record: { id: `${name}`.padEnd(64, '0'), name, created, image: 'bb', command: [name], hostname: name, request: { labels: {}, volumes: [] } },
    state: { status, ...(exitCode !== undefined ? { exitCode } : {}) },
  } as unknown as SandboxView;
}

test('ps filters: exited, before, since, status values', () => {
  const a = view('a', '2024-01-01T00:00:00.000Z', 'exited', 3);
  const b = view('b', '2024-01-02T00:00:00.000Z', 'exited', 0);
  const c = view('c', '2024-01-03T00:00:00.000Z', 'running');
  const created: Record<string, string> = { a: a.record.created, b: b.record.created, c: c.record.created };
  const pick = (...specs: string[]) => [a, b, c].filter((v) => matchesFilters(v, parseFilters(specs, (r) => created[r]!))).map((v) => v.record.name);
  assert.deepEqual(pick('exited=3'), ['a']);
  assert.deepEqual(pick('exited=0', 'exited=3'), ['a', 'b'], 'the same key: either');
  assert.deepEqual(pick('before=c'), ['a', 'b']);
  assert.deepEqual(pick('since=a', 'status=exited'), ['b'], 'different keys: all');
  assert.deepEqual(pick('status=stopped'), ['a', 'b']);
  assert.deepEqual(pick('until=2024-01-02T12:00:00Z'), ['a', 'b']);
  (b.record.request as { volumes: unknown[] }).volumes = [{ kind: 'bind', source: '/s', target: '/data', readOnly: false, volume: 'vol' }];
  assert.deepEqual(pick('volume=vol'), ['b']);
  assert.deepEqual(pick('volume=/data'), ['b']);
  assertSandboxError(() => parseFilters(['status=sleepy']), /unknown state sleepy/);
  assertSandboxError(() => parseFilters(['exited=x']), /invalid filter/);
  assertSandboxError(() => parseFilters(['colour=red']), /invalid filter/);
});

test('ps --sort: Podman keys and orders', () => {
  const vs = [view('m', '2024-01-02T00:00:00.000Z', 'exited'), view('z', '2024-01-01T00:00:00.000Z', 'exited'), view('a', '2024-01-03T00:00:00.000Z', 'exited')];
  const names = (key: string, size?: (v: SandboxView) => number) => sortViews(vs, checkSortKey(key), (v) => v.record.name, size).map((v) => v.record.name);
  assert.deepEqual(names('names'), ['a', 'm', 'z']);
  assert.deepEqual(names('created'), ['z', 'm', 'a'], 'oldest first');
  // runningfor: by the start of the current run, never started first (Podman's StartedAt 0).
  const started = (v: SandboxView, at?: string) => ({ ...v, state: { ...v.state, ...(at ? { startedAt: at } : {}) } }) as SandboxView;
  const runs = [started(vs[0]!, '2024-01-05T00:00:00.000Z'), started(vs[1]!, '2024-01-04T00:00:00.000Z'), started(vs[2]!)];
  assert.deepEqual(sortViews(runs, 'runningfor', () => '').map((v) => v.record.name), ['a', 'z', 'm']);
  // status: by the state's word, as Podman's State (created < exited < running).
  const states = [view('r', '2024-01-01T00:00:00.000Z', 'running'), view('e', '2024-01-02T00:00:00.000Z', 'exited'), view('c', '2024-01-03T00:00:00.000Z', 'created')];
  assert.deepEqual(sortViews(states, 'status', (v) => v.state.status).map((v) => v.record.name), ['c', 'e', 'r']);
  assert.deepEqual(names('size', (v) => ({ a: 3, m: 1, z: 2 })[v.record.name]!), ['m', 'z', 'a']);
  assertSandboxError(() => checkSortKey('colour'), /invalid --sort/);
});

test('volume filters', () => {
  const v = (Name: string, Labels: Record<string, string> = {}): VolumeInfo => ({ Name, Driver: 'local', Mountpoint: '/x', CreatedAt: '2024-01-01T00:00:00Z', Labels, Anonymous: false });
  const vols = [v('data', { team: 'a' }), v('cache')];
  const used = new Set(['data']);
  const pick = (...specs: string[]) => vols.filter((x) => matchesVolumeFilters(x, () => used.has(x.Name), parseVolumeFilters(specs))).map((x) => x.Name);
  assert.deepEqual(pick('label=team'), ['data']);
  assert.deepEqual(pick('label=team=b'), []);
  assert.deepEqual(pick('dangling=true'), ['cache']);
  assert.deepEqual(pick('name=ca', 'name=da'), ['data', 'cache']);
  assert.deepEqual(pick('driver=local', 'scope=local'), ['data', 'cache']);
  assertSandboxError(() => parseVolumeFilters(['dangling=maybe']), /invalid filter/);
  assert.equal(timeOf('10m', 1_000_000), 1_000_000 - 600_000);
  assert.equal(timeOf('1700000000', 0), 1_700_000_000_000);
});

test("info: Go field names for templates, Podman's YAML", () => {
  assert.deepEqual(withGoNames({ host: { idMappings: { uidmap: [{ container_id: 0, host_id: 1000, size: 1 }] }, cpus: 2, os: 'linux' }, store: { graphRoot: '/g' } }),
    { Host: { IDMappings: { UIDMap: [{ ContainerID: 0, HostID: 1000, Size: 1 }] }, CPUs: 2, OS: 'linux' }, Store: { GraphRoot: '/g' } });
  assert.equal(toYaml({ b: { list: [{ x: 1, y: 'two' }], empty: {}, none: [] }, a: 'v: w' }).replace(/^\n/, ''),
    'a: "v: w"\nb:\n  empty: {}\n  list:\n  - x: 1\n    y: two\n  none: []\n');
  assert.equal(toYaml({ v: '12', s: 'debian', t: true }).replace(/^\n/, ''), 's: debian\nt: true\nv: "12"\n');
  assert.deepEqual(parseOsRelease('ID=debian\nVERSION_ID="12"\n# c\nVERSION_CODENAME=bookworm\n'), { ID: 'debian', VERSION_ID: '12', VERSION_CODENAME: 'bookworm' });
  assert.equal(uptimeText(3661.5), '1h 1m 1.50s (Approximately 0.04 days)');
});

test('prune --filter: label=, label!=, until=', () => {
  const now = Date.parse('2024-01-10T00:00:00Z');
  const f = parsePruneFilters(['label=team', 'label!=keep=yes', 'until=24h'], now);
  assert.ok(prunable(f, { team: 'a' }, '2024-01-01T00:00:00Z'));
  assert.ok(!prunable(f, { team: 'a', keep: 'yes' }, '2024-01-01T00:00:00Z'), 'label!= keeps it');
  assert.ok(!prunable(f, {}, '2024-01-01T00:00:00Z'), 'label= must hold');
  assert.ok(!prunable(f, { team: 'a' }, '2024-01-09T12:00:00Z'), 'younger than until');
  assert.deepEqual(pruneMatchers([], () => ({})), {}, 'no filter: nothing narrowed');
  let asked = 0;
  const m = pruneMatchers(['until=2024-01-05T00:00:00Z'], () => { asked++; return {}; });
  assert.ok(m.image!({ id: 'x', created: '2024-01-01T00:00:00Z', layers: [], size: 0 }));
  assert.equal(asked, 0, "an image's labels are read only for a label filter");
  assertSandboxError(() => parsePruneFilters(['name=x']), /invalid filter/);
  assertSandboxError(() => parsePruneFilters(['until=soon']), /invalid filter/);
});

test("main.ts's fast paths for `container run|exec|ls|list|ps` agree with the container group", () => {
  const container = GROUPS.find((g) => g.name === 'container')!;
  const members = container.members.map((m) => (typeof m === 'string' ? { verb: m } : m));
  for (const name of ['run', 'exec', 'ls', 'list', 'ps']) {
    const m = members.find((x) => (x.as ?? x.verb) === name || x.aliases?.includes(name));
    assert.ok(m, `container ${name} is in the group`);
    assert.deepEqual(fastVerbWords(['container', name, '-a']), [m.verb, '-a']);
  }
  assert.deepEqual(fastVerbWords(['container', 'rm', 'x']), ['container', 'rm', 'x'], 'others go to yargs');
  assert.deepEqual(fastVerbWords(['container', 'constructor']), ['container', 'constructor']);
  assert.deepEqual(fastVerbWords(['ps']), ['ps']);
});
