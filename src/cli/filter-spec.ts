/** `--filter KEY=VALUE`: the split every filtering command (ps, volume ls) shares. */
import { SandboxError } from '../errors.js';

/** The key and value of one filter of a command that takes `keys`; anything else is one line naming them. */
export function splitFilter<K extends string>(spec: string, keys: readonly K[]): { key: K; value: string } {
  const eq = spec.indexOf('=');
  const key = (eq > 0 ? spec.slice(0, eq) : spec) as K;
  if (eq <= 0 || !keys.includes(key)) {
    throw new SandboxError(`invalid filter "${spec}"`, { hint: `use KEY=VALUE with KEY one of ${keys.join(', ')}` });
  }
  return { key, value: spec.slice(eq + 1) };
}
