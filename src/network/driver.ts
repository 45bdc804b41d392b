/**
 * Network modes behind one interface. A driver is one `--network` mode: what it needs
 * of the host, how the launch plan asks sandbox-launch for it, the sandbox's
 * /etc/hosts and /etc/resolv.conf, and how inspect names it. The C half of each driver
 * is in helpers/launch/network.c (named by the plan's `--network` word): started by the
 * monitor once the id maps are written, finished by the init before the command,
 * stopped when the sandbox's run ends (helpers/README.md).
 *
 * A new mode is a new driver: a file here, its row in DRIVERS, and its row in
 * network.c's table. Options (`slirp4netns:OPTS`, `pasta:OPTS`: the request's
 * networkOptions, checked by the driver's checkOptions when the request is made) and
 * published ports are in the request that launchArgs gets, and become the driver's
 * words in the plan (`--network-arg`); a namespace to join (a
 * user-defined network, a pod, `container:ID`) is a C driver that joins instead of
 * cloning a new one; a driver's own teardown is its C `stop` hook (and, for what
 * outlives one sandbox, the API's).
 */
import type { NetworkMode, RunRequest } from '../types.js';
import { SandboxError } from '../errors.js';
import { requireTool } from '../runtime/host-tools.js';
import type { HostNameFiles, NetworkNames } from './name-files.js';
import { noneDriver } from './none.js';
import { hostDriver } from './host.js';
import { slirp4netnsDriver } from './slirp4netns.js';
import { pastaDriver } from './pasta.js';
import { bridgeDriver } from './bridge.js';
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
  /** User-defined networks (mode bridge): what api/networks.ts joinNetworks made for this start. */
  join?: { words: string[]; outside: boolean };
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
  /** Checks `MODE:OPTS` (split at commas) when the request is made; a mode without it takes none. */
  checkOptions?(options: readonly string[]): void;
  /** Its words in run's plan after `--network launchDriver`. Pure. */
  launchArgs(input: NetworkPlanInput): string[];
  /**
   * What this mode puts in the sandbox's /etc/hosts and /etc/resolv.conf: its own
   * address, the one that reaches the host, its name servers (name-files.ts writes the
   * files from them with the run options; the host's files are read only if asked for).
   */
  names(input: { request: RunRequest; host: HostNameFiles }): NetworkNames;
  /** inspect's HostConfig.NetworkMode, as Podman shows it. */
  inspectMode(request: RunRequest): string;
  /** The sandbox's address on this network while it runs (inspect's NetworkSettings), if it has one. */
  readonly address?: NetworkAddress;
  /** The same, where the request's options move it (slirp4netns:cidr=); before `address`. */
  addressOf?(request: RunRequest): NetworkAddress | undefined;
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
  pasta: pastaDriver,
  bridge: bridgeDriver,
  container: containerDriver,
};

/** Modes the CLI knows that have no driver yet: refused before anything is pulled or written. */
const NOT_YET: { readonly [M in NetworkMode]?: { tools: readonly NetworkTool[]; refusal: string } } = {};

/** The network a sandbox gets when `--network` is not given. One place to change it. */
export const DEFAULT_NETWORK: NetworkMode = 'slirp4netns';

/**
 * Modes that are never a word of `--network` alone: `bridge` is what a user-defined
 * network's NAME gives, `container` comes only as `container:NAME` (network/container.ts
 * containerNetworkTarget). Parsing still knows `bridge` (to refuse Podman's default
 * network by name); neither is listed by help or hints.
 */
const NEVER_TYPED: ReadonlySet<string> = new Set(['bridge', 'container']);

/** Every mode `--network` takes, the working ones first. */
export const NETWORK_MODES = [...Object.keys(DRIVERS), ...Object.keys(NOT_YET)].filter((m) => m !== 'container') as readonly NetworkMode[];

/** The modes `run` sets up today, which help and hints list. */
export const WORKING_NETWORK_MODES = Object.keys(DRIVERS).filter((m) => !NEVER_TYPED.has(m)) as readonly NetworkMode[];

/** How help writes what `--network` takes: MODE[:OPTS] for a mode with options, and container:NAME. */
export const NETWORK_MODE_WORDS: readonly string[] = [
  ...WORKING_NETWORK_MODES.map((m) => (DRIVERS[m]?.checkOptions ? `${m}[:OPTS]` : m)),
  'container:NAME',
];

/** The host programs `mode` needs (none for none and host). */
export function networkModeTools(mode: NetworkMode): readonly NetworkTool[] {
  return (DRIVERS[mode] ?? NOT_YET[mode])?.tools ?? [];
}

/** The host programs of every mode, the default's first: what doctor looks for. */
export const NETWORK_TOOLS: readonly NetworkTool[] = [
  ...networkModeTools(DEFAULT_NETWORK),
  ...NETWORK_MODES.filter((m) => m !== DEFAULT_NETWORK).flatMap(networkModeTools),
].filter((t, i, all) => all.findIndex((u) => u.name === t.name) === i); // bridge reuses slirp4netns

/** The driver of `mode`; a mode without one is refused with the modes that work. */
export function networkDriver(mode: NetworkMode): NetworkDriver {
  const driver = DRIVERS[mode];
  if (driver) return driver;
  const later = NOT_YET[mode];
  if (!later) throw new SandboxError(`internal: no network driver for ${JSON.stringify(mode)}`);
  throw new SandboxError(later.refusal, { hint: `use --network ${WORKING_NETWORK_MODES.join('|')}` });
}

/** The paths of the driver's tools, by name; a missing one is a SandboxError with the fix. */
export function requireNetworkTools(driver: NetworkDriver): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const t of driver.tools) paths[t.name] = requireTool(t.name, t.debianPackage, t.why);
  return paths;
}

/** `--network MODE[:OPTS]`: the mode and, for a mode that takes them, OPTS split at commas. */
export function parseNetworkOption(value: string): { network: NetworkMode; networkOptions?: string[] } {
  const colon = value.indexOf(':');
  const mode = colon < 0 ? value : value.slice(0, colon);
  if (!(NETWORK_MODES as readonly string[]).includes(mode)) {
    throw new SandboxError(`unknown network mode ${JSON.stringify(value)}`, { hint: `use --network ${WORKING_NETWORK_MODES.join('|')}` });
  }
  const network = mode as NetworkMode;
  if (colon < 0) return { network };
  const driver = networkDriver(network);
  if (!driver.checkOptions) {
    throw new SandboxError(`--network ${mode} takes no options: ${JSON.stringify(value)}`, { hint: `use --network ${mode}` });
  }
  const rest = value.slice(colon + 1);
  const networkOptions = rest === '' ? [] : rest.split(',');
  driver.checkOptions(networkOptions);
  return { network, networkOptions };
}
