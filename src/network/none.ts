/** `--network none`: a network namespace of its own with only the loopback, up. */
import type { NetworkDriver } from './driver.js';

export const noneDriver: NetworkDriver = {
  mode: 'none',
  launchDriver: 'none',
  tools: [],
  launchArgs: () => [],
  // No name server can be reached: the host's search domains and options, none of its
  // servers. host.containers.internal is written as Podman does (unreachable from here).
  names: ({ host }) => ({ hostAddress: host.address(), nameservers: [] }),
  inspectMode: () => 'none',
};
