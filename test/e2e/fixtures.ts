/**
 * Test images we build ourselves (no internet): a busybox-static root filesystem, as a
 * tarball (for `sandbox import`, `podman import`) and as a directory (for bubblewrap).
 *
 * Built without root: GNU tar writes the owners (`--owner/--group --numeric-owner`), so a
 * developer running the tests as themselves gets the same tarball as CI running as root.
 * Cached under the temp dir, keyed by the inputs (busybox binary, applet list, this
 * recipe's version); concurrent test processes each build into a private temp name and
 * publish with an atomic rename, so no lock is needed and a half-written file is never seen.
 *
 * Layout of the rootfs:
 *   /bin/busybox + every applet of `busybox --list-full` as a symlink to it
 *   /etc/passwd, /etc/group: root 0, app 1000, nobody 65534
 *   /tmp (1777), /root (0700), /home/app (1000:1000), empty /proc /dev /sys
 *   /home/app/owned      a file owned by 1000:1000 (ids in a tarball must survive import)
 *   /usr/local/bin/suid  a setuid-root copy of busybox, mode 4755 (for nosuid tests)
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod, copyFile, lstat, mkdir, open, readFile, rename, rm, symlink, writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Bump when the recipe below changes, so stale caches are not reused. */
const RECIPE_VERSION = 'busybox-rootfs-v1';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox', '/usr/sbin/busybox'];

export const APP_UID = 1000;
export const APP_GID = 1000;
/** Content of /home/app/owned, so tests can check they read the right file. */
export const OWNED_FILE_CONTENT = 'owned by app\n';
export const SETUID_PATH = '/usr/local/bin/suid';

/**
 * The directory fixtures are cached in. Root uses /tmp itself (TMPDIR may point somewhere
 * the unprivileged test user cannot reach); everyone else the usual temp dir. Per uid, so
 * a developer's and root's caches never collide.
 */
export function fixtureCacheDir(): string {
  const base = process.getuid?.() === 0 ? '/tmp' : tmpdir();
  return join(base, `sandbox-fixtures-${process.getuid?.() ?? 'x'}`);
}

async function ensureCacheDir(): Promise<string> {
  const dir = fixtureCacheDir();
  await mkdir(dir, { recursive: true, mode: 0o755 });
  // In a shared /tmp, refuse a directory (or symlink) someone else planted for us.
  const st = await lstat(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.()) {
    throw new Error(`fixture cache ${dir} is not a directory owned by uid ${process.getuid?.()}; remove it`);
  }
  // World-readable: the unprivileged test user reads the tarball when the tests run as root.
  await chmod(dir, 0o755);
  return dir;
}

/** True when the ELF file has no PT_INTERP header, i.e. runs without a dynamic loader. */
async function isStaticElf(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 /* ELFCLASS64 */ || head[5] !== 1 /* LE */) {
      // Not a 64-bit little-endian ELF: we cannot tell cheaply; let it through.
      return true;
    }
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false;
    }
    return true;
  } finally {
    await fh.close();
  }
}

export interface BusyboxInfo {
  path: string;
  /** Applet paths relative to /, e.g. `bin/sh`, `usr/bin/env`. */
  applets: string[];
}

let busyboxInfo: Promise<BusyboxInfo> | undefined;

/** Finds a static busybox on the host (SANDBOX_TEST_BUSYBOX overrides). */
export function hostBusybox(): Promise<BusyboxInfo> {
  busyboxInfo ??= (async () => {
    const override = process.env.SANDBOX_TEST_BUSYBOX;
    const path = override || BUSYBOX_CANDIDATES.find((p) => existsSync(p));
    if (!path) throw new Error('busybox not found; install it: apt-get install busybox-static');
    if (!(await isStaticElf(path))) {
      throw new Error(`${path} is dynamically linked and cannot run inside a bare rootfs; install busybox-static`);
    }
    const { stdout } = await execFileAsync(path, ['--list-full']);
    const applets = stdout.split('\n')
      .map((l) => l.trim().replace(/^\/+/, ''))
      // `linuxrc` sits at the top (init for an initrd); the binary itself is placed anyway.
      .filter((l) => l.includes('/') && !l.endsWith('/') && l !== 'bin/busybox');
    return { path, applets: [...new Set(applets)].sort() };
  })();
  return busyboxInfo;
}

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  `app:x:${APP_UID}:${APP_GID}:app:/home/app:/bin/sh`,
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  '',
].join('\n');

const GROUP = [
  'root:x:0:',
  `app:x:${APP_GID}:`,
  'nogroup:x:65534:',
  '',
].join('\n');

