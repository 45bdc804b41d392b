/**
 * Issue 2, item 5: the options of `sandbox run` and its exit statuses, from the outside,
 * as the unprivileged test user. Every test gets a fresh store.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { busyboxRootfsDir, busyboxRootfsTar, OWNED_FILE_CONTENT } from './fixtures.js';
import {
  asUser, importImage, killGroup, lines, newStore, newUserDir, requireRootless, runSandbox, show,
  spawnSandbox, testUser, waitForOutput, type RunResult,
} from './harness.js';

async function storeWithBusybox(t: TestContext): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

/** stderr is exactly our error format: one `sandbox: ...` line, then one `hint: ...` line. */
function assertErrorWithHint(r: RunResult): void {
  const l = lines(r.stderr);
  assert.equal(l.length, 2, `two lines on stderr:\n${show(r)}`);
  assert.match(l[0] ?? '', /^sandbox: \S/, show(r));
  assert.match(l[1] ?? '', /^hint: \S/, show(r));
}

/** stderr holds exactly one `sandbox: ...` line (and at most a hint), nothing else. */
function assertOneSandboxLine(r: RunResult): void {
  const l = lines(r.stderr);
  assert.equal(l.filter((x) => x.startsWith('sandbox: ')).length, 1, `one sandbox: line:\n${show(r)}`);
  assert.deepEqual(l.filter((x) => !x.startsWith('sandbox: ') && !x.startsWith('hint: ')), [], `nothing else:\n${show(r)}`);
}

function containerDirs(root: string): string[] {
  const dir = join(root, 'data', 'containers');
  return existsSync(dir) ? readdirSync(dir) : [];
}


test('exit status: the command\'s own, 127 not found, 126 not executable, 128+N for signal N', async (t) => {
  if (!requireRootless(t, 'exit status')) return;
  const root = await storeWithBusybox(t);
  const run = (...args: string[]) => runSandbox(['run', '--rm', '--network', 'none', 'bb', ...args], { root });

  const own = await run('sh', '-c', 'exit 3');
  assert.equal(own.code, 3, show(own));
  assert.equal(own.stderr, '', show(own));

  const missing = await run('no-such-command-here');
  assert.equal(missing.code, 127, show(missing));
  assertOneSandboxLine(missing);
  assert.match(missing.stderr, /no-such-command-here/, show(missing));

  const notExec = await run('/etc/passwd');
  assert.equal(notExec.code, 126, show(notExec));
  assertOneSandboxLine(notExec);

  const killed = await run('sh', '-c', 'kill -9 $$');
  assert.equal(killed.code, 137, show(killed));
  const termed = await run('sh', '-c', 'kill -TERM $$');
  assert.equal(termed.code, 143, show(termed));
});

test('exit status 125 and a one-line error with a hint: unknown image, bad option, bad value, missing bind source', async (t) => {
  if (!requireRootless(t, 'exit 125')) return;
  const root = await newStore(t);

  const noImage = await runSandbox(['run', '--rm', '--pull', 'never', 'no-such-image-here', 'true'], { root });
  assert.equal(noImage.code, 125, show(noImage));
  assertErrorWithHint(noImage);
  assert.match(noImage.stderr, /no-such-image-here/, show(noImage));
  // Without --pull never, a missing image is pulled first (as Docker and Podman do): a
  // registry that cannot be reached makes one error line, after the line saying what it tried.
  const unreachable = await runSandbox(['run', '--rm', '127.0.0.1:1/no-such-image-here', 'true'], { root });
  assert.equal(unreachable.code, 125, show(unreachable));
  assert.match(unreachable.stderr, /^Pulling 127\.0\.0\.1:1\/no-such-image-here:latest from 127\.0\.0\.1:1\nsandbox: image "127\.0\.0\.1:1\/no-such-image-here" is not in the store, and pulling it failed: .*\nhint: \S.*\n$/, show(unreachable));

  const badOption = await runSandbox(['run', '--rm', '--no-such-option', 'host', 'true'], { root });
  assert.equal(badOption.code, 125, show(badOption));
  assertErrorWithHint(badOption);
  assert.match(badOption.stderr, /no-such-option/, show(badOption));

  const badValue = await runSandbox(['run', '--rm', '--network', 'carrier-pigeon', 'host', 'true'], { root });
  assert.equal(badValue.code, 125, show(badValue));
  assertErrorWithHint(badValue);

  const noSource = await runSandbox(['run', '--rm', '--network', 'none', '-v', '/no/such/dir/here:/x', 'host', 'true'], { root });
  assert.equal(noSource.code, 125, show(noSource));
  assertErrorWithHint(noSource);

  assert.deepEqual(containerDirs(root), [], 'a failed run leaves no container behind');
});

