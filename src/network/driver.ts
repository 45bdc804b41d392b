/**
 * Network modes behind one interface. A driver is one `--network` mode: what it needs
 * of the host, how the launch plan asks sandbox-launch for it, the sandbox's
 * /etc/hosts and /etc/resolv.conf, and how inspect names it. The C half of each driver
 * is in helpers/launch/network.c (named by the plan's `--network` word): started by the
 * monitor once the id maps are written, finished by the init before the command,
 * stopped when the sandbox's run ends (helpers/README.md).
 *
 * A new mode is a new driver: a file here, its row in DRIVERS, and its row in
 * network.c's table. What the modes still to come need has its place: options
 * (`slirp4netns:OPTS`, `pasta:OPTS`) and published ports are in the request that
 * launchArgs gets, and become the driver's words in the plan; a namespace to join (a
 * user-defined network, a pod, `container:ID`) is a C driver that joins instead of
 * cloning a new one; a driver's own teardown is its C `stop` hook (and, for what
 * outlives one sandbox, the API's).
 */
import type { NetworkMode, RunRequest } from '../types.js';
import { SandboxError } from '../errors.js';
import { requireTool } from '../runtime/host-tools.js';
import type { HostNameFiles } from './name-files.js';
import { noneDriver } from './none.js';
import { hostDriver } from './host.js';
import { slirp4netnsDriver } from './slirp4netns.js';
import { containerDriver } from './container.js';

/** A host program a driver runs: `run` fails without it (one line, the fix) and doctor checks it. */
export interface NetworkTool {
  name: string;
  debianPackage: string;
  /** Completes "NAME not found: it is needed ...". */
  why: string;
}

/** What a driver's part of a launch plan is made from. */
export interface NetworkPlanInput {
  request: RunRequest;
  /** The paths of its tools, by name (found by requireNetworkTools). */
  tools: Readonly<Record<string, string>>;
  /** The sandbox's directory (for logs and state of the driver's own). */
  dir: string;
  /** `container`: the other sandbox's command, whose user and network namespaces are joined (api/network-join.ts). */
  joinPid?: number;
  /** `container`, a pod's members: its other namespaces joined too (uts, ipc). */
  joinNamespaces?: readonly string[];
}

export interface NetworkDriver {
  /** The `--network` mode it serves. */
  readonly mode: NetworkMode;
  /** Its C half: the `--network` word of run's and exec's plans (helpers/launch/network.c). */
  readonly launchDriver: string;
  readonly tools: readonly NetworkTool[];
  /** Its words in run's plan after `--network launchDriver`. Pure. */
  launchArgs(input: NetworkPlanInput): string[];
  /** The sandbox's /etc/hosts and /etc/resolv.conf (the host's are read only if asked for). */
  nameFiles(hostname: string, host: HostNameFiles): { hosts: string; resolvConf: string };
  /** inspect's HostConfig.NetworkMode, as Podman shows it. */
  inspectMode(request: RunRequest): string;
  /** The sandbox's address on this network while it runs (inspect's NetworkSettings), if it has one. */
  readonly address?: NetworkAddress;
}

/** An address of the sandbox on its network, as inspect's NetworkSettings show it. */
export interface NetworkAddress {
  ip: string;
  prefixLen: number;
  gateway: string;
}

const DRIVERS: { readonly [M in NetworkMode]?: NetworkDriver } = {
  none: noneDriver,
  host: hostDriver,
  slirp4netns: slirp4netnsDriver,
  container: containerDriver,
};

/** Modes the CLI knows that have no driver yet: refused before anything is pulled or written. */
const NOT_YET: { readonly [M in NetworkMode]?: { tools: readonly NetworkTool[]; refusal: string } } = {
  pasta: {
    tools: [{ name: 'pasta', debianPackage: 'passt', why: 'for --network pasta' }],
    refusal: '--network pasta is not available yet',
  },
};

/** The network a sandbox gets when `--network` is not given. One place to change it. */
export const DEFAULT_NETWORK: NetworkMode = 'slirp4netns';

/** Every mode `--network` takes, the working ones first. */
// `container` is never a word of its own: `container:NAME` (network/container.ts containerNetworkTarget).
const NAMED = (m: string) => m !== 'container';
export const NETWORK_MODES = [...Object.keys(DRIVERS).filter(NAMED), ...Object.keys(NOT_YET)] as readonly NetworkMode[];

/** The modes `run` sets up today, which help and hints list. */
export const WORKING_NETWORK_MODES = Object.keys(DRIVERS).filter(NAMED) as readonly NetworkMode[];

/** The host programs `mode` needs (none for none and host). */
export function networkModeTools(mode: NetworkMode): readonly NetworkTool[] {
  return (DRIVERS[mode] ?? NOT_YET[mode])?.tools ?? [];
}

/** The host programs of every mode, the default's first: what doctor looks for. */
export const NETWORK_TOOLS: readonly NetworkTool[] = [
  ...networkModeTools(DEFAULT_NETWORK),
  ...NETWORK_MODES.filter((m) => m !== DEFAULT_NETWORK).flatMap(networkModeTools),
];

/** The driver of `mode`; a mode without one is refused with the modes that work. */
export function networkDriver(mode: NetworkMode): NetworkDriver {
  const driver = DRIVERS[mode];
  if (driver) return driver;
  const later = NOT_YET[mode];
  if (!later) throw new SandboxError(`internal: no network driver for ${JSON.stringify(mode)}`);
  throw new SandboxError(later.refusal, { hint: 'use --network slirp4netns (the default), none (loopback only) or host' });
}

/** The paths of the driver's tools, by name; a missing one is a SandboxError with the fix. */
export function requireNetworkTools(driver: NetworkDriver): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const t of driver.tools) paths[t.name] = requireTool(t.name, t.debianPackage, t.why);
  return paths;
}
