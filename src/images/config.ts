/**
 * OCI image configs: what we write for imported rootfs tarballs, and the `--change`
 * instructions (Dockerfile syntax, as `podman import --change`). Pure.
 */
import { SandboxError } from '../errors.js';
import type { ImageRunConfig } from '../runtime/plan.js';
import { DEFAULT_PATH } from '../runtime/plan.js';

/** The parts of the OCI image config (image-spec config.md) that we use. */
export interface OciImageConfig {
  created?: string;
  architecture: string;
  os: string;
  config: {
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[];
    WorkingDir?: string;
    User?: string;
    Labels?: Record<string, string>;
    ExposedPorts?: Record<string, object>;
    StopSignal?: string;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

export function hostArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

/** JSON array form `["a","b"]`, else the shell form `sh -c "..."`, as Dockerfiles do. */
function commandValue(value: string): string[] {
  const v = value.trim();
  if (v.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
    } catch { /* fall through to the error */ }
    throw new SandboxError(`invalid JSON array in --change: ${value}`, { hint: `write it as ["prog", "arg"]` });
  }
  return ['/bin/sh', '-c', v];
}

/** Applies `--change` instructions (`CMD ["sh"]`, `CMD=sh`, `ENV K=V`, ...) to a config. */
export function applyChanges(config: OciImageConfig['config'], changes: string[]): OciImageConfig['config'] {
  const out = { ...config, Env: [...(config.Env ?? [])], Labels: { ...(config.Labels ?? {}) } };
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s*=\s*|\s+)([\s\S]*)$/.exec(change);
    if (!m) throw new SandboxError(`invalid --change "${change}"`, { hint: 'use INSTRUCTION VALUE, e.g. --change \'CMD ["/bin/sh"]\'' });
    const instruction = m[1]!.toUpperCase();
    const value = m[2]!;
    switch (instruction) {
      case 'CMD': out.Cmd = commandValue(value); break;
      case 'ENTRYPOINT': out.Entrypoint = commandValue(value); break;
      case 'WORKDIR': out.WorkingDir = value.trim(); break;
      case 'USER': out.User = value.trim(); break;
      case 'STOPSIGNAL': out.StopSignal = value.trim(); break;
      case 'ENV': {
        for (const pair of value.trim().split(/\s+(?=[A-Za-z_][A-Za-z0-9_]*=)/)) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new SandboxError(`invalid ENV in --change: ${value}`, { hint: 'use ENV KEY=VALUE' });
          const key = pair.slice(0, eq);
          out.Env = out.Env.filter((e) => !e.startsWith(`${key}=`));
          out.Env.push(pair);
        }
        break;
      }
      case 'LABEL': {
        for (const pair of value.trim().split(/\s+/)) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new SandboxError(`invalid LABEL in --change: ${value}`, { hint: 'use LABEL key=value' });
          out.Labels[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
        }
        break;
      }
      case 'EXPOSE': {
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const p of value.trim().split(/\s+/)) out.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      }
      default:
        throw new SandboxError(`unsupported --change instruction ${instruction}`, {
          hint: 'supported: CMD ENTRYPOINT ENV EXPOSE LABEL STOPSIGNAL USER WORKDIR',
        });
    }
  }
  if (Object.keys(out.Labels).length === 0) delete (out as { Labels?: unknown }).Labels;
  return out;
}

export function newRootfsConfig(diffId: string, changes: string[], createdBy: string, now = new Date()): OciImageConfig {
  const created = now.toISOString();
  return {
    created,
    architecture: hostArchitecture(),
    os: 'linux',
    config: applyChanges({ Env: [`PATH=${DEFAULT_PATH}`] }, changes),
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: createdBy }],
  };
}

export function runConfigOf(config: OciImageConfig): ImageRunConfig {
  const c = config.config ?? {};
  return {
    env: c.Env ?? [],
    ...(c.Entrypoint ? { entrypoint: c.Entrypoint } : {}),
    ...(c.Cmd ? { cmd: c.Cmd } : {}),
    ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
    ...(c.User ? { user: c.User } : {}),
  };
}
