/**
 * `--mount type=bind|volume|tmpfs,KEY[=VALUE],...` (Podman's and Docker's syntax) into the
 * same specs as `-v` and `--tmpfs`, so the rest of the code sees one kind of mount each.
 * Pure. Keys Podman has and we cannot honour are refused one by one, with what to do.
 *
 *   parseMount('type=bind,src=./data,dst=/data,ro', ctx)  // { volume: { kind: 'bind', ... } }
 */
import { SandboxError } from '../errors.js';
import { checkName, NAME_PATTERN } from '../state/names.js';
import type { Propagation, TmpfsSpec, VolumeSpec } from '../types.js';
import { containerPath, hostPath, type PathContext } from './run-paths.js';

export type ParsedMount = { volume: VolumeSpec } | { tmpfs: TmpfsSpec };

const PROPAGATIONS: readonly Propagation[] = ['shared', 'slave', 'private', 'unbindable', 'rshared', 'rslave', 'rprivate', 'runbindable'];
const FORMAT = 'use --mount type=bind|volume|tmpfs,[src=HOST-DIR|VOLUME,]dst=/PATH[,OPTIONS], e.g. --mount type=bind,src=./data,dst=/data,ro';

/** The keys each type takes (besides type), as Podman 4 does; aliases name one meaning. */
const KEYS: Record<'bind' | 'volume' | 'tmpfs', readonly string[]> = {
  bind: ['src', 'source', 'dst', 'destination', 'target', 'ro', 'readonly', 'rw', 'readwrite', 'bind-propagation', 'bind-nonrecursive', 'relabel', 'z', 'Z', 'consistency', 'U', 'chown', 'idmap'],
  volume: ['src', 'source', 'dst', 'destination', 'target', 'ro', 'readonly', 'rw', 'readwrite', 'nocopy', 'copy', 'volume-opt', 'U', 'chown', 'idmap', 'z', 'Z', 'consistency'],
  tmpfs: ['dst', 'destination', 'target', 'ro', 'readonly', 'rw', 'readwrite', 'tmpfs-size', 'tmpfs-mode', 'tmpcopyup', 'notmpcopyup', 'U', 'chown'],
};

/** `512m`, `1G`, `64MiB`, `4096` -> bytes (Podman's RAMInBytes), or undefined. */
export function parseSize(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(value.trim());
  if (!m) return undefined;
  const unit = 1024 ** ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

function boolValue(key: string, value: string | undefined, invalid: (why: string, hint?: string) => SandboxError): boolean {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`${key} takes true or false, not ${JSON.stringify(value)}`, `e.g. ${key}=true, or ${key} alone`);
}

