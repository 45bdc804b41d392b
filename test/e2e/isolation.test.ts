/**
 * Issue 2, item 6: each isolation point proven from inside a real sandbox, run by the
 * unprivileged test user. Every test gets a fresh store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { busyboxRootfsTar } from './fixtures.js';
import {
  REPO_ROOT, collect, eventually, importImage, killGroup, lines, newStore, newUserDir, requireRootless,
  runSandbox, show, spawnAsUser, spawnSandbox, subidRanges, testUser, waitForOutput,
} from './harness.js';

const token = (): string => randomBytes(6).toString('hex');

/** A store with the busybox image imported as `bb`. */
async function storeWithBusybox(t: Parameters<typeof newStore>[0]): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

/** Makes `path` belong to the test user (we may be root, creating things for it). */
async function giveToUser(path: string): Promise<void> {
  const u = testUser();
  if (u.switchUser) await chown(path, u.uid, u.gid);
}

/** The text between `BEGIN name` and `END name` lines of a sandbox's output. */
function section(out: string, name: string): string {
  const m = new RegExp(`^BEGIN ${name}\\n([\\s\\S]*?)^END ${name}$`, 'm').exec(out);
  assert.ok(m, `no section ${name} in:\n${out}`);
  return m[1] ?? '';
}

test('(a) root inside; the user owns on the host what root makes in a bind, uid 1000 inside is a subordinate uid', async (t) => {
  if (!requireRootless(t, 'user namespace mapping')) return;
  const root = await storeWithBusybox(t);
  const user = testUser();
  const uidRange = subidRanges('/etc/subuid', user)[0];
  const gidRange = subidRanges('/etc/subgid', user)[0];
  assert.ok(uidRange && gidRange, 'the test user has subordinate id ranges');
  const dir = await newUserDir(t);
  await chmod(dir, 0o755); // uid 1000 inside must be able to enter it
  // A directory anyone may write to, so that uid 1000 inside can create a file in the bind.
  const open = join(dir, 'open');
  await mkdir(open);
  await chmod(open, 0o777);
  await giveToUser(open);

  const r = await runSandbox(['run', '--rm', '--network', 'none', '-v', `${dir}:/src`, 'bb', 'sh', '-c',
    'id -u; id -g; echo root > /src/by-root; echo app > /src/by-chown; chown 1000:1000 /src/by-chown'], { root });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(lines(r.stdout), ['0', '0'], show(r));

  const u1000 = await runSandbox(['run', '--rm', '--network', 'none', '-u', '1000:1000', '-v', `${dir}:/src`, 'bb', 'sh', '-c',
    'id -u; echo made by 1000 > /src/open/by-uid-1000'], { root });
  assert.equal(u1000.code, 0, show(u1000));
  assert.deepEqual(lines(u1000.stdout), ['1000'], show(u1000));

  const byRoot = statSync(join(dir, 'by-root'));
  assert.deepEqual([byRoot.uid, byRoot.gid], [user.uid, user.gid], 'a file root makes inside belongs to the user on the host');
  // uid N >= 1 inside is subuid start + N - 1 on the host.
  const subUid = uidRange.start + 1000 - 1;
  const subGid = gidRange.start + 1000 - 1;
  const byChown = statSync(join(dir, 'by-chown'));
  assert.deepEqual([byChown.uid, byChown.gid], [subUid, subGid], 'chown 1000:1000 inside is the subordinate ids on the host');
  const byUid1000 = statSync(join(open, 'by-uid-1000'));
  assert.deepEqual([byUid1000.uid, byUid1000.gid], [subUid, subGid], 'a file uid 1000 makes inside belongs to the subordinate ids');
  assert.equal(readFileSync(join(open, 'by-uid-1000'), 'utf8'), 'made by 1000\n');
});

