/**
 * Issue 4, item 2: `sandbox cp` both ways, for running and stopped sandboxes, as the
 * unprivileged test user — names as docker cp, modes, times and owners kept, `-` tar
 * streams — and the symlink attacks of the docker cp CVE class: links to `/`, to
 * `../../..` and to /etc inside the sandbox, a link swapped while cp runs, and archives
 * with `..` and absolute entries. None of them may read or write a host path.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { asUser, importImage, newStore, newUserDir, requireRootless, runSandbox, show, type RunResult } from './harness.js';

/** One ustar entry (ASCII only, so it survives the harness's string stdin). */
function tarEntry(name: string, body: string, o: { uid?: number; gid?: number; mode?: number; mtime?: number; type?: string; link?: string } = {}): string {
  const h = Buffer.alloc(512);
  const put = (off: number, len: number, v: string): void => { h.write(v, off, len, 'ascii'); };
  const oct = (v: number, len: number): string => `${v.toString(8).padStart(len - 1, '0')}\0`;
  put(0, 100, name);
  put(100, 8, oct(o.mode ?? 0o644, 8));
  put(108, 8, oct(o.uid ?? 0, 8));
  put(116, 8, oct(o.gid ?? 0, 8));
  put(124, 12, oct(body.length, 12));
  put(136, 12, oct(o.mtime ?? 1_600_000_000, 12));
  put(156, 1, o.type ?? '0');
  if (o.link) put(157, 100, o.link);
  put(257, 8, 'ustar\u000000');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padded = body + '\0'.repeat((512 - (body.length % 512)) % 512);
  return h.toString('latin1') + padded;
}
const tarEnd = '\0'.repeat(1024);

