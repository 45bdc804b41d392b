/**
 * Issue 5, items 3-5: `commit` (stopped and running sandboxes: changed, deleted and added
 * files, an opaque directory, owners and modes, -c/-m), `export`, and the image commands
 * (`images`, `tag`, `rmi` with its in-use rule, `history`, `image inspect`, `image prune`).
 * Run as the unprivileged test user against real overlays.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { busyboxRootfsTar } from './fixtures.js';
import { join } from 'node:path';
import { importImage, lines, newStore, newUserDir, requireRootless, runSandbox, show } from './harness.js';
import { newPodman } from './podman.js';

const CHANGES = [
  'echo changed > /etc/motd',
  'rm /bin/vi',
  'rm -rf /usr/share && mkdir -p /usr/share && echo only > /usr/share/only',
  'mkdir -p /data && echo added > /data/new && chown 1000:1000 /data/new && chmod 4750 /data/new',
  'ln /data/new /data/hard && ln -s /data/new /data/soft',
].join(' && ');

const CHECK = [
  'cat /etc/motd /data/new',
  'ls /bin/vi 2>&1 || true',
  'ls /usr/share',
  "stat -c '%u:%g %a %h' /data/new",
  'readlink /data/soft',
  '[ "$(stat -c %i /data/new)" = "$(stat -c %i /data/hard)" ] && echo same-inode',
].join('; ');

const EXPECTED = [
  'changed', 'added', 'ls: /bin/vi: No such file or directory', 'only', '1000:1000 4750 2', '/data/new', 'same-inode',
];

for (const state of ['stopped', 'running'] as const) {
  test(`commit of a ${state} sandbox: the new image has exactly its changes, config and history`, async (t) => {
    if (!requireRootless(t, 'commit')) return;
    const root = await newStore(t);
    await importImage(root, await busyboxRootfsTar(), 'bb');
    const run = state === 'stopped'
      ? await runSandbox(['run', '--name', 'src', '--network', 'none', 'bb', 'sh', '-c', CHANGES], { root })
      : await runSandbox(['run', '-d', '--name', 'src', '--network', 'none', 'bb', 'sh', '-c', `${CHANGES} && touch /ready && sleep 600`], { root });
    assert.equal(run.code, 0, show(run));
    if (state === 'running') {
      for (let i = 0; i < 100; i++) {
        const r = await runSandbox(['exec', 'src', 'test', '-e', '/ready'], { root });
        if (r.code === 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    const commit = await runSandbox(['commit', '-m', 'my change', '-c', 'ENV STAGE=committed', '-c', 'CMD ["cat", "/data/new"]', 'src', 'bb-new:v1'], { root });
    assert.equal(commit.code, 0, show(commit));
    assert.match(commit.stdout, /^[a-f0-9]{64}\n$/, show(commit));

    const check = await runSandbox(['run', '--rm', '--network', 'none', 'bb-new:v1', 'sh', '-c', CHECK], { root });
    assert.equal(check.code, 0, show(check));
    assert.deepEqual(lines(check.stdout), EXPECTED, show(check));
    // The original image is untouched.
    const orig = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'sh', '-c', 'ls /bin/vi; ls /data 2>&1; ls /usr/share | wc -l'], { root });
    assert.match(orig.stdout, /^\/bin\/vi\nls: \/data: No such file or directory\n/, show(orig));
    assert.notEqual(lines(orig.stdout)[2], '1', show(orig));
    // Config from -c, the default command and the history entry from -m.
    const cmd = await runSandbox(['run', '--rm', '--network', 'none', 'bb-new:v1'], { root });
    assert.equal(cmd.stdout, 'added\n', show(cmd));
    const env = await runSandbox(['run', '--rm', '--network', 'none', 'bb-new:v1', 'sh', '-c', 'echo $STAGE'], { root });
    assert.equal(env.stdout, 'committed\n', show(env));
    const history = await runSandbox(['history', '--format', 'json', 'bb-new:v1'], { root });
    const rows = JSON.parse(history.stdout) as { createdBy: string; comment: string }[];
    // Newest first: a row per --change (issue 18), then the commit's layer, then the import's.
    assert.equal(rows.length, 4, history.stdout);
    assert.deepEqual(rows.slice(0, 2).map((r) => r.createdBy), ['/bin/sh -c #(nop) CMD ["cat", "/data/new"]', '/bin/sh -c #(nop) ENV STAGE=committed'], history.stdout);
    assert.equal(rows[2]!.comment, 'my change');
    assert.match(rows[2]!.createdBy, /sandbox commit src/);
    const inspect = await runSandbox(['image', 'inspect', 'bb-new:v1'], { root });
    const [info] = JSON.parse(inspect.stdout) as { RootFS: { Layers: string[] }; RepoTags: string[] }[];
    assert.equal(info!.RootFS.Layers.length, 2);
    assert.deepEqual(info!.RepoTags, ['localhost/bb-new:v1']); // a short name is a local image's, as Podman names it
  });
}

test('export writes the merged filesystem of a sandbox (deletions applied, no /proc)', async (t) => {
  if (!requireRootless(t, 'export')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '-d', '--name', 'ex', '--network', 'none', 'bb', 'sh', '-c', 'rm /bin/vi; echo hi > /hello; sleep 600'], { root });
  assert.equal(run.code, 0, show(run));
  await new Promise((res) => setTimeout(res, 500));
  const dir = await newUserDir(t, 'sandbox-e2e-export-');
  const file = join(dir, 'ex.tar');
  const exp = await runSandbox(['export', '-o', file, 'ex'], { root });
  assert.equal(exp.code, 0, show(exp));
  const listing = spawnSync('tar', ['-tf', file]);
  assert.equal(listing.status, 0, listing.stderr.toString());
  const names = listing.stdout.toString().split('\n');
  assert.ok(names.includes('./hello'), 'the added file');
  assert.ok(names.includes('./bin/sh'), 'a file of the image');
  assert.ok(!names.includes('./bin/vi'), 'the deleted file');
  assert.deepEqual(names.filter((n) => n.startsWith('./proc/')), ['./proc/'], 'nothing of /proc but its mount point');
  // An output that cannot be written is one error line, not a wait on a pipe nobody reads.
  const nowhere = await runSandbox(['export', '-o', join(dir, 'no-such-dir', 'ex.tar'), 'ex'], { root, timeoutMs: 30_000 });
  assert.equal(nowhere.code, 125, show(nowhere));
  assert.match(nowhere.stderr, /^sandbox: cannot write the export of ex: ENOENT\nhint: /, show(nowhere));
});

test('images, tag, rmi (untag, in-use refusal, -f), image prune', async (t) => {
  if (!requireRootless(t, 'image commands')) return;
  const root = await newStore(t);
  const id = (await importImage(root, await busyboxRootfsTar(), 'bb')).trim();
  const tag = await runSandbox(['tag', 'bb', 'bb:v2', 'localhost:5000/team/bb:1'], { root });
  assert.equal(tag.code, 0, show(tag));
  const ls = await runSandbox(['images'], { root });
  assert.deepEqual(lines(ls.stdout).map((l) => l.split(/\s{2,}/).slice(0, 2).join(' ')).slice(1).sort(), ['localhost/bb latest', 'localhost/bb v2', 'localhost:5000/team/bb 1'], show(ls));
  const q = await runSandbox(['images', '-q'], { root });
  assert.equal(q.stdout, `${id.replace(/^sha256:/, '').slice(0, 12)}\n`, show(q));
  assert.equal((await runSandbox(['image', 'exists', 'bb:v2'], { root })).code, 0);
  const absent = await runSandbox(['image', 'exists', 'bb:v3'], { root });
  assert.equal(absent.code, 1, show(absent));
  assert.equal(absent.stderr, '', 'exists says nothing, its exit status is the answer');
  const filtered = await runSandbox(['images', '--filter', 'reference=*/team/*', '--format', 'json'], { root });
  assert.equal((JSON.parse(filtered.stdout) as unknown[]).length, 1, show(filtered));

  // A name of an image with other names: only that name goes.
  const untag = await runSandbox(['rmi', 'bb:v2'], { root });
  assert.equal(untag.stdout, 'Untagged: localhost/bb:v2\n', show(untag));
  // In use by a sandbox: refused, one line and a hint, exit 125.
  const made = await runSandbox(['create', '--name', 'user', 'bb', 'true'], { root });
  assert.equal(made.code, 0, show(made));
  // --format templates, as Docker and Podman scripts write them.
  const formatted = await runSandbox(['images', '--format', '{{.Repository}}:{{.Tag}}'], { root });
  assert.deepEqual(lines(formatted.stdout).sort(), ['localhost/bb:latest', 'localhost:5000/team/bb:1'], show(formatted));
  const psLine = await runSandbox(['ps', '-a', '--format', '{{.Names}} {{.State}} {{.Image}}'], { root });
  assert.equal(psLine.stdout, 'user created bb\n', show(psLine));
  const state = await runSandbox(['inspect', '-f', '{{.State.Status}} {{.Name}}', 'user'], { root });
  assert.equal(state.stdout, 'created user\n', show(state));
  const tags = await runSandbox(['image', 'inspect', '--format', '{{json .RepoTags}}', 'bb'], { root });
  assert.equal(tags.stdout, '["localhost/bb:latest","localhost:5000/team/bb:1"]\n', show(tags));
  const wrong = await runSandbox(['inspect', '-f', '{{.state.status}}', 'user'], { root });
  assert.equal(wrong.code, 125, show(wrong));
  assert.match(wrong.stderr, /no field state \(did you mean State\?\)\nhint: /, show(wrong));
  const refused = await runSandbox(['rmi', id], { root });
  assert.equal(refused.code, 125, show(refused));
  assert.match(refused.stderr, /^sandbox: image .* is in use by sandbox user\nhint: /, show(refused));
  const forced = await runSandbox(['rmi', '-f', id], { root });
  assert.equal(forced.code, 0, show(forced));
  assert.match(forced.stdout, /Deleted: [a-f0-9]{64}/, show(forced));
  assert.match(forced.stderr, /Removed sandbox user/, show(forced));
  const after = await runSandbox(['images', '-q'], { root });
  assert.equal(after.stdout, '', show(after));
  // The journal has the image events, as `podman events` shows them.
  const events = await runSandbox(['events', '--filter', 'type=image', '--until', '0s', '--format', 'json'], { root });
  const seen = lines(events.stdout).map((l) => { const e = JSON.parse(l) as { action: string; name?: string }; return `${e.action} ${e.name ?? ''}`.trim(); });
  for (const e of ['import localhost/bb:latest', 'tag localhost/bb:v2', 'tag localhost:5000/team/bb:1', 'untag localhost/bb:v2', 'untag localhost/bb:latest', 'remove']) {
    assert.ok(seen.includes(e), `event "${e}" in:\n${seen.join('\n')}`);
  }
  const ps = await runSandbox(['ps', '-aq'], { root });
  assert.equal(ps.stdout, '', show(ps));
  const missing = await runSandbox(['rmi', 'nope'], { root });
  assert.equal(missing.code, 125, show(missing));

  // Prune: an untagged image goes, a tagged one stays (without -a).
  await importImage(root, await busyboxRootfsTar(), 'keep');
  await importImage(root, await busyboxRootfsTar(), 'gone');
  assert.equal((await runSandbox(['untag', 'gone'], { root })).code, 0);
  const prune = await runSandbox(['image', 'prune', '-f'], { root });
  assert.equal(prune.code, 0, show(prune));
  const left = await runSandbox(['images', '--format', 'json'], { root });
  const names = (JSON.parse(left.stdout) as { Names: string[] }[]).flatMap((i) => i.Names);
  assert.deepEqual(names, ['localhost/keep:latest'], show(left));
  const run = await runSandbox(['run', '--rm', '--network', 'none', 'keep', 'true'], { root });
  assert.equal(run.code, 0, show(run));
});

test('system check --verify finds a blob changed on disk; --repair removes it; the image is then reported broken', async (t) => {
  if (!requireRootless(t, 'blob verification')) return;
  const root = await newStore(t);
  const id = (await importImage(root, await busyboxRootfsTar(), 'bb')).trim();
  const clean = await runSandbox(['system', 'check', '--verify'], { root });
  assert.equal(clean.code, 0, show(clean));
  const config = join(root, 'data', 'blobs', 'sha256', id.replace(/^sha256:/, ''));
  const { appendFileSync } = await import('node:fs');
  appendFileSync(config, ' ');
  const found = await runSandbox(['system', 'check', '--verify'], { root });
  assert.equal(found.code, 1, show(found));
  assert.match(found.stdout, /problem: corrupt-blob: .*\n  .*\/blobs\/sha256\/[a-f0-9]{64}\n/, show(found));
  const repaired = await runSandbox(['system', 'check', '--verify', '--repair'], { root });
  assert.match(repaired.stdout, /repaired: remove it/, show(repaired));
  const after = await runSandbox(['system', 'check'], { root });
  assert.equal(after.code, 1, show(after));
  assert.match(after.stdout, /problem: broken-image: image localhost\/bb:latest lacks blob /, show(after));
});

test('a committed image saved by us loads into podman and shows the same changes there', async (t) => {
  if (!requireRootless(t, 'commit then podman')) return;
  const podman = await newPodman(t);
  if (!podman) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '--name', 'src', '--network', 'none', 'bb', 'sh', '-c', CHANGES], { root });
  assert.equal(run.code, 0, show(run));
  const commit = await runSandbox(['commit', 'src', 'localhost/committed:v1'], { root });
  assert.equal(commit.code, 0, show(commit));
  const archive = join(podman.dir, 'committed.tar');
  const save = await runSandbox(['save', '-o', archive, 'localhost/committed:v1'], { root });
  assert.equal(save.code, 0, show(save));
  const load = await podman(['load', '-i', archive]);
  assert.equal(load.code, 0, show(load));
  const there = await podman(['run', '--rm', '--network', 'none', 'localhost/committed:v1', 'sh', '-c', CHECK]);
  assert.equal(there.code, 0, show(there));
  assert.deepEqual(lines(there.stdout), EXPECTED, show(there));
});
