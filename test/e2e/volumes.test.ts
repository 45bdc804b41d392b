/**
 * Issue 3, item 7: named and anonymous volumes, as the unprivileged test user: created
 * on first use, data and owners kept from one sandbox to the next, a volume in use
 * cannot be removed, `rm -v` removes anonymous volumes only, volume ls/inspect/prune.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { importImage, lines, newStore, requireRootless, runSandbox, show } from './harness.js';

interface VolumeJson {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: string;
  Anonymous: boolean;
}

async function volumeNames(root: string): Promise<string[]> {
  const r = await runSandbox(['volume', 'ls', '-q'], { root });
  assert.equal(r.code, 0, show(r));
  return lines(r.stdout);
}

function volumeEvents(root: string): string[] {
  const file = join(root, 'data', 'events.jsonl');
  if (!existsSync(file)) return [];
  return lines(readFileSync(file, 'utf8'))
    .map((l) => JSON.parse(l) as { type: string; action: string; id: string })
    .filter((e) => e.type === 'volume')
    .map((e) => `${e.action} ${e.id}`);
}

test('-v NAME:/path: created on first use, data and owners kept from one run --rm to the next', async (t) => {
  if (!requireRootless(t, 'named volumes')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  assert.deepEqual(await volumeNames(root), []);

  const write = await runSandbox(['run', '--rm', '--network', 'none', '-v', 'data:/data', 'bb', 'sh', '-c',
    'echo kept > /data/note && chown 1000:1000 /data/note && mkdir /data/app && chown 1000:1000 /data/app && ' +
    'su -s /bin/sh -c "echo by-app > /data/app/own" app'], { root });
  assert.equal(write.code, 0, show(write));
  assert.deepEqual(await volumeNames(root), ['data'], 'the volume was created on first use');

  const read = await runSandbox(['run', '--rm', '--network', 'none', '-v', 'data:/data:ro', 'bb', 'sh', '-c',
    'cat /data/note; stat -c "%u:%g %n" /data/note /data/app /data/app/own; cat /data/app/own; touch /data/x 2>/dev/null && echo writable || echo read-only'], { root });
  assert.equal(read.code, 0, show(read));
  assert.deepEqual(lines(read.stdout), [
    'kept', '1000:1000 /data/note', '1000:1000 /data/app', '1000:1000 /data/app/own', 'by-app', 'read-only',
  ], show(read));

  const inspect = await runSandbox(['volume', 'inspect', 'data'], { root });
  assert.equal(inspect.code, 0, show(inspect));
  const [v] = JSON.parse(inspect.stdout) as VolumeJson[];
  assert.equal(v?.Name, 'data');
  assert.equal(v?.Driver, 'local');
  assert.equal(v?.Scope, 'local');
  assert.equal(v?.Anonymous, false);
  assert.equal(v?.Mountpoint, join(root, 'data', 'volumes', 'data', '_data'));
  assert.ok(!Number.isNaN(Date.parse(v?.CreatedAt ?? '')), 'CreatedAt is a time');
  assert.deepEqual(volumeEvents(root), ['volume-create data']);
});

test('a volume used by a stopped sandbox cannot be removed (125); after rm of the sandbox it can', async (t) => {
  if (!requireRootless(t, 'volume in use')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '--name', 'keeper', '--network', 'none', '-v', 'data:/data', 'bb', 'true'], { root });
  assert.equal(run.code, 0, show(run));

  const refused = await runSandbox(['volume', 'rm', 'data'], { root });
  assert.equal(refused.code, 125, show(refused));
  assert.match(refused.stderr, /^sandbox: volume data is in use by sandbox keeper \([a-f0-9]{12}\)\nhint: .*sandbox rm keeper/m, show(refused));
  assert.deepEqual(await volumeNames(root), ['data'], 'the volume is still there');
  const refusedForce = await runSandbox(['volume', 'rm', '-f', 'data'], { root });
  assert.equal(refusedForce.code, 125, `-f does not remove a volume in use\n${show(refusedForce)}`);
  const pruned = await runSandbox(['volume', 'prune', '-f'], { root });
  assert.equal(pruned.code, 0, show(pruned));
  assert.deepEqual(await volumeNames(root), ['data'], 'prune leaves a volume in use');

  const rm = await runSandbox(['rm', 'keeper'], { root });
  assert.equal(rm.code, 0, show(rm));
  assert.deepEqual(await volumeNames(root), ['data'], 'rm without -v keeps named volumes');
  const removed = await runSandbox(['volume', 'rm', 'data'], { root });
  assert.equal(removed.code, 0, show(removed));
  assert.equal(removed.stdout, 'data\n');
  assert.deepEqual(await volumeNames(root), []);
  assert.deepEqual(readdirSync(join(root, 'data', 'volumes')), [], 'nothing left behind');
  assert.deepEqual(volumeEvents(root), ['volume-create data', 'volume-remove data']);

  const missing = await runSandbox(['volume', 'rm', 'data'], { root });
  assert.equal(missing.code, 125, show(missing));
  assert.match(missing.stderr, /^sandbox: no such volume: data$/m);
  assert.equal((await runSandbox(['volume', 'rm', '-f', 'data'], { root })).code, 0, '-f: a missing volume is no error');
});

test('-v /path makes an anonymous volume: rm -v removes it (files of other ids too), the named one survives; run --rm removes its own', async (t) => {
  if (!requireRootless(t, 'anonymous volumes')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '--name', 'anon', '--network', 'none', '-v', '/scratch', '-v', 'named:/named', 'bb', 'sh', '-c',
    'mkdir /scratch/d && echo x > /scratch/d/f && chown -R 1000:1000 /scratch/d && chmod 700 /scratch/d && echo n > /named/f'], { root });
  assert.equal(run.code, 0, show(run));
  const names = await volumeNames(root);
  assert.equal(names.length, 2, names.join(' '));
  const anon = names.find((n) => n !== 'named');
  assert.match(anon ?? '', /^[a-f0-9]{64}$/, 'an anonymous volume has a random 64-hex name');
  const [info] = JSON.parse((await runSandbox(['volume', 'inspect', anon!], { root })).stdout) as VolumeJson[];
  assert.equal(info?.Anonymous, true);

  const rm = await runSandbox(['rm', '-v', 'anon'], { root });
  assert.equal(rm.code, 0, show(rm));
  assert.deepEqual(await volumeNames(root), ['named'], 'rm -v removes the anonymous volume only');
  assert.deepEqual(readdirSync(join(root, 'data', 'volumes')), ['named'], 'its files (owned by a subordinate id) are gone too');

  const once = await runSandbox(['run', '--rm', '--network', 'none', '-v', '/tmpdata', 'bb', 'sh', '-c', 'echo y > /tmpdata/f'], { root });
  assert.equal(once.code, 0, show(once));
  assert.deepEqual(await volumeNames(root), ['named'], 'run --rm removes its anonymous volumes, as Docker');
});

test('volume create, ls (table, -q, json), inspect, prune', async (t) => {
  if (!requireRootless(t, 'volume commands')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');

  const create = await runSandbox(['volume', 'create', '--label', 'team=core', '--label', 'tier', 'idle'], { root });
  assert.equal(create.code, 0, show(create));
  assert.equal(create.stdout, 'idle\n');
  const again = await runSandbox(['volume', 'create', 'idle'], { root });
  assert.equal(again.code, 125, `creating an existing volume is an error, as Podman\n${show(again)}`);
  assert.match(again.stderr, /^sandbox: volume idle already exists\nhint: /, again.stderr);
  const ignored = await runSandbox(['volume', 'create', '--ignore', 'idle'], { root });
  assert.equal(ignored.code, 0, `--ignore keeps it\n${show(ignored)}`);
  assert.equal(ignored.stdout, 'idle\n');
  const unnamed = await runSandbox(['volume', 'create'], { root });
  assert.match(unnamed.stdout, /^[a-f0-9]{64}\n$/, show(unnamed));
  const bad = await runSandbox(['volume', 'create', '-bad'], { root });
  assert.equal(bad.code, 125, show(bad));
  const badName = await runSandbox(['volume', 'create', 'a/b'], { root });
  assert.equal(badName.code, 125, show(badName));
  assert.match(badName.stderr, /^sandbox: invalid volume name "a\/b"/m);

  const fill = await runSandbox(['run', '--rm', '--network', 'none', '-v', 'idle:/v', '-v', 'used:/u', 'bb', 'sh', '-c',
    'head -c 3000 /dev/zero > /v/blob'], { root });
  assert.equal(fill.code, 0, show(fill));
  const keep = await runSandbox(['run', '--name', 'user', '--network', 'none', '-v', 'used:/u', 'bb', 'true'], { root });
  assert.equal(keep.code, 0, show(keep));

  const table = await runSandbox(['volume', 'ls'], { root });
  assert.equal(table.code, 0, show(table));
  const rows = lines(table.stdout);
  assert.match(rows[0] ?? '', /^DRIVER\s+VOLUME NAME$/);
  assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/)).map(([d, n]) => `${d} ${n}`).sort(),
    [`local ${unnamed.stdout.trim()}`, 'local idle', 'local used'].sort());
  const json = JSON.parse((await runSandbox(['volume', 'ls', '--format', 'json'], { root })).stdout) as VolumeJson[];
  assert.deepEqual(json.find((v) => v.Name === 'idle')?.Labels, { team: 'core', tier: '' });

  const inspect = await runSandbox(['volume', 'inspect', 'idle', 'used'], { root });
  assert.equal(inspect.code, 0, show(inspect));
  assert.deepEqual((JSON.parse(inspect.stdout) as VolumeJson[]).map((v) => v.Name), ['idle', 'used']);
  const inspectMissing = await runSandbox(['volume', 'inspect', 'idle', 'nope'], { root });
  assert.equal(inspectMissing.code, 125, show(inspectMissing));
  assert.deepEqual((JSON.parse(inspectMissing.stdout) as VolumeJson[]).map((v) => v.Name), ['idle'], 'what exists is still shown');
  assert.match(inspectMissing.stderr, /^sandbox: no such volume: nope$/m);

  const prune = await runSandbox(['volume', 'prune', '-f'], { root });
  assert.equal(prune.code, 0, show(prune));
  const out = lines(prune.stdout);
  assert.equal(out[0], 'Deleted Volumes:', show(prune));
  assert.deepEqual(out.slice(1, -1).sort(), [unnamed.stdout.trim(), 'idle'].sort(), show(prune));
  assert.equal(out.at(-1), 'Total reclaimed space: 3kB', show(prune));
  assert.deepEqual(await volumeNames(root), ['used'], 'the volume in use stays');
  const empty = await runSandbox(['volume', 'prune', '-f'], { root });
  assert.equal(empty.stdout, 'Total reclaimed space: 0B\n', show(empty));
});
