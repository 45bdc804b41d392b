/**
 * Issue 2, items 2 and 4: the fallbacks. A root on fuse-overlayfs (forced with
 * SANDBOX_COW=fuse, since this kernel mounts overlayfs natively in a user namespace), the
 * native overlay and its once-per-kernel probe when nothing is forced, and a user with no
 * subordinate id range, who still gets a sandbox with a single mapping and one warning.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { APP_GID, APP_UID, OWNED_FILE_CONTENT, busyboxRootfsTar } from './fixtures.js';
import {
  collect, eventually, importImage, lines, newStore, otherUser, otherUserProblems, requireNoProblems,
  rootlessProblems, runSandbox, runSandboxAs, show, spawnSandbox, subidRanges, testUser, userCommand,
  type RunResult, sandboxIdsIn,
} from './harness.js';

const FUSE = { SANDBOX_COW: 'fuse' };

/** Why fuse-overlayfs cannot be used by the test user (empty when it can). */
function fuseProblems(): string[] {
  const problems = rootlessProblems().slice();
  if (problems.length) return problems;
  if (!['/usr/bin/fuse-overlayfs', '/bin/fuse-overlayfs', '/usr/local/bin/fuse-overlayfs'].some((p) => existsSync(p))) {
    problems.push('fuse-overlayfs is missing: apt-get install fuse-overlayfs');
  }
  const [file, argv] = userCommand('sh', ['-c', 'test -c /dev/fuse && test -r /dev/fuse && test -w /dev/fuse']);
  if (spawnSync(file, argv, { cwd: '/' }).status !== 0) {
    problems.push(`/dev/fuse is missing or not read-writable by ${testUser().name}: chmod 0666 /dev/fuse (.ci/run does)`);
  }
  return problems;
}

/**
 * The test user's live (not zombie) fuse-overlayfs processes that work on `store`: other
 * tests of the same user may run at the same time, with stores of their own.
 */
function fuseProcessesOn(store: string): string[] {
  const r = spawnSync('pgrep', ['-u', String(testUser().uid), '-a', 'fuse-overlayfs'], { encoding: 'utf8' });
  return lines(r.stdout).filter((l) => {
    if (!l.includes(store)) return false;
    const pid = l.split(' ')[0];
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false; // gone meanwhile
    }
  });
}


/**
 * Runs bin/sandbox on fuse-overlayfs, and checks that a fuse-overlayfs process on this
 * store was seen while it ran (so that "none left afterwards" means something), that none
 * is left once it exits, and that `--rm` removed the container's directory.
 */
async function runOnFuse(root: string, args: string[]): Promise<RunResult> {
  // The last word is a `sh -c` script: keep the sandbox up a moment after it, so the
  // 20 ms poll below sees its fuse-overlayfs process even on an idle machine.
  const script = args[args.length - 1]!;
  const lasting = [...args.slice(0, -1), `{ ${script}; }; s=$?; sleep 0.3; exit $s`];
  const child = spawnSandbox(lasting, { root, env: FUSE });
  let seen: string[] = [];
  const poll = setInterval(() => {
    if (seen.length === 0) seen = fuseProcessesOn(root);
  }, 20);
  let r: RunResult;
  try {
    r = await collect(child, { what: `SANDBOX_COW=fuse sandbox ${args.join(' ')}` });
  } finally {
    clearInterval(poll);
  }
  assert.equal(r.code, 0, show(r));
  assert.notDeepEqual(seen, [], `a fuse-overlayfs process of ${testUser().name} on ${root} runs while the sandbox runs:\n${show(r)}`);
  assert.deepEqual(sandboxIdsIn(root), [], `--rm leaves no container directory:\n${show(r)}`);
  const left = await eventually(() => fuseProcessesOn(root).join('\n'), 2000);
  assert.equal(left, '', 'no fuse-overlayfs process is left behind');
  return r;
}

const FUSE_ROOT = /^fuse-overlayfs on \/ type fuse\.fuse-overlayfs /;

