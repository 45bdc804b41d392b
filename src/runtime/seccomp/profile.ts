/**
 * Seccomp profiles in the Docker/OCI format (`--security-opt seccomp=FILE`, and our own
 * default, default-profile.ts): reading one (with one-line errors naming the problem),
 * and resolving it for one sandbox (its capabilities, the host's architecture and kernel)
 * into the rules file helpers/launch/seccomp.c compiles with libseccomp. Pure: the file's
 * text comes in, the rules' text goes out.
 *
 * What is read, as Podman reads it: defaultAction, defaultErrnoRet (or defaultErrno by
 * name), architectures or archMap, syscalls[] with name or names, action, errnoRet (or
 * errno by name), args (index, value, valueTwo, op) and includes/excludes by caps, arches
 * and minKernel; unknown keys are ignored, as by Docker. What is refused: SCMP_ACT_NOTIFY
 * and listenerPath (a seccomp agent), and flags.
 */
import { constants } from 'node:os';

export type SeccompAction =
  | 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO' | 'SCMP_ACT_KILL' | 'SCMP_ACT_KILL_THREAD' | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_TRAP' | 'SCMP_ACT_TRACE' | 'SCMP_ACT_LOG';

export type SeccompOp = 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

export interface SeccompArg {
  index: number;
  /** For SCMP_CMP_MASKED_EQ the mask; 64-bit values beyond 2^53 come as bigint. */
  value: number | bigint;
  valueTwo?: number | bigint;
  op: SeccompOp;
}

export interface SeccompFilter {
  caps?: string[];
  /** Go's names, as in Docker's profile: amd64, arm64, x86, x32, s390x, ... */
  arches?: string[];
  minKernel?: string;
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** SCMP_ARCH_* names. */
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  syscalls: SeccompRule[];
}

/** What a profile is resolved for. */
export interface SeccompTarget {
  /** The command's capabilities (CAP_*): its bounding set, as Podman compares. */
  caps: readonly string[];
  /** Node's process.arch. */
  arch: string;
  /** The kernel's release (os.release()), for minKernel. */
  kernel: string;
}

const ACTIONS: Record<SeccompAction, (errno: number) => string> = {
  SCMP_ACT_ALLOW: () => 'allow',
  SCMP_ACT_ERRNO: (e) => `errno:${e}`,
  SCMP_ACT_KILL: () => 'kill_thread',
  SCMP_ACT_KILL_THREAD: () => 'kill_thread',
  SCMP_ACT_KILL_PROCESS: () => 'kill_process',
  SCMP_ACT_TRAP: () => 'trap',
  SCMP_ACT_TRACE: (e) => `trace:${e}`,
  SCMP_ACT_LOG: () => 'log',
};

const OPS: Record<SeccompOp, string> = {
  SCMP_CMP_NE: 'ne', SCMP_CMP_LT: 'lt', SCMP_CMP_LE: 'le', SCMP_CMP_EQ: 'eq', SCMP_CMP_GE: 'ge', SCMP_CMP_GT: 'gt', SCMP_CMP_MASKED_EQ: 'masked_eq',
};

/** Node's process.arch -> [libseccomp's SCMP_ARCH_* of it, Go's name of it (Docker's includes.arches)]. */
const NATIVE: Record<string, [string, string]> = {
  x64: ['SCMP_ARCH_X86_64', 'amd64'], ia32: ['SCMP_ARCH_X86', 'x86'], arm64: ['SCMP_ARCH_AARCH64', 'arm64'],
  arm: ['SCMP_ARCH_ARM', 'arm'], s390x: ['SCMP_ARCH_S390X', 's390x'], ppc64: ['SCMP_ARCH_PPC64LE', 'ppc64le'],
  riscv64: ['SCMP_ARCH_RISCV64', 'riscv64'], mips: ['SCMP_ARCH_MIPS', 'mips'], mipsel: ['SCMP_ARCH_MIPSEL', 'mipsle'],
  loong64: ['SCMP_ARCH_LOONGARCH64', 'loong64'],
};

const ARCHES = new Set([
  'SCMP_ARCH_NATIVE', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64',
]);

/** A profile's problem; the caller names the file. */
export class SeccompProfileError extends Error {}

const U64_MAX = (1n << 64n) - 1n;

/**
 * JSON.parse, except that integers too long for a double (masks like
 * 18446744073709551615) become decimal strings first, so that no bit of an argument
 * value is lost on the way.
 */
function parseJsonKeepingBigInts(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+/.exec(text.slice(i))![0];
      out += m.length > 15 ? `"${m}"` : m;
      i += m.length;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new SeccompProfileError(`${what} must be a list of strings`);
  return v as string[];
}

