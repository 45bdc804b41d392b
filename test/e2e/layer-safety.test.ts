/**
 * Issue 5, item 1: the native layer unpacker (helpers/layer.c) keeps what a layer says
 * (owners inside the subuid mapping, modes, setuid, times, hard links, symlinks, xattrs,
 * OCI whiteouts) and refuses every way out of the layer's directory, changing nothing
 * outside it; `sandbox-layer diff` turns an overlay upper directory into a layer.
 * The helper runs as the test user, as root of its user namespace (sandbox-launch
 * --userns-only with the user's subuid maps), exactly as src/images/unpack.ts runs it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  REPO_ROOT, killGroup, lines, newStore, newUserDir, requireRootless, runSandbox, show, spawnAsUser, subidRanges, testUser, type RunResult,
} from './harness.js';
import { buildTar, dir, file, hardlink, opaque, readTar, symlink, whiteout, type LayerEntry } from './layer-tar.js';

const LAUNCH = join(REPO_ROOT, 'helpers', 'build', 'sandbox-launch');
const LAYER = join(REPO_ROOT, 'helpers', 'build', 'sandbox-layer');

/** The first subordinate uid/gid of the test user: inside id N >= 1 is host id base + N - 1. */
function subBase(): { uid: number; gid: number } {
  const u = testUser();
  const su = subidRanges('/etc/subuid', u)[0];
  const sg = subidRanges('/etc/subgid', u)[0];
  if (!su || !sg) throw new Error(`no subordinate id range for ${u.name}`);
  return { uid: su.start, gid: sg.start };
}

function mapArgs(): string[] {
  const u = testUser();
  const su = subidRanges('/etc/subuid', u)[0]!;
  const sg = subidRanges('/etc/subgid', u)[0]!;
  const tool = (name: string) => ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].map((d) => join(d, name)).find((p) => existsSync(p)) ?? name;
  return [
    '--uidmap-cmd', tool('newuidmap'), '--gidmap-cmd', tool('newgidmap'),
    '--uid-map', `0 ${u.uid} 1`, '--uid-map', `1 ${su.start} ${Math.min(su.count, 65536)}`,
    '--gid-map', `0 ${u.gid} 1`, '--gid-map', `1 ${sg.start} ${Math.min(sg.count, 65536)}`,
  ];
}

/** Runs `sandbox-layer ARGS` as the test user in its user namespace, `input` on stdin. */
function layerHelper(args: string[], input?: Buffer): Promise<RunResult & { raw: Buffer }> {
  const child = spawnAsUser(LAUNCH, ['--userns-only', ...mapArgs(), '--', LAYER, ...args]);
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  child.stdin!.on('error', () => { /* it may stop reading early: its status tells */ });
  child.stdin!.end(input ?? Buffer.alloc(0));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { killGroup(child); reject(new Error(`sandbox-layer ${args.join(' ')} timed out`)); }, 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out);
      resolve({ code: code ?? 128, signal, stdout: raw.toString('latin1'), stderr, ms: Date.now() - started, raw });
    });
  });
}

/** Everything below `root` with type, mode, owner, size, mtime and content: to see that nothing changed. */
function snapshot(root: string): string {
  const out: string[] = [];
  const walk = (p: string, rel: string): void => {
    const st = lstatSync(p);
    let extra = '';
    if (st.isFile()) extra = readFileSync(p).toString('base64');
    else if (st.isSymbolicLink()) extra = readlinkSync(p);
    out.push(`${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${st.ino} ${st.nlink} ${extra}`);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e), `${rel}/${e}`);
  };
  walk(root, '.');
  return out.join('\n');
}

/** A layer directory and, beside it, a sentinel directory that no layer may touch. */
async function layout(t: TestContext): Promise<{ layer: string; outside: string; before: string }> {
  const base = await newUserDir(t, 'sandbox-e2e-layer-');
  const layer = join(base, 'layer');
  const outside = join(base, 'outside');
  await mkdir(layer);
  await mkdir(outside);
  await writeFile(join(outside, 'keep'), 'precious\n');
  const u = testUser();
  for (const p of [layer, outside, join(outside, 'keep')]) await chown(p, u.uid, u.gid);
  return { layer, outside, before: snapshot(outside) };
}

