/**
 * Issue 14, item 8: the verbs scripts use, as Podman's: `diff`, `container|image|volume
 * exists`, `unshare` (root of the sandboxes' user namespace, for fixing file owners) and
 * `mount`/`unmount` of a sandbox's root inside it.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  SANDBOX_BIN, importImage, killGroup, lines, newStore, requireRootless, runSandbox, show, spawnAsUser, subidRanges, testUser,
} from './harness.js';
import { SCRIPT, Session, marker, requireScript } from './terminal.js';

test('diff: A for what was added, C for what was changed (and the directories above), D for what was deleted; --format json; container diff', async (t) => {
  if (!requireRootless(t, 'diff')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '--name', 'changer', '--network', 'none', '-v', 'vol:/data', 'bb', 'sh', '-c',
    'mkdir -p /newdir/sub && echo x > /newdir/sub/f && echo x > /etc/newfile && rm /etc/passwd && echo more >> /etc/group && ln -s /x /lnk && rm -r /home && echo v > /data/in-volume && chown 1000:1000 /newdir/sub && chmod 700 /newdir/sub'], { root });
  assert.equal(run.code, 0, show(run));

  const diff = await runSandbox(['diff', 'changer'], { root });
  assert.equal(diff.code, 0, show(diff));
  const got = lines(diff.stdout).sort();
  // /newdir/sub belongs to a subordinate id and is 0700: read as root of the namespace.
  assert.deepEqual(got, [
    'A /etc/newfile', 'A /lnk', 'A /newdir', 'A /newdir/sub', 'A /newdir/sub/f',
    'C /etc', 'C /etc/group', 'D /etc/passwd', 'D /home',
  ], `diff lists exactly the changes (no mount points such as /etc/hosts or the volume's /data):\n${diff.stdout}`);

  const json = await runSandbox(['diff', '--format', 'json', 'changer'], { root });
  assert.equal(json.code, 0, show(json));
  const parsed = JSON.parse(json.stdout) as { added?: string[]; changed?: string[]; deleted?: string[] };
  assert.deepEqual(parsed.changed?.sort(), ['/etc', '/etc/group']);
  assert.deepEqual(parsed.deleted?.sort(), ['/etc/passwd', '/home']);
  assert.equal(parsed.added?.length, 5);

  const viaGroup = await runSandbox(['container', 'diff', 'changer'], { root });
  assert.equal(viaGroup.code, 0, show(viaGroup));
  assert.deepEqual(lines(viaGroup.stdout).sort(), got);

  const clean = await runSandbox(['run', '--name', 'clean', '--network', 'none', 'bb', 'true'], { root });
  assert.equal(clean.code, 0, show(clean));
  const none = await runSandbox(['diff', 'clean'], { root });
  assert.equal(none.code, 0, show(none));
  // Its mount points are not changes; /etc, where /etc/hosts and /etc/resolv.conf were made, is (as in Podman's diff).
  assert.match(none.stdout, /^(C \/etc\n)?$/, `a sandbox that changed nothing has no changes of its own:\n${none.stdout}`);

  const missing = await runSandbox(['diff', 'nosuch'], { root });
  assert.equal(missing.code, 125, show(missing));
  assert.match(missing.stderr, /^sandbox: no such sandbox: nosuch$/m);
  const badFormat = await runSandbox(['diff', '--format', 'table', 'changer'], { root });
  assert.equal(badFormat.code, 125, show(badFormat));
});

test('container, image and volume exists: 0 when it does, 1 when not, nothing printed; 125 on bad usage', async (t) => {
  if (!requireRootless(t, 'exists')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const created = await runSandbox(['create', '--name', 'there', 'bb', 'true'], { root });
  assert.equal(created.code, 0, show(created));
  const id = created.stdout.trim();
  assert.equal((await runSandbox(['volume', 'create', 'vol'], { root })).code, 0);
  const cases: [string[], number][] = [
    [['container', 'exists', 'there'], 0],
    [['container', 'exists', id], 0],
    [['container', 'exists', id.slice(0, 6)], 0],
    [['container', 'exists', 'not-there'], 1],
    [['image', 'exists', 'bb'], 0],
    [['image', 'exists', 'not-there'], 1],
    [['volume', 'exists', 'vol'], 0],
    [['volume', 'exists', 'not-there'], 1],
    [['container', 'exists'], 125],
  ];
  for (const [args, code] of cases) {
    const r = await runSandbox(args, { root });
    assert.equal(r.code, code, `${args.join(' ')}\n${show(r)}`);
    assert.equal(r.stdout, '', `${args.join(' ')} prints nothing`);
    if (code !== 125) assert.equal(r.stderr, '', `${args.join(' ')} prints nothing`);
  }
});

test('unshare: root of the sandboxes\' user namespace (the subuid map), the store in SANDBOX_STORE; fixes a volume file\'s owner', async (t) => {
  if (!requireRootless(t, 'unshare')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const user = testUser();
  const [range] = subidRanges('/etc/subuid', user);
  assert.ok(range, 'the test user has a subuid range');

  const id = await runSandbox(['unshare', 'id', '-u'], { root });
  assert.equal(id.code, 0, show(id));
  assert.equal(id.stdout, '0\n');
  const map = await runSandbox(['unshare', 'cat', '/proc/self/uid_map'], { root });
  assert.equal(map.code, 0, show(map));
  assert.deepEqual(lines(map.stdout).map((l) => l.trim().split(/\s+/).map(Number)), [[0, user.uid, 1], [1, range.start, range.count]]);
  const env = await runSandbox(['unshare', 'sh', '-c', 'echo "$SANDBOX_STORE"; exit 3'], { root });
  assert.equal(env.code, 3, 'the command\'s exit status is ours');
  assert.equal(env.stdout, `${root}/data\n`);

  // A file a sandbox wrote into a volume as its user 1000 is the subordinate id's on the host ...
  const write = await runSandbox(['run', '--rm', '--network', 'none', '-u', '1000:1000', '-v', 'vol:/data', 'bb', 'sh', '-c', 'echo x > /data/f'], { root });
  // The volume's directory is root's inside: let user 1000 write there first.
  if (write.code !== 0) {
    assert.equal((await runSandbox(['run', '--rm', '--network', 'none', '-v', 'vol:/data', 'bb', 'chmod', '1777', '/data'], { root })).code, 0);
    const again = await runSandbox(['run', '--rm', '--network', 'none', '-u', '1000:1000', '-v', 'vol:/data', 'bb', 'sh', '-c', 'echo x > /data/f'], { root });
    assert.equal(again.code, 0, show(again));
  }
  const inspect = JSON.parse((await runSandbox(['volume', 'inspect', 'vol'], { root })).stdout) as { Mountpoint: string }[];
  const file = `${inspect[0]!.Mountpoint}/f`;
  assert.equal(statSync(file).uid, range.start + 999, 'user 1000 inside is subuid start + 999 outside');
  // ... and `unshare chown` gives it back to the user (root inside).
  const chown = await runSandbox(['unshare', 'chown', '0:0', file], { root });
  assert.equal(chown.code, 0, show(chown));
  assert.equal(statSync(file).uid, user.uid);

  const nested = await runSandbox(['unshare', SANDBOX_BIN, 'unshare', 'true'], { root });
  assert.equal(nested.code, 125, show(nested));
});

test('mount inside unshare: a stopped sandbox\'s root is readable (and the owners right), listed, unmounted; outside unshare it says how', async (t) => {
  if (!requireRootless(t, 'mount')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '--name', 'done', '--network', 'none', 'bb', 'sh', '-c', 'echo made-inside > /made && chown 1000 /made'], { root });
  assert.equal(run.code, 0, show(run));

  const outside = await runSandbox(['mount', 'done'], { root });
  assert.equal(outside.code, 125, show(outside));
  assert.match(outside.stderr, /^sandbox: cannot run `sandbox mount` outside `sandbox unshare`.*\nhint: .*sandbox unshare/m);

  const script = [
    `p=$(${SANDBOX_BIN} mount done) || exit 9`,
    'echo "path=$p"',
    'cat "$p/made"',
    'stat -c "owner=%u" "$p/made"',
    'ls "$p/bin/busybox"',
    `${SANDBOX_BIN} mount`,
    `${SANDBOX_BIN} unmount done`,
    `echo "after=$(${SANDBOX_BIN} mount | wc -l)"`,
  ].join('; ');
  const inside = await runSandbox(['unshare', 'sh', '-c', script], { root });
  assert.equal(inside.code, 0, show(inside));
  const path = /^path=(.*)$/m.exec(inside.stdout)?.[1];
  assert.ok(path && path.startsWith(`${root}/data/containers/`), show(inside));
  assert.match(inside.stdout, /^made-inside$/m, 'the sandbox\'s own file is there');
  assert.match(inside.stdout, /^owner=1000$/m, 'owners read as inside the sandbox');
  assert.match(inside.stdout, /\/bin\/busybox$/m, 'the image\'s files are there too');
  assert.match(inside.stdout, new RegExp(`^[0-9a-f]{12}  ${path}$`, 'm'), '`mount` lists it');
  assert.match(inside.stdout, /^done\nafter=0$/m, 'unmount undoes it');

  const running = await runSandbox(['run', '-d', '--name', 'up', '--network', 'none', 'bb', 'sleep', '100'], { root });
  assert.equal(running.code, 0, show(running));
  const busy = await runSandbox(['unshare', SANDBOX_BIN, 'mount', 'up'], { root });
  assert.equal(busy.code, 125, show(busy));
  assert.match(busy.stderr, /it is running[\s\S]*hint: stop it first/);
});

test('unshare without a command: an interactive shell that keeps the terminal (Ctrl-C stops its command, not the shell)', async (t) => {
  if (!requireRootless(t, 'unshare shell') || !requireScript(t)) return;
  const root = await newStore(t);
  const child = spawnAsUser(SCRIPT!, ['-qec', `exec ${SANDBOX_BIN} unshare`, '/dev/null'], { root, env: { TERM: 'xterm', SHELL: '/bin/sh' } });
  t.after(() => killGroup(child, 'SIGKILL'));
  const s = new Session(child);
  await s.expect(/# /); // root's prompt
  const m1 = marker('UIDSHOWN');
  s.type(`id -u; ${m1.cmd}\r`);
  const seen = await s.expect(new RegExp(`([\\s\\S]*?)${m1.re.source}`));
  assert.match(seen[1] ?? '', /^0\r?$/m, s.screen);
  s.type('sleep 100\r');
  await new Promise((r) => setTimeout(r, 500));
  s.type('\x03');
  const m2 = marker('STILLTHERE');
  s.type(`echo "status=$?"; ${m2.cmd}\r`);
  const after = await s.expect(new RegExp(`([\\s\\S]*?)${m2.re.source}`), 20_000);
  assert.match(after[1] ?? '', /(?:^|# )status=130\r?$/m, s.screen);
  s.type('exit 4\r');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
  assert.equal(await s.exited, 4, s.screen);
  clearTimeout(timer);
});

test('--no-trunc on every listing that has it (ps, ps --size, images, history, pod ps): full ids, never "Unknown argument: trunc"', async (t) => {
  if (!requireRootless(t, '--no-trunc')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const created = await runSandbox(['create', '--name', 'full', 'bb', 'true'], { root });
  assert.equal(created.code, 0, show(created));
  const id = created.stdout.trim();
  assert.equal((await runSandbox(['pod', 'create', '--name', 'p1'], { root })).code, 0);
  const imageId = (await runSandbox(['images', '-q', '--no-trunc', 'bb'], { root })).stdout.trim();
  assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
  const cases: [string[], RegExp][] = [
    [['ps', '-a', '-q', '--no-trunc'], new RegExp(`^${id}$`, 'm')],
    [['ps', '-a', '--size', '--no-trunc'], new RegExp(id)],
    [['images', '--no-trunc'], new RegExp(imageId.replace(/^sha256:/, ''))],
    [['history', '--no-trunc', 'bb'], /[0-9a-f]{64}|<missing>/],
    [['pod', 'ps', '-q', '--no-trunc'], /^[0-9a-f]{64}$/m],
  ];
  for (const [args, want] of cases) {
    const r = await runSandbox(args, { root });
    assert.equal(r.code, 0, `${args.join(' ')}\n${show(r)}`);
    assert.match(r.stdout, want, `${args.join(' ')}\n${show(r)}`);
  }
});
