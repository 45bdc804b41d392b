/**
 * Issue 14, items 6, 9 (ps) and 10, as the unprivileged test user: Podman's command
 * groups run the same commands as the top-level verbs; `info` over Podman's structure;
 * prune and `system reset` ask first unless -f; `ps` filters, --sort, --size and "Up" of
 * the current run after a restart; shell completion driven through bash's own machinery
 * (zsh and fish scripts syntax-checked where those shells are installed).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { SANDBOX_BIN, asUser, eventually, importImage, lines, newStore, requireRootless, runSandbox, show, underCI } from './harness.js';

const BUSY = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'];

test('groups: container/image/volume/system subcommands are the top-level commands', async (t) => {
  if (!requireRootless(t, 'command groups')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');

  const run = await runSandbox(['container', 'run', '-d', '--name', 'g1', '--network', 'none', 'bb', ...BUSY], { root });
  assert.equal(run.code, 0, show(run));
  const created = await runSandbox(['container', 'create', '--name', 'g2', 'bb', 'true'], { root });
  assert.equal(created.code, 0, show(created));
  for (const ls of [['container', 'ls', '-a'], ['container', 'list', '-a'], ['container', 'ps', '-a']]) {
    const r = await runSandbox([...ls, '--format', '{{.Names}} {{.State}}'], { root });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(lines(r.stdout).sort(), ['g1 running', 'g2 created'], ls.join(' '));
  }
  const exec = await runSandbox(['container', 'exec', 'g1', 'echo', 'inside'], { root });
  assert.equal(exec.stdout, 'inside\n', show(exec));
  // `container inspect` is about sandboxes only (Podman's); `inspect` falls back to images.
  const ci = await runSandbox(['container', 'inspect', '--format', '{{.Name}}', 'g1'], { root });
  assert.equal(ci.stdout, 'g1\n', show(ci));
  assert.equal((await runSandbox(['container', 'inspect', 'bb'], { root })).code, 125, 'container inspect IMAGE fails');
  assert.equal((await runSandbox(['inspect', '--format', '{{.Id}}', 'bb'], { root })).code, 0, 'inspect IMAGE works');
  const stop = await runSandbox(['container', 'stop', '-t', '2', 'g1'], { root });
  assert.equal(stop.code, 0, show(stop));
  const rm = await runSandbox(['container', 'rm', 'g1', 'g2'], { root });
  assert.equal(rm.stdout, 'g1\ng2\n', show(rm));

  const tag = await runSandbox(['image', 'tag', 'bb', 'other:1'], { root });
  assert.equal(tag.code, 0, show(tag));
  const images = await runSandbox(['image', 'list', '--format', '{{.Repository}}:{{.Tag}}'], { root });
  assert.deepEqual(lines(images.stdout).sort(), ['localhost/bb:latest', 'localhost/other:1'], show(images));
  const irm = await runSandbox(['image', 'rm', 'other:1'], { root });
  assert.match(irm.stdout, /Untagged: localhost\/other:1/, show(irm));
  const hist = await runSandbox(['image', 'history', '-q', 'bb'], { root });
  assert.equal(hist.code, 0, show(hist));

  const none = await runSandbox(['container'], { root });
  assert.equal(none.code, 125, show(none));
  assert.match(none.stderr, /no container subcommand/, none.stderr);
});

test('volume ls --filter and --format, volume inspect --format, ps --filter volume=, system df -v', async (t) => {
  if (!requireRootless(t, 'volumes')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  for (const args of [['volume', 'create', '--label', 'team=a', 'va'], ['volume', 'create', 'vb']]) {
    const r = await runSandbox(args, { root });
    assert.equal(r.code, 0, show(r));
  }
  const used = await runSandbox(['create', '--name', 'user', '-v', 'vb:/data', 'bb', 'true'], { root });
  assert.equal(used.code, 0, show(used));
  const q = async (...filter: string[]) => lines((await runSandbox(['volume', 'ls', '-q', ...filter.flatMap((f) => ['--filter', f])], { root })).stdout);
  assert.deepEqual(await q('label=team=a'), ['va']);
  assert.deepEqual(await q('dangling=true'), ['va']);
  assert.deepEqual(await q('dangling=false'), ['vb']);
  assert.deepEqual(await q('name=v'), ['va', 'vb']);
  const fmt = await runSandbox(['volume', 'ls', '--format', '{{.Name}} {{.Driver}} {{index .Labels "team"}}'], { root });
  assert.equal(fmt.stdout, 'va local a\nvb local <no value>\n', show(fmt));
  const mp = await runSandbox(['volume', 'inspect', '--format', '{{.Mountpoint}}', 'va'], { root });
  assert.equal(mp.stdout.trim(), join(root, 'data', 'volumes', 'va', '_data'), show(mp));
  const byVolume = await runSandbox(['ps', '-a', '--filter', 'volume=vb', '--format', '{{.Names}} {{.Mounts}}'], { root });
  assert.equal(byVolume.stdout, 'user /data\n', `ps --filter volume=: ${show(byVolume)}`);
  assert.equal((await runSandbox(['ps', '-a', '-q', '--filter', 'volume=/data'], { root })).stdout.trim().length, 12, 'or by its destination');
  assert.equal((await runSandbox(['ps', '-a', '-q', '--filter', 'volume=va'], { root })).stdout, '');
  // system df -v: one line per image, sandbox and volume.
  const df = await runSandbox(['system', 'df', '-v'], { root });
  assert.equal(df.code, 0, show(df));
  assert.match(df.stdout, /^Images space usage:\n\nREPOSITORY .*\nlocalhost\/bb +latest +[0-9a-f]{12} /m, df.stdout);
  assert.match(df.stdout, /^[0-9a-f]{12} +[0-9a-f]{12} +true +1 +\S+ +.* created +user$/m, df.stdout);
  assert.match(df.stdout, /^va +0 +\S+\nvb +1 +\S+$/m, df.stdout);
  const dfJson = JSON.parse((await runSandbox(['system', 'df', '-v', '--format', 'json'], { root })).stdout) as { Volumes: { VolumeName: string; Links: number }[] };
  assert.deepEqual(dfJson.Volumes.map((v) => [v.VolumeName, v.Links]), [['va', 0], ['vb', 1]]);
  const bad = await runSandbox(['volume', 'ls', '--filter', 'colour=red'], { root });
  assert.equal(bad.code, 125, show(bad));
});

test('info and system info: Podman\'s structure, json and templates', async (t) => {
  const root = await newStore(t);
  const tpl = await runSandbox(['info', '--format', '{{.Host.OS}} {{.Store.GraphRoot}} {{.Store.RunRoot}} {{.Host.Security.Rootless}} {{.Store.ContainerStore.Number}}'], { root });
  assert.equal(tpl.code, 0, show(tpl));
  assert.equal(tpl.stdout, `linux ${join(root, 'data')} ${join(root, 'run')} true 0\n`);
  const json = await runSandbox(['system', 'info', '--format', 'json'], { root });
  assert.equal(json.code, 0, show(json));
  const info = JSON.parse(json.stdout) as { host: { arch: string; idMappings: { uidmap: { container_id: number }[] } }; store: { graphRoot: string; imageStore: { number: number } } };
  assert.equal(info.store.graphRoot, join(root, 'data'));
  assert.equal(info.host.idMappings.uidmap[0]?.container_id, 0);
  const arch = await runSandbox(['info', '-f', '{{.Host.Arch}}'], { root });
  assert.equal(arch.stdout.trim(), info.host.arch);
  const yaml = await runSandbox(['info'], { root });
  assert.match(yaml.stdout, /^host:\n {2}arch: \S+\n/, yaml.stdout);
  assert.match(yaml.stdout, /^store:\n(?: {2}.*\n)* {2}graphRoot: \S+/m, yaml.stdout);
  const badField = await runSandbox(['info', '--format', '{{.Host.Nope}}'], { root });
  assert.equal(badField.code, 125, show(badField));
});

test('prune and system reset ask first unless -f; prune --filter; reset ends running sandboxes and empties the store', async (t) => {
  if (!requireRootless(t, 'system reset')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const ex = await runSandbox(['run', '--name', 'done', 'bb', 'true'], { root });
  assert.equal(ex.code, 0, show(ex));
  const names = async () => lines((await runSandbox(['ps', '-a', '--format', '{{.Names}}'], { root })).stdout);

  const eof = await runSandbox(['container', 'prune'], { root });
  assert.equal(eof.code, 125, 'no answer (stdin at its end): an error, as Podman');
  assert.match(eof.stdout, /Are you sure you want to continue\? \[y\/N\]/, show(eof));
  assert.match(eof.stderr, /hint: pass -f/, eof.stderr);
  const no = await runSandbox(['system', 'prune'], { root, input: 'n\n' });
  assert.equal(no.code, 0, show(no));
  assert.deepEqual(await names(), ['done'], 'a no removes nothing');
  const yes = await runSandbox(['container', 'prune'], { root, input: 'y\n' });
  assert.equal(yes.code, 0, show(yes));
  assert.deepEqual(await names(), [], 'a yes prunes');

  // --filter narrows what a prune takes, as Podman's.
  for (const [name, label] of [['tmp1', 'tmp=1'], ['kept', 'keep=yes']]) {
    const r = await runSandbox(['run', '--name', name!, '--label', label!, 'bb', 'true'], { root });
    assert.equal(r.code, 0, show(r));
  }
  const byLabel = await runSandbox(['container', 'prune', '-f', '--filter', 'label=tmp'], { root });
  assert.equal(byLabel.code, 0, show(byLabel));
  assert.deepEqual(await names(), ['kept'], 'label= prunes only those with the label');
  const young = await runSandbox(['system', 'prune', '-f', '--filter', 'until=1h'], { root });
  assert.equal(young.code, 0, show(young));
  assert.deepEqual(await names(), ['kept'], 'until=1h: nothing that young goes');
  for (const args of [['volume', 'create', '--label', 'keep=yes', 'vkeep'], ['volume', 'create', 'vgo']]) assert.equal((await runSandbox(args, { root })).code, 0);
  const vols = await runSandbox(['volume', 'prune', '-f', '--filter', 'label!=keep=yes'], { root });
  assert.equal(vols.code, 0, show(vols));
  assert.deepEqual(lines((await runSandbox(['volume', 'ls', '-q'], { root })).stdout), ['vkeep'], 'label!= keeps the labelled one');
  const badFilter = await runSandbox(['container', 'prune', '-f', '--filter', 'name=x'], { root });
  assert.equal(badFilter.code, 125, show(badFilter));
  assert.equal((await runSandbox(['rm', 'kept'], { root })).code, 0);

  const run = await runSandbox(['run', '-d', '--name', 'live', '--network', 'none', 'bb', ...BUSY], { root });
  assert.equal(run.code, 0, show(run));
  const pid = Number((await runSandbox(['inspect', '--format', '{{.State.Pid}}', 'live'], { root })).stdout.trim());
  assert.ok(pid > 0);
  const keep = await runSandbox(['system', 'reset'], { root, input: 'no\n' });
  assert.equal(keep.code, 0, show(keep));
  assert.match(keep.stdout, /the data directory: /, keep.stdout);
  assert.deepEqual(await names(), ['live']);
  const reset = await runSandbox(['system', 'reset', '-f'], { root });
  assert.equal(reset.code, 0, show(reset));
  assert.ok(!existsSync(`/proc/${pid}`) || (await eventually(() => (existsSync(`/proc/${pid}`) ? 'still there' : ''))) === '', 'the running sandbox was ended');
  assert.ok(!existsSync(join(root, 'data', 'containers')), 'the data directory is gone');
  assert.deepEqual(await names(), []);
  assert.equal((await runSandbox(['images', '-q'], { root })).stdout, '');
  // The store works again from nothing.
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const again = await runSandbox(['run', '--rm', 'bb', 'echo', 'fresh'], { root });
  assert.equal(again.stdout, 'fresh\n', show(again));
});

test('ps: --filter exited/before/since/status, --sort, --size, and "Up" of the current run after a restart', async (t) => {
  if (!requireRootless(t, 'ps')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  for (const [name, code] of [['zz', 3], ['aa', 0], ['mm', 3]] as const) {
    const r = await runSandbox(['run', '--name', name, 'bb', 'sh', '-c', `head -c 5000 /dev/zero > /written; exit ${code}`], { root });
    assert.equal(r.code, code, show(r));
  }
  const names = async (...args: string[]) => lines((await runSandbox(['ps', ...args, '--format', '{{.Names}}'], { root })).stdout);
  assert.deepEqual(await names('--filter', 'exited=3'), ['mm', 'zz'], 'exited= looks at every state, newest first');
  assert.deepEqual(await names('-a', '--filter', 'before=mm'), ['aa', 'zz']);
  assert.deepEqual(await names('-a', '--filter', 'since=zz'), ['mm', 'aa']);
  assert.deepEqual(await names('-a', '--filter', 'status=exited', '--filter', 'exited=0'), ['aa']);
  assert.deepEqual(await names('-a', '--sort', 'names'), ['aa', 'mm', 'zz']);
  assert.deepEqual(await names('-a', '--sort', 'created'), ['zz', 'aa', 'mm'], 'created: oldest first, as Podman');
  const badSort = await runSandbox(['ps', '--sort', 'colour'], { root });
  assert.equal(badSort.code, 125, show(badSort));
  const badStatus = await runSandbox(['ps', '--filter', 'status=sleepy'], { root });
  assert.equal(badStatus.code, 125, show(badStatus));

  const size = await runSandbox(['ps', '-a', '--size'], { root });
  assert.equal(size.code, 0, show(size));
  assert.match(lines(size.stdout)[0]!, /\bSIZE$/, size.stdout);
  for (const row of lines(size.stdout).slice(1)) assert.match(row, /\b5(\.\d+)?kB \(virtual \d+(\.\d+)?MB\)$/, row);
  const sizeJson = JSON.parse((await runSandbox(['ps', '-a', '-s', '--format', 'json'], { root })).stdout) as { Size: { rwSize: number; rootFsSize: number } }[];
  assert.ok(sizeJson.every((s) => s.Size.rwSize >= 5000 && s.Size.rootFsSize > s.Size.rwSize), JSON.stringify(sizeJson));
  const noSize = JSON.parse((await runSandbox(['ps', '-a', '--format', 'json'], { root })).stdout) as object[];
  assert.ok(noSize.every((s) => !('Size' in s)), 'no size unless asked');

  // A restart policy restarts the command: STATUS counts from the current run, as Podman.
  const run = await runSandbox(['run', '-d', '--name', 'again', '--network', 'none', '--restart', 'always', 'bb', 'sh', '-c', 'sleep 3; exit 1'], { root });
  assert.equal(run.code, 0, show(run));
  // Restarted after ~3 s: then "Up N" counts from the new run, so falls behind the age (it never would from the first start).
  const seconds = (text: string) => (/Less than a second/.test(text) ? 0 : /About a minute/.test(text) ? 60 : Number(/(\d+) seconds?/.exec(text)?.[1] ?? NaN));
  let last = '';
  const younger = await eventually(async () => {
    const ps = await runSandbox(['ps', '--filter', 'name=again', '--format', '{{.Status}}|{{.RunningFor}}'], { root });
    last = ps.stdout.trim();
    const [status, age] = last.split('|');
    return /^Up /.test(status ?? '') && seconds(status!) + 2 <= seconds(age!) ? '' : `ps says ${last}`;
  }, 20_000, 250);
  assert.equal(younger, '', `the current run is younger than the sandbox: ${last}`);
  assert.equal((await runSandbox(['rm', '-f', 'again'], { root })).code, 0);
});

// Shell completion

async function bashComplete(root: string, line: string): Promise<string[]> {
  const script = [
    'source <(sandbox completion bash)',
    'complete -p sandbox',
    `COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}`,
    'read -r -a COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")',
    'COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
    '_sandbox_complete',
    'printf "reply:%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = await asUser('bash', ['-c', script], { root, env: { PATH: `${dirname(SANDBOX_BIN)}:/usr/bin:/bin` } });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^complete -o default -F _sandbox_complete sandbox$/m, 'the script registers itself');
  return lines(r.stdout).filter((l) => l.startsWith('reply:')).map((l) => l.slice(6)).filter(Boolean).sort();
}

test('completion: bash completes commands, group subcommands, options, sandbox and image names', async (t) => {
  if (!requireRootless(t, 'completion of names')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'busy');
  const c = await runSandbox(['create', '--name', 'webapp', 'busy', 'true'], { root });
  assert.equal(c.code, 0, show(c));

  assert.deepEqual(await bashComplete(root, 'sandbox sta'), ['start', 'stats']);
  assert.ok((await bashComplete(root, 'sandbox container ')).includes('ls'));
  assert.deepEqual(await bashComplete(root, 'sandbox system re'), ['reset']);
  assert.deepEqual(await bashComplete(root, 'sandbox start web'), ['webapp'], 'a sandbox name');
  assert.deepEqual(await bashComplete(root, 'sandbox container rm w'), ['webapp'], 'a sandbox name in the group');
  assert.deepEqual(await bashComplete(root, 'sandbox run bu'), ['busy', 'busy:latest'], 'an image name');
  assert.deepEqual(await bashComplete(root, 'sandbox run busy:'), ['latest'], 'after a colon, what bash replaces');
  assert.deepEqual(await bashComplete(root, 'sandbox image rm b'), ['busy', 'busy:latest']);
  assert.deepEqual(await bashComplete(root, 'sandbox run --rm --name x busy '), [], 'no names for the command');
  assert.ok((await bashComplete(root, 'sandbox rm --f')).includes('--force'), 'options');
  assert.deepEqual(await bashComplete(root, 'sandbox ps --sort na'), ['names'], "an option's choices");
});

/** The script of `shell` driven as that shell completes: fish's `complete -C`; zsh's function with `words`/`CURRENT` set and compadd recorded. */
const DRIVERS: Record<string, (line: string) => string[]> = {
  fish: (line) => ['-c', `sandbox completion fish | source; complete -C ${JSON.stringify(line)}`],
  zsh: (line) => {
    const words = line.split(' ');
    return ['-f', '-c', [
      'eval "$(sandbox completion zsh)"',
      'compadd() { [[ $1 == -Q ]] && shift; [[ $1 == -- ]] && shift; print -l -- "$@"; }',
      '_files() { print FILES; }',
      `words=(${words.map((w) => JSON.stringify(w)).join(' ')}); CURRENT=${words.length}`,
      '_sandbox',
    ].join('\n')];
  },
};

