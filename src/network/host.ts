/**
 * `--network host`: the host's network namespace, shared (not entered by exec: it
 * belongs to the host's user namespace). The host's own name servers, as they are; the
 * sandbox's name on 127.0.1.1 (its hostname is its own, not the host's).
 */
import type { NetworkDriver } from './driver.js';

export const hostDriver: NetworkDriver = {
  mode: 'host',
  launchDriver: 'host',
  tools: [],
  launchArgs: () => [],
  names: ({ host }) => ({ hostAddress: host.address() }),
  inspectMode: () => 'host',
};