test('SANDBOX_COW=fuse, busybox image: / is fuse-overlayfs, ids survive, writes stay in the sandbox, --rm leaves nothing', async (t) => {
  if (!requireNoProblems(t, 'fuse-overlayfs root (busybox)', fuseProblems())) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const probe = `fuse-probe-${randomBytes(4).toString('hex')}`;

  const r = await runOnFuse(root, ['run', '--rm', '--network', 'none', 'bb', 'sh', '-c',
    'mount | head -1; stat -c %u:%g /home/app/owned; echo changed > /home/app/owned; cat /home/app/owned; ' +
    `stat -c %u:%g /home/app/owned; echo new > /etc/${probe}; cat /etc/${probe}; id -u`]);
  assert.deepEqual(lines(r.stdout).slice(1), [`${APP_UID}:${APP_GID}`, 'changed', `${APP_UID}:${APP_GID}`, 'new', '0'], show(r));
  assert.match(lines(r.stdout)[0] ?? '', FUSE_ROOT, show(r));

  // The ownership is real on fuse-overlayfs too: uid 1000 writes its own file, not root's.
  const app = await runOnFuse(root, ['run', '--rm', '--network', 'none', '-u', `${APP_UID}:${APP_GID}`, 'bb', 'sh', '-c',
    'echo more >> /home/app/owned && echo own-ok; echo x >> /etc/passwd 2>/dev/null || echo etc-denied']);
  assert.deepEqual(lines(app.stdout), ['own-ok', 'etc-denied'], show(app));

  // Nothing reached the image: a new sandbox sees the original, and so does the layer.
  const again = await runOnFuse(root, ['run', '--rm', '--network', 'none', 'bb', 'sh', '-c',
    `cat /home/app/owned; ls /etc/${probe} 2>/dev/null || echo no-probe`]);
  assert.equal(again.stdout, `${OWNED_FILE_CONTENT}no-probe\n`, show(again));
  const layers = join(root, 'data', 'layers');
  const diffs = readdirSync(layers).filter((l) => /^[a-f0-9]{64}$/.test(l)).map((l) => join(layers, l, 'diff'));
  assert.ok(diffs.some((d) => existsSync(join(d, 'home/app/owned'))), `the image layer holds /home/app/owned (${diffs.join(', ')})`);
  for (const d of diffs) {
    if (existsSync(join(d, 'home/app/owned'))) assert.equal(readFileSync(join(d, 'home/app/owned'), 'utf8'), OWNED_FILE_CONTENT);
    assert.equal(existsSync(join(d, 'etc', probe)), false, `${probe} is not in the layer ${d}`);
  }
});

test('SANDBOX_COW=fuse, host image: / is fuse-overlayfs, writes never reach the host, --rm leaves nothing', async (t) => {
  if (!requireNoProblems(t, 'fuse-overlayfs root (host)', fuseProblems())) return;
  const root = await newStore(t);
  const user = testUser();
  const probe = `fuse-probe-${randomBytes(4).toString('hex')}`;
  const inEtc = `/etc/${probe}`;
  const inHome = join(user.home, probe);
  t.after(() => {
    // Only if the test failed by writing through: do not leave litter on the host.
    spawnSync('rm', ['-f', '--', inEtc, inHome]);
  });

  const r = await runOnFuse(root, ['run', '--rm', '--network', 'none', 'host', 'sh', '-c',
    `mount | head -1; echo etc > ${inEtc} && cat ${inEtc}; echo home > ${inHome} && cat ${inHome}; ` +
    `stat -c %u ${user.home} ${inHome}; sleep 0.3`]);
  assert.match(lines(r.stdout)[0] ?? '', FUSE_ROOT, show(r));
  assert.deepEqual(lines(r.stdout).slice(1), ['etc', 'home', '0', '0'],
    `root inside can write; the test user's own home is uid 0 inside:\n${show(r)}`);
  assert.equal(existsSync(inEtc), false, `${inEtc} must not reach the host`);
  assert.equal(existsSync(inHome), false, `${inHome} must not reach the host`);
});

test('SANDBOX_COW unset: native overlay (probed once, cached in <store>/cache/copy-on-write.json)', async (t) => {
  const [major = 0, minor = 0] = release().split('.').map((n) => Number.parseInt(n, 10));
  const problems = rootlessProblems().slice();
  if (major < 5 || (major === 5 && minor < 11)) problems.push(`kernel ${release()} is older than 5.11: no overlayfs in a user namespace`);
  if (!requireNoProblems(t, 'native overlay', problems)) return;
  const root = await newStore(t);
  const cacheFile = join(root, 'cache', 'copy-on-write.json');
  assert.equal(existsSync(cacheFile), false, 'a fresh store has no probe result');

  // host: one overlay per top-level directory (an overlay of / is refused in a user namespace).
  const host = await runSandbox(['run', '--rm', '--network', 'none', 'host', 'sh', '-c',
    'awk \'$2 == "/usr" || $2 == "/etc" { print $2, $3 }\' /proc/mounts; mount | grep -c fuse-overlayfs'], { root });
  assert.equal(host.code, 1, `grep -c finds no fuse-overlayfs (exit 1):\n${show(host)}`);
  assert.deepEqual(lines(host.stdout).sort(), ['/etc overlay', '/usr overlay', '0'].sort(), show(host));
  assert.ok(existsSync(cacheFile), `${cacheFile} exists after the first run`);
  const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { kernel?: unknown; native?: unknown };
  assert.equal(cached.native, true, `native: true in ${JSON.stringify(cached)}`);
  assert.equal(cached.kernel, release(), 'cached for this kernel');

  await importImage(root, await busyboxRootfsTar(), 'bb');
  const bb = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'sh', '-c', 'mount | head -1'], { root });
  assert.equal(bb.code, 0, show(bb));
  assert.match(bb.stdout, /^overlay on \/ type overlay /, show(bb));
  assert.deepEqual(sandboxIdsIn(root), [], 'no container directory is left');
});