test('(b) busybox image: no host file is reachable, even for root, even after mount/umount/pivot_root/chroot attempts', async (t) => {
  if (!requireRootless(t, 'host root unreachable (busybox)')) return;
  const root = await storeWithBusybox(t);
  const user = testUser();
  const dir = await newUserDir(t);
  const marker = `MARKER-${token()}`;
  await writeFile(join(dir, marker), 'host file\n');
  await giveToUser(join(dir, marker));
  assert.ok(existsSync('/etc/os-release'), 'precondition: the host has /etc/os-release');

  const script = [
    'echo BEGIN ls; ls -a /; echo END ls',
    'echo BEGIN mountinfo; cat /proc/self/mountinfo; echo END mountinfo',
    // PID 1 is our init; its root must be the sandbox's root (or not open to us at all).
    'echo BEGIN proc1root; ls -a /proc/1/root/ 2>/dev/null || echo DENIED; echo END proc1root',
    'cat /proc/1/root/etc/os-release 2>/dev/null && echo PROC1-OS-RELEASE',
    `cat ${dir}/${marker} 2>/dev/null && echo DIRECT-MARKER`,
    // Escape attempts: each must fail, or at least lead nowhere new.
    'umount -l / 2>/dev/null; echo "umount-root=$?"',
    'umount /proc 2>/dev/null; echo "umount-proc=$?"',
    'mkdir -p /tmp/m /tmp/p',
    'mount --rbind /proc/1/root /tmp/m 2>/dev/null; echo "rbind=$?"',
    'mount -t proc proc /tmp/p 2>/dev/null; echo "mount-proc=$?"',
    'cd /tmp && pivot_root . m 2>/dev/null; echo "pivot=$?"; cd /',
    'chroot /proc/1/root /bin/true 2>/dev/null; echo "chroot-proc1=$?"',
    // After all that: nothing of the host anywhere (marker, os-release, the checkout).
    `echo BEGIN find; find / -path /proc -prune -o -path /sys -prune -o \\( -name ${marker} -o -name os-release -o -name package.json \\) -print 2>/dev/null; echo END find`,
  ].join('\n');
  const r = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'sh', '-c', script], { root });
  assert.equal(r.code, 0, show(r));
  const out = r.stdout;

  const imageTop = ['.', '..', 'bin', 'dev', 'etc', 'home', 'proc', 'root', 'run', 'sbin', 'sys', 'tmp', 'usr', 'var'];
  const top = lines(section(out, 'ls'));
  assert.deepEqual(top.filter((e) => !imageTop.includes(e)), [], `/ holds only the image's directories (no /oldroot):\n${show(r)}`);
  const proc1 = lines(section(out, 'proc1root'));
  assert.ok(proc1[0] === 'DENIED' || JSON.stringify(proc1) === JSON.stringify(top), `/proc/1/root is the sandbox's root:\n${show(r)}`);
  assert.doesNotMatch(out, /PROC1-OS-RELEASE|DIRECT-MARKER/, show(r));
  assert.match(out, /^umount-root=[1-9]\d*$/m, `umount -l / fails:\n${show(r)}`);
  assert.equal(lines(section(out, 'find')).join('\n'), '', `no host file is findable:\n${show(r)}`);

  // The mount table names no host location: no /oldroot mount point, neither the user's
  // home nor the checkout anywhere (the store's own files are bound, so they may appear).
  const mountinfo = lines(section(out, 'mountinfo'));
  assert.ok(mountinfo.length > 0, show(r));
  for (const line of mountinfo) {
    const mountPoint = line.split(' ')[4] ?? '';
    assert.doesNotMatch(mountPoint, /^\/(old_?root)(\/|$)/, `mount point ${mountPoint}`);
    assert.ok(!line.includes(REPO_ROOT), `mountinfo mentions the checkout: ${line}`);
    assert.ok(!line.includes(user.home), `mountinfo mentions the user's home: ${line}`);
  }
});

