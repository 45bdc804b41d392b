/**
 * Issue 16, id modes: --userns=keep-id, auto, nomap, --uidmap/--gidmap, as the
 * unprivileged test user. The image's files keep their owners in every mode (the
 * busybox image: root's files, and /home/app owned by 1000:1000).
 */
import assert from 'node:assert/strict';
import { statSync, writeFileSync, chownSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_UID, busyboxRootfsTar } from './fixtures.js';
import { eventually, importImage, newStore, newUserDir, requireRootless, runSandbox, sandboxIdsIn, show, subidRanges, testUser } from './harness.js';

/** /proc/self/uid_map (or gid_map) inside, as [inside, outside, count] rows. */
function mapRows(text: string): number[][] {
  return text.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
}

function subuidStart(): number {
  const u = testUser();
  const r = subidRanges('/etc/subuid', { name: u.name, uid: u.uid });
  assert.ok(r.length, 'the test user has a subuid range');
  return r[0]!.start;
}

test('keep-id: the caller is their own uid inside; a file written to a bind is theirs on the host; image files keep their owners', async (t) => {
  if (!requireRootless(t, 'keep-id')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const dir = await newUserDir(t);
  const u = testUser();
  const r = await runSandbox(['run', '--rm', '--userns=keep-id', '--network', 'none', '-v', `${dir}:/work`, 'bb', 'sh', '-c',
    'id -u; id -g; echo $HOME; touch /work/made; stat -c "%u:%g" /etc/passwd /bin/busybox /home/app; grep "^[^:]*:[^:]*:$(id -u):" /etc/passwd | cut -d: -f3'], { root });
  assert.equal(r.code, 0, show(r));
  const [uid, gid, home, passwdOwner, bbOwner, appOwner, entry] = r.stdout.trim().split('\n');
  assert.equal(uid, String(u.uid), 'id -u inside is the caller\'s uid');
  assert.equal(gid, String(u.gid));
  assert.equal(home, '/', 'HOME is the passwd entry\'s, / as Podman\'s');
  assert.equal(passwdOwner, '0:0', 'image files owned by root stay root\'s inside');
  assert.equal(bbOwner, '0:0');
  assert.equal(appOwner, `${APP_UID}:${APP_UID}`, 'files of other ids keep theirs');
  assert.equal(entry, String(u.uid), '/etc/passwd has an entry for the caller');
  assert.deepEqual(sandboxIdsIn(root), [], '--rm of a nested sandbox leaves no directory (the monitor removes it)');
  const st = statSync(join(dir, 'made'));
  assert.equal(st.uid, u.uid, 'the file made inside is the caller\'s on the host');
  assert.equal(st.gid, u.gid);
});

test('keep-id:uid=,gid= and root inside is a subordinate id; exec gets the same ids', async (t) => {
  if (!requireRootless(t, 'keep-id')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const u = testUser();
  const run = await runSandbox(['run', '-d', '--name', 'k', '--userns=keep-id:uid=2000,gid=3000', '--network', 'none', 'bb', 'sleep', '60'], { root });
  assert.equal(run.code, 0, show(run));
  const ex = await runSandbox(['exec', 'k', 'sh', '-c', 'id -u; id -g; cat /proc/self/uid_map'], { root });
  assert.equal(ex.code, 0, show(ex));
  const [uid, gid, ...map] = ex.stdout.trim().split('\n');
  assert.equal(uid, '2000');
  assert.equal(gid, '3000');
  const rows = mapRows(map.join('\n'));
  // uid_map shows the ids of the namespace above (the default one, where 0 is the caller), as in Podman's.
  assert.deepEqual(rows.find((row) => row[0] === 2000)?.slice(1), [0, 1], `2000 inside is the caller outside: ${map.join('\n')}`);
  assert.deepEqual(rows.find((row) => row[0] === 0)?.slice(1, 2), [1], 'root inside is the first subordinate id');
  const asRoot = await runSandbox(['exec', '-u', '0', 'k', 'id', '-u'], { root });
  assert.equal(asRoot.stdout.trim(), '0', show(asRoot));
  const inspect = JSON.parse((await runSandbox(['inspect', 'k'], { root })).stdout) as { HostConfig: { UsernsMode: string; IDMappings: { UidMap: string[]; GidMap: string[] } } }[];
  assert.equal(inspect[0]?.HostConfig.UsernsMode, 'keep-id:uid=2000,gid=3000');
  assert.ok(inspect[0]?.HostConfig.IDMappings.UidMap.includes('2000:0:1'), JSON.stringify(inspect[0]?.HostConfig.IDMappings));
});

test('auto: two sandboxes get disjoint slices, held while they exist, freed at rm', async (t) => {
  if (!requireRootless(t, 'userns=auto')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const mapOf = async (name: string) => {
    const r = await runSandbox(['start', '-a', name], { root });
    assert.equal(r.code, 0, show(r));
    return mapRows(r.stdout);
  };
  for (const n of ['a1', 'a2']) {
    const c = await runSandbox(['create', '--name', n, '--userns=auto', '--network', 'none', 'bb', 'sh', '-c', 'cat /proc/self/uid_map; stat -c %u /etc/passwd >&2'], { root });
    assert.equal(c.code, 0, show(c));
  }
  const m1 = await mapOf('a1');
  const m2 = await mapOf('a2');
  assert.equal(m1.length, 1, 'one range each');
  const [[in1, out1, n1], [in2, out2, n2]] = [m1[0]!, m2[0]!];
  assert.equal(in1, 0);
  assert.equal(in2, 0);
  assert.equal(n1, 1024, 'the default size: the image names no id above 1023');
  assert.ok(out1! + n1! <= out2! || out2! + n2! <= out1!, `disjoint: ${m1} / ${m2}`);
  // The stopped a1 still holds its slice: a third one does not get it.
  const c3 = await runSandbox(['run', '--rm', '--userns=auto', '--network', 'none', 'bb', 'cat', '/proc/self/uid_map'], { root });
  const m3 = mapRows(c3.stdout)[0]!;
  assert.ok(m3[1]! + m3[2]! <= out1! || out1! + n1! <= m3[1]!, `a stopped sandbox keeps its slice: ${m3} / ${m1}`);
  assert.equal((await runSandbox(['rm', 'a1'], { root })).code, 0);
  const c4 = await runSandbox(['run', '--rm', '--userns=auto', '--network', 'none', 'bb', 'cat', '/proc/self/uid_map'], { root });
  assert.deepEqual(mapRows(c4.stdout)[0], m1[0], 'the slice of a removed sandbox is given out again');
  const owner = await runSandbox(['run', '--rm', '--userns=auto:size=2048', '--network', 'none', 'bb', 'sh', '-c', 'stat -c "%u %g" /etc/passwd /home/app; cat /proc/self/uid_map'], { root });
  assert.equal(owner.code, 0, show(owner));
  const out = owner.stdout.trim().split('\n');
  assert.deepEqual(out.slice(0, 2), ['0 0', `${APP_UID} ${APP_UID}`], 'the image\'s owners inside an auto namespace');
  assert.equal(mapRows(out[2]!)[0]![2], 2048, 'size= is the size asked');
});

test('--uidmap/--gidmap CONTAINER:HOST:SIZE, HOST in the default namespace', async (t) => {
  if (!requireRootless(t, 'uidmap')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const r = await runSandbox(['run', '--rm', '--uidmap', '0:100:2000', '--gidmap', '0:200:2000', '--network', 'none', 'bb', 'sh', '-c',
    'cat /proc/self/uid_map /proc/self/gid_map; stat -c "%u %g" /etc/passwd /home/app'], { root });
  assert.equal(r.code, 0, show(r));
  const out = r.stdout.trim().split('\n');
  const start = subuidStart();
  assert.deepEqual(mapRows(out[0]!)[0], [0, 100, 2000], 'HOST is an id of the default namespace (as uid_map shows it inside)');
  void start;
  assert.equal(mapRows(out[1]!)[0]![0], 0);
  assert.deepEqual(out.slice(2), ['0 0', `${APP_UID} ${APP_UID}`]);
  const bad = await runSandbox(['run', '--rm', '--uidmap', '0:1:99999999', 'bb', 'true'], { root });
  assert.equal(bad.code, 125, show(bad));
  assert.match(bad.stderr, /^sandbox: --uidmap .*\nhint: /m);
});

test('commit of a keep-id sandbox: its layer comes out in the image\'s own ids', async (t) => {
  if (!requireRootless(t, 'commit keep-id')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '--name', 'kc', '--userns=keep-id', '--network', 'none', 'bb', 'sh', '-c',
    'touch /tmp/mine; su -c "true" 2>/dev/null; echo done'], { root });
  assert.equal(run.code, 0, show(run));
  const commit = await runSandbox(['commit', 'kc', 'kc-img'], { root });
  assert.equal(commit.code, 0, show(commit));
  const check = await runSandbox(['run', '--rm', '--network', 'none', 'kc-img', 'stat', '-c', '%u %g', '/tmp/mine', '/etc/passwd'], { root });
  assert.equal(check.code, 0, show(check));
  const u = testUser();
  assert.deepEqual(check.stdout.trim().split('\n'), [`${u.uid} ${u.gid}`, '0 0'], 'the keep-id user\'s file keeps its id; the image\'s stay root\'s');
});

test(':U chowns a bind\'s source (and a tmpfs) to the sandbox\'s user, in the default mode and in keep-id', async (t) => {
  if (!requireRootless(t, ':U')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const dir = await newUserDir(t);
  writeFileSync(join(dir, 'f'), 'x');
  const u = testUser();
  if (u.switchUser) chownSync(join(dir, 'f'), u.uid, u.gid);
  // :U chowns the directory too, to a subordinate id: searchable by others, the test (run
  // as the user, as `npm test` is) can still stat what is in it; 0700 would shut it out.
  chmodSync(dir, 0o755);
  const start = subuidStart();
  // Default mode, --user 1000:1000: on the host the files become subuid start + 999.
  const r = await runSandbox(['run', '--rm', '--network', 'none', '-u', '1000:1000', '-v', `${dir}:/data:U`,
    '--mount', 'type=tmpfs,dst=/scratch,U', 'bb', 'sh', '-c', 'stat -c "%u:%g" /data /data/f /scratch; touch /data/new'], { root });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(r.stdout.trim().split('\n'), ['1000:1000', '1000:1000', '1000:1000']);
  assert.equal(statSync(join(dir, 'f')).uid, start + 999, 'chowned on the host to what 1000 is inside');
  // keep-id, the default user (the caller): chowned back to the caller.
  const k = await runSandbox(['run', '--rm', '--network', 'none', '--userns=keep-id', '-v', `${dir}:/data:U`, 'bb', 'stat', '-c', '%u', '/data/f'], { root });
  assert.equal(k.code, 0, show(k));
  assert.equal(k.stdout.trim(), String(u.uid));
  assert.equal(statSync(join(dir, 'f')).uid, u.uid);
});

test('--group-add keep-groups with keep-id: the caller\'s groups stay', async (t) => {
  if (!requireRootless(t, 'keep-groups')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const r = await runSandbox(['run', '--rm', '--network', 'none', '--userns=keep-id', '--group-add', 'keep-groups', 'bb', 'sh', '-c', 'id -u; grep ^Groups /proc/self/status'], { root });
  assert.equal(r.code, 0, show(r));
  const [uid, groups] = r.stdout.trim().split('\n');
  assert.equal(uid, String(testUser().uid));
  assert.match(groups ?? '', new RegExp(`\\b${testUser().gid}\\b`), 'the caller\'s own group, seen as its id inside');
});

test('a detached --rm keep-id sandbox is removed by its monitor; one sharing another\'s network cannot have a mode', async (t) => {
  if (!requireRootless(t, 'keep-id --rm -d')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const d = await runSandbox(['run', '-d', '--rm', '--userns=keep-id', '--network', 'none', 'bb', 'sh', '-c', 'touch /tmp/x; sleep 0.2'], { root });
  assert.equal(d.code, 0, show(d));
  const left = await eventually(() => (sandboxIdsIn(root).length ? sandboxIdsIn(root).join(' ') : ''), 10000);
  assert.equal(left, '', 'no directory left');
  const base = await runSandbox(['run', '-d', '--name', 'base', '--network', 'none', 'bb', 'sleep', '30'], { root });
  assert.equal(base.code, 0, show(base));
  const joined = await runSandbox(['run', '--rm', '--userns=keep-id', '--network', 'container:base', 'bb', 'true'], { root });
  assert.equal(joined.code, 125, show(joined));
  assert.match(joined.stderr, /^sandbox: --userns.*\nhint: /m);
});

test('--userns bad values are refused with a hint', async (t) => {
  if (!requireRootless(t, 'userns refusals')) return;
  const root = await newStore(t);
  for (const bad of ['--userns=bogus', '--userns=keep-id:uid=x', '--userns=auto:size=0']) {
    const r = await runSandbox(['run', '--rm', bad, 'bb', 'true'], { root });
    assert.equal(r.code, 125, show(r));
    assert.match(r.stderr, /^sandbox: .*\nhint: /m, bad);
  }
});
