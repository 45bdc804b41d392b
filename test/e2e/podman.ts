/**
 * Rootless Podman as an interop partner in e2e tests: as the test user, with a store,
 * runtime directory and configuration of its own per test, vfs storage and runc (crun
 * refuses this machine's hybrid cgroups), removed after the test.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { asUser, makeUserDir, removeUserTree, requireNoProblems, show, type RunResult } from './harness.js';

// podman, as the test user, with a store of its own

export interface Podman {
  (args: string[]): Promise<RunResult>;
  dir: string;
}

export function podmanProblems(): string[] {
  const found = ['/usr/bin/podman', '/usr/local/bin/podman', '/bin/podman'].some((p) => existsSync(p));
  if (!found) return ['podman is not installed (apt-get install podman): the archives are checked against it'];
  if (!['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'].some((p) => existsSync(p))) {
    return ['runc is not installed (apt-get install runc): podman runs its containers with it here'];
  }
  return [];
}

/**
 * A podman of its own for one test: its own HOME, runtime dir and vfs storage, removed
 * afterwards; the pause process rootless podman leaves behind is ended by its pid file.
 */
export async function newPodman(t: TestContext): Promise<Podman | undefined> {
  if (!requireNoProblems(t, 'podman interop', podmanProblems())) return undefined;
  const dir = await makeUserDir('sandbox-e2e-podman-');
  const run = join(dir, 'run');
  // One hook, in this order: the pause process's pid file is in the directory removed.
  t.after(() => {
    try {
      const pid = Number(readFileSync(join(run, 'libpod', 'tmp', 'pause.pid'), 'utf8').trim());
      if (pid > 1) process.kill(pid, 'SIGKILL');
    } catch { /* no pause process */ }
    removeUserTree(dir);
  });
  const env = { HOME: dir, XDG_RUNTIME_DIR: run, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') };
  const mk = await asUser('mkdir', ['-m', '0700', '-p', run], { env });
  assert.equal(mk.code, 0, show(mk));
  const global = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs',
    '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  const podman = ((args: string[]) => asUser('podman', [...global, ...args], { env, timeoutMs: 120_000 })) as Podman;
  podman.dir = dir;
  return podman;
}

