/**
 * What this host offers the e2e tests of limits (issue 16): the cgroup delegation the
 * test user has, and where a process's cgroups are. Shared by cgroups.test.ts and
 * issue16-combos.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { requireNoProblems, requireRootless, testUser } from './harness.js';

export const CGROUP_FS = '/sys/fs/cgroup';

/** What limits this host offers the test user: `v2` (inside its delegated systemd cgroup), `v1` (.ci/run's delegation), or the reason not. */
export function limitsDelegation(): { kind: 'v1' | 'v2' } | { problem: string } {
  const uid = testUser().uid;
  if (existsSync(join(CGROUP_FS, 'cgroup.controllers'))) {
    const own = readFileSync('/proc/self/cgroup', 'utf8');
    return own.includes(`/user@${uid}.service/`) ? { kind: 'v2' } : { problem: `cgroup v2, but the tests do not run inside user@${uid}.service (run them through systemd-run --user, as test/guest/ does)` };
  }
  const dir = join(CGROUP_FS, 'pids', 'sandbox', String(uid));
  try {
    if (statSync(dir).uid === uid) return { kind: 'v1' };
  } catch { /* not delegated */ }
  return { problem: `cgroup v1 without the subtree delegated to the test user (${dir}): run the commands \`sandbox doctor\` prints, as .ci/run does` };
}

/** The cgroupfs directory of `controller` (v1; '' for v2) that process `pid` is in, as the host sees it. */
export function cgroupDirOf(pid: number, controller: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  if (!controller) return join(CGROUP_FS, lines.find((l) => l.startsWith('0::'))!.slice(3));
  const line = lines.find((l) => l.split(':')[1]!.split(',').includes(controller));
  assert.ok(line, `no ${controller} line in /proc/${pid}/cgroup`);
  return join(CGROUP_FS, controller, line.split(':')[2]!);
}

/** 'v1' or 'v2' when the test user has delegated cgroups; else skips the test (a failure under CI) and returns undefined. */
export function requireLimits(t: Parameters<typeof requireRootless>[0], what: string): 'v1' | 'v2' | undefined {
  if (!requireRootless(t, what)) return undefined;
  const d = limitsDelegation();
  if (!requireNoProblems(t, what, 'problem' in d ? [d.problem] : [])) return undefined;
  return 'kind' in d ? d.kind : undefined;
}
