/**
 * What a limit adds to `run` in the CLI (ours; the kernel's mkdir of each cgroup
 * included): detection (at create), the cgroups made with their limits written (at
 * start), and, off the start's path, the stray sweep and a removal. Run as a user the
 * host delegates to (cgroup v1 after .ci/run's delegation, or v2 in a user session):
 *   node --import tsx bench/cgroup-setup.ts
 * With --no-limits (cgroup v2 from inside the session): what every sandbox pays there
 * for its own cgroup, limits or not (detect.ts delegatedV2Host, no limit written).
 */
import { delegatedV2Host, detectCgroupHost } from '../src/runtime/cgroup/detect.js';
import { cgroupVersion, limitMechanisms } from '../src/runtime/cgroup/limits.js';
import { planCgroup, createCgroup, removeCgroup, removeStrayCgroups } from '../src/runtime/cgroup/manage.js';

async function main(): Promise<void> {
  const none = process.argv.includes('--no-limits');
  const limits = none ? {} : { memory: 64 << 20, pidsLimit: 64, cpus: 0.5 };
  const N = 200;
  const t = { detect: 0n, create: 0n, sweep: 0n, remove: 0n };
  for (let i = 0; i < N; i++) {
    const id = i.toString(16).padStart(64, 'f');
    const a = process.hrtime.bigint();
    const host = none ? delegatedV2Host() : detectCgroupHost();
    if (!host) throw new Error('--no-limits: not cgroup v2 from inside your delegated subtree');
    const version = none ? 2 : cgroupVersion(limitMechanisms(limits, host, true));
    if (!version) throw new Error('no cgroup delegated to this user: see `sandbox doctor`');
    const cg = planCgroup(host, version, id);
    const b = process.hrtime.bigint();
    createCgroup(cg, limits);
    const c = process.hrtime.bigint();
    removeStrayCgroups(cg, () => false);
    const d = process.hrtime.bigint();
    await removeCgroup(cg);
    const e = process.hrtime.bigint();
    t.detect += b - a; t.create += c - b; t.sweep += d - c; t.remove += e - d;
  }
  const ms = (x: bigint) => (Number(x) / N / 1e6).toFixed(3);
  console.log(`per sandbox (${N} runs): detect ${ms(t.detect)} ms, create + limits ${ms(t.create)} ms; off the start's path: sweep ${ms(t.sweep)} ms, remove ${ms(t.remove)} ms`);
}
void main();