/** The entries of a tar (names and headers), parsed from cp's `-` output. */
function tarList(s: string): { name: string; mode: number; uid: number; mtime: number; type: string; body: string }[] {
  const out = [];
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= s.length) {
    const h = s.slice(off, off + 512);
    if (/^\0+$/.test(h)) break;
    const num = (a: number, l: number): number => parseInt(h.slice(a, a + l).replace(/\0.*$/s, '').trim() || '0', 8);
    const size = num(124, 12);
    const type = h[156] ?? '0';
    const body = s.slice(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') { longName = body.replace(/\0+$/, ''); continue; }
    out.push({ name: longName ?? h.slice(0, 100).replace(/\0.*$/s, ''), mode: num(100, 8), uid: num(108, 8), mtime: num(136, 12), type, body });
    longName = undefined;
  }
  return out;
}

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what}\n${show(r)}`);
}

async function setup(t: Parameters<typeof newStore>[0], name: string, script: string): Promise<{ root: string; dir: string }> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '-d', '--name', name, '--network', 'none', 'bb', 'sh', '-c', `${script}\necho ready > /ready; exec sleep 600`], { root });
  ok(run, 'run -d');
  for (let i = 0; i < 100; i++) {
    if ((await runSandbox(['exec', name, 'cat', '/ready'], { root })).code === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const dir = await newUserDir(t, 'sandbox-e2e-cp-');
  return { root, dir };
}

test('cp both ways into a running sandbox: files, trees, names, modes, times, owners, tar streams', async (t) => {
  if (!requireRootless(t, 'cp')) return;
  const { root, dir } = await setup(t, 'box', 'mkdir -p /data/existing');
  ok(await asUser('sh', ['-c', `cd ${dir} && printf hello > f.txt && chmod 0750 f.txt && touch -d @1500000000 f.txt && mkdir -p tree/sub && printf deep > tree/sub/deep && ln -s sub/deep tree/link && mkdir out`]), 'host files');

  ok(await runSandbox(['cp', join(dir, 'f.txt'), 'box:/data/'], { root }), 'file into a directory');
  ok(await runSandbox(['cp', join(dir, 'f.txt'), 'box:/data/renamed'], { root }), 'file to a new name');
  ok(await runSandbox(['cp', join(dir, 'tree'), 'box:/data/newtree'], { root }), 'tree to a new name');
  ok(await runSandbox(['cp', join(dir, 'tree'), 'box:/data/existing'], { root }), 'tree into an existing directory');
  const ls = await runSandbox(['exec', 'box', 'sh', '-c', 'cd /data && stat -c "%n %a %u %Y" f.txt renamed && cat newtree/sub/deep existing/tree/sub/deep && readlink newtree/link'], { root });
  ok(ls, 'exec');
  assert.equal(ls.stdout, 'f.txt 750 0 1500000000\nrenamed 750 0 1500000000\ndeepdeepsub/deep\n', 'modes and times kept; owned by root inside');

  // Out again.
  ok(await runSandbox(['cp', 'box:/data/f.txt', join(dir, 'out')], { root }), 'file out into a directory');
  ok(await runSandbox(['cp', 'box:/data/newtree', join(dir, 'out', 'back')], { root }), 'tree out to a new name');
  ok(await runSandbox(['cp', 'box:/home/app/owned', join(dir, 'out', 'owned-copy')], { root }), 'file out to a new name');
  const st = statSync(join(dir, 'out', 'f.txt'));
  assert.equal(st.mode & 0o7777, 0o750);
  assert.equal(Math.floor(st.mtimeMs / 1000), 1500000000);
  assert.equal(readFileSync(join(dir, 'out', 'back', 'sub', 'deep'), 'utf8'), 'deep');
  assert.equal(readFileSync(join(dir, 'out', 'owned-copy'), 'utf8'), 'owned by app\n');

  // A tar stream in, with an owner of its own (uid 1000 inside stays 1000) and a setuid bit.
  const tar = tarEntry('streamed', 'from a stream\n', { uid: 1000, gid: 1000, mode: 0o4755, mtime: 1_400_000_000 }) + tarEnd;
  ok(await runSandbox(['cp', '-', 'box:/data'], { root, input: tar }), 'cp - box:/data');
  const s2 = await runSandbox(['exec', 'box', 'stat', '-c', '%u:%g %a %Y', '/data/streamed'], { root });
  assert.equal(s2.stdout, '1000:1000 4755 1400000000\n', show(s2));
  // And out as a stream: the owner inside is in the archive.
  const outTar = await runSandbox(['cp', 'box:/home/app', '-'], { root });
  ok(outTar, 'cp box:/home/app -');
  const entries = tarList(outTar.stdout);
  assert.deepEqual(entries.map((e) => [e.name, e.uid]), [['app/', 1000], ['app/owned', 1000]]);
  assert.equal(entries[1]?.body, 'owned by app\n');

  // Errors are one line, exit 125.
  const missing = await runSandbox(['cp', 'box:/no/such', join(dir, 'out')], { root });
  assert.equal(missing.code, 125, show(missing));
  assert.match(missing.stderr, /^sandbox: no such file or directory in sandbox box: \/no\/such\n/);
  const noBox = await runSandbox(['cp', join(dir, 'f.txt'), 'nobox:/tmp'], { root });
  assert.equal(noBox.code, 125, show(noBox));
  const dirToFile = await runSandbox(['cp', join(dir, 'tree'), 'box:/data/f.txt'], { root });
  assert.equal(dirToFile.code, 125, show(dirToFile));
});

test('cp into and out of a stopped sandbox (and never-started one)', async (t) => {
  if (!requireRootless(t, 'cp stopped')) return;
  const { root, dir } = await setup(t, 'box', 'echo before-stop > /kept; ln -s / /evil');
  ok(await runSandbox(['stop', '-t', '0', 'box'], { root }), 'stop');
  ok(await asUser('sh', ['-c', `cd ${dir} && printf stopped > s.txt && mkdir out`]), 'host files');
  ok(await runSandbox(['cp', join(dir, 's.txt'), 'box:/evil/tmp/'], { root }), 'into a stopped sandbox, through /evil');
  ok(await runSandbox(['cp', 'box:/kept', join(dir, 'out')], { root }), 'out of a stopped sandbox');
  assert.equal(readFileSync(join(dir, 'out', 'kept'), 'utf8'), 'before-stop\n');
  assert.equal(existsSync('/tmp/s.txt') && readFileSync('/tmp/s.txt', 'utf8') === 'stopped', false, 'the host /tmp was not written');
  const tar = tarEntry('owned', 'x', { uid: 1000, gid: 1000, mode: 0o640 }) + tarEnd;
  ok(await runSandbox(['cp', '-', 'box:/tmp'], { root, input: tar }), 'a stream into a stopped sandbox');
  ok(await runSandbox(['start', 'box'], { root }), 'start');
  const seen = await runSandbox(['exec', 'box', 'sh', '-c', 'cat /tmp/s.txt; stat -c " %u %a" /tmp/owned'], { root });
  assert.equal(seen.stdout, 'stopped 1000 640\n', show(seen));

  // created, never started: no writable layer yet.
  ok(await runSandbox(['create', '--name', 'fresh', '--network', 'none', 'bb', 'true'], { root }), 'create');
  ok(await runSandbox(['cp', join(dir, 's.txt'), 'fresh:/s.txt'], { root }), 'into a created sandbox');
  const fromFresh = await runSandbox(['cp', 'fresh:/s.txt', '-'], { root });
  assert.equal(tarList(fromFresh.stdout)[0]?.body, 'stopped');
});

test('cp out of and into a stopped sandbox of the host image: its per-directory overlays and top-level links, as sandbox-launch mounts them', async (t) => {
  if (!requireRootless(t, 'cp stopped host')) return;
  const root = await newStore(t);
  const dir = await newUserDir(t);
  const probe = `sbx-cp-${randomBytes(4).toString('hex')}`;
  ok(await runSandbox(['run', '--name', 'hostbox', '--network', 'none', 'host', 'sh', '-c', `echo inside > /etc/${probe}`], { root }), 'run');
  assert.equal(existsSync(`/etc/${probe}`), false, 'the host /etc was not written');
  // /etc is a --host-dir (an overlay of the host's /etc with the sandbox's upper layer).
  const out = await runSandbox(['cp', `hostbox:/etc/${probe}`, '-'], { root });
  ok(out, 'out of /etc');
  assert.equal(tarList(out.stdout)[0]?.body, 'inside\n', show(out));
  // /bin is a --symlink to usr/bin on a merged-/usr host, a directory otherwise: either way /bin/sh is there.
  const sh = await runSandbox(['cp', 'hostbox:/bin/sh', '-'], { root });
  ok(sh, 'out of /bin, through the top-level link');
  assert.equal(tarList(sh.stdout)[0]?.name, 'sh', show(sh));
  ok(await asUser('sh', ['-c', `cd ${dir} && printf copied > ${probe}.in`]), 'host file');
  ok(await runSandbox(['cp', join(dir, `${probe}.in`), 'hostbox:/etc/'], { root }), 'into /etc of the stopped sandbox');
  assert.equal(existsSync(`/etc/${probe}.in`), false, 'the host /etc was not written');
  const back = await runSandbox(['cp', `hostbox:/etc/${probe}.in`, '-'], { root });
  assert.equal(tarList(back.stdout)[0]?.body, 'copied', show(back));
});

test('symlinks inside are resolved inside: / and ../.. links never reach the host', async (t) => {
  if (!requireRootless(t, 'cp symlink attacks')) return;
  const tag = randomBytes(6).toString('hex');
  const { root, dir } = await setup(t, 'box',
    `echo sandbox-passwd-${tag} >> /etc/passwd; ln -s / /evil; ln -s ../../../../../.. /up; ln -s /etc /etcl; mkdir -p /deep/a/b; ln -s ../../../../../../.. /deep/a/b/up`);
  const secret = `host-secret-${tag}`;
  ok(await asUser('sh', ['-c', `cd ${dir} && echo ${secret} > secret && printf payload > payload && mkdir out`]), 'host files');
  const hostX = `/cp-evil-${tag}`;
  assert.equal(existsSync(hostX), false);

  // Writes through links to / and above land in the sandbox's own /.
  for (const dest of [`box:/evil${hostX}`, `box:/up${hostX}-up`, `box:/deep/a/b/up${hostX}-deep`]) {
    const r = await runSandbox(['cp', join(dir, 'payload'), dest], { root });
    ok(r, `cp payload ${dest}`);
  }
  const inside = await runSandbox(['exec', 'box', 'sh', '-c', `cat ${hostX} ${hostX}-up ${hostX}-deep`], { root });
  assert.equal(inside.stdout, 'payloadpayloadpayload', show(inside));
  for (const p of [hostX, `${hostX}-up`, `${hostX}-deep`]) assert.equal(existsSync(p), false, `${p} must not exist on the host`);

  // Reads through them return the sandbox's files.
  for (const src of ['box:/evil/etc/passwd', 'box:/up/etc/passwd', 'box:/etcl/passwd', 'box:/deep/a/b/up/etc/passwd']) {
    const r = await runSandbox(['cp', src, '-'], { root });
    ok(r, `cp ${src} -`);
    const body = tarList(r.stdout)[0]?.body ?? '';
    assert.match(body, new RegExp(`sandbox-passwd-${tag}`), `${src} is the sandbox's passwd`);
    assert.doesNotMatch(body, /sandbox-test/, `${src} is not the host's passwd`);
  }
  // The test user's own host files are not reachable through /up.
  const r = await runSandbox(['cp', `box:/up${join(dir, 'secret')}`, join(dir, 'out', 'stolen')], { root });
  assert.equal(r.code, 125, show(r));
  assert.equal(existsSync(join(dir, 'out', 'stolen')), false);
  const r2 = await runSandbox(['cp', `box:/evil${dir}`, '-'], { root });
  assert.equal(r2.code, 125, show(r2));
  assert.doesNotMatch(r2.stdout, new RegExp(secret));
  // The link itself is copied out as a link, not followed.
  const link = await runSandbox(['cp', 'box:/evil', '-'], { root });
  assert.deepEqual(tarList(link.stdout).map((e) => [e.name, e.type]), [['evil', '2']]);
});

