/**
 * Issue 14, item 7 and the inspect half of item 9, as the unprivileged test user: what
 * the table of Podman lines (podman-lines/flags.txt) cannot say: --replace racing,
 * --cidfile's content and exclusivity, --group-add in exec and keep-groups, the kill of a
 * `run -d --rm` sandbox, RestartCount, --mount variants, --pull newer, and inspect
 * templates compared with Podman's output where Podman gives the same.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, chownSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  SANDBOX_BIN, collect, eventually, importImage, lines, newStore, newUserDir, requireRootless, runSandbox, sandboxIdsIn, show,
  testUser,
} from './harness.js';
import { newPodman } from './podman.js';

async function storeWithBusybox(t: Parameters<typeof newStore>[0]): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

const NONE = ['--network', 'none'];

test('kill of a run -d --rm sandbox leaves no directory, and its name is free again', async (t) => {
  if (!requireRootless(t, '--rm with -d')) return;
  const root = await storeWithBusybox(t);
  for (const end of [['kill'], ['kill', '-s', 'TERM'], ['stop', '-t', '1']]) {
    const run = await runSandbox(['run', '-d', '--rm', '--name', 'gone', ...NONE, 'bb', 'sleep', '100'], { root });
    assert.equal(run.code, 0, show(run));
    const ended = await runSandbox([...end, 'gone'], { root });
    assert.equal(ended.code, 0, show(ended));
    const left = await eventually(() => (sandboxIdsIn(root).length === 0 ? '' : `left after ${end.join(' ')}: ${sandboxIdsIn(root).join(' ')}`));
    assert.equal(left, '');
    const ps = await runSandbox(['ps', '-a', '-q'], { root });
    assert.equal(ps.stdout, '', `${end.join(' ')}: ps -a lists nothing`);
  }
  // Its own end removes it too.
  const short = await runSandbox(['run', '-d', '--rm', '--name', 'gone', ...NONE, 'bb', 'true'], { root });
  assert.equal(short.code, 0, show(short));
  assert.equal(await eventually(() => (sandboxIdsIn(root).length === 0 ? '' : 'still there after its end')), '');
  // The name is free: a new sandbox takes it.
  const again = await runSandbox(['run', '--rm', '--name', 'gone', ...NONE, 'bb', 'true'], { root });
  assert.equal(again.code, 0, show(again));
});

test('--replace: removes the sandbox of that name; racing replacements leave exactly one', async (t) => {
  if (!requireRootless(t, '--replace')) return;
  const root = await storeWithBusybox(t);
  const first = await runSandbox(['run', '-d', '--name', 'svc', ...NONE, 'bb', 'sleep', '100'], { root });
  assert.equal(first.code, 0, show(first));
  const plain = await runSandbox(['run', '-d', '--name', 'svc', ...NONE, 'bb', 'sleep', '100'], { root });
  assert.equal(plain.code, 125, 'without --replace the name is taken');
  const second = await runSandbox(['run', '-d', '--replace', '--name', 'svc', ...NONE, 'bb', 'sleep', '100'], { root });
  assert.equal(second.code, 0, show(second));
  assert.deepEqual(sandboxIdsIn(root), [second.stdout.trim()], 'the first one is gone, processes and directory');
  const gone = await runSandbox(['inspect', first.stdout.trim()], { root });
  assert.equal(gone.code, 125);

  const racers = await Promise.all([1, 2, 3, 4, 5].map(() => runSandbox(['run', '-d', '--replace', '--name', 'svc', ...NONE, 'bb', 'sleep', '100'], { root })));
  for (const r of racers) {
    assert.ok(r.code === 0 || (r.code === 125 && /replaced by another --replace meanwhile/.test(r.stderr)), show(r));
  }
  const won = racers.filter((r) => r.code === 0).map((r) => r.stdout.trim());
  assert.ok(won.length >= 1, 'at least one replacement ran');
  await eventually(() => (sandboxIdsIn(root).length === 1 ? '' : sandboxIdsIn(root).join(' ')));
  const now = sandboxIdsIn(root);
  assert.equal(now.length, 1, `one sandbox is left: ${now.join(' ')}`);
  assert.ok(won.includes(now[0]!), 'the one left is one a winner printed');
  const ps = await runSandbox(['ps', '--format', '{{.Names}} {{.State}}'], { root });
  assert.equal(ps.stdout, 'svc running\n');
  const rm = await runSandbox(['rm', '-f', 'svc'], { root });
  assert.equal(rm.code, 0, show(rm));
});

test('--cidfile: the id, whole, in a file that must not exist; create writes it too', async (t) => {
  if (!requireRootless(t, '--cidfile')) return;
  const root = await storeWithBusybox(t);
  const dir = await newUserDir(t, 'sandbox-e2e-cid-');
  const cid = join(dir, 'id');
  const run = await runSandbox(['run', '-d', '--cidfile', cid, ...NONE, 'bb', 'sleep', '100'], { root });
  assert.equal(run.code, 0, show(run));
  assert.equal(readFileSync(cid, 'utf8'), run.stdout.trim(), 'the full id, no newline (as Podman)');
  assert.equal(statSync(cid).mode & 0o777, 0o644);
  const before = sandboxIdsIn(root).length;
  const again = await runSandbox(['run', '--rm', '--cidfile', cid, ...NONE, 'bb', 'true'], { root });
  assert.equal(again.code, 125, show(again));
  assert.match(again.stderr, /^sandbox: the id file .* exists/m);
  assert.equal(readFileSync(cid, 'utf8'), run.stdout.trim(), 'the file is left as it was');
  assert.equal(sandboxIdsIn(root).length, before, 'no sandbox was created');
  const noDir = await runSandbox(['run', '--rm', '--cidfile', join(dir, 'no', 'id'), ...NONE, 'bb', 'true'], { root });
  assert.equal(noDir.code, 125, show(noDir));
  assert.match(noDir.stderr, /cannot write the id file .*its directory does not exist/);
  assert.equal(sandboxIdsIn(root).length, before, 'nothing is left of the failed one');
  const created = await runSandbox(['create', '--cidfile', join(dir, 'c'), 'bb', 'true'], { root });
  assert.equal(created.code, 0, show(created));
  assert.equal(readFileSync(join(dir, 'c'), 'utf8'), created.stdout.trim());
  const insp = await runSandbox(['inspect', '-f', '{{.HostConfig.ContainerIDFile}}', created.stdout.trim()], { root });
  assert.equal(insp.stdout, `${join(dir, 'c')}\n`);
  await runSandbox(['rm', '-f', run.stdout.trim(), created.stdout.trim()], { root });
});

test('--group-add: the groups inside, for the command and for exec; names from the image', async (t) => {
  if (!requireRootless(t, '--group-add')) return;
  const root = await storeWithBusybox(t);
  const run = await runSandbox(['run', '--rm', ...NONE, '--group-add', '10', '--group-add', 'app', 'bb', 'sh', '-c', 'id -G; grep Groups /proc/self/status'], { root });
  assert.equal(run.code, 0, show(run));
  assert.deepEqual(lines(run.stdout)[0]!.split(' ').sort(), ['0', '10', '1000'], run.stdout);
  assert.match(run.stdout, /^Groups:\s+10 1000\s*$/m);
  const d = await runSandbox(['run', '-d', '--name', 'g', ...NONE, '--group-add', '20', 'bb', 'sleep', '100'], { root });
  assert.equal(d.code, 0, show(d));
  const ex = await runSandbox(['exec', 'g', 'grep', 'Groups', '/proc/self/status'], { root });
  assert.match(ex.stdout, /^Groups:\s+20\s*$/m, 'exec gets the same groups');
  const insp = await runSandbox(['inspect', '-f', '{{.HostConfig.GroupAdd}}', 'g'], { root });
  assert.equal(insp.stdout, '[20]\n');
  await runSandbox(['rm', '-f', 'g'], { root });
  const none = await runSandbox(['run', '--rm', ...NONE, 'bb', 'grep', 'Groups', '/proc/self/status'], { root });
  assert.match(none.stdout, /^Groups:\s*$/m, 'without --group-add root has no supplementary groups');
  const unmapped = await runSandbox(['run', '--rm', ...NONE, '--group-add', '99999999', 'bb', 'true'], { root });
  assert.equal(unmapped.code, 125, show(unmapped));
  assert.match(unmapped.stderr, /a group is outside the sandbox's id map/);
});

test('--group-add keep-groups: the caller\'s supplementary groups stay (unmapped ones as nogroup)', async (t) => {
  if (!requireRootless(t, 'keep-groups')) return;
  const root = await storeWithBusybox(t);
  const user = testUser();
  const args = ['run', '--rm', ...NONE, '--group-add', 'keep-groups', 'bb', 'grep', 'Groups', '/proc/self/status'];
  let result;
  let expected: number;
  if (user.switchUser) {
    // As root: start the CLI as the test user with one more group (100, users), as a
    // user in a second group would.
    const env = { HOME: user.home, PATH: `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`, SANDBOX_ROOT: root };
    const child = spawn('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, `--groups=${user.gid},100`, '--', SANDBOX_BIN, ...args], { env, cwd: '/', detached: true });
    result = await collect(child, { what: 'sandbox run --group-add keep-groups (in two groups)' });
    expected = 2;
    assert.match(result.stdout, /\b65534\b/, 'the unmapped group shows as the overflow gid');
  } else {
    result = await runSandbox(args, { root });
    expected = process.getgroups?.().length ?? 0;
  }
  assert.equal(result.code, 0, show(result));
  const groups = (/^Groups:\s*(.*)$/m.exec(result.stdout)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  assert.equal(groups.length, expected, `the caller's ${expected} groups: ${result.stdout}`);
});

test('RestartCount counts the restart policy\'s restarts', async (t) => {
  if (!requireRootless(t, 'RestartCount')) return;
  const root = await storeWithBusybox(t);
  const run = await runSandbox(['run', '-d', '--name', 'flaky', ...NONE, '--restart', 'on-failure:2', 'bb', 'sh', '-c', 'exit 3'], { root });
  assert.equal(run.code, 0, show(run));
  const done = await eventually(async () => {
    const r = await runSandbox(['inspect', '-f', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}', 'flaky'], { root });
    return r.stdout === 'exited 2 3\n' ? '' : r.stdout;
  }, 15_000, 200);
  assert.equal(done, '');
  const fresh = await runSandbox(['run', '-d', '--name', 'steady', ...NONE, 'bb', 'sleep', '100'], { root });
  assert.equal(fresh.code, 0, show(fresh));
  const zero = await runSandbox(['inspect', '-f', '{{.RestartCount}}', 'steady'], { root });
  assert.equal(zero.stdout, '0\n');
  await runSandbox(['rm', '-f', 'flaky', 'steady'], { root });
});

test('--mount: a bind with its propagation, read-only, a volume, a tmpfs; bind-nonrecursive where the kernel allows it', async (t) => {
  if (!requireRootless(t, '--mount')) return;
  const root = await storeWithBusybox(t);
  const dir = await newUserDir(t, 'sandbox-e2e-mount-');
  writeFileSync(join(dir, 'f'), 'from the host\n');
  if (testUser().switchUser) chownSync(join(dir, 'f'), testUser().uid, testUser().gid);
  const run = await runSandbox(['run', '--rm', ...NONE,
    '--mount', `type=bind,src=${dir},dst=/b,bind-propagation=rshared`,
    '--mount', `type=bind,source=${dir},target=/r,readonly`,
    '--mount', `type=bind,src=${dir},dst=/n,bind-nonrecursive`,
    '--mount', 'type=volume,src=mv,dst=/v',
    '--mount', 'type=tmpfs,dst=/t,tmpfs-size=2m,tmpfs-mode=0700',
    'bb', 'sh', '-c', 'cat /b/f; echo new > /b/g; touch /r/x 2>/dev/null || echo ro; cat /n/f; echo kept > /v/k; grep -E " /(b|t) " /proc/self/mountinfo'], { root });
  assert.equal(run.code, 0, show(run));
  assert.match(run.stdout, /^from the host\nro\nfrom the host\n/);
  assert.match(run.stdout, / \/b rw\S* shared:\d+ /, 'the bind is shared (rshared)');
  assert.match(run.stdout, / \/t rw,nosuid,nodev\S* - tmpfs \S+ rw,size=2048k,mode=700/);
  assert.equal(readFileSync(join(dir, 'g'), 'utf8'), 'new\n', 'the bind writes through');
  const vol = await runSandbox(['run', '--rm', ...NONE, '--mount', 'type=volume,source=mv,destination=/v,ro', 'bb', 'sh', '-c', 'cat /v/k; touch /v/x 2>/dev/null || echo ro'], { root });
  assert.equal(vol.stdout, 'kept\nro\n', show(vol));
  const locked = await runSandbox(['run', '--rm', ...NONE, '--mount', 'type=bind,src=/,dst=/h,bind-nonrecursive', 'bb', 'true'], { root });
  assert.equal(locked.code, 125, show(locked));
  assert.match(locked.stderr, /without the mounts below it: in a user namespace the kernel refuses/);
  assert.equal(lines(locked.stderr).length, 2, 'one line and a hint');
});

test('tmpfs copy-up: the image\'s files at the mount point, owners, modes and symlinks kept (Podman\'s default); notmpcopyup; too small', async (t) => {
  if (!requireRootless(t, 'tmpcopyup')) return;
  const root = await storeWithBusybox(t);
  const run = await runSandbox(['run', '--rm', ...NONE, '--tmpfs', '/usr/local:exec,suid', '--mount', 'type=tmpfs,dst=/bin,tmpfs-size=8m',
    'bb', 'sh', '-c', 'stat -c "%a %u %g" /usr/local/bin/suid; readlink /bin/sh; grep -E " /(bin|usr/local) " /proc/self/mountinfo | cut -d" " -f5,9 | sort'], { root });
  assert.equal(run.code, 0, show(run));
  assert.equal(run.stdout, '4755 0 0\n/bin/busybox\n/bin tmpfs\n/usr/local tmpfs\n');
  const etc = await runSandbox(['run', '--rm', ...NONE, '--tmpfs', '/etc:notmpcopyup', 'bb', 'sh', '-c', 'ls /etc; cat /etc/hostname'], { root });
  assert.equal(etc.code, 0, show(etc));
  assert.match(etc.stdout, /^hostname\nhosts\nresolv\.conf\n[0-9a-f]{12}\n$/, 'an empty /etc but for the sandbox\'s own files, as Podman');
  const small = await runSandbox(['run', '--rm', ...NONE, '--mount', 'type=tmpfs,dst=/bin,tmpfs-size=4k', 'bb', 'true'], { root });
  assert.equal(small.code, 125, show(small));
  assert.match(small.stderr, /^sandbox: the tmpfs at \/bin is too small for what the image has there\nhint: /);
});

test('--security-opt mask= hides a path, also one in a bind; unmask= shows a default one', async (t) => {
  if (!requireRootless(t, '--security-opt mask')) return;
  const root = await storeWithBusybox(t);
  const dir = await newUserDir(t, 'sandbox-e2e-mask-');
  writeFileSync(join(dir, 'secret'), 'x\n');
  if (testUser().switchUser) chownSync(join(dir, 'secret'), testUser().uid, testUser().gid);
  const run = await runSandbox(['run', '--rm', ...NONE, '-v', `${dir}:/d`, '--security-opt', 'mask=/d/secret:/etc/hostname', '--security-opt', 'unmask=/proc/sys',
    'bb', 'sh', '-c', 'echo "[$(cat /d/secret)][$(cat /etc/hostname)]"; grep -c " /proc/sys " /proc/self/mountinfo'], { root });
  assert.equal(run.stdout, '[][]\n0\n', show(run));
  const insp = await runSandbox(['create', '--security-opt', 'label=disable', '--security-opt', 'seccomp=unconfined', 'bb', 'true'], { root });
  const sec = await runSandbox(['inspect', '-f', '{{.HostConfig.SecurityOpt}} [{{.ProcessLabel}}]', insp.stdout.trim()], { root });
  assert.equal(sec.stdout, '[label=disable seccomp=unconfined] []\n', 'no SELinux label: the process label is empty');
});

test('--pull newer: a local image is used when the pull fails (bb is in no registry here)', async (t) => {
  if (!requireRootless(t, '--pull newer')) return;
  const root = await storeWithBusybox(t);
  const run = await runSandbox(['run', '--rm', ...NONE, '--pull=newer', 'bb', 'echo', 'ok'], { root });
  assert.equal(run.code, 0, show(run));
  assert.equal(run.stdout, 'ok\n');
  const always = await runSandbox(['run', '--rm', ...NONE, '--pull=always', 'bb', 'echo', 'ok'], { root });
  assert.equal(always.code, 125, `always does not fall back: ${show(always)}`);
  const missing = await runSandbox(['run', '--rm', ...NONE, '--pull=newer', 'nosuch-image-here', 'true'], { root });
  assert.equal(missing.code, 125, show(missing));
});

test('--env-host and --init-path', async (t) => {
  if (!requireRootless(t, '--env-host')) return;
  const root = await storeWithBusybox(t);
  const run = await runSandbox(['run', '--rm', ...NONE, '--env-host', '-e', 'B=mine', '--init', '--init-path', '/x', 'bb', 'sh', '-c', 'echo "$A $B"'], { root, env: { A: 'from-host', B: 'host' } });
  assert.equal(run.code, 0, show(run));
  assert.equal(run.stdout, 'from-host mine\n');
  assert.match(run.stderr, /^sandbox: warning: --init-path is ignored/m);
  const plain = await runSandbox(['run', '--rm', ...NONE, 'bb', 'sh', '-c', 'echo "[$A]"'], { root, env: { A: 'from-host' } });
  assert.equal(plain.stdout, '[]\n', 'without --env-host nothing of the caller\'s goes in');
});

test('inspect templates give what podman inspect gives for the same options', async (t) => {
  if (!requireRootless(t, 'inspect vs podman')) return;
  const podman = await newPodman(t);
  if (!podman) return;
  const root = await storeWithBusybox(t);
  const tar = await busyboxRootfsTar();
  const imp = await podman(['import', tar, 'bb']);
  assert.equal(imp.code, 0, show(imp));
  const dir = await newUserDir(t, 'sandbox-e2e-insp-');
  const options = ['--name', 'insp', '-v', `${dir}:/a:ro`, '--mount', `type=bind,src=${dir},dst=/b,bind-propagation=rslave`, '--restart', 'on-failure:3',
    '--group-add', '10', '--security-opt', 'label=disable', '--annotation', 'k=v', '--init'];
  const templates = [
    '{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}} {{.Propagation}};{{end}}',
    '{{json .HostConfig.Binds}}',
    '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.AutoRemove}} {{.HostConfig.Init}}',
    '{{.HostConfig.NetworkMode}} {{.RestartCount}} {{json .HostConfig.GroupAdd}} {{json .HostConfig.SecurityOpt}}',
    '{{index .Config.Annotations "k"}} {{json .NetworkSettings.Ports}} {{.State.Status}}',
  ];
  const ours = await runSandbox(['create', ...options, 'bb', 'true'], { root });
  assert.equal(ours.code, 0, show(ours));
  const theirs = await podman(['create', ...options, 'bb', 'true']);
  assert.equal(theirs.code, 0, show(theirs));
  // Podman lists Mounts and Binds in no fixed order (two runs differ): compared as sets.
  const items = (text: string) => text.trim().replace(/^\[|\]$/g, '').split(/[;,]/).map((w) => w.trim()).filter(Boolean).sort().join('\n');
  for (const [i, template] of templates.entries()) {
    const a = await runSandbox(['inspect', '--format', template, 'insp'], { root });
    const b: Awaited<ReturnType<typeof podman>> = await podman(['inspect', '--format', template, 'insp']);
    assert.equal(b.code, 0, show(b));
    const [ours, theirs] = i < 2 ? [items(a.stdout), items(b.stdout)] : [a.stdout, b.stdout];
    assert.equal(ours, theirs, `${template}\nsandbox: ${show(a)}\npodman: ${show(b)}`);
  }
  assert.ok(existsSync(dir));
});