test('--env-file naming a missing file: exit 125, one error line and a hint', async (t) => {
  if (!requireRootless(t, '--env-file missing')) return;
  const root = await newStore(t);
  const r = await runSandbox(['run', '--rm', '--network', 'none', '--env-file', '/no/such/env-file', 'host', 'true'], { root });
  assert.equal(r.code, 125, show(r));
  assertErrorWithHint(r);
});

test('PID 1 reaps orphaned children: no zombie is left in the sandbox', async (t) => {
  if (!requireRootless(t, 'init reaps')) return;
  const root = await storeWithBusybox(t);
  // The inner shell exits at once, leaving its background sleep to PID 1.
  const r = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'sh', '-c',
    'sh -c "sleep 0.1 & exit 0"; sleep 0.8; ps -o stat,args'], { root });
  assert.equal(r.code, 0, show(r));
  const zombies = lines(r.stdout).filter((l) => /^Z/.test(l));
  assert.deepEqual(zombies, [], show(r));
});

test('--hostname sets the host name; the default is the 12-hex-digit short id', async (t) => {
  if (!requireRootless(t, '--hostname')) return;
  const root = await storeWithBusybox(t);
  const named = await runSandbox(['run', '--rm', '--network', 'none', '--hostname', 'my-box', 'bb', 'sh', '-c', 'hostname; cat /etc/hostname'], { root });
  assert.equal(named.code, 0, show(named));
  assert.deepEqual(lines(named.stdout), ['my-box', 'my-box'], show(named));

  // Without --rm, so that the id can be read from the store.
  const dflt = await runSandbox(['run', '--network', 'none', 'bb', 'hostname'], { root });
  assert.equal(dflt.code, 0, show(dflt));
  const hostname = dflt.stdout.trim();
  assert.match(hostname, /^[0-9a-f]{12}$/, show(dflt));
  const ids = containerDirs(root);
  assert.equal(ids.length, 1, `one container: ${ids.join(' ')}`);
  assert.ok(ids[0]!.startsWith(hostname), `the default host name ${hostname} is the short id of ${ids[0]}`);
});

test('-w uses an existing directory and creates a missing one', async (t) => {
  if (!requireRootless(t, '-w')) return;
  const root = await storeWithBusybox(t);
  const existing = await runSandbox(['run', '--rm', '--network', 'none', '-w', '/home/app', 'bb', 'sh', '-c', 'pwd; ls'], { root });
  assert.equal(existing.code, 0, show(existing));
  assert.deepEqual(lines(existing.stdout), ['/home/app', 'owned'], show(existing));

  const created = await runSandbox(['run', '--rm', '--network', 'none', '-w', '/new/deep/dir', 'bb', 'sh', '-c', 'pwd; test -d /new/deep/dir && echo is-dir'], { root });
  assert.equal(created.code, 0, show(created));
  assert.deepEqual(lines(created.stdout), ['/new/deep/dir', 'is-dir'], show(created));
});