test('a link swapped while cp runs (dir <-> symlink to /) never lets cp touch the host', async (t) => {
  if (!requireRootless(t, 'cp symlink race')) return;
  const tag = randomBytes(6).toString('hex');
  const { root, dir } = await setup(t, 'racer',
    `(while true; do rm -rf /race; mkdir /race; rm -rf /race; ln -s / /race; done) >/dev/null 2>&1 &`);
  ok(await asUser('sh', ['-c', `cd ${dir} && printf race > race-${tag} && mkdir out`]), 'host file');
  const before = new Set(readdirSync('/'));
  let wrote = 0;
  for (let i = 0; i < 40; i++) {
    const r = await runSandbox(['cp', join(dir, `race-${tag}`), 'racer:/race/'], { root });
    if (r.code === 0) wrote++;
    else assert.equal(r.code, 125, show(r));
    const o = await runSandbox(['cp', 'racer:/race/etc/passwd', '-'], { root });
    if (o.code === 0) assert.doesNotMatch(tarList(o.stdout)[0]?.body ?? '', /sandbox-test/, 'never the host\'s passwd');
  }
  t.diagnostic(`${wrote} of 40 copies went through`);
  assert.equal(existsSync(`/race-${tag}`), false, 'nothing on the host /');
  assert.deepEqual(readdirSync('/').filter((n) => !before.has(n)), [], 'no new entry in the host /');
  const inside = await runSandbox(['exec', 'racer', 'sh', '-c', `ls /race-${tag} /race/race-${tag} 2>/dev/null | wc -l`], { root });
  ok(inside, 'exec');
});

