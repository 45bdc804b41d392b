/** `--network none`: a network namespace of its own with only the loopback, up. */
import type { NetworkDriver } from './driver.js';
import { hostsFile, resolvConfWith } from './name-files.js';

export const noneDriver: NetworkDriver = {
  mode: 'none',
  launchDriver: 'none',
  tools: [],
  launchArgs: () => [],
  // No name server can be reached: the host's search domains and options, none of its servers.
  nameFiles: (hostname, host) => ({ hosts: hostsFile(hostname), resolvConf: resolvConfWith(host.resolvConf(), []) }),
  inspectMode: () => 'none',
};
