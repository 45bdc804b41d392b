/**
 * Sizes of directory trees in the store (`system df`, the space prunes reclaim), including
 * trees whose directories belong to subordinate ids and only the user's namespace can read.
 */
import { spawn } from 'node:child_process';
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { helperPath } from './host-tools.js';
import { mapArgs, userIdMaps } from './userns.js';
import { Flag } from './protocol.js';

/**
 * Bytes used under each of `roots` (apparent sizes of everything but directories, each
 * inode counted once across all roots, the first root to reach it gets it). Directories
 * we cannot read (owned by subordinate ids) are measured by `du -sb` as root of our
 * user namespace, once for all of them.
 */
export async function treeSizes(roots: string[]): Promise<Map<string, number>> {
  const seen = new Set<string>();
  const sizes = new Map<string, number>();
  const unreadable: { root: string; dir: string }[] = [];
  for (const root of roots) {
    let total = 0;
    const walk = (path: string, st: Stats): void => {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) return;
      seen.add(key);
      if (!st.isDirectory()) {
        total += st.size;
        return;
      }
      let names: string[];
      try {
        names = readdirSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EACCES') unreadable.push({ root, dir: path });
        return;
      }
      for (const n of names) {
        const p = join(path, n);
        let s: Stats;
        try { s = lstatSync(p); } catch { continue; }
        walk(p, s);
      }
    };
    let st: Stats | undefined;
    try { st = lstatSync(root); } catch { st = undefined; }
    if (st) walk(root, st);
    sizes.set(root, total);
  }
  if (unreadable.length) {
    const du = await duInUserns(unreadable.map((u) => u.dir)).catch(() => new Map<string, number>());
    for (const u of unreadable) sizes.set(u.root, (sizes.get(u.root) ?? 0) + (du.get(u.dir) ?? 0));
  }
  return sizes;
}

/** `du -sb DIR...` as root of the user's namespace (where subordinate ids' files are readable). */
function duInUserns(dirs: string[]): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(helperPath(), [Flag.usernsOnly, ...mapArgs(userIdMaps()), '--', 'du', '-sb', '--', ...dirs], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.on('error', reject);
    child.on('close', () => {
      // du exits non-zero when some file vanished meanwhile; what it printed still counts.
      const sizes = new Map<string, number>();
      for (const line of out.split('\n')) {
        const m = /^(\d+)\t(.*)$/.exec(line);
        if (m) sizes.set(m[2]!, Number(m[1]));
      }
      resolve(sizes);
    });
  });
}
