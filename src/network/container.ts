/**
 * `--network container:ID`, and the members of a pod (whose network is their pod's infra
 * sandbox's): no network namespace of its own; the init is cloned into the user and
 * network namespaces of the other sandbox's command (helpers/launch/network.c,
 * clone_joined, which says why the user namespace is shared too). The other sandbox set
 * the network up and keeps it running; this one brings and stops nothing. Its
 * /etc/resolv.conf is the other's (api/network-join.ts hands it in as the "host" files),
 * its /etc/hosts names itself.
 */
import { SandboxError } from '../errors.js';
import { Flag } from '../runtime/protocol.js';
import type { NetworkDriver } from './driver.js';

export const containerDriver: NetworkDriver = {
  mode: 'container',
  launchDriver: 'container',
  tools: [],
  launchArgs: ({ joinPid, joinNamespaces }) => {
    if (!joinPid) throw new SandboxError('internal: the process whose network is joined is missing from the launch input');
    return [Flag.networkJoin, String(joinPid), ...(joinNamespaces ?? []).flatMap((ns) => [Flag.joinNs, ns])];
  },
  // No name servers of its own: the joined sandbox's resolv.conf (handed in as the host's) as it is.
  names: ({ host }) => ({ hostAddress: host.address() }),
  inspectMode: (request) => `container:${request.networkContainer ?? ''}`,
};

const CONTAINER_PREFIX = 'container:';

/** `--network container:NAME` -> NAME; undefined for any other mode. Pure. */
export function containerNetworkTarget(value: string): string | undefined {
  if (value === 'container') {
    throw new SandboxError('--network container needs the sandbox whose network to join', { hint: 'use --network container:NAME (a name or id of a sandbox)' });
  }
  if (!value.startsWith(CONTAINER_PREFIX)) return undefined;
  const target = value.slice(CONTAINER_PREFIX.length);
  if (!target) throw new SandboxError('--network container: needs a sandbox name or id', { hint: 'use --network container:NAME' });
  return target;
}
