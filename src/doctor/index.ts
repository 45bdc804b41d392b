/**
 * `sandbox doctor`: what this host lets an unprivileged user do, and the exact command
 * for each thing that is missing. `runDoctor()` makes the full report (with real
 * attempts).
 */
import { buildReport, type DoctorReport } from './checks.js';
import { gatherHostFacts, type ProbeOptions } from './probe.js';

export type { CheckStatus, DoctorCheck, DoctorReport, HostFacts } from './checks.js';
export type { ProbeOptions } from './probe.js';

/** Gathers the facts (trying user namespaces, overlay mounts, newuidmap) and judges them. */
export async function runDoctor(opts: ProbeOptions = {}): Promise<DoctorReport> {
  return buildReport(await gatherHostFacts(opts));
}
