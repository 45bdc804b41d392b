/**
 * `--hostuser NAME|UID` (run, create): the host's users added to the sandbox's /etc/passwd,
 * as Podman adds them: `NAME:*:UID:GID:GECOS:WORKDIR:/bin/sh` (its home is the sandbox's
 * working directory, its shell /bin/sh; no group entry), unless the file has that user's
 * name or uid already. Looked up through getent, so NSS users (LDAP, systemd-homed) count.
 */
import { execFileSync } from 'node:child_process';
import { SandboxError } from '../errors.js';

export interface HostUser { name: string; uid: number; gid: number; gecos: string }

/** The host's passwd entry of NAME or UID (getent passwd); refused when there is none. */
export function lookupHostUser(user: string): HostUser {
  let line = '';
  if (user !== '' && !/[:\s]/.test(user)) {
    try { line = execFileSync('getent', ['passwd', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? ''; } catch { line = ''; }
  }
  const f = line.split(':');
  if (f.length < 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) {
    throw new SandboxError(`--hostuser ${JSON.stringify(user)}: no such user on this host`, { hint: 'give a user name or uid that `getent passwd` knows' });
  }
  return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), gecos: f[4]! };
}

/** /etc/passwd with the host users it lacks (by name or uid) added, in the order given. */
export function withHostUsers(passwd: string, users: HostUser[], workdir: string): string {
  let out = passwd;
  for (const u of users) {
    const has = out.split('\n').some((l) => { const f = l.split(':'); return f[0] === u.name || f[2] === String(u.uid); });
    if (has) continue;
    out = `${out}${out && !out.endsWith('\n') ? '\n' : ''}${u.name}:*:${u.uid}:${u.gid}:${u.gecos}:${workdir}:/bin/sh\n`;
  }
  return out;
}