test('(b) host image: a file in the host /tmp is unreachable, even for root breaking out of a chroot', async (t) => {
  if (!requireRootless(t, 'host root unreachable (host image)')) return;
  const root = await newStore(t);
  const dir = await newUserDir(t); // under the host's /tmp, which the sandbox replaces
  const marker = `MARKER-${token()}`;
  await writeFile(join(dir, marker), 'host file\n');
  await giveToUser(join(dir, marker));
  const markerPath = join(dir, marker);
  const hasPerl = existsSync('/usr/bin/perl');
  if (!hasPerl) t.diagnostic('no /usr/bin/perl on the host: the chroot break-out attempt is left out');

  // The classic break-out: chroot into a subdirectory while the cwd stays outside it, walk
  // up with "..", chroot("."). Escapes a plain chroot; after pivot_root with the old root
  // detached it only reaches the sandbox's own root again.
  const breakout = 'mkdir "/tmp/brk"; chroot "/tmp/brk" or die "chroot: $!"; chdir ".." for 1..64; ' +
    'chroot "." or die "chroot2: $!"; print "BROKE-OUT\\n"; ' +
    `print "REACHED-BY-BREAKOUT\\n" if -e "${markerPath}"; opendir(D, "/tmp") or die; print "breakout-tmp: ", join(" ", sort readdir D), "\\n"`;
  const script = [
    'echo "uid=$(id -u)"',
    'echo BEGIN tmp; ls -a /tmp; echo END tmp',
    `test -e ${markerPath} && echo REACHED-DIRECTLY`,
    `echo BEGIN find; find / -xdev -name ${marker} 2>/dev/null; find /tmp /run /dev /var/tmp -name ${marker} 2>/dev/null; echo END find`,
    `for p in /proc/[0-9]*/root /proc/[0-9]*/cwd; do test -e "$p${markerPath}" && echo "REACHED-VIA $p"; done`,
    'umount -l /tmp 2>/dev/null; echo "umount-tmp=$?"',
    `test -e ${markerPath} && echo REACHED-AFTER-UMOUNT`,
    hasPerl ? `perl -e '${breakout}'; echo "perl=$?"` : 'true',
  ].join('\n');
  const r = await runSandbox(['run', '--rm', '--network', 'none', 'host', 'sh', '-c', script], { root });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^uid=0$/m, show(r));
  assert.deepEqual(lines(section(r.stdout, 'tmp')).filter((e) => e !== '.' && e !== '..'), [], `the sandbox's /tmp is private and empty:\n${show(r)}`);
  assert.equal(section(r.stdout, 'find').trim(), '', `find does not see the marker:\n${show(r)}`);
  assert.doesNotMatch(r.stdout, /REACHED/, show(r));
  assert.match(r.stdout, /^umount-tmp=[1-9]\d*$/m, `umount of the private /tmp fails:\n${show(r)}`);
  if (hasPerl) {
    // The break-out itself ran (root inside may chroot), and landed in the sandbox's root.
    assert.match(r.stdout, /^BROKE-OUT$/m, show(r));
    assert.match(r.stdout, /^breakout-tmp: \. \.\. brk$/m, show(r));
  }
});

test('(c) host processes are invisible: only the sandbox\'s own processes are listed', async (t) => {
  if (!requireRootless(t, 'pid namespace')) return;
  const root = await storeWithBusybox(t);
  const tok = token();
  const tag = `hostproc-${tok}`;
  // Inside, the tag is searched for in two quoted halves, so that the searching shell's own
  // command line does not contain it.
  const tagInside = `"hostproc""-${tok}"`;
  // A long-running process of the same user on the host, with a unique word in its argv.
  const host = spawnAsUser('sh', ['-c', `sleep 300; : ${tag}`]);
  t.after(() => killGroup(host, 'SIGKILL'));
  const hostDone = collect(host, { timeoutMs: 400_000 }).catch(() => undefined);
  t.after(() => hostDone);
  assert.ok(host.pid !== undefined);
  assert.equal(await eventually(() => (cmdline(host.pid!).includes(tag) ? '' : 'the host process is not running yet'), 3000), '');

  const r = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'sh', '-c',
    'echo BEGIN ps; ps -o pid,args; echo END ps; echo BEGIN pids; ls /proc | grep "^[0-9][0-9]*$"; echo END pids; ' +
    `echo BEGIN grep; grep -l ${tagInside} /proc/[0-9]*/cmdline 2>/dev/null; echo END grep; ` +
    `kill -0 ${host.pid} 2>/dev/null && echo "CAN-SIGNAL-HOST-PID"; true`], { root });
  assert.equal(r.code, 0, show(r));
  const pids = lines(section(r.stdout, 'pids')).map(Number);
  assert.ok(pids.includes(1), `PID 1 is there:\n${show(r)}`);
  assert.ok(pids.length <= 6, `only a few processes:\n${show(r)}`);
  assert.ok(pids.every((p) => p < 100), `only the sandbox's small pids:\n${show(r)}`);
  const ps = section(r.stdout, 'ps');
  assert.ok(!ps.includes(tag), `the host's sleep is not listed:\n${show(r)}`);
  assert.doesNotMatch(ps, /\bnode\b|setpriv/, `the test runner and the CLI are not listed:\n${show(r)}`);
  assert.equal(section(r.stdout, 'grep').trim(), '', show(r));
  // Host pid numbers mean nothing inside (unless the sandbox happens to have that pid).
  if (host.pid! >= 100) assert.doesNotMatch(r.stdout, /^CAN-SIGNAL-HOST-PID$/m, show(r));
});