test('-u UID:GID and -u NAME (from the image\'s /etc/passwd) run the command as that user', async (t) => {
  if (!requireRootless(t, '-u')) return;
  const root = await storeWithBusybox(t);
  const numeric = await runSandbox(['run', '--rm', '--network', 'none', '-u', '1000:1000', 'bb', 'sh', '-c', 'id -u; id -g; touch /not-mine 2>/dev/null || echo cannot-write-root'], { root });
  assert.equal(numeric.code, 0, show(numeric));
  assert.deepEqual(lines(numeric.stdout), ['1000', '1000', 'cannot-write-root'], show(numeric));

  const byName = await runSandbox(['run', '--rm', '--network', 'none', '-u', 'app', 'bb', 'sh', '-c', 'id -u; id -g; id -un'], { root });
  assert.equal(byName.code, 0, show(byName));
  assert.deepEqual(lines(byName.stdout), ['1000', '1000', 'app'], show(byName));

  const unknown = await runSandbox(['run', '--rm', '--network', 'none', '-u', 'no-such-user', 'bb', 'true'], { root });
  assert.notEqual(unknown.code, 0, show(unknown));
  assertOneSandboxLine(unknown);
});

test('--tmpfs PATH mounts a writable tmpfs there', async (t) => {
  if (!requireRootless(t, '--tmpfs')) return;
  const root = await storeWithBusybox(t);
  const r = await runSandbox(['run', '--rm', '--network', 'none', '--tmpfs', '/scratch', 'bb', 'sh', '-c',
    'grep " /scratch " /proc/mounts; echo data > /scratch/f && cat /scratch/f'], { root });
  assert.equal(r.code, 0, show(r));
  const out = lines(r.stdout);
  assert.match(out[0] ?? '', /^\S+ \/scratch tmpfs /, show(r));
  assert.equal(out[1], 'data', show(r));
});

test('--read-only: writes to / fail, /tmp still works', async (t) => {
  if (!requireRootless(t, '--read-only')) return;
  const root = await storeWithBusybox(t);
  const r = await runSandbox(['run', '--rm', '--network', 'none', '--read-only', 'bb', 'sh', '-c',
    'touch /x 2>/dev/null; echo "root=$?"; echo y > /etc/y 2>/dev/null; echo "etc=$?"; touch /tmp/ok && echo tmp-ok'], { root });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^root=[1-9]\d*$/m, show(r));
  assert.match(r.stdout, /^etc=[1-9]\d*$/m, show(r));
  assert.match(r.stdout, /^tmp-ok$/m, show(r));
});