/** Lays out the rootfs tree in `dir` (owned by whoever runs this; owners come from tar). */
async function stageRootfs(dir: string, bb: BusyboxInfo): Promise<void> {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/local/bin', 'etc', 'tmp', 'root', 'home/app', 'proc', 'dev', 'sys', 'var', 'run']) {
    await mkdir(join(dir, d), { recursive: true, mode: 0o755 });
  }
  await copyFile(bb.path, join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  for (const applet of bb.applets) {
    const target = join(dir, applet);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    if (!existsSync(target)) await symlink('/bin/busybox', target);
  }
  await writeFile(join(dir, 'etc/passwd'), PASSWD, { mode: 0o644 });
  await writeFile(join(dir, 'etc/group'), GROUP, { mode: 0o644 });
  await writeFile(join(dir, 'etc/hostname'), 'busybox\n', { mode: 0o644 });
  await writeFile(join(dir, 'home/app/owned'), OWNED_FILE_CONTENT, { mode: 0o644 });
  // The setuid bit is only ever set in the archive (tar --mode below), never on disk: a
  // setuid-root busybox lying in /tmp would hand root to every local user.
  const suid = join(dir, SETUID_PATH);
  await copyFile(bb.path, suid);
  await chmod(suid, 0o755);
  await chmod(join(dir, 'tmp'), 0o1777);
  await chmod(join(dir, 'root'), 0o700);
  await chmod(join(dir, 'home/app'), 0o755);
}

const TAR_COMMON = ['--format=gnu', '--numeric-owner', '--sort=name', '--mtime=@1700000000'];

async function buildTar(out: string, bb: BusyboxInfo): Promise<void> {
  const stage = `${out}.stage`;
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { mode: 0o755 });
  try {
    await stageRootfs(stage, bb);
    // Everything as root:root, except /home/app and what is in it, appended as app:app,
    // and the setuid file, appended with its mode.
    await execFileAsync('tar', [
      '-cf', out, ...TAR_COMMON, '--owner=0', '--group=0',
      '--exclude=./home/app', `--exclude=.${SETUID_PATH}`, '-C', stage, '.',
    ]);
    await execFileAsync('tar', [
      '-rf', out, ...TAR_COMMON, '--owner=0', '--group=0', '--mode=4755', '-C', stage, `.${SETUID_PATH}`,
    ]);
    await execFileAsync('tar', [
      '-rf', out, ...TAR_COMMON, `--owner=${APP_UID}`, `--group=${APP_GID}`, '-C', stage, './home/app',
    ]);
    await chmod(out, 0o644);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function cacheKey(bb: BusyboxInfo): Promise<string> {
  const h = createHash('sha256');
  h.update(RECIPE_VERSION);
  h.update(await readFile(bb.path));
  h.update(bb.applets.join('\n'));
  return h.digest('hex').slice(0, 16);
}

function tempName(final: string): string {
  return `${final}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

let tarPromise: Promise<string> | undefined;

/**
 * Path of a tarball of the busybox rootfs (see the top of this file), world-readable,
 * built at most once per key and reused across runs.
 */
export function busyboxRootfsTar(): Promise<string> {
  tarPromise ??= (async () => {
    const bb = await hostBusybox();
    const dir = await ensureCacheDir();
    const final = join(dir, `busybox-rootfs-${await cacheKey(bb)}.tar`);
    if (existsSync(final)) return final;
    const tmp = tempName(final);
    try {
      await buildTar(tmp, bb);
      await rename(tmp, final); // atomic; a concurrent builder's identical file is simply replaced
    } finally {
      await rm(tmp, { force: true });
    }
    return final;
  })();
  tarPromise.catch(() => { tarPromise = undefined; });
  return tarPromise;
}

let dirPromise: Promise<string> | undefined;

/**
 * Path of a directory holding the same rootfs, unpacked from the tarball (for tools that
 * want a directory, such as bubblewrap). All files belong to whoever built it (tar's
 * --no-same-owner), world-readable; treat it as read-only.
 */
export function busyboxRootfsDir(): Promise<string> {
  dirPromise ??= (async () => {
    const tar = await busyboxRootfsTar();
    const final = tar.replace(/\.tar$/, '.d');
    if (existsSync(join(final, 'bin/busybox'))) return final;
    const tmp = tempName(final);
    await mkdir(tmp, { mode: 0o755 });
    try {
      await execFileAsync('tar', ['-xf', tar, '-C', tmp, '--no-same-owner', '--no-same-permissions']);
      // Never a setuid file on the host (it would be ours, maybe root's); keep /tmp sticky.
      await chmod(join(tmp, SETUID_PATH), 0o755);
      await chmod(join(tmp, 'tmp'), 0o1777);
      await chmod(join(tmp, 'root'), 0o755); // readable by the test user who binds it as /
      await chmod(tmp, 0o755);
      try {
        await rename(tmp, final);
      } catch (err) {
        // Someone else published it first: use theirs.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return final;
  })();
  dirPromise.catch(() => { dirPromise = undefined; });
  return dirPromise;
}