test('the extractor refuses `..` and absolute entries; nothing appears outside', async (t) => {
  if (!requireRootless(t, 'cp extractor')) return;
  const tag = randomBytes(6).toString('hex');
  const { root } = await setup(t, 'box', 'mkdir -p /in/deep');
  const cases = [`../../../../../tmp/dotdot-${tag}`, `/tmp/abs-${tag}`, `ok/../../escape-${tag}`];
  for (const name of cases) {
    const r = await runSandbox(['cp', '-', 'box:/in/deep'], { root, input: tarEntry(name, 'evil') + tarEnd });
    assert.equal(r.code, 125, `${name}\n${show(r)}`);
    assert.match(r.stderr, /refusing/, show(r));
  }
  // A symlink the archive creates is never followed by a later entry.
  const linkThenFile = tarEntry('l', '', { type: '2', link: '/tmp' }) + tarEntry(`l/through-${tag}`, 'evil') + tarEnd;
  const r = await runSandbox(['cp', '-', 'box:/in/deep'], { root, input: linkThenFile });
  assert.equal(r.code, 125, show(r));
  for (const p of [`/tmp/dotdot-${tag}`, `/tmp/abs-${tag}`, `/escape-${tag}`, `/tmp/through-${tag}`]) assert.equal(existsSync(p), false, `host ${p}`);
  const inside = await runSandbox(['exec', 'box', 'sh', '-c', `ls /tmp/dotdot-${tag} /tmp/abs-${tag} /in/escape-${tag} /escape-${tag} /tmp/through-${tag} 2>/dev/null | wc -l`], { root });
  assert.equal(inside.stdout.trim(), '0', 'nor inside the sandbox outside the destination');
});