/** One `--mount` value. */
export function parseMount(spec: string, ctx: PathContext): ParsedMount {
  const invalid = (why: string, hint = FORMAT) => new SandboxError(`invalid --mount ${JSON.stringify(spec)}: ${why}`, { hint });
  const fields = new Map<string, string | undefined>();
  let type: string | undefined;
  for (const field of spec.split(',')) {
    if (field === '') throw invalid('an empty field');
    const eq = field.indexOf('=');
    const key = eq < 0 ? field : field.slice(0, eq);
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (key === 'type') {
      if (type !== undefined) throw invalid('type= given twice');
      type = value ?? '';
      continue;
    }
    const canonical = { source: 'src', destination: 'dst', target: 'dst', readonly: 'ro', readwrite: 'rw', chown: 'U' }[key] ?? key;
    if (fields.has(canonical) && canonical !== 'volume-opt') throw invalid(`${key} given twice`);
    fields.set(canonical, value);
  }
  if (type === undefined) throw invalid('no type=');
  if (type === 'image' || type === 'devpts' || type === 'glob') {
    throw invalid(`type=${type} is not supported yet`, 'meanwhile: type=bind of a host directory (an image\'s files: `sandbox mount`, or `sandbox cp` them out), or type=tmpfs');
  }
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') throw invalid(`unknown type ${JSON.stringify(type)}`, 'type is bind, volume or tmpfs');
  if (type === 'tmpfs' && fields.has('src')) throw invalid('a tmpfs takes no source', 'leave src= out: --mount type=tmpfs,dst=/PATH[,tmpfs-size=N][,tmpfs-mode=M]');
  const allowed = KEYS[type];
  for (const key of fields.keys()) {
    if (!allowed.includes(key)) {
      throw invalid(`unknown option ${JSON.stringify(key)} for type=${type}`, `type=${type} takes ${allowed.filter((k) => !['source', 'destination', 'target', 'readonly', 'readwrite', 'chown'].includes(k)).join(', ')}`);
    }
  }
  const own = fields.has('U') && boolValue('U', fields.get('U'), invalid) ? { chown: true } : {};
  if (fields.has('idmap') && boolValue('idmap', fields.get('idmap'), invalid)) {
    throw invalid('idmap (an id-mapped mount) is not supported yet', 'meanwhile: a plain bind; files you own appear as root\'s inside');
  }
  // SELinux relabelling: no labels here (as -v's z and Z); Docker's consistency is ignored as Docker does.
  for (const key of ['relabel', 'z', 'Z', 'consistency']) fields.delete(key);

  const dstValue = fields.get('dst');
  if (dstValue === undefined || dstValue === '') throw invalid('no destination (dst=/PATH)');
  const target = containerPath(dstValue, '--mount destination', FORMAT);
  if (target === '/') throw invalid('cannot mount over "/"');
  let readOnly = false;
  if (fields.has('ro')) readOnly = boolValue('ro', fields.get('ro'), invalid);
  if (fields.has('rw')) {
    if (fields.has('ro')) throw invalid('both ro and rw', 'give one of them');
    readOnly = !boolValue('rw', fields.get('rw'), invalid);
  }
  const src = fields.get('src');

  if (type === 'tmpfs') {
    if (fields.has('tmpcopyup') && fields.has('notmpcopyup')) throw invalid('both tmpcopyup and notmpcopyup', 'give one of them (tmpcopyup is the default)');
    // As Podman: what the image has at the mount point is copied in, unless notmpcopyup.
    const options = [readOnly ? 'ro' : 'rw', 'nosuid', 'nodev', fields.has('notmpcopyup') ? 'notmpcopyup' : 'tmpcopyup'];
    const size = fields.get('tmpfs-size');
    if (fields.has('tmpfs-size')) {
      const bytes = size === undefined ? undefined : parseSize(size);
      if (bytes === undefined) throw invalid(`bad tmpfs-size ${JSON.stringify(size ?? '')}`, 'a size in bytes, or with a unit: tmpfs-size=64m, 1g');
      options.push(`size=${bytes}`);
    }
    if (fields.has('tmpfs-mode')) {
      const mode = fields.get('tmpfs-mode') ?? '';
      if (!/^[0-7]{1,4}$/.test(mode)) throw invalid(`bad tmpfs-mode ${JSON.stringify(mode)}`, 'an octal mode, e.g. tmpfs-mode=1777 or 700');
      options.push(`mode=${mode}`);
    }
    return { tmpfs: { target, options, ...own } };
  }

  if (type === 'volume') {
    if (fields.has('volume-opt')) {
      throw invalid('volume-opt is not supported: volumes here are plain directories of the store (no volume drivers)', 'leave it out; for a tmpfs use type=tmpfs, for a host directory type=bind');
    }
    if (fields.has('copy') && boolValue('copy', fields.get('copy'), invalid)) {
      throw invalid('copy is not supported yet: a new volume starts empty here', 'leave it out (nocopy is what happens)');
    }
    if (src !== undefined && src !== '' && !NAME_PATTERN.test(src)) {
      throw invalid(`${JSON.stringify(src)} is not a volume name`, 'a volume name matches [a-zA-Z0-9][a-zA-Z0-9_.-]*; for a host directory use type=bind');
    }
    return { volume: { kind: 'volume', name: src ? checkName(src, 'volume') : '', target, readOnly, ...own } };
  }

  if (src === undefined || src === '') throw invalid('a bind needs a source (src=HOST-PATH)');
  const volume: VolumeSpec = { kind: 'bind', source: hostPath(src, ctx, `--mount ${spec}`), target, readOnly, ...own };
  if (fields.has('bind-propagation')) {
    const p = fields.get('bind-propagation') ?? '';
    if (!(PROPAGATIONS as readonly string[]).includes(p)) throw invalid(`unknown bind-propagation ${JSON.stringify(p)}`, `one of ${PROPAGATIONS.join(', ')}`);
    volume.propagation = p as Propagation;
  }
  if (fields.has('bind-nonrecursive') && boolValue('bind-nonrecursive', fields.get('bind-nonrecursive'), invalid)) volume.nonRecursive = true;
  return { volume };
}
