/**
 * Parts of `sandbox inspect`'s Docker-shaped JSON that templates written for Podman and
 * Docker read: HostConfig, Mounts, NetworkSettings (lifecycle.ts assembles the whole).
 * Pure: from the record and its current state. Only what we support has a value; what
 * we do not have is its "none" value (0, "", [], {}), never a made-up one.
 */
import type { NetworkEndpoint } from '../api/networks.js';
import type { BindSpec, DeviceLimit, RunRequest } from '../types.js';
import type { SandboxRecord, SandboxState } from '../state/sandboxes.js';
import { networkDriver } from '../network/driver.js';
import { portBindings } from '../network/port-spec.js';
import { inspectUlimits } from '../runtime/rlimits.js';
import { LINUX_CAPABILITIES, commandCapabilities } from '../runtime/capabilities.js';


/** A bind of the record (a volume is a bind of its directory that names it: api/volumes.ts). */
type RecordedBind = BindSpec & { volume?: string };

/** The record's binds, volumes first (as Podman lists them), each group in the order given. */
function bindsOf(request: RunRequest): RecordedBind[] {
  const binds = request.volumes.filter((v): v is RecordedBind => v.kind === 'bind');
  return [...binds.filter((v) => v.volume), ...binds.filter((v) => !v.volume)];
}

/** `Mounts`, in Docker's shape (as Podman: binds and volumes; tmpfs mounts are in HostConfig.Tmpfs). */
export function inspectMounts(request: RunRequest): object[] {
  return bindsOf(request).map((v) => ({
    Type: v.volume ? 'volume' : 'bind',
    ...(v.volume ? { Name: v.volume } : {}),
    Source: v.source,
    Destination: v.target,
    Driver: v.volume ? 'local' : '',
    Mode: '',
    Options: [v.nonRecursive ? 'bind' : 'rbind'],
    RW: !v.readOnly,
    Propagation: v.propagation ?? 'rprivate',
  }));
}

/** HostConfig.Binds as Podman writes them: `SOURCE:DEST:OPTIONS` (a volume by its name; a propagation given leads). */
function binds(request: RunRequest): string[] {
  return bindsOf(request).map((v) => {
    const rw = v.readOnly ? 'ro' : 'rw';
    const options = v.propagation ? [v.propagation, rw] : [rw, 'rprivate'];
    return `${v.volume ?? v.source}:${v.target}:${[...options, v.nonRecursive ? 'bind' : 'rbind'].join(',')}`;
  });
}

/** `HostConfig`: what the run options asked for, in Docker's names. */
export function inspectHostConfig(record: SandboxRecord): Record<string, unknown> {
  const r = record.request;
  const restart = r.restart ?? '';
  const [policy, retries] = restart.split(':');
  return {
    Binds: binds(r),
    NetworkMode: networkDriver(r.network).inspectMode(r),
    PortBindings: portBindings(r.ports ?? []),
    RestartPolicy: { Name: policy ?? '', MaximumRetryCount: retries ? Number(retries) : 0 },
    AutoRemove: r.remove,
    ReadonlyRootfs: r.readOnly,
    CapAdd: r.capAdd,
    CapDrop: r.capDrop,
    SecurityOpt: r.securityOpt ?? [],
    GroupAdd: r.groupAdd ?? [],
    // As Podman's: the mode as given ("" for the default), the maps in ids of the default namespace (CONTAINER:HOST:SIZE).
    UsernsMode: r.userns ?? '',
    ...(record.idMappings ? { IDMappings: {
      UidMap: record.idMappings.uid.map((m) => `${m.inside}:${m.outside}:${m.count}`),
      GidMap: record.idMappings.gid.map((m) => `${m.inside}:${m.outside}:${m.count}`),
    } } : {}),
    Tmpfs: Object.fromEntries(r.tmpfs.map((t) => [t.target, t.options.join(',')])),
    Init: r.init === true,
    ContainerIDFile: r.cidFile ?? '',
    Annotations: r.annotations ?? {},
    // As Podman shows them: as given; `--dns none` (the image's resolv.conf) is not an address.
    ExtraHosts: r.addHosts ?? [],
    Dns: (r.dns ?? []).filter((d) => d !== 'none'),
    DnsSearch: r.dnsSearch ?? [],
    DnsOptions: r.dnsOptions ?? [],
    Privileged: r.privileged === true,
    Devices: (r.devices ?? []).map((d) => ({ PathOnHost: d.host, PathInContainer: d.container, CgroupPermissions: d.permissions })),
    Ulimits: inspectUlimits(r.ulimits),
    ...inspectLimits(record),
  };
}

/** HostConfig's field of each limit (ResourceLimits' names), for LimitsEnforcedBy. */
const LIMIT_FIELD: Record<string, string> = {
  memory: 'Memory', memorySwap: 'MemorySwap', memoryReservation: 'MemoryReservation', cpus: 'NanoCpus', cpuShares: 'CpuShares',
  cpuPeriod: 'CpuPeriod', cpuQuota: 'CpuQuota', cpusetCpus: 'CpusetCpus', pidsLimit: 'PidsLimit',
  memorySwappiness: 'MemorySwappiness', cpusetMems: 'CpusetMems', blkioWeight: 'BlkioWeight', blkioWeightDevice: 'BlkioWeightDevice',
  deviceReadBps: 'BlkioDeviceReadBps', deviceWriteBps: 'BlkioDeviceWriteBps', deviceReadIops: 'BlkioDeviceReadIOps', deviceWriteIops: 'BlkioDeviceWriteIOps',
  oomKillDisable: 'OomKillDisable',
};

