/**
 * Which transports we try for a registry, in order. HTTPS with certificate checks,
 * always; plain HTTP only where nobody can listen in: a registry on loopback, or when
 * the user said `--tls-verify=false` (as Podman: that also accepts any certificate).
 * `--tls-verify=true` insists on verified HTTPS even on loopback. Pure.
 */
import { isLoopback } from './reference.js';

export interface Transport {
  scheme: 'https' | 'http';
  /** Check the server's certificate (https only). */
  verify: boolean;
}

export function transportsFor(registry: string, tlsVerify: boolean | undefined): Transport[] {
  if (tlsVerify === false) return [{ scheme: 'https', verify: false }, { scheme: 'http', verify: false }];
  if (tlsVerify === undefined && isLoopback(registry)) return [{ scheme: 'https', verify: true }, { scheme: 'http', verify: false }];
  return [{ scheme: 'https', verify: true }];
}
