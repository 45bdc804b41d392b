/**
 * `--gpus` (Docker's; Debian's Podman 4.3 accepts it and does nothing with it): the host's
 * GPU device nodes, passed in as --device passes them (and checked as those are: only
 * nodes the user may open). Which GPUs (`all`, a count, `device=0`) cannot be chosen
 * without a vendor's toolkit (NVIDIA's CDI specs): every one the user may open goes in.
 */
import { existsSync, readdirSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import type { DeviceSpec } from '../types.js';

/** The GPU device nodes of this host: /dev/dri (DRM: Intel, AMD, ...) and NVIDIA's /dev/nvidia*. */
export function hostGpuDevices(dev = '/dev'): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  if (existsSync(`${dev}/dri`)) out.push({ host: `${dev}/dri`, container: '/dev/dri', permissions: 'rwm' });
  let names: string[] = [];
  try { names = readdirSync(dev); } catch { /* no /dev */ }
  for (const n of names.filter((x) => /^nvidia/.test(x) && x !== 'nvidia-caps').sort()) out.push({ host: `${dev}/${n}`, container: `/dev/${n}`, permissions: 'rwm' });
  return out;
}

/** `--gpus` as given: `all`, a count, or `device=ID[,ID]` (Docker's forms; `"device=0"` quoted too). */
export function checkGpusValue(value: string): void {
  const v = value.replace(/^"|"$/g, '');
  if (v === 'all' || /^[0-9]+$/.test(v) || /^(device=[^,]+)(,[^,]+)*$/.test(v) || /^(count|capabilities|driver|options)=/.test(v)) return;
  throw new SandboxError(`invalid --gpus value: ${value}`, { hint: 'e.g. --gpus all (every GPU device node you may open: /dev/dri, /dev/nvidia*)' });
}