test('(d) writes outside -v binds never reach the host', async (t) => {
  if (!requireRootless(t, 'copy-on-write root')) return;
  const root = await newStore(t);
  const user = testUser();
  const tag = token();
  const bind = await newUserDir(t);
  const etcFile = `/etc/sandbox-test-marker-${tag}`;
  const usrFile = `/usr/sandbox-test-${tag}`;
  const homeFile = join(user.home, `sandbox-test-${tag}`);
  const tmpFile = `/tmp/sandbox-test-${tag}`;
  const hostFiles = [etcFile, usrFile, homeFile, tmpFile];
  // A file the user may change on the host: only the copy-on-write layer keeps it intact.
  const ownFile = join(user.home, `sandbox-test-own-${tag}`);
  await writeFile(ownFile, 'original\n');
  await giveToUser(ownFile);
  t.after(() => rmSync(ownFile, { force: true }));
  t.after(() => { for (const f of hostFiles) if (existsSync(f)) rmSync(f, { force: true }); });

  const r = await runSandbox(['run', '--rm', '--network', 'none', '-v', `${bind}:/bind`, 'host', 'sh', '-c', [
    `echo x > ${etcFile} && echo etc-ok`,
    `touch ${usrFile} && echo usr-ok`,
    `mkdir -p ${user.home} && touch ${homeFile} && echo home-ok`,
    `touch ${tmpFile} && echo tmp-ok`,
    `echo changed > ${ownFile} && echo own-ok`,
    `mv ${ownFile} ${ownFile}.moved && echo mv-ok`,
    `cat ${etcFile}`,
    'echo through > /bind/through-the-bind',
  ].join('\n')], { root });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(lines(r.stdout), ['etc-ok', 'usr-ok', 'home-ok', 'tmp-ok', 'own-ok', 'mv-ok', 'x'], show(r));
  for (const f of hostFiles) assert.ok(!existsSync(f), `${f} must not appear on the host`);
  assert.equal(readFileSync(ownFile, 'utf8'), 'original\n', 'the user\'s own host file is untouched');
  assert.ok(!existsSync(`${ownFile}.moved`), 'a rename inside does not reach the host');
  // The control: a write through the bind does reach the host.
  assert.equal(readFileSync(join(bind, 'through-the-bind'), 'utf8'), 'through\n');

  // A new sandbox has a fresh layer: nothing of the last one's writes is there.
  const again = await runSandbox(['run', '--rm', '--network', 'none', 'host', 'sh', '-c',
    `cat ${ownFile}; ls ${etcFile} ${usrFile} ${homeFile} 2>/dev/null; true`], { root });
  assert.equal(again.code, 0, show(again));
  assert.equal(again.stdout, 'original\n', show(again));
});

test('(d) with --read-only, writes to the host image fail everywhere but the private /tmp', async (t) => {
  if (!requireRootless(t, '--read-only host image')) return;
  const root = await newStore(t);
  const user = testUser();
  const r = await runSandbox(['run', '--rm', '--network', 'none', '--read-only', 'host', 'sh', '-c', [
    'echo x > /etc/sandbox-test-ro 2>/dev/null; echo "etc=$?"',
    'touch /usr/sandbox-test-ro 2>/dev/null; echo "usr=$?"',
    `touch ${user.home}/sandbox-test-ro 2>/dev/null; echo "home=$?"`,
    'touch /sandbox-test-ro 2>/dev/null; echo "root=$?"',
    'touch /tmp/ok && echo tmp-ok',
  ].join('\n')], { root });
  assert.equal(r.code, 0, show(r));
  for (const where of ['etc', 'usr', 'home', 'root']) assert.match(r.stdout, new RegExp(`^${where}=[1-9]\\d*$`, 'm'), `${where}:\n${show(r)}`);
  assert.match(r.stdout, /^tmp-ok$/m, show(r));
});

test('(e) the host environment is not leaked; -e NAME, -e K=V and --env-file pass what is asked', async (t) => {
  if (!requireRootless(t, 'environment')) return;
  const root = await storeWithBusybox(t);
  const dir = await newUserDir(t);
  const envFile = join(dir, 'env');
  await writeFile(envFile, '# a comment\nFROM_FILE=file value\n\nOTHER_FROM_FILE=2\n');
  await giveToUser(envFile);
  const leak = `leak-${token()}`;
  const hostEnv: Record<string, string> = { LEAK_TOKEN: leak, PASS_ME: 'passed', SECRET_THING: leak };

  const r = await runSandbox(['run', '--rm', '--network', 'none', '-e', 'PASS_ME', '-e', 'K=V=W', '--env-file', envFile, 'bb', 'env'],
    { root, env: hostEnv });
  assert.equal(r.code, 0, show(r));
  const inside = new Map(lines(r.stdout).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.ok(!r.stdout.includes(leak), `the host's variables stay outside:\n${show(r)}`);
  assert.equal(inside.get('PASS_ME'), 'passed', show(r));
  assert.equal(inside.get('K'), 'V=W', show(r));
  assert.equal(inside.get('FROM_FILE'), 'file value', show(r));
  assert.equal(inside.get('OTHER_FROM_FILE'), '2', show(r));
  // What the harness sets for the CLI (HOME, USER, LOGNAME, SANDBOX_ROOT, its PATH) is
  // not what the sandbox gets either.
  const user = testUser();
  assert.notEqual(inside.get('HOME'), user.home, show(r));
  for (const k of ['USER', 'LOGNAME', 'SANDBOX_ROOT']) assert.ok(!inside.has(k), `${k} leaked:\n${show(r)}`);
  assert.ok(!(inside.get('PATH') ?? '').includes('node'), `the CLI's PATH leaked:\n${show(r)}`);
});

// ---------------------------------------------------------------------------------------
// (f) killing `sandbox run --rm`

interface ProcInfo { pid: number; ppid: number; state: string; start: string }

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]), start: rest[19] ?? '' };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function descendants(rootPid: number): ProcInfo[] {
  const infos = allPids().map(procInfo).filter((p): p is ProcInfo => p !== undefined);
  const out: ProcInfo[] = [];
  const want = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of infos) {
      if (!want.has(p.pid) && want.has(p.ppid)) {
        want.add(p.pid);
        grew = true;
      }
    }
  }
  for (const p of infos) if (want.has(p.pid)) out.push(p);
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function nsOf(pid: number, ns: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return undefined;
  }
}


