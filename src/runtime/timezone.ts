/**
 * `--tz` (run, create): the sandbox's /etc/localtime, as Podman sets it: a read-only bind
 * of the host's zone file (/usr/share/zoneinfo/ZONE), or of the host's own /etc/localtime
 * for `local`. TZ is left alone (Podman sets none either).
 */
import { realpathSync, statSync } from 'node:fs';
import { SandboxError } from '../errors.js';

export const ZONEINFO = '/usr/share/zoneinfo';

/** The host file that becomes /etc/localtime for `--tz VALUE`. */
export function timezoneFile(value: string): string {
  const hint = `give a zone of ${ZONEINFO} (e.g. --tz Europe/Berlin, --tz UTC) or --tz local (this host's)`;
  if (value === '') throw new SandboxError('--tz needs a time zone', { hint });
  if (value !== 'local' && (value.startsWith('/') || value.split('/').some((p) => p === '..' || p === '.' || p === ''))) {
    throw new SandboxError(`invalid --tz ${JSON.stringify(value)}: not a zone name`, { hint });
  }
  const path = value === 'local' ? '/etc/localtime' : `${ZONEINFO}/${value}`;
  let real: string;
  try {
    real = realpathSync(path);
    if (!statSync(real).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (err) {
    throw new SandboxError(`unknown time zone ${JSON.stringify(value)}: ${path} ${(err as NodeJS.ErrnoException).code === 'EISDIR' ? 'is not a zone file' : 'does not exist'}`, { hint });
  }
  return real;
}