function errnoValue(number: unknown, name: unknown, what: string): number | undefined {
  if (typeof name === 'string' && name !== '') {
    const n = /^[0-9]+$/.test(name) ? Number(name) : (constants.errno as Record<string, number>)[name];
    if (n === undefined) throw new SeccompProfileError(`${what}: unknown errno ${JSON.stringify(name)}`);
    return n;
  }
  if (number === undefined || number === null) return undefined;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > 4095) throw new SeccompProfileError(`${what} must be an errno number (0-4095)`);
  return number;
}

function argValue(v: unknown, what: string): number | bigint {
  if (v === undefined || v === null) return 0;
  const big = typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : typeof v === 'string' && /^[0-9]+$/.test(v) ? BigInt(v) : undefined;
  if (big === undefined || big < 0n || big > U64_MAX) throw new SeccompProfileError(`${what} must be an unsigned 64-bit integer`);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function filterOf(v: unknown, what: string): SeccompFilter | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new SeccompProfileError(`${what} must be an object`);
  const caps = stringList(v.caps, `${what}.caps`);
  const arches = stringList(v.arches, `${what}.arches`);
  if (v.minKernel !== undefined && v.minKernel !== '' && (typeof v.minKernel !== 'string' || !/^\d+\.\d+/.test(v.minKernel))) {
    throw new SeccompProfileError(`${what}.minKernel must be a kernel version such as "4.8"`);
  }
  return { ...(caps ? { caps } : {}), ...(arches ? { arches } : {}), ...(typeof v.minKernel === 'string' && v.minKernel ? { minKernel: v.minKernel } : {}) };
}

function action(v: unknown, what: string): SeccompAction {
  if (v === 'SCMP_ACT_NOTIFY') throw new SeccompProfileError(`${what}: SCMP_ACT_NOTIFY needs a seccomp agent (listenerPath), which sandbox does not run`);
  if (typeof v !== 'string' || !Object.prototype.hasOwnProperty.call(ACTIONS, v)) {
    throw new SeccompProfileError(`${what} ${JSON.stringify(v)} is not one of ${Object.keys(ACTIONS).join(', ')}`);
  }
  return v as SeccompAction;
}

/** Reads a profile's JSON text; throws SeccompProfileError saying what is wrong and where. */
export function parseSeccompProfile(text: string): SeccompProfile {
  let json: unknown;
  try {
    json = parseJsonKeepingBigInts(text);
  } catch (err) {
    throw new SeccompProfileError(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(json)) throw new SeccompProfileError('not a JSON object');
  if (json.defaultAction === undefined) throw new SeccompProfileError('it has no defaultAction');
  const defaultAction = action(json.defaultAction, 'defaultAction');
  const defaultErrnoRet = errnoValue(json.defaultErrnoRet, json.defaultErrno, 'defaultErrnoRet');
  if (typeof json.listenerPath === 'string' && json.listenerPath) throw new SeccompProfileError('listenerPath (a seccomp agent) is not supported');
  const flags = stringList(json.flags, 'flags');
  if (flags?.length) throw new SeccompProfileError(`flags (${flags.join(', ')}) are not supported`);
  const architectures = stringList(json.architectures, 'architectures');
  if (architectures?.length && Array.isArray(json.archMap) && json.archMap.length) throw new SeccompProfileError('both architectures and archMap are given: use one');
  let archMap: SeccompProfile['archMap'];
  if (json.archMap !== undefined && json.archMap !== null) {
    if (!Array.isArray(json.archMap)) throw new SeccompProfileError('archMap must be a list');
    archMap = json.archMap.map((a, i) => {
      if (!isObject(a) || typeof a.architecture !== 'string') throw new SeccompProfileError(`archMap[${i}] needs an architecture`);
      return { architecture: a.architecture, subArchitectures: stringList(a.subArchitectures, `archMap[${i}].subArchitectures`) ?? [] };
    });
  }
  for (const a of [...(architectures ?? []), ...(archMap ?? []).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])])]) {
    if (!ARCHES.has(a)) throw new SeccompProfileError(`unknown architecture ${JSON.stringify(a)} (SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, ...)`);
  }
  if (json.syscalls !== undefined && json.syscalls !== null && !Array.isArray(json.syscalls)) throw new SeccompProfileError('syscalls must be a list');
  const syscalls = ((json.syscalls ?? []) as unknown[]).map((s, i): SeccompRule => {
    const where = `syscalls[${i}]`;
    if (!isObject(s)) throw new SeccompProfileError(`${where} must be an object`);
    const names = stringList(s.names, `${where}.names`);
    if (typeof s.name === 'string' && s.name && names?.length) throw new SeccompProfileError(`${where} has both name and names: use one`);
    const all = names?.length ? names : typeof s.name === 'string' && s.name ? [s.name] : [];
    if (!all.length) throw new SeccompProfileError(`${where} names no system call`);
    const bad = all.find((n) => !/^[a-z0-9_]+$/.test(n));
    if (bad !== undefined) throw new SeccompProfileError(`${where}: ${JSON.stringify(bad)} is not a system call name`);
    const act = action(s.action, `${where}.action`);
    const errnoRet = errnoValue(s.errnoRet, s.errno, `${where}.errnoRet`);
    if (s.args !== undefined && s.args !== null && !Array.isArray(s.args)) throw new SeccompProfileError(`${where}.args must be a list`);
    const args = ((s.args ?? []) as unknown[]).map((a, k): SeccompArg => {
      const w = `${where}.args[${k}]`;
      if (!isObject(a)) throw new SeccompProfileError(`${w} must be an object`);
      if (typeof a.index !== 'number' || !Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new SeccompProfileError(`${w}.index must be 0 to 5`);
      if (typeof a.op !== 'string' || !Object.prototype.hasOwnProperty.call(OPS, a.op)) throw new SeccompProfileError(`${w}.op ${JSON.stringify(a.op)} is not one of ${Object.keys(OPS).join(', ')}`);
      return { index: a.index, value: argValue(a.value, `${w}.value`), valueTwo: argValue(a.valueTwo, `${w}.valueTwo`), op: a.op as SeccompOp };
    });
    if (args.length > 6) throw new SeccompProfileError(`${where} compares more than 6 arguments`);
    const includes = filterOf(s.includes, `${where}.includes`);
    const excludes = filterOf(s.excludes, `${where}.excludes`);
    return { names: all, action: act, ...(errnoRet !== undefined ? { errnoRet } : {}), ...(args.length ? { args } : {}), ...(includes ? { includes } : {}), ...(excludes ? { excludes } : {}) };
  });
  return {
    defaultAction, ...(defaultErrnoRet !== undefined ? { defaultErrnoRet } : {}),
    ...(architectures?.length ? { architectures } : {}), ...(archMap ? { archMap } : {}), syscalls,
  };
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const [a = 0, b = 0] = kernel.split(/[.-]/).map(Number);
  const [x = 0, y = 0] = min.split('.').map(Number);
  return a > x || (a === x && b >= y);
}