test('completion: zsh and fish complete sandbox and image names too', async (t) => {
  if (!requireRootless(t, 'completion of names')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'busy');
  assert.equal((await runSandbox(['create', '--name', 'webapp', 'busy', 'true'], { root })).code, 0);
  for (const shell of ['zsh', 'fish']) {
    const path = ['/usr/bin', '/bin'].map((d) => join(d, shell)).find((p) => existsSync(p));
    if (!path) {
      if (underCI()) assert.fail(`${shell} is not installed (.ci/run installs it)`);
      t.diagnostic(`${shell} is not installed: its script is not checked`);
      continue;
    }
    const script = await runSandbox(['completion', shell], { root });
    assert.equal(script.code, 0, show(script));
    const parses = await asUser(path, ['-n', '-c', script.stdout]);
    assert.equal(parses.code, 0, `${shell} -n: ${show(parses)}`);
    const complete = async (line: string) => {
      const r = await asUser(path, DRIVERS[shell]!(line), { root, env: { PATH: `${dirname(SANDBOX_BIN)}:/usr/bin:/bin` } });
      assert.equal(r.code, 0, `${shell}: ${line}: ${show(r)}`);
      return lines(r.stdout).sort();
    };
    assert.deepEqual(await complete('sandbox sta'), ['start', 'stats'], shell);
    assert.deepEqual(await complete('sandbox start w'), ['webapp'], `${shell}: a sandbox name`);
    assert.deepEqual(await complete('sandbox run busy:'), ['busy:latest'], `${shell}: an image name`);
  }
  const bad = await runSandbox(['completion', 'tcsh'], { root });
  assert.equal(bad.code, 125, show(bad));
});