test('--entrypoint replaces what runs; the rest of the command line becomes its arguments', async (t) => {
  if (!requireRootless(t, '--entrypoint')) return;
  const root = await storeWithBusybox(t);
  const r = await runSandbox(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/echo', 'bb', 'hello', 'world'], { root });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'hello world\n', show(r));
});

test('-v HOST:CTR:ro shows the host files and rejects writes', async (t) => {
  if (!requireRootless(t, '-v :ro')) return;
  const root = await storeWithBusybox(t);
  const dir = await newUserDir(t);
  const user = testUser();
  await writeFile(join(dir, 'from-host'), 'host data\n');
  if (user.switchUser) await chown(join(dir, 'from-host'), user.uid, user.gid);
  const r = await runSandbox(['run', '--rm', '--network', 'none', '-v', `${dir}:/data:ro`, 'bb', 'sh', '-c',
    'cat /data/from-host; touch /data/new 2>/dev/null; echo "touch=$?"; echo x >> /data/from-host 2>/dev/null; echo "append=$?"; rm /data/from-host 2>/dev/null; echo "rm=$?"'], { root });
  assert.equal(r.code, 0, show(r));
  assert.equal(lines(r.stdout)[0], 'host data', show(r));
  for (const op of ['touch', 'append', 'rm']) assert.match(r.stdout, new RegExp(`^${op}=[1-9]\\d*$`, 'm'), `${op}:\n${show(r)}`);
  assert.deepEqual(readdirSync(dir), ['from-host']);
  assert.equal(readFileSync(join(dir, 'from-host'), 'utf8'), 'host data\n');
});

test('--network none: only lo, up; host: the host\'s interfaces; default slirp4netns: tap0 10.0.2.100 and a default route', async (t) => {
  if (!requireRootless(t, '--network')) return;
  const root = await storeWithBusybox(t);
  // `ip -o link` lines: "N: NAME[@PEER]: <FLAGS> ..." (the `ip -o addr` lines have no <FLAGS>).
  const linkNames = (out: string) => lines(out).flatMap((l) => /^\d+: ([^:@\s]+)(?:@\S+)?: </.exec(l)?.[1] ?? []);

  const none = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'sh', '-c', 'ip -o link; ip -o -4 addr; ip route'], { root });
  assert.equal(none.code, 0, show(none));
  assert.deepEqual([...new Set(linkNames(none.stdout))], ['lo'], show(none));
  assert.match(none.stdout, /^1: lo: <[^>]*\bUP\b/m, `lo is up:\n${show(none)}`);
  assert.match(none.stdout, /inet 127\.0\.0\.1\/8/, show(none));
  assert.doesNotMatch(none.stdout, /^default/m, show(none));
  // As Podman: root's group may open ICMP echo sockets (ping without CAP_NET_RAW).
  const ping = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'cat', '/proc/sys/net/ipv4/ping_group_range'], { root });
  assert.equal(ping.stdout.replace(/\s+/g, ' ').trim(), '0 0', show(ping));

  const host = await runSandbox(['run', '--rm', '--network', 'host', 'bb', 'ip', '-o', 'link'], { root });
  assert.equal(host.code, 0, show(host));
  assert.deepEqual(new Set(linkNames(host.stdout)), new Set(readdirSync('/sys/class/net')), show(host));

  const slirp = await runSandbox(['run', '--rm', 'bb', 'sh', '-c', 'ip -o link; ip -o -4 addr; ip route'], { root });
  assert.equal(slirp.code, 0, show(slirp));
  assert.deepEqual(new Set(linkNames(slirp.stdout)), new Set(['lo', 'tap0']), show(slirp));
  assert.match(slirp.stdout, /tap0\s+inet 10\.0\.2\.100\/24/, show(slirp));
  assert.match(slirp.stdout, /^default via 10\.0\.2\.2 dev tap0/m, show(slirp));
});

test('-i passes stdin through; without -i the command\'s stdin is empty', async (t) => {
  if (!requireRootless(t, '-i')) return;
  const root = await storeWithBusybox(t);
  const withI = await runSandbox(['run', '--rm', '-i', '--network', 'none', 'bb', 'cat'], { root, input: 'hi\nthere\n', timeoutMs: 20_000 });
  assert.equal(withI.code, 0, show(withI));
  assert.equal(withI.stdout, 'hi\nthere\n', show(withI));

  const withoutI = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'sh', '-c', 'cat; echo "end"'], { root, input: 'hi\n', timeoutMs: 20_000 });
  assert.equal(withoutI.code, 0, show(withoutI));
  assert.equal(withoutI.stdout, 'end\n', show(withoutI));
});

test('--rm leaves no container; without it the container stays, its record holding the exit code', async (t) => {
  if (!requireRootless(t, '--rm')) return;
  const root = await storeWithBusybox(t);
  const rm = await runSandbox(['run', '--rm', '--network', 'none', '--name', 'gone', 'bb', 'sh', '-c', 'echo hi > /file; exit 2'], { root });
  assert.equal(rm.code, 2, show(rm));
  assert.deepEqual(containerDirs(root), []);
  assert.ok(!existsSync(join(root, 'data', 'names', 'gone')), 'the name is released');

  const keep = await runSandbox(['run', '--network', 'none', '--name', 'kept', 'bb', 'sh', '-c', 'echo hi > /file; exit 4'], { root });
  assert.equal(keep.code, 4, show(keep));
  const ids = containerDirs(root);
  assert.equal(ids.length, 1, `one container left: ${ids.join(' ')}`);
  const dir = join(root, 'data', 'containers', ids[0]!);
  const records = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => readFileSync(join(dir, f), 'utf8'));
  assert.ok(records.some((text) => /"exitCode":\s*4\b/.test(text)), `a record with exit code 4 in ${dir}: ${readdirSync(dir).join(' ')}\n${records.join('\n')}`);
  assert.ok(records.some((text) => /"name":\s*"kept"/.test(text)), 'the record has the name');
  assert.ok(existsSync(join(root, 'data', 'names', 'kept')), 'the name is taken');
  assert.ok(readFileSync(join(root, 'data', 'names', 'kept'), 'utf8').includes(ids[0]!), 'the name points at the container');
});

