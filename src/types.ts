/** Plain data shared by every layer (state, runtime, images, api, cli): requests and their parts. No behaviour, no imports. The API re-exports it. */

/** The built-in image: the host's own directories, read-only under a private writable layer. */
export const HOST_IMAGE = 'host';

export type NetworkMode = 'none' | 'host' | 'slirp4netns' | 'pasta';

export interface BindSpec {
  kind: 'bind';
  /** Absolute host path (resolved against the caller's cwd when given relative). */
  source: string;
  /** Absolute path inside the sandbox. */
  target: string;
  readOnly: boolean;
}

export interface NamedVolumeSpec {
  kind: 'volume';
  /** Volume name; empty for an anonymous volume (`-v /path`). */
  name: string;
  target: string;
  readOnly: boolean;
}

export type VolumeSpec = BindSpec | NamedVolumeSpec;

export interface TmpfsSpec {
  target: string;
  /** Mount options as given after the colon (`size=64m,mode=1777`), validated. */
  options: string[];
}

/** Everything `sandbox run` / `create` needs, already validated and normalised. */
export interface RunRequest {
  /** Image reference, `host` for the built-in image; ignored with `rootfs`. */
  image: string;
  /** `--rootfs DIR`: absolute directory used as the root (copy-on-write). */
  rootfs?: string;
  /** Arguments after the image; empty means the image's default. */
  command: string[];
  /** `--entrypoint`; an empty array clears the image's entrypoint. */
  entrypoint?: string[];
  name?: string;
  remove: boolean;
  detach: boolean;
  interactive: boolean;
  tty: boolean;
  /** Variables set explicitly, in order (`-e K=V`, `-e K` from the caller, `--env-file`). */
  env: Record<string, string>;
  workdir?: string;
  /** `UID[:GID]` or a user name to look up in the sandbox's /etc/passwd. */
  user?: string;
  hostname?: string;
  volumes: VolumeSpec[];
  tmpfs: TmpfsSpec[];
  readOnly: boolean;
  network: NetworkMode;
  capAdd: string[];
  capDrop: string[];
  noNewPrivileges: boolean;
  labels: Record<string, string>;
  /** `--restart`: `no` (default), `on-failure[:N]` or `always`, honoured by the monitor. */
  restart?: string;
  /** `--stop-signal`: the signal number `sandbox stop` sends first (default SIGTERM). */
  stopSignal?: number;
  /** `--log-opt max-size=...`: the log of a detached sandbox rotates past this many bytes. */
  logMaxSize?: number;
  /** `--pull`: when to pull the image from its registry (default `missing`). */
  pull?: 'missing' | 'always' | 'never';
  /** `--platform` for that pull. */
  platform?: string;
  /** `--tls-verify` for that pull. */
  tlsVerify?: boolean;
  /** `-q`: no pull progress. */
  quiet?: boolean;
  /** `--detach-keys`: the bytes that detach a foreground `run -it` (default ctrl-p ctrl-q; empty: none). */
  detachKeys?: number[];
  /** `--sig-proxy=false`: signals to a foreground `run` detach it instead of reaching it. */
  sigProxy?: boolean;
}