function xattr(path: string, name: string): Buffer | null {
  const r = spawnSync('python3', ['-c', 'import os,sys\ntry: sys.stdout.buffer.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False))\nexcept OSError: sys.exit(3)', path, name]);
  if (r.error) throw new Error(`python3 is needed to read xattrs: ${r.error.message}`);
  return r.status === 0 ? r.stdout : null;
}

/**
 * A command with the rights of the owner of the subordinate ids: as root, as it is; as the
 * test user, as root of a user namespace mapping its subordinate ids (util-linux unshare
 * --map-auto runs newuidmap), where id 0 is the user and id N >= 1 is subordinate base + N - 1.
 */
function asIdOwner(argv: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return [argv[0]!, argv.slice(1)];
  return ['unshare', ['--user', '--map-root-user', '--map-auto', '--', ...argv]];
}

function setxattr(path: string, name: string, value: string): void {
  const r = spawnSync(...asIdOwner(['python3', '-c', 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)', path, name, value]));
  assert.equal(r.status, 0, `setxattr ${name} on ${path}: ${r.stderr}`);
}

interface TreeEntry {
  uid: number; gid: number; mode: number; mtimeMs: number; ino: number; rdev: number;
  type: 'file' | 'dir' | 'link' | 'fifo' | 'char' | 'other';
  link?: string; content?: string; xattrs: Record<string, string>;
}

const TREE_SCRIPT = `
import base64, json, os, stat, sys
root = sys.argv[1]
out = {}
def b64(b): return base64.b64encode(b).decode()
for dp, dns, fns in os.walk(root):
    for n in dns + fns:
        p = os.path.join(dp, n)
        st = os.lstat(p); m = st.st_mode
        t = 'dir' if stat.S_ISDIR(m) else 'file' if stat.S_ISREG(m) else 'link' if stat.S_ISLNK(m) else 'fifo' if stat.S_ISFIFO(m) else 'char' if stat.S_ISCHR(m) else 'other'
        e = dict(uid=st.st_uid, gid=st.st_gid, mode=m, mtimeMs=st.st_mtime_ns / 1e6, ino=st.st_ino, rdev=st.st_rdev, type=t, xattrs={})
        if t == 'link': e['link'] = os.readlink(p)
        if t == 'file':
            with open(p, 'rb') as f: e['content'] = b64(f.read())
        for x in os.listxattr(p, follow_symlinks=False): e['xattrs'][x] = b64(os.getxattr(p, x, follow_symlinks=False))
        out[os.path.relpath(p, root)] = e
print(json.dumps(out))
`;

/**
 * Everything below `dir` (owners as the host sees them, modes, times, inodes, link
 * targets, contents, xattrs), read with the rights of the owner of the subordinate ids
 * (asIdOwner): a layer's files of other ids sit in directories only they may enter.
 */
function treeOf(dir: string): Map<string, TreeEntry> {
  const r = spawnSync(...asIdOwner(['python3', '-c', TREE_SCRIPT, dir]), { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `reading ${dir}: ${r.stderr}`);
  const u = testUser();
  const sub = subBase();
  // Inside the namespace id 0 is the user and id N >= 1 is subordinate base + N - 1.
  const host = (id: number, base: number, own: number) => (process.getuid?.() === 0 ? id : id === 0 ? own : base + id - 1);
  const tree = new Map<string, TreeEntry>();
  for (const [path, e] of Object.entries(JSON.parse(r.stdout) as Record<string, TreeEntry>)) {
    tree.set(path, { ...e, uid: host(e.uid, sub.uid, u.uid), gid: host(e.gid, sub.gid, u.gid) });
  }
  return tree;
}

/** A VFS v2 file capability: cap_net_raw (13) permitted and effective. */
const CAP_NET_RAW = Buffer.from([0x01, 0x00, 0x00, 0x02, 1 << 5, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
CAP_NET_RAW.writeUInt32LE(0x02000001, 0);
CAP_NET_RAW.writeUInt32LE(1 << 13, 4);

test('sandbox-layer unpack refuses every way out of the layer and changes nothing outside', async (t) => {
  if (!requireRootless(t, 'layer safety')) return;
  // Each case: the entries, and what the one-line refusal must say.
  const cases: Array<{ what: string; entries: (outside: string) => LayerEntry[]; reason: RegExp }> = [
    { what: '`../` name', entries: () => [file('../outside/keep', 'owned')], reason: /^sandbox-layer: layer entry "\.\.\/outside\/keep": .*`\.\.`.*leave the layer/ },
    { what: '`..` inside a name', entries: () => [dir('a'), file('a/../../outside/x', 'x')], reason: /layer entry "a\/\.\.\/\.\.\/outside\/x": .*leave the layer/ },
    { what: 'absolute name', entries: (o) => [file(`${o}/abs`, 'x')], reason: /layer entry "\/.*\/outside\/abs": .*absolute/ },
    { what: 'symlink to outside, then a file written through it', entries: (o) => [symlink('l', o), file('l/x', 'x')], reason: /layer entry "l\/x": .*symlink/ },
    { what: 'relative symlink out, then a file through it', entries: () => [symlink('l', '../outside'), file('l/keep', 'owned')], reason: /layer entry "l\/keep": .*symlink/ },
    { what: 'symlink to /, then a directory through it', entries: (o) => [symlink('root', '/'), dir(`root${o}/newdir`)], reason: /layer entry "root\/.*\/newdir": .*symlink/ },
    { what: 'symlink to /, then a file through it', entries: (o) => [symlink('root', '/'), file(`root${o}/keep`, 'owned')], reason: /layer entry "root\/.*\/keep": .*symlink/ },
    { what: 'symlink to a directory, then a file deep through it', entries: (o) => [dir('d'), symlink('d/up', o), file('d/up/sub/x', 'x')], reason: /layer entry "d\/up\/sub\/x": .*symlink/ },
    { what: 'hard link to /etc/passwd', entries: () => [hardlink('pw', '/etc/passwd')], reason: /layer entry "pw": its hard link target is absolute/ },
    { what: 'hard link to ../outside', entries: () => [hardlink('k', '../outside/keep')], reason: /layer entry "k": its hard link target has a `\.\.` component/ },
    { what: 'hard link through a symlink', entries: (o) => [symlink('l', o), hardlink('k', 'l/keep')], reason: /layer entry "k": its hard link target goes through a symlink/ },
    { what: 'hard link to something not in the layer', entries: () => [hardlink('k', 'nothing')], reason: /layer entry "k": its hard link target does not exist in this layer/ },
    { what: 'hard link to a directory', entries: () => [dir('d'), hardlink('k', 'd')], reason: /layer entry "k": its hard link target is a directory/ },
  ];
  for (const c of cases) {
    await t.test(c.what, async (t) => {
      const { layer, outside, before } = await layout(t);
      const r = await layerHelper(['unpack', layer], await buildTar(c.entries(outside)));
      assert.equal(r.code, 1, show(r));
      assert.equal(lines(r.stderr).length, 1, `one line on stderr:\n${show(r)}`);
      assert.match(r.stderr, c.reason, show(r));
      assert.equal(snapshot(outside), before, 'the directory outside the layer changed');
      assert.equal(readFileSync('/etc/passwd', 'utf8').includes('root:'), true);
    });
  }

  await t.test('a truncated layer is an error', async (t) => {
    const { layer } = await layout(t);
    const tar = await buildTar([file('big', Buffer.alloc(5000, 'x')), file('after', 'y')]);
    for (const cut of [tar.subarray(0, 2048), await buildTar([file('a', 'x')], { endMarker: false })]) {
      const r = await layerHelper(['unpack', layer], cut);
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /ends early|truncated/, show(r));
    }
  });

  await t.test('a symlink may point anywhere: it is only created; a later entry of its name replaces it, never writes through it', async (t) => {
    const { layer, outside, before } = await layout(t);
    const r = await layerHelper(['unpack', layer], await buildTar([
      symlink('abs', `${outside}/keep`), symlink('rel', '../../outside/keep'), symlink('root', '/'),
      symlink('over', `${outside}/keep`), file('over', 'new content'),
      symlink('overdir', outside), dir('overdir'), file('overdir/keep', 'inside'),
    ]));
    assert.equal(r.code, 0, show(r));
    assert.equal(readlinkSync(join(layer, 'abs')), `${outside}/keep`);
    assert.equal(readlinkSync(join(layer, 'rel')), '../../outside/keep');
    assert.equal(readlinkSync(join(layer, 'root')), '/');
    assert.ok(lstatSync(join(layer, 'over')).isFile());
    assert.equal(readFileSync(join(layer, 'over'), 'utf8'), 'new content');
    assert.ok(lstatSync(join(layer, 'overdir')).isDirectory());
    assert.equal(readFileSync(join(layer, 'overdir', 'keep'), 'utf8'), 'inside');
    assert.equal(snapshot(outside), before, 'the directory outside the layer changed');
  });
});

test('sandbox-layer unpack keeps owners, modes, setuid, times, hard links, symlinks, xattrs and makes whiteouts', async (t) => {
  if (!requireRootless(t, 'layer unpack')) return;
  const { layer } = await layout(t);
  const sub = subBase();
  const u = testUser();
  const longName = `deep/${'n'.repeat(120)}/${'m'.repeat(120)}`;
  const r = await layerHelper(['unpack', layer], await buildTar([
    dir('./', { mode: 0o755 }),
    dir('./usr', { mtime: 1600000000 }),
    dir('./usr/bin', { mode: 0o755, mtime: 1600000001 }),
    file('./usr/bin/su', 'su', { mode: 0o4755 }),
    file('usr/bin/wall', 'w', { mode: 0o2755, gid: 5 }),
    dir('tmp', { mode: 0o1777 }),
    dir('home/app', { uid: 1000, gid: 1000, mode: 0o750 }),
    file('home/app/owned', 'mine', { uid: 1000, gid: 1000, mode: 0o640, mtime: 1500000000 }),
    hardlink('home/app/link', 'home/app/owned'),
    symlink('home/app/sl', '/etc/passwd', { uid: 1000, gid: 1000, mtime: 1400000000 }),
    file('home/app/x', 'x', { xattrs: { 'user.test': 'value', 'user.overlay.opaque': 'y', 'trusted.evil': '1' } }),
    file('bin/ping', 'p', { mode: 0o755, xattrs: { 'security.capability': CAP_NET_RAW } }),
    file(longName, 'pax'),
    file(`gnu/${'g'.repeat(150)}`, 'gnu', { gnuLongName: true }),
    { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'run/fifo', type: 'fifo', mode: 0o620, uid: 1000 },
    whiteout('etc/gone'),
    opaque('var/cache'),
    dir('var/cache', { mode: 0o700 }),
    file('dup', 'first'), file('dup', 'second'),
  ]));
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, /skipped 1 device node/, 'one warning line for the device node');
  const tree = treeOf(layer);
  const st = (p: string): TreeEntry => {
    const e = tree.get(p);
    assert.ok(e, `${p} is in the layer`);
    return e;
  };
  const text = (p: string) => Buffer.from(st(p).content ?? '', 'base64').toString('utf8');
  const xattrOf = (p: string, name: string) => (name in st(p).xattrs ? Buffer.from(st(p).xattrs[name]!, 'base64') : null);
  // Owners: 0 inside is the user, 1000 inside is subuid base + 999 seen from the host.
  assert.equal(st('usr/bin/su').uid, u.uid);
  assert.equal(st('home/app/owned').uid, sub.uid + 999);
  assert.equal(st('home/app/owned').gid, sub.gid + 999);
  assert.equal(st('home/app').uid, sub.uid + 999);
  assert.equal(st('usr/bin/wall').gid, sub.gid + 4);
  assert.equal(st('home/app/sl').uid, sub.uid + 999, 'symlink owner (lchown)');
  assert.equal(st('run/fifo').uid, sub.uid + 999);
  // Modes incl. setuid/setgid/sticky, set after chown.
  assert.equal(st('usr/bin/su').mode & 0o7777, 0o4755);
  assert.equal(st('usr/bin/wall').mode & 0o7777, 0o2755);
  assert.equal(st('tmp').mode & 0o7777, 0o1777);
  assert.equal(st('home/app').mode & 0o7777, 0o750);
  assert.equal(st('home/app/owned').mode & 0o7777, 0o640);
  assert.equal(st('run/fifo').type, 'fifo');
  assert.equal(st('run/fifo').mode & 0o7777, 0o620);
  // Times: files, symlinks, and directories after their contents were made.
  assert.equal(st('home/app/owned').mtimeMs, 1500000000 * 1000);
  assert.equal(st('home/app/sl').mtimeMs, 1400000000 * 1000);
  assert.equal(st('usr').mtimeMs, 1600000000 * 1000);
  assert.equal(st('usr/bin').mtimeMs, 1600000001 * 1000);
  // Hard link: the same inode; symlink: its target.
  assert.equal(st('home/app/link').ino, st('home/app/owned').ino);
  assert.equal(st('home/app/sl').link, '/etc/passwd');
  assert.equal(text(longName), 'pax');
  assert.equal(text(`gnu/${'g'.repeat(150)}`), 'gnu');
  assert.equal(text('dup'), 'second', 'a later entry replaces an earlier one');
  // Xattrs: user.* kept, overlay's own and trusted.* not; file capabilities kept.
  assert.equal(xattrOf('home/app/x', 'user.test')?.toString(), 'value');
  assert.equal(xattrOf('home/app/x', 'user.overlay.opaque'), null, 'a layer must not forge overlay xattrs');
  assert.ok(xattrOf('bin/ping', 'security.capability'), 'security.capability kept');
  // Devices are skipped; whiteouts are overlay whiteouts; opaque directories are marked.
  assert.equal(tree.has('dev/null'), false);
  assert.equal(st('etc/gone').type, 'char', 'whiteout is a character device');
  assert.equal(st('etc/gone').rdev, 0, 'whiteout is 0:0');
  assert.equal(tree.has('etc/.wh.gone'), false);
  assert.equal(xattrOf('var/cache', 'user.overlay.opaque')?.toString(), 'y');
  assert.equal(tree.has('var/cache/.wh..wh..opq'), false);
  assert.equal(st('var/cache').mode & 0o7777, 0o700);
});

test('sandbox-layer diff writes an upper directory as a sorted layer with OCI whiteouts', async (t) => {
  if (!requireRootless(t, 'layer diff')) return;
  const base = await newUserDir(t, 'sandbox-e2e-diff-');
  const upper = join(base, 'upper');
  const u = testUser();
  const sub = subBase();
  // The owners as the shell that makes the tree names them (asIdOwner): the user, and inside id 1000.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? `${u.uid}:${u.gid}` : '0:0';
  const app = asRoot ? `${sub.uid + 999}:${sub.gid + 999}` : '1000:1000';
  const sh = (cmd: string) => {
    const r = spawnSync(...asIdOwner(['sh', '-ec', cmd]), { cwd: base, encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  };
  sh([
    'mkdir -p upper/a upper/b upper/c',
    'echo f > upper/a/f',
    'touch upper/b/.wh..wh..opq',
    'mknod upper/gone c 0 0',
    'touch upper/.wh.old',
    'printf one > upper/f1 && chmod 4755 upper/f1',
    'ln upper/f1 upper/f2',
    'ln -s /etc/passwd upper/s',
    'mkfifo upper/p',
    'python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\'upper/sock\')"',
    `chown -R ${owner} upper`,
    `chown -h ${app} upper/f1 upper/s`,
    'chmod 4755 upper/f1',
    'touch -h -d @1500000000 upper/f1 upper/s upper/a',
  ].join('\n'));
  setxattr(join(upper, 'a'), 'user.overlay.opaque', 'y');
  setxattr(join(upper, 'c'), 'user.fuseoverlayfs.opaque', 'y');
  setxattr(join(upper, 'f1'), 'user.k', 'v');
  setxattr(join(upper, 'f1'), 'user.overlay.origin', 'x');
  sh('touch -d @1500000000 upper/a');

  const r = await layerHelper(['diff', upper]);
  assert.equal(r.code, 0, show(r));
  const entries = await readTar(r.raw);
  const names = entries.map((e) => e.header.name);
  assert.deepEqual(names, [
    '.wh.gone', '.wh.old', 'a/', 'a/.wh..wh..opq', 'a/f', 'b/', 'b/.wh..wh..opq', 'c/', 'c/.wh..wh..opq', 'f1', 'f2', 'p', 's',
  ]);
  const byName = new Map(entries.map((e) => [e.header.name, e]));
  const f1 = byName.get('f1')!;
  assert.equal(f1.header.type, 'file');
  assert.equal(f1.header.uid, 1000);
  assert.equal(f1.header.mode! & 0o7777, 0o4755);
  assert.equal(f1.header.mtime!.getTime(), 1500000000 * 1000);
  assert.equal(f1.content.toString(), 'one');
  assert.equal((f1.header.pax as Record<string, string> | null)?.['SCHILY.xattr.user.k'], 'v');
  assert.equal((f1.header.pax as Record<string, string> | null)?.['SCHILY.xattr.user.overlay.origin'], undefined, "overlay's own xattrs stay out");
  assert.equal(byName.get('f2')!.header.type, 'link');
  assert.equal(byName.get('f2')!.header.linkname, 'f1');
  assert.equal(byName.get('s')!.header.type, 'symlink');
  assert.equal(byName.get('s')!.header.linkname, '/etc/passwd');
  assert.equal(byName.get('s')!.header.uid, 1000);
  assert.equal(byName.get('p')!.header.type, 'fifo');
  assert.equal(byName.get('.wh.gone')!.header.type, 'file');
  assert.equal(byName.get('.wh.gone')!.content.length, 0);
  assert.equal(byName.get('a/')!.header.type, 'directory');

  const again = await layerHelper(['diff', upper]);
  assert.ok(again.raw.equals(r.raw), 'the same tree gives the same bytes');

  // Round trip: the diff unpacks into overlay whiteouts and opaque directories again.
  const back = join(base, 'back');
  await mkdir(back);
  await chown(back, u.uid, u.gid);
  const un = await layerHelper(['unpack', back], r.raw);
  assert.equal(un.code, 0, show(un));
  assert.ok(lstatSync(join(back, 'gone')).isCharacterDevice());
  assert.ok(lstatSync(join(back, 'old')).isCharacterDevice());
  for (const d of ['a', 'b', 'c']) assert.equal(xattr(join(back, d), 'user.overlay.opaque')?.toString(), 'y', `${d} opaque`);
  assert.equal(lstatSync(join(back, 'f2')).ino, lstatSync(join(back, 'f1')).ino);
});

test('sandbox import of a malicious tarball fails with exit 125 and the one-line reason', async (t) => {
  if (!requireRootless(t, 'import of a malicious layer')) return;
  const root = await newStore(t);
  const { outside, before } = await layout(t);
  const dirOf = await newUserDir(t, 'sandbox-e2e-evil-');
  const evil = join(dirOf, 'evil.tar');
  await writeFile(evil, await buildTar([dir('etc'), file('etc/ok', 'ok'), symlink('l', outside), file('l/pwned', 'x')]));
  await chown(evil, testUser().uid, testUser().gid);
  const r = await runSandbox(['import', evil, 'evil'], { root });
  assert.equal(r.code, 125, show(r));
  assert.match(lines(r.stderr)[0] ?? '', /^sandbox: .*layer entry "l\/pwned": .*symlink/, show(r));
  assert.equal(snapshot(outside), before, 'the directory outside the store changed');
  const listed = await runSandbox(['images', '--format', 'json'], { root });
  assert.doesNotMatch(listed.stdout, /evil/, show(listed));
  const layers = join(root, 'data', 'layers');
  assert.deepEqual(existsSync(layers) ? readdirSync(layers) : [], [], 'no layer (or staging directory) left in the store');
});