async function killRunAndCheck(t: TestContext, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const root = await newStore(t);
  const tag = `killme-${token()}`;
  // Default network, so that slirp4netns is part of what must go away too.
  const child = spawnSandbox(['run', '--rm', 'host', 'sh', '-c', `echo started-${tag}; sleep 300; echo ${tag}`], { root });
  t.after(() => killGroup(child, 'SIGKILL'));
  const started = waitForOutput(child, `started-${tag}`, 20_000);
  const done = collect(child, { timeoutMs: 60_000 });
  await started;
  const cliPid = child.pid!;

  // What exists now: the CLI, its helpers, the sandbox's processes.
  const before = descendants(cliPid).filter((p) => p.state !== 'Z');
  const myUserNs = nsOf(process.pid, 'user');
  const inner = allPids().find((p) => cmdline(p).includes(`echo ${tag}`) && nsOf(p, 'user') !== myUserNs);
  assert.ok(inner !== undefined, 'the sandboxed shell is running');
  const innerUserNs = nsOf(inner, 'user');
  const innerPidNs = nsOf(inner, 'pid');
  assert.ok(innerUserNs && innerPidNs, 'the sandbox has its own namespaces');
  assert.ok(before.length >= 3, `CLI, helper and command: ${JSON.stringify(before)}`);
  const containers = join(root, 'data', 'containers');
  assert.equal(readdirSync(containers).length, 1, 'one container directory while it runs');

  // Only the CLI gets the signal, as when a user or a supervisor kills it.
  process.kill(cliPid, signal);
  const res = await done;
  t.diagnostic(`sandbox run exited with ${res.code} after ${signal}`);

  const wrong = await eventually(() => {
    const problems: string[] = [];
    for (const p of before) {
      const now = procInfo(p.pid);
      if (now && now.start === p.start && now.state !== 'Z') problems.push(`pid ${p.pid} (${cmdline(p.pid).trim()}) still runs`);
    }
    for (const pid of allPids()) {
      const info = procInfo(pid);
      if (!info || info.state === 'Z') continue;
      if (cmdline(pid).includes(tag) && pid !== process.pid) problems.push(`pid ${pid} still has the tag: ${cmdline(pid)}`);
      if (nsOf(pid, 'user') === innerUserNs || nsOf(pid, 'pid') === innerPidNs) problems.push(`pid ${pid} (${cmdline(pid).trim()}) is still in the sandbox's namespaces`);
    }
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(root));
    if (mounts.length > 0) problems.push(`mounts left: ${mounts.join('; ')}`);
    const left = existsSync(containers) ? readdirSync(containers) : [];
    if (left.length > 0) problems.push(`container directories left: ${left.join(' ')}`);
    return problems.join('\n');
  }, 5000);
  assert.equal(wrong, '', `after ${signal} of sandbox run --rm:\n${wrong}\n${show(res)}`);
}

test('(f) SIGTERM to `sandbox run --rm` leaves no process, mount or directory behind', async (t) => {
  if (!requireRootless(t, 'kill run --rm (SIGTERM)')) return;
  await killRunAndCheck(t, 'SIGTERM');
});

test('(f) SIGKILL to `sandbox run --rm` leaves no process, mount or directory behind', async (t) => {
  if (!requireRootless(t, 'kill run --rm (SIGKILL)')) return;
  await killRunAndCheck(t, 'SIGKILL');
});
