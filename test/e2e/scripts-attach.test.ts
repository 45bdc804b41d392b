/**
 * Issue 18, items 5 and 6 (the `attach` part): what a table line of
 * podman-lines/scripts-attach.txt cannot show — the contents of --pidfile and
 * --conmon-pidfile, a tar stream piped into `cp -`, `cp NAME:file .` relative on both
 * sides, and the symlink safety of a sandbox-to-sandbox copy.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { asUser, eventually, importImage, newStore, newUserDir, requireRootless, runSandbox, SANDBOX_BIN, show, type RunResult } from './harness.js';

const IMG = 'bb';

function ok(r: RunResult, what: string): string {
  assert.equal(r.code, 0, `${what}\n${show(r)}`);
  return r.stdout;
}

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
}

test('--pidfile and --conmon-pidfile: the command\'s and the monitor\'s pid, rewritten at every start', async (t) => {
  if (!requireRootless(t, 'pid files')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), IMG);
  const dir = await newUserDir(t);
  const pf = join(dir, 'pid'), cpf = join(dir, 'conmon.pid');
  const name = `pf-${process.pid}`;
  t.after(() => runSandbox(['rm', '-f', '-t', '0', name], { root }));
  ok(await runSandbox(['run', '-d', '--name', name, '--pidfile', pf, '--conmon-pidfile', cpf, IMG, 'sleep', '600'], { root }), 'run -d');
  const first = readFileSync(pf, 'utf8');
  assert.match(first, /^[1-9][0-9]*$/, 'a number without a newline, as Podman writes it');
  assert.equal(cmdline(Number(first)), 'sleep 600', 'the pid is the command\'s');
  const monitor = Number(readFileSync(cpf, 'utf8'));
  assert.match(readFileSync(`/proc/${monitor}/comm`, 'utf8'), /sandbox-launch/, 'the conmon pid file names our monitor');
  assert.ok(readFileSync(`/proc/${Number(first)}/status`, 'utf8').length > 0);
  ok(await runSandbox(['stop', '-t', '0', name], { root }), 'stop');
  ok(await runSandbox(['start', name], { root }), 'start');
  const second = readFileSync(pf, 'utf8');
  assert.notEqual(second, first, 'a new start writes the new pid');
  assert.equal(cmdline(Number(second)), 'sleep 600');

  // A foreground run: written while it runs; its directory must exist, else nothing is created.
  const fg = join(dir, 'fg.pid');
  const r = await runSandbox(['run', '--rm', '--pidfile', fg, IMG, 'sh', '-c', 'sleep 1; cat /proc/self/stat >/dev/null; echo ran'], { root });
  assert.equal(ok(r, 'run --pidfile').trim(), 'ran');
  assert.match(readFileSync(fg, 'utf8'), /^[1-9][0-9]*$/);
  const bad = await runSandbox(['run', '--rm', '--pidfile', join(dir, 'no', 'such', 'pf'), IMG, 'true'], { root });
  assert.equal(bad.code, 125, show(bad));
  assert.match(bad.stderr, /^sandbox: cannot write the pid file .*its directory does not exist\nhint: /m);
  assert.equal(ok(await runSandbox(['ps', '-a', '-q'], { root }), 'ps').trim().split('\n').filter(Boolean).length, 1, 'the refused run left no sandbox');
});

test('cp - NAME:DIR takes a tar stream from stdin; cp NAME:file . is relative on both sides', async (t) => {
  if (!requireRootless(t, 'cp forms')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), IMG);
  const dir = await newUserDir(t);
  const name = `cpf-${process.pid}`;
  t.after(() => runSandbox(['rm', '-f', '-t', '0', name], { root }));
  ok(await runSandbox(['run', '-d', '--name', name, '-w', '/srv', IMG, 'sleep', '600'], { root }), 'run -d');
  ok(await asUser('sh', ['-c', `mkdir -p ${dir}/src/sub && echo streamed > ${dir}/src/sub/f && tar -c -C ${dir}/src sub | ${SANDBOX_BIN} cp - ${name}:/tmp`], { root }), 'tar | cp -');
  assert.equal(ok(await runSandbox(['exec', name, 'cat', '/tmp/sub/f'], { root }), 'exec cat').trim(), 'streamed');
  // Relative inside: from the working directory (/srv); relative on the host: from our cwd.
  ok(await runSandbox(['exec', name, 'sh', '-c', 'echo relative > /srv/rel'], { root }), 'exec');
  ok(await runSandbox(['cp', `${name}:rel`, '.'], { root, cwd: dir }), 'cp NAME:rel .');
  assert.equal(readFileSync(join(dir, 'rel'), 'utf8'), 'relative\n');
  ok(await runSandbox(['cp', 'rel', `${name}:copied`], { root, cwd: dir }), 'cp rel NAME:copied');
  assert.equal(ok(await runSandbox(['exec', name, 'cat', '/srv/copied'], { root }), 'exec cat').trim(), 'relative');
});

test('cp A:SRC B:DEST: symlinks in either sandbox stay inside it', async (t) => {
  if (!requireRootless(t, 'cp between sandboxes')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), IMG);
  const dir = await newUserDir(t);
  const a = `cpa-${process.pid}`, b = `cpb-${process.pid}`;
  t.after(() => runSandbox(['rm', '-f', '-t', '0', a, b], { root }));
  const marker = join(dir, 'host-marker');
  ok(await asUser('sh', ['-c', `echo host-secret > ${marker}`]), 'marker');
  // A: a link to the host's path of the marker (inside it names nothing of the host).
  ok(await runSandbox(['run', '-d', '--name', a, IMG, 'sh', '-c', `ln -s ${marker} /tmp/tohost; ln -s / /tmp/root; sleep 600`], { root }), 'run a');
  // B: its /tmp/out is a link to the directory of the marker on the host.
  ok(await runSandbox(['run', '-d', '--name', b, IMG, 'sh', '-c', `ln -s ${dir} /tmp/out; sleep 600`], { root }), 'run b');
  for (const [who, link] of [[a, '/tmp/root'], [b, '/tmp/out']] as const) {
    assert.equal(await eventually(async () => (await runSandbox(['exec', who, 'readlink', link], { root })).code === 0 ? '' : `no ${link} in ${who} yet`), '');
  }
  // The link itself is copied (not what it names on the host).
  ok(await runSandbox(['cp', `${a}:/tmp/tohost`, `${b}:/tmp/`], { root }), 'cp a:link b:/tmp/');
  assert.equal(ok(await runSandbox(['exec', b, 'readlink', '/tmp/tohost'], { root }), 'readlink').trim(), marker);
  // Following a link to / (A:/tmp/root/.) reads A's root, never the host's.
  ok(await runSandbox(['cp', `${a}:/tmp/root/etc/passwd`, `${b}:/tmp/passwd-a`], { root }), 'cp through a link to /');
  assert.match(ok(await runSandbox(['exec', b, 'cat', '/tmp/passwd-a'], { root }), 'cat'), /^root:x:0:0/);
  // Writing through B's link to a host directory lands inside B (the path is missing there), never on the host.
  const r = await runSandbox(['cp', `${a}:/etc/passwd`, `${b}:/tmp/out/written`], { root });
  assert.notEqual(r.code, 0, `a copy through a link to a host path must fail inside the sandbox\n${show(r)}`);
  assert.ok(!existsSync(join(dir, 'written')), 'nothing was written on the host');
  assert.equal(readFileSync(marker, 'utf8'), 'host-secret\n');
});

test('--preserve-fds N: the command gets our fds 3..3+N-1, and no others', async (t) => {
  if (!requireRootless(t, '--preserve-fds')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), IMG);
  const dir = await newUserDir(t);
  const script = `echo first > ${dir}/a; echo second > ${dir}/b; ` +
    `${SANDBOX_BIN} run --rm --preserve-fds 2 ${IMG} sh -c 'cat <&3; cat <&4; cat <&5 2>/dev/null || echo no-fd-5' 3<${dir}/a 4<${dir}/b 5<${dir}/a`;
  const r = await asUser('sh', ['-c', script], { root });
  assert.equal(ok(r, 'run --preserve-fds 2').trim().split('\n').join(' '), 'first second no-fd-5');
  const without = await asUser('sh', ['-c', `${SANDBOX_BIN} run --rm ${IMG} sh -c 'cat <&3 2>/dev/null || echo no-fd-3' 3<${dir}/a`], { root });
  assert.equal(ok(without, 'run without --preserve-fds').trim(), 'no-fd-3');
});