/** Podman's per-device entries: `{ Path, Weight }` or `{ Path, Rate }`. */
function deviceEntries(list: readonly DeviceLimit[] | undefined, field: 'Weight' | 'Rate'): Record<string, unknown>[] {
  return (list ?? []).map((d) => ({ Path: d.path, [field]: d.value }));
}

/**
 * The resource limits as Podman shows them (0 / '' for none; MemorySwap twice Memory
 * unless given), and ours: `LimitsEnforcedBy`, what bounds each (cgroup-v2, cgroup-v1,
 * rlimit, or none with --unenforced-limits).
 */
export function inspectLimits(record: Pick<SandboxRecord, 'request' | 'limitMechanisms'>): Record<string, unknown> {
  const l = record.request.limits ?? {};
  const period = l.cpuPeriod ?? (l.cpus !== undefined ? 100000 : 0);
  const quota = l.cpus !== undefined ? Math.round(l.cpus * period) : l.cpuQuota ?? 0;
  return {
    Memory: l.memory ?? 0,
    MemorySwap: l.memorySwap ?? (l.memory !== undefined ? 2 * l.memory : 0),
    MemoryReservation: l.memoryReservation ?? 0,
    NanoCpus: l.cpus !== undefined ? Math.round(l.cpus * 1e9) : 0,
    CpuShares: l.cpuShares ?? 0,
    CpuPeriod: period,
    CpuQuota: quota,
    CpusetCpus: l.cpusetCpus ?? '',
    PidsLimit: l.pidsLimit !== undefined && l.pidsLimit > 0 ? l.pidsLimit : 0,
    MemorySwappiness: l.memorySwappiness ?? 0, // Podman's 0 when unset
    CpusetMems: l.cpusetMems ?? '',
    BlkioWeight: l.blkioWeight ?? 0,
    BlkioWeightDevice: deviceEntries(l.blkioWeightDevice, 'Weight'),
    BlkioDeviceReadBps: deviceEntries(l.deviceReadBps, 'Rate'),
    BlkioDeviceWriteBps: deviceEntries(l.deviceWriteBps, 'Rate'),
    BlkioDeviceReadIOps: deviceEntries(l.deviceReadIops, 'Rate'),
    BlkioDeviceWriteIOps: deviceEntries(l.deviceWriteIops, 'Rate'),
    OomKillDisable: l.oomKillDisable === true,
    OomScoreAdj: record.request.oomScoreAdj ?? 0,
    CgroupParent: record.request.cgroupParent ?? '',
    LimitsEnforcedBy: Object.fromEntries(Object.entries(record.limitMechanisms ?? {}).map(([k, m]) => [LIMIT_FIELD[k] ?? k, m])),
  };
}

/** `NetworkSettings`, in Docker's shape: the address of a running sandbox on its network. */
export function inspectNetworkSettings(record: SandboxRecord, state: SandboxState, endpoints: readonly NetworkEndpoint[] = []): Record<string, unknown> {
  const mode = record.request.network;
  const running = state.status === 'running';
  const driver = networkDriver(mode);
  const address = running ? driver.addressOf?.(record.request) ?? driver.address : undefined;
  const endpoint = {
    IPAddress: address?.ip ?? '',
    IPPrefixLen: address?.prefixLen ?? 0,
    Gateway: address?.gateway ?? '',
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: '',
  };
  return {
    ...endpoint,
    Bridge: '',
    SandboxID: '',
    HairpinMode: false,
    // Docker's shape; the record's (chosen at create), running or not, as Podman.
    Ports: portBindings(record.request.ports ?? []),
    // The network namespace of the running sandbox (none for --network host: the host's).
    SandboxKey: running && mode !== 'host' && state.pid ? `/proc/${state.pid}/ns/net` : '',
    Networks: mode === 'bridge'
      ? Object.fromEntries(endpoints.map((e) => [e.network, {
        ...endpoint, ...(running ? { IPAddress: e.ip, IPPrefixLen: e.prefixLen, MacAddress: e.mac } : {}),
        Gateway: e.gateway, NetworkID: e.networkId, EndpointID: '', Aliases: e.aliases,
      }]))
      : { [mode]: { ...endpoint, NetworkID: mode, EndpointID: '', Aliases: null } },
  };
}

/**
 * Podman's EffectiveCaps and BoundingCaps: the capabilities of the sandbox's (root)
 * command by name, after --cap-add, --cap-drop and --privileged (inside its user namespace).
 */
export function inspectCapabilities(record: SandboxRecord): { EffectiveCaps: string[]; BoundingCaps: string[] } {
  const byNumber = new Map(Object.entries(LINUX_CAPABILITIES).map(([name, n]) => [n, name]));
  const names = commandCapabilities(record.request).map((n) => byNumber.get(n) ?? String(n));
  return { EffectiveCaps: names, BoundingCaps: names };
}
