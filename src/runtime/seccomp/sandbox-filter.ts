/**
 * A sandbox's seccomp filter: which profile its request asks for, its rules (written into
 * the sandbox's directory at create, so that a profile file changed or removed later does
 * not change the sandbox), and the plan words with which helpers/launch/seccomp.c compiles
 * them once (into the sandbox's seccomp.bpf, through the store's cache) and applies them to
 * the command of every start and every exec.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { SandboxError } from '../../errors.js';
import type { RunRequest } from '../../types.js';
import type { StorePaths } from '../../state/paths.js';
import { effectiveCapabilities, LINUX_CAPABILITIES } from '../capabilities.js';
import { Flag } from '../protocol.js';
import { defaultProfile, DEFAULT_PROFILE_REVISION } from './default-profile.js';
import { parseSeccompProfile, seccompRules, SeccompProfileError } from './profile.js';

/** In the sandbox's directory: the rules (text) and the compiled filter (BPF). */
export const SECCOMP_RULES_FILE = 'seccomp.rules';
export const SECCOMP_BPF_FILE = 'seccomp.bpf';

type SeccompRequest = Pick<RunRequest, 'seccomp' | 'capAdd' | 'capDrop'> & { privileged?: boolean };

/** The profile the sandbox runs under: `default`, a profile file's path, or undefined (none: unconfined, --privileged). */
export function seccompProfileOf(request: SeccompRequest): string | undefined {
  if (request.privileged) return undefined;
  const which = request.seccomp ?? 'default';
  return which === 'unconfined' ? undefined : which;
}

/** What inspect shows as the profile: the path, `default`, or `unconfined`. */
export function seccompProfileShown(request: SeccompRequest): string {
  return seccompProfileOf(request) ?? 'unconfined';
}

let byNumber: Map<number, string> | undefined;
const memo = new Map<string, string>();

/**
 * The rules of the request's profile for its capabilities; undefined when it runs without
 * a filter. A profile file is read here: a bad one is a SandboxError naming the file.
 */
export function sandboxSeccompRules(request: SeccompRequest, profileText?: { text: string; source: string }): string | undefined {
  const which = seccompProfileOf(request);
  if (which === undefined) return undefined;
  byNumber ??= new Map(Object.entries(LINUX_CAPABILITIES).map(([name, n]) => [n, name]));
  const caps = effectiveCapabilities(request.capAdd, request.capDrop).map((n) => byNumber!.get(n)!);
  const key = `${which}\0${caps.join(',')}`;
  const known = profileText ? undefined : memo.get(key);
  if (known !== undefined) return known;
  const profile = profileText ? parseProfileText(profileText.text, profileText.source) : which === 'default' ? defaultProfile() : readProfile(which);
  if (profileText) return seccompRules(profile, { caps, arch: process.arch, kernel: release() });
  const rules = seccompRules(profile, { caps, arch: process.arch, kernel: release() });
  memo.set(key, rules);
  return rules;
}

function readProfile(path: string) {
  const hint = 'give a seccomp profile in the Docker/OCI JSON format (see README: "Seccomp"), or --security-opt seccomp=unconfined';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SandboxError(`cannot read seccomp profile ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`, { hint });
  }
  return parseProfileText(text, path);
}

/** A profile's JSON text; `source` names it in the one-line error (a file, an image's label). */
function parseProfileText(text: string, source: string) {
  const hint = 'give a seccomp profile in the Docker/OCI JSON format (see README: "Seccomp"), or --security-opt seccomp=unconfined';
  try {
    return parseSeccompProfile(text);
  } catch (err) {
    if (err instanceof SeccompProfileError) throw new SandboxError(`seccomp profile ${source}: ${err.message}`, { hint });
    throw err;
  }
}

/** Keeps the rules in the sandbox's directory `dir` (create). */
export function writeSeccompRules(dir: string, rules: string): void {
  writeFileSync(join(dir, SECCOMP_RULES_FILE), rules, { mode: 0o600 });
}

/**
 * The name of a filter in the store's cache (helpers/launch/seccomp.c adds libseccomp's
 * version, its own revision and `.bpf`; the rules themselves are `NAME.rules`). The default profile's is made
 * of what its rules depend on (its revision, the architecture, the capabilities), so that a
 * start with rules seen before neither makes nor hashes them: both cost more than a
 * millisecond of a cold start. A profile file's is its rules' hash.
 */
export function seccompCacheName(paths: StorePaths, request: SeccompRequest, rules?: string): string {
  const dir = join(paths.cache, 'seccomp');
  if (seccompProfileOf(request) === 'default') {
    // The capability set as a hex mask, in two 32-bit halves (no BigInt: this runs cold at every start).
    let lo = 0, hi = 0;
    for (const n of effectiveCapabilities(request.capAdd, request.capDrop)) {
      if (n < 32) lo = (lo | (1 << n)) >>> 0;
      else hi = (hi | (1 << (n - 32))) >>> 0;
    }
    const mask = hi ? `${hi.toString(16)}${lo.toString(16).padStart(8, '0')}` : lo.toString(16);
    return join(dir, `default-r${DEFAULT_PROFILE_REVISION}-${process.arch}-${mask}`);
  }
  // node:crypto only here, when a profile file's filter is looked up: not at every command's start-up.
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return join(dir, createHash('sha256').update(rules ?? sandboxSeccompRules(request)!).digest('hex'));
}

/** `from` at `to`, a hard link through a temporary name (all or nothing); false when it cannot be. */
function linkInto(from: string, to: string): boolean {
  const tmp = `${to}.${process.pid}.tmp`;
  try {
    linkSync(from, tmp);
    renameSync(tmp, to);
    return true;
  } catch {
    try { unlinkSync(tmp); } catch { /* not made */ }
    return false;
  }
}

/**
 * The plan words of a start: the rules kept at create (or, when missing, the cache's of the
 * same name, or made now from the request: a record older than them), the filter's place,
 * and its name in the store's cache. None for a sandbox without a filter.
 */
export function seccompStartWords(paths: StorePaths, dir: string, request: SeccompRequest): string[] {
  if (seccompProfileOf(request) === undefined) return [];
  const rulesPath = join(dir, SECCOMP_RULES_FILE);
  const bpfPath = join(dir, SECCOMP_BPF_FILE);
  const kept = existsSync(rulesPath) ? readFileSync(rulesPath, 'utf8') : undefined;
  const cache = seccompCacheName(paths, request, kept);
  if (kept === undefined && !linkInto(`${cache}.rules`, rulesPath)) {
    const rules = sandboxSeccompRules(request)!;
    writeSeccompRules(dir, rules);
    try {
      mkdirSync(dirname(cache), { recursive: true, mode: 0o700 });
      linkInto(rulesPath, `${cache}.rules`);
    } catch {
      // A cache that cannot be written only costs the next sandbox the rules again.
    }
  }
  return [Flag.seccomp, rulesPath, bpfPath, cache];
}
/**
 * The plan words of an exec: the filter its sandbox's command runs under (no cache: the
 * monitor made it before the command started). None when there is none: a sandbox started
 * by a version without filters runs its command unfiltered, and so do its execs.
 */
export function seccompExecWords(dir: string, request: SeccompRequest): string[] {
  const bpf = join(dir, SECCOMP_BPF_FILE);
  if (seccompProfileOf(request) === undefined || !existsSync(bpf)) return [];
  return [Flag.seccomp, join(dir, SECCOMP_RULES_FILE), bpf, ''];
}