/** Docker's and Podman's rule for includes/excludes: does this rule apply to the target? */
function applies(rule: SeccompRule, target: SeccompTarget, goArch: string): boolean {
  const { includes: inc, excludes: exc } = rule;
  if (exc?.arches?.includes(goArch)) return false;
  if (exc?.caps?.some((c) => target.caps.includes(c))) return false;
  if (inc?.arches?.length && !inc.arches.includes(goArch)) return false;
  if (inc?.caps?.some((c) => !target.caps.includes(c))) return false;
  if (inc?.minKernel && !kernelAtLeast(target.kernel, inc.minKernel)) return false;
  return true;
}

/** `SCMP_ARCH_X86_64` -> libseccomp's `x86_64`. */
function libseccompArch(name: string): string {
  return name.slice('SCMP_ARCH_'.length).toLowerCase();
}

/**
 * The rules file of `profile` for `target` (helpers/launch/seccomp.c reads it): the
 * default action, the ABIs filtered besides the native one, then one rule per system call
 * name, in the profile's order; a line that repeats an earlier one is left out.
 */
export function seccompRules(profile: SeccompProfile, target: SeccompTarget): string {
  const [nativeArch, goArch] = NATIVE[target.arch] ?? ['SCMP_ARCH_NATIVE', target.arch];
  // Without an errnoRet, SCMP_ACT_ERRNO is EPERM (as runc).
  const act = (a: SeccompAction, errno: number | undefined) => ACTIONS[a](errno ?? 1);
  const lines = [`default ${act(profile.defaultAction, profile.defaultErrnoRet)}`];
  const arches = profile.architectures?.length
    ? profile.architectures
    : (profile.archMap ?? []).filter((m) => m.architecture === nativeArch).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])]);
  for (const a of arches) if (a !== nativeArch && a !== 'SCMP_ARCH_NATIVE') lines.push(`arch ${libseccompArch(a)}`);
  for (const rule of profile.syscalls) {
    if (!applies(rule, target, goArch)) continue;
    const args = (rule.args ?? []).map((a) => ` ${a.index} ${OPS[a.op]} ${BigInt(a.value)} ${BigInt(a.valueTwo ?? 0)}`).join('');
    for (const name of rule.names) lines.push(`rule ${act(rule.action, rule.errnoRet)} ${name}${args}`);
  }
  return `${[...new Set(lines)].join('\n')}\n`;
}
