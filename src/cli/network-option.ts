/**
 * `--network NAME` (repeatable, or NAME,NAME) and `--network-alias A` (repeatable): the
 * user-defined networks of a sandbox, as Podman takes them. Each alias applies to every
 * network given (Podman's rule). A value that is a mode (none, host, slirp4netns, ...) is
 * parseNetwork's. Pure: whether the networks exist is checked at create.
 */
import { SandboxError } from '../errors.js';
import { NETWORK_MODES } from '../network/driver.js';
import { NAME_PATTERN } from '../state/names.js';

export type NamedNetworks = { name: string; aliases: string[] }[];

/** The named networks among `values` (undefined when none is named: a mode, or nothing). */
export function namedNetworks(values: readonly string[], aliases: readonly string[]): NamedNetworks | undefined {
  const words = values.flatMap((v) => (v.includes(':') ? [v] : v.split(',')));
  if (words.includes('bridge')) {
    throw new SandboxError('--network bridge (Podman\'s default network, "podman") does not exist here', { hint: 'make a network (sandbox network create NET) and give its name, or leave --network out for the default mode (slirp4netns)' });
  }
  const isMode = (w: string) => (NETWORK_MODES as readonly string[]).includes(w) || w.includes(':') || w === 'bridge' || w === 'private';
  const names = words.filter((w) => !isMode(w));
  if (!names.length) {
    if (aliases.length) throw new SandboxError('--network-alias needs a user-defined network', { hint: 'sandbox network create NET, then --network NET --network-alias ALIAS' });
    return undefined;
  }
  const mode = words.find(isMode);
  if (mode !== undefined) throw new SandboxError(`--network ${mode} cannot be combined with the network ${names[0]}`, { hint: 'give user-defined networks alone: --network NET1 --network NET2' });
  for (const n of names) {
    if (!NAME_PATTERN.test(n)) throw new SandboxError(`unknown network mode ${JSON.stringify(n)}`, { hint: 'a network name (sandbox network ls), or none, host, slirp4netns' });
  }
  for (const a of aliases) {
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/.test(a)) throw new SandboxError(`invalid --network-alias ${JSON.stringify(a)}`, { hint: 'a host name: letters, digits, "-", "_" and "."' });
  }
  return [...new Set(names)].map((name) => ({ name, aliases: [...new Set(aliases)] }));
}