// ---------------------------------------------------------------------------------------
// A user without a subordinate id range

function nosubProblems(): string[] {
  const name = process.env.SANDBOX_NOSUB_USER;
  const problems = otherUserProblems(name, 'SANDBOX_NOSUB_USER (a user with no /etc/subuid, /etc/subgid range; .ci/run makes sandbox-nosub)');
  if (problems.length || !name) return problems;
  const user = otherUser(name);
  for (const file of ['/etc/subuid', '/etc/subgid'] as const) {
    if (subidRanges(file, user).length) {
      problems.push(`${name} has a range in ${file}, so it cannot show the fallback: SANDBOX_NOSUB_USER must name a user ` +
        'with no range at all (.ci/run makes sandbox-nosub)');
    }
  }
  return problems;
}

function assertOneWarning(r: RunResult, other: string[] = []): void {
  const l = lines(r.stderr).filter((x) => !other.some((o) => x.includes(o)));
  assert.equal(l.length, 1, `exactly one line on stderr (the warning):\n${show(r)}`);
  assert.match(l[0] ?? '', /^sandbox: warning: /, show(r));
  assert.match(l[0] ?? '', /subuid|subordinate/, `names the missing range:\n${show(r)}`);
  assert.match(l[0] ?? '', /usermod --add-subuids \S+ --add-subgids \S+/, `gives the fix:\n${show(r)}`);
}

test('a user with no subordinate ids: root inside with a single mapping, and one warning', async (t) => {
  if (!requireNoProblems(t, 'no subordinate ids', nosubProblems())) return;
  const user = otherUser(process.env.SANDBOX_NOSUB_USER ?? '');
  const root = await newStore(t, user);

  const r = await runSandboxAs(user, ['run', '--rm', '--network', 'none', 'host', 'id', '-u'], { root });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, '0\n', show(r));
  assertOneWarning(r);

  const maps = await runSandboxAs(user, ['run', '--rm', '--network', 'none', 'host', 'sh', '-c',
    'cat /proc/self/uid_map /proc/self/gid_map'], { root });
  assert.equal(maps.code, 0, show(maps));
  assert.deepEqual(lines(maps.stdout).map((l) => l.trim().split(/\s+/)),
    [['0', String(user.uid), '1'], ['0', String(user.gid), '1']], `only the user's own ids are mapped:\n${show(maps)}`);
  assertOneWarning(maps);
  assert.deepEqual(sandboxIdsIn(root), [], '--rm leaves no container directory');
});

test('a user with no subordinate ids: chown to an unmapped id fails with EINVAL', async (t) => {
  if (!requireNoProblems(t, 'no subordinate ids (chown)', nosubProblems())) return;
  const user = otherUser(process.env.SANDBOX_NOSUB_USER ?? '');
  const root = await newStore(t, user);

  const ok = await runSandboxAs(user, ['run', '--rm', '--network', 'none', 'host', 'sh', '-c',
    'touch /tmp/x && chown 0:0 /tmp/x && stat -c %u:%g /tmp/x'], { root });
  assert.equal(ok.code, 0, `chown to the one mapped id works:\n${show(ok)}`);
  assert.equal(ok.stdout, '0:0\n', show(ok));

  const r = await runSandboxAs(user, ['run', '--rm', '--network', 'none', 'host', 'sh', '-c',
    'touch /tmp/x; chown 1000 /tmp/x'], { root });
  assert.equal(r.code, 1, `chown's own exit status comes through:\n${show(r)}`);
  const chownLines = lines(r.stderr).filter((l) => l.startsWith('chown:'));
  assert.equal(chownLines.length, 1, show(r));
  assert.match(chownLines[0] ?? '', /Invalid argument/, `uid 1000 is not mapped: EINVAL:\n${show(r)}`);
  assertOneWarning(r, ['chown:']);
  assert.deepEqual(sandboxIdsIn(root), [], '--rm leaves no container directory');
});
