/**
 * OCI image configs: what we write for imported rootfs tarballs, and the `--change`
 * instructions (Dockerfile syntax, as `podman import --change`). Pure.
 */
import { SandboxError } from '../errors.js';
import type { ImageRunConfig } from '../runtime/plan.js';
import type { HealthcheckSpec } from '../types.js';
import { DEFAULT_PATH } from '../runtime/plan.js';

/** The parts of the OCI image config (image-spec config.md) that we use. */
export interface OciImageConfig {
  created?: string;
  architecture: string;
  os: string;
  variant?: string;
  author?: string;
  config: {
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[];
    WorkingDir?: string;
    User?: string;
    Labels?: Record<string, string>;
    ExposedPorts?: Record<string, object>;
    StopSignal?: string;
    /** Docker's HEALTHCHECK: durations in nanoseconds. */
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; author?: string; empty_layer?: boolean }[];
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

/** One word of an ENV or LABEL argument, quotes and escapes removed. */
export interface DockerfileWord {
  /** The word's characters after quote removal. */
  text: string;
  /** Index in `text` of the first `=` that was neither quoted nor escaped, else -1. */
  eq: number;
  /** The white space that preceded the word in the input ('' for the first). */
  space: string;
}

/**
 * Splits an ENV or LABEL argument into words as a Dockerfile does: unquoted white
 * space separates words; double and single quotes group and are removed; a backslash
 * escapes the next character outside quotes, and inside double quotes only `"`, `\`
 * and `$` (other backslashes there are kept); nothing is special inside single quotes.
 * No variable expansion. Pure.
 */
export function dockerfileWords(input: string): DockerfileWord[] {
  const words: DockerfileWord[] = [];
  let i = 0;
  let space = '';
  while (i < input.length) {
    if (/\s/.test(input[i]!)) { space += input[i++]; continue; }
    let text = '';
    let eq = -1;
    while (i < input.length && !/\s/.test(input[i]!)) {
      const ch = input[i++]!;
      if (ch === '\\') {
        if (i < input.length) text += input[i++]; // a trailing backslash is dropped
      } else if (ch === "'" || ch === '"') {
        const close = ch;
        for (;;) {
          if (i >= input.length) {
            throw new SandboxError(`unterminated ${close === '"' ? 'double' : 'single'} quote in --change: ${input}`, { hint: `close the quote, or escape it as \\${close}` });
          }
          const c = input[i++]!;
          if (c === close) break;
          if (close === '"' && c === '\\' && i < input.length && (input[i] === '"' || input[i] === '\\' || input[i] === '$')) text += input[i++];
          else text += c;
        }
      } else {
        if (ch === '=' && eq < 0) eq = text.length;
        text += ch;
      }
    }
    words.push({ text, eq, space: words.length === 0 ? '' : space });
    space = '';
  }
  return words;
}

/** ENV's KEY=VALUE pairs, or the legacy `ENV KEY VALUE...` form. */
function envPairs(value: string): [string, string][] {
  const words = dockerfileWords(value);
  const invalid = () => new SandboxError(`invalid ENV in --change: ${value}`, { hint: 'use ENV KEY=VALUE' });
  const first = words[0];
  if (!first) throw invalid();
  if (first.eq < 0) {
    // Legacy form: the first word is the key, the rest of the line its value.
    if (words.length < 2 || first.text === '') throw invalid();
    return [[first.text, words.slice(1).map((w, n) => (n === 0 ? '' : w.space) + w.text).join('')]];
  }
  const pairs: [string, string][] = [];
  for (const w of words) {
    const key = w.eq > 0 ? w.text.slice(0, w.eq) : '';
    const last = pairs[pairs.length - 1];
    // A word that does not start with NAME= continues the previous value (`ENV MSG=hello world`).
    if (last && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) { last[1] += w.space + w.text; continue; }
    if (w.eq <= 0) throw invalid();
    pairs.push([key, w.text.slice(w.eq + 1)]);
  }
  return pairs;
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
        for (const [key, val] of envPairs(value)) {
          out.Env = out.Env.filter((e) => !e.startsWith(`${key}=`));
          out.Env.push(`${key}=${val}`);
        }
        break;
      }
      case 'LABEL': {
        for (const w of dockerfileWords(value)) {
          if (w.eq <= 0) throw new SandboxError(`invalid LABEL in --change: ${value}`, { hint: 'use LABEL key=value' });
          out.Labels[w.text.slice(0, w.eq)] = w.text.slice(w.eq + 1);
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

/**
 * The history entries of `--change` instructions (import, commit): one per instruction, no
 * layer, written as a builder writes a Dockerfile's (`/bin/sh -c #(nop) ENV A=1`), so that
 * `history` shows each config change as a row of its own. Follows the layer's entry.
 */
export function changeHistory(changes: readonly string[], created: string): NonNullable<OciImageConfig['history']> {
  return changes.map((change) => {
    const m = /^\s*([A-Za-z]+)(?:\s*=\s*|\s+)([\s\S]*)$/.exec(change);
    const text = m ? `${m[1]!.toUpperCase()} ${m[2]!.trim()}` : change.trim();
    return { created, created_by: `/bin/sh -c #(nop) ${text}`, empty_layer: true };
  });
}

export function newRootfsConfig(diffId: string, changes: string[], createdBy: string, now = new Date()): OciImageConfig {
  const created = now.toISOString();
  return {
    created,
    architecture: hostArchitecture(),
    os: 'linux',
    config: applyChanges({ Env: [`PATH=${DEFAULT_PATH}`] }, changes),
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: createdBy }, ...changeHistory(changes, created)],
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
    ...(c.Labels && Object.keys(c.Labels).length ? { labels: c.Labels } : {}),
    ...(c.StopSignal ? { stopSignal: c.StopSignal } : {}),
    ...(c.Healthcheck ? { healthcheck: healthcheckOfImage(c.Healthcheck) } : {}),
    ...(c.ExposedPorts && Object.keys(c.ExposedPorts).length ? { exposedPorts: Object.keys(c.ExposedPorts) } : {}),
  };
}

/** The image's Healthcheck (nanoseconds; 0 or absent: the default) as a HealthcheckSpec (ms). */
export function healthcheckOfImage(h: NonNullable<OciImageConfig['config']['Healthcheck']>): HealthcheckSpec {
  const ms = (ns: unknown) => (typeof ns === 'number' && ns > 0 ? Math.round(ns / 1e6) : undefined);
  const out: HealthcheckSpec = {};
  if (Array.isArray(h.Test) && h.Test.length && h.Test.every((w) => typeof w === 'string')) out.test = h.Test;
  const interval = ms(h.Interval), timeout = ms(h.Timeout), startPeriod = ms(h.StartPeriod);
  if (interval !== undefined) out.intervalMs = interval;
  if (timeout !== undefined) out.timeoutMs = timeout;
  if (startPeriod !== undefined) out.startPeriodMs = startPeriod;
  if (typeof h.Retries === 'number' && h.Retries > 0) out.retries = h.Retries;
  return out;
}
