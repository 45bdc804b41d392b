/**
 * `volume create -o KEY=VALUE` (repeatable): Podman's local driver options, checked.
 * What a rootless user can have: `type=tmpfs` (with `o=` tmpfs options: a tmpfs mounted
 * in each sandbox using the volume) and a bind of a directory (`o=bind,device=DIR`, type
 * none). Mounting a device or a network file system needs root: refused, saying so.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { SandboxError } from '../errors.js';
import type { VolumeDriverOptions } from '../state/volumes.js';
import { parseTmpfs } from './run-request.js';

const FORMS = '-o type=tmpfs [-o o=size=64m,mode=1777], or -o type=none -o o=bind -o device=/DIR (a directory of yours)';
const HINT = `use ${FORMS}`;

export interface ParsedVolumeOptions {
  options: VolumeDriverOptions;
  tmpfsOptions?: string[];
}

export function parseVolumeOptions(specs: readonly string[], cwd = process.cwd()): ParsedVolumeOptions {
  const options: VolumeDriverOptions = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = eq < 0 ? spec : spec.slice(0, eq);
    if (eq < 0 || (key !== 'type' && key !== 'device' && key !== 'o')) {
      throw new SandboxError(`invalid volume option ${JSON.stringify(spec)}: the options are type=, device= and o=`, { hint: HINT });
    }
    options[key] = spec.slice(eq + 1);
  }
  if (!Object.keys(options).length) return { options };
  const { type, device, o } = options;
  if (type === 'tmpfs') {
    // Without o=: rw,nosuid,nodev, as Podman's tmpfs volume (no noexec, unlike a bare --tmpfs).
    const tmpfsOptions = parseTmpfs(`/volume:${o || 'rw'}`).options;
    return { options, tmpfsOptions };
  }
  const words = (o ?? '').split(',').filter(Boolean);
  const bind = words.includes('bind') || words.includes('rbind');
  if ((type === undefined || type === 'none') && bind) {
    const other = words.filter((w) => w !== 'bind' && w !== 'rbind');
    if (other.length) throw new SandboxError(`volume option o=${o}: only bind or rbind go with a bind here (${other.join(',')} would need a mount of its own)`, { hint: 'mount the volume read-only where it is used: -v NAME:/PATH:ro' });
    if (!device) throw new SandboxError('a bind volume needs device=DIR', { hint: HINT });
    const dir = isAbsolute(device) ? device : resolve(cwd, device);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new SandboxError(`volume device ${device}: no such directory`, { hint: 'create it first; device= is the directory the volume binds' });
    return { options: { ...options, device: realpathSync(dir) } };
  }
  if (type === undefined || type === 'none') throw new SandboxError(`volume options ${specs.join(' ')}: give type=tmpfs, or o=bind with device=DIR`, { hint: HINT });
  throw new SandboxError(`volume type ${type}: mounting ${device ? `device ${device}` : 'a file system'} of type ${type} needs root`, {
    hint: `have it mounted (as root) and bind its directory: -o type=none -o o=bind -o device=/MOUNTPOINT; or ${FORMS.split(', or ')[0]}`,
  });
}
