/**
 * `--network slirp4netns` (the default): a network namespace of its own, connected to
 * the host's by slirp4netns (user-mode TCP/IP; tap0 10.0.2.100, gateway 10.0.2.2, DNS
 * 10.0.2.3; the host's loopback closed). The monitor runs it (network.c) with its
 * messages in network.log of the sandbox's directory.
 */
import { posix } from 'node:path';
import { SandboxError } from '../errors.js';
import { Flag } from '../runtime/protocol.js';
import type { NetworkDriver } from './driver.js';
import { routableNameservers } from './name-files.js';

/** slirp4netns' fixed addresses (its defaults with --configure). */
const ADDRESS = { ip: '10.0.2.100', prefixLen: 24, gateway: '10.0.2.2' };
const DNS = '10.0.2.3';

export const slirp4netnsDriver: NetworkDriver = {
  mode: 'slirp4netns',
  launchDriver: 'slirp4netns',
  tools: [{ name: 'slirp4netns', debianPackage: 'slirp4netns', why: 'for --network slirp4netns (the default); --network none or host work without it' }],
  launchArgs: ({ tools, dir }) => {
    const path = tools.slirp4netns;
    if (!path) throw new SandboxError('internal: slirp4netns path missing from the launch input');
    return [Flag.networkCmd, path, Flag.netLog, posix.join(dir, 'network.log')];
  },
  // slirp4netns forwards DNS at 10.0.2.3 to the host's resolver; the host's own servers
  // follow where they are reachable from here (not on its loopback), as Podman writes them.
  // The host's address reaches the host through slirp4netns' sockets (its services on
  // that address or on all of them; its loopback stays closed).
  names: ({ host }) => ({
    ownAddress: ADDRESS.ip,
    hostAddress: host.address(),
    nameservers: [...new Set([DNS, ...routableNameservers(host.resolvConf())])],
  }),
  inspectMode: () => 'slirp4netns',
  address: ADDRESS,
};
