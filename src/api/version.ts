/**
 * What `sandbox version` reports, shaped as Podman's `podman version` (its Client part; with
 * no service, the "server" is this same program). No imports: the CLI's fast path loads it.
 */
declare const __SANDBOX_VERSION__: string;

/** Go's GOARCH for Node's process.arch (Podman's OsArch is Go's words). */
export const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export const SANDBOX_VERSION = typeof __SANDBOX_VERSION__ === 'string' ? __SANDBOX_VERSION__ : 'dev';

/** Podman's version.Version fields (`{{.Client.Version}}`, `{{.Client.OsArch}}` ...), Node's in GoVersion's place. */
export interface VersionInfo {
  APIVersion: string;
  Version: string;
  NodeVersion: string;
  OsArch: string;
  Os: string;
}

export function versionInfo(): VersionInfo {
  return {
    APIVersion: SANDBOX_VERSION, Version: SANDBOX_VERSION, NodeVersion: process.version,
    OsArch: `linux/${GOARCH[process.arch] ?? process.arch}`, Os: 'linux',
  };
}
