/**
 * `--network NAME` (user-defined networks, mode `bridge` as Podman's inspect calls it):
 * the sandbox's own network namespace, with the outside as in the default mode
 * (slirp4netns; none when every network it is on is --internal) and one device per
 * network, linked to the other members by that network's switch (helpers/netswitch.c,
 * api/networks.ts). Its words come from joinNetworks, made at each start.
 */
import { SandboxError } from '../errors.js';
import type { NetworkDriver } from './driver.js';
import { slirp4netnsDriver } from './slirp4netns.js';

export const bridgeDriver: NetworkDriver = {
  mode: 'bridge',
  launchDriver: 'bridge',
  tools: slirp4netnsDriver.tools,
  launchArgs: (input) => {
    if (!input.join) throw new SandboxError('internal: the networks to join are missing from the launch input');
    return [...(input.join.outside ? slirp4netnsDriver.launchArgs(input) : []), ...input.join.words];
  },
  names: (input) => slirp4netnsDriver.names(input), // its outside is slirp4netns with its defaults (a network takes no OPTS)
  inspectMode: () => 'bridge',
};
