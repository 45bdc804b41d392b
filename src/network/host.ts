/**
 * `--network host`: the host's network namespace, shared (not entered by exec: it
 * belongs to the host's user namespace). The host's own name files, with the
 * sandbox's name added to /etc/hosts.
 */
import type { NetworkDriver } from './driver.js';
import { hostsFile } from './name-files.js';

export const hostDriver: NetworkDriver = {
  mode: 'host',
  launchDriver: 'host',
  tools: [],
  launchArgs: () => [],
  nameFiles: (hostname, host) => ({ hosts: hostsFile(hostname, host.hosts()), resolvConf: host.resolvConf() }),
  inspectMode: () => 'host',
};