test('--name in use by a running sandbox: exit 125 with a one-line error; the first one runs on', async (t) => {
  if (!requireRootless(t, '--name conflict')) return;
  const root = await storeWithBusybox(t);
  const first = spawnSandbox(['run', '--rm', '-i', '--network', 'none', '--name', 'dup', 'bb', 'sh', '-c', 'echo started; read line; echo "got $line"'], { root });
  t.after(() => killGroup(first, 'SIGKILL'));
  first.stdin?.on('error', () => {});
  let firstOut = '';
  first.stdout?.on('data', (d: Buffer) => { firstOut += String(d); });
  const firstExit = new Promise<number | null>((resolvePromise) => first.on('close', (code) => resolvePromise(code)));
  await waitForOutput(first, 'started', 20_000);

  const second = await runSandbox(['run', '--rm', '--network', 'none', '--name', 'dup', 'bb', 'true'], { root });
  assert.equal(second.code, 125, show(second));
  assertErrorWithHint(second);
  assert.match(second.stderr, /dup/, show(second));

  // The first one still runs: it answers, then exits normally.
  first.stdin?.end('still-here\n');
  const timer = setTimeout(() => killGroup(first, 'SIGKILL'), 20_000);
  const code = await firstExit;
  clearTimeout(timer);
  assert.equal(code, 0, firstOut);
  assert.deepEqual(lines(firstOut), ['started', 'got still-here']);

  const third = await runSandbox(['run', '--rm', '--network', 'none', '--name', 'dup', 'bb', 'true'], { root });
  assert.equal(third.code, 0, `the name is free again once the first is gone:\n${show(third)}`);
});

/** A copy of the busybox rootfs that belongs to the test user, as a user's own rootfs would. */
async function ownRootfs(t: TestContext): Promise<string> {
  const src = await busyboxRootfsDir();
  const dir = await newUserDir(t, 'sandbox-e2e-rootfs-');
  const cp = await asUser('cp', ['-a', `${src}/.`, dir]);
  assert.equal(cp.code, 0, show(cp));
  return dir;
}

function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      const st = lstatSync(p, { throwIfNoEntry: false });
      out.push(`${p.slice(dir.length)} ${e.isSymbolicLink() ? 'l' : e.isDirectory() ? 'd' : 'f'} ${st?.size ?? '-'} ${st?.mtimeMs ?? '-'}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join('\n');
}

test('--rootfs DIR runs the command on that directory; writes do not reach it', async (t) => {
  if (!requireRootless(t, '--rootfs')) return;
  const root = await newStore(t);
  const dir = await ownRootfs(t);
  const before = snapshot(dir);
  const r = await runSandbox(['run', '--rm', '--network', 'none', '--rootfs', dir, 'sh', '-c',
    'cat /home/app/owned; echo new > /etc/new-file; echo more >> /etc/passwd; rm /bin/ls; mkdir /made-here; echo "done=$?"'], { root });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, `${OWNED_FILE_CONTENT}done=0\n`, show(r));
  assert.equal(snapshot(dir), before, 'the directory is unchanged');
});

test('--rootfs DIR the user can read but does not own: runs, or fails with one error line and a hint', async (t) => {
  if (!requireRootless(t, '--rootfs not owned')) return;
  const root = await newStore(t);
  const dir = await busyboxRootfsDir(); // belongs to whoever built it: root, when the tests run as root
  const r = await runSandbox(['run', '--rm', '--rootfs', dir, 'cat', '/home/app/owned'], { root });
  if (r.code === 0) {
    assert.equal(r.stdout, OWNED_FILE_CONTENT, show(r));
  } else {
    assert.equal(r.code, 125, show(r));
    assertErrorWithHint(r);
  }
});
