/**
 * `--cgroup-parent`: where a sandbox's cgroup goes, which must be inside the subtree
 * delegated to the user (a user may create cgroups nowhere else). Podman takes a cgroup
 * path (cgroupfs) and makes the container's cgroup below it; so do we, and a relative
 * path is taken from the delegated subtree. Pure: the host comes in.
 */
import { posix } from 'node:path';
import { SandboxError } from '../../errors.js';
import type { CgroupHost } from './limits.js';

/** The delegated subtree as a cgroup path (`/user.slice/.../user@1001.service`, v1: `/sandbox/1001`), or undefined. */
export function delegatedCgroupPath(host: CgroupHost, version: 1 | 2): string | undefined {
  if (version === 2) return host.v2 ? '/' + posix.relative(host.fsRoot, host.v2.dir) : undefined;
  return host.v1 ? `/sandbox/${host.uid}` : undefined;
}

/**
 * --cgroup-parent as given, as a path relative to the delegated subtree (`ci/jobs`), or the
 * one-line refusal naming the subtree. An absolute path must be inside it.
 */
export function resolveCgroupParent(given: string, host: CgroupHost, version: 1 | 2): string {
  const base = delegatedCgroupPath(host, version)!;
  const example = `e.g. --cgroup-parent ${base}/ci (or ci: relative to it)`;
  if (given.split('/').some((c) => c === '..' || c === '.')) throw new SandboxError(`--cgroup-parent ${given}: no . or .. components`, { hint: example });
  const abs = given.startsWith('/') ? posix.normalize(given).replace(/\/$/, '') : posix.join(base, given).replace(/\/$/, '');
  if (abs === base) return '';
  if (!abs.startsWith(`${base}/`)) {
    throw new SandboxError(`--cgroup-parent ${given} is outside the cgroup subtree delegated to you (${base}): you may create cgroups only inside it`, { hint: example });
  }
  const rel = abs.slice(base.length + 1);
  if (rel.split('/').some((c) => /^[0-9a-f]{64}$/.test(c))) throw new SandboxError(`--cgroup-parent ${given}: a sandbox's own cgroup cannot be a parent`, { hint: example });
  return rel;
}
