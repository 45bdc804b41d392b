/**
 * Clean-up without a reaper: a sandbox started by a library process (not `detached`)
 * dies with that process, however it ends (SIGKILL included), at once.
 *
 * The lifeline: the monitor of such a sandbox is started with one end of a socket pair
 * (its fd 5, `--owner-lifeline 5 MARKER`, helpers/launch/lifeline.c); we keep the other
 * end here, open for as long as the sandbox is ours. When this process ends, the kernel
 * closes our end; the monitor reads EOF, creates MARKER and ends the sandbox as `rm -f`
 * would (SIGKILL to its init, so to everything in its pid namespace; then fuse-overlayfs,
 * slirp4netns/pasta and the published ports' sockets). What a monitor cannot remove (the
 * record, the directory, the name, network memberships, anonymous volumes) goes at the
 * next command that meets a marker (sweepOwnerless): `ps`, `run`, `create`, the API's
 * start; `system check` reports them (`owner-gone`) and `--repair` removes them.
 *
 * Chosen over PR_SET_PDEATHSIG (fires when the forking *thread* ends, and Node forks from
 * any thread; needs the monitor to be our direct child) and over a pidfd watched by the
 * monitor (a pid can be reused before it is opened; kernels before 5.3 have none): a
 * descriptor's end is per process, has no race, and needs nothing but poll().
 */
import type { Socket } from 'node:net';
import { mkdirSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StorePaths } from '../../state/paths.js';
import { sandboxDir, sandboxesDir } from '../../state/sandbox-dir.js';
import { LIFELINE_FD } from '../../runtime/launch.js';

/** The markers' directory under the sandboxes' (not a sandbox: no 64-hex name); usually absent or empty, so a look costs one syscall. */
const MARKERS = '.owner-gone';

/** Our ends of the lifelines of the sandboxes this process owns, by sandbox id. */
const held = new Map<string, Socket>();

/** The file a monitor creates when its starter is gone (<data>/containers/.owner-gone/ID): one readdir finds them all. */
export function ownerGoneMarker(paths: StorePaths, id: string): string {
  return join(sandboxesDir(paths), MARKERS, id);
}

/** The launch words' part for a sandbox bound to this process (runtime/plan.ts LaunchInput.ownerLifeline); makes the markers' directory. */
export function lifelineInput(paths: StorePaths, id: string): { fd: number; marker: string } {
  mkdirSync(join(sandboxesDir(paths), MARKERS), { recursive: true, mode: 0o700 });
  return { fd: LIFELINE_FD, marker: ownerGoneMarker(paths, id) };
}

/**
 * Keeps our end of sandbox `id`'s lifeline open (and out of the event loop's count: it
 * keeps nothing alive). It is read, so that a monitor that ended (its command exited)
 * closes it here too and no descriptor is left behind.
 */
export function holdLifeline(id: string, end: Socket): void {
  releaseLifeline(id); // a restart: the old monitor is gone
  held.set(id, end);
  end.on('error', () => { /* the monitor ended: nothing to tell */ });
  end.on('close', () => { if (held.get(id) === end) held.delete(id); });
  end.resume();
  end.unref();
}

/**
 * Lets sandbox `id` go: our end is closed. Call it only once the sandbox is removed (or
 * to end it): a monitor that still runs takes the close for its starter's death.
 */
export function releaseLifeline(id: string): void {
  const end = held.get(id);
  if (!end) return;
  held.delete(id);
  end.destroy();
}

/** How many lifelines this process holds (for tests: none may be left after a removal). */
export function heldLifelines(): number {
  return held.size;
}

/** Ids of sandboxes whose starter died, left to remove (one readdir of a directory usually absent or empty: fine for ps's and run's fast paths). */
export function ownerlessLeft(paths: StorePaths): string[] {
  try {
    return readdirSync(join(sandboxesDir(paths), MARKERS)).filter((n) => /^[a-f0-9]{64}$/.test(n));
  } catch {
    return [];
  }
}

/**
 * Removes what sandbox `id`, whose starter died, left, as `rm -f -v` does (its anonymous
 * volumes go: nobody else knew them), then its marker. A racing command removing the same
 * one is fine: whoever loses finds it gone. Returns true when nothing of it is left.
 */
export async function removeOwnerless(paths: StorePaths, id: string): Promise<boolean> {
  if (existsSync(sandboxDir(paths, id))) {
    const { removeSandbox } = await import('../lifecycle.js'); // only when there is something to remove
    try {
      await removeSandbox(paths, id, { force: true, volumes: true });
    } catch {
      if (existsSync(sandboxDir(paths, id))) return false; // its processes do not end yet: the next command tries again
    }
  }
  rmSync(ownerGoneMarker(paths, id), { force: true });
  return true;
}

/** removeOwnerless for every marker left: what `ps`, `run`, `create` and the API's start do first. Returns the ids removed. */
export async function sweepOwnerless(paths: StorePaths): Promise<string[]> {
  const removed: string[] = [];
  for (const id of ownerlessLeft(paths)) if (await removeOwnerless(paths, id)) removed.push(id);
  return removed;
}
