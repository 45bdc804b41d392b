/**
 * Issue 16, part opts16: the id-mode options Podman has and we lacked, as the test user:
 * --userns=auto's uidmapping=/gidmapping=, --subuidname/--subgidname (the caller's own
 * ranges only: newuidmap's rule), --userns=private. The maps are read from inside
 * (/proc/self/uid_map: ids of the default namespace, where 0 is the caller and 1.. the
 * subordinate range).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newStore, requireRootless, runSandbox, show, testUser } from './harness.js';

const maps = (text: string) => text.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));

test('--userns=auto:uidmapping=,gidmapping=: the forced ranges are in the map, the slice around them', async (t) => {
  if (!requireRootless(t, '--userns=auto:uidmapping')) return;
  const root = await newStore(t);
  const r = await runSandbox(['run', '--rm', '--userns=auto:size=1024,uidmapping=500:5:10,gidmapping=0:7:1', 'host', 'sh', '-c', 'cat /proc/self/uid_map; echo --; cat /proc/self/gid_map'], { root });
  assert.equal(r.code, 0, show(r));
  const [uid, gid] = r.stdout.split('--\n').map(maps);
  assert.ok(uid!.some(([i, o, c]) => i === 500 && o === 5 && c === 10), r.stdout);
  assert.ok(gid!.some(([i, o, c]) => i === 0 && o === 7 && c === 1), r.stdout);
  // Each id inside 0..1023 is mapped exactly once, and no outside id twice.
  for (const m of [uid!, gid!]) {
    assert.equal(m.reduce((n, [, , c]) => n + c!, 0), 1024, r.stdout);
    const outs = m.flatMap(([, o, c]) => Array.from({ length: c! }, (_, k) => o! + k));
    assert.equal(new Set(outs).size, outs.length, r.stdout);
  }
  const bad = await runSandbox(['run', '--rm', '--userns=auto:uidmapping=0:1', 'host', 'true'], { root });
  assert.equal(bad.code, 125, show(bad));
  assert.match(bad.stderr, /^sandbox: --userns=auto:uidmapping= 0:1: not CONTAINER:HOST:SIZE/);
});

test('--subuidname/--subgidname: your own name maps your range as 0..; another name\'s range is refused with newuidmap\'s rule', async (t) => {
  if (!requireRootless(t, '--subuidname')) return;
  const root = await newStore(t);
  const me = testUser().name;
  const r = await runSandbox(['run', '--rm', '--subuidname', me, 'host', 'sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/gid_map'], { root });
  assert.equal(r.code, 0, show(r));
  const [id, ...rest] = r.stdout.trim().split('\n');
  assert.equal(id, '0');
  // 0 inside is the first id of the subordinate range (1 of the default namespace), not the caller.
  assert.deepEqual(maps(rest.join('\n')).map(([i, o]) => [i, o]), [[0, 1], [0, 1]]);
  const other = await runSandbox(['run', '--rm', '--subuidname', 'root', 'host', 'true'], { root });
  assert.equal(other.code, 125, show(other));
  assert.match(other.stderr, /^sandbox: --subuidname root: \/etc\/subuid has no range for root\nhint: give a name \/etc\/subuid lists \(yours: /);
  const both = await runSandbox(['run', '--rm', '--subuidname', me, '--userns=keep-id', 'host', 'true'], { root });
  assert.equal(both.code, 125, show(both));
});
