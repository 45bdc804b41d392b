/**
 * A sandbox's id mode at create and at each start (runtime/userns-mode.ts has the
 * rules): the maps it gets, kept in its record; `--userns=auto`'s slice of the
 * subordinate range, allocated under a store lock from what the records hold (so a
 * slice is free again once its sandbox is removed, and never while it exists, running
 * or not); keep-id's passwd and group entries. Only sandboxes of a mode pay for any of it.
 */
import { lookupHostUser, withHostUsers } from '../runtime/host-users.js';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { RunRequest } from '../types.js';
import type { StorePaths } from '../state/paths.js';
import { SandboxError } from '../errors.js';
import { parseSubordinateIds, type IdMapping } from '../runtime/idmap.js';
import type { RootSource } from '../runtime/plan.js';
import { userIdMaps } from '../runtime/userns.js';
import {
  allocateSlice, autoMaps, autoSize, checkUserMaps, idsNamedIn, keepIdMaps, nomapMaps, parseIdMapOption, parseUsernsMode,
  subordinateNameMaps, withEntry, type AutoSlice, type SandboxIdMappings,
} from '../runtime/userns-mode.js';
import { listSandboxIds, readRecord, type SandboxRecord } from '../state/sandboxes.js';

/** How many ids the default namespace has (0 and the subordinate range). */
function defaultSize(maps: IdMapping[]): number {
  return maps.reduce((n, m) => Math.max(n, m.inside + m.count), 0);
}

/** A file of the image's root (topmost layer that has it), or ''. Whiteouts are not followed. */
export function imageFile(root: RootSource, rel: string): string {
  if (root.kind !== 'layers') return '';
  for (const lower of root.lowers) {
    const path = join(root.base && !lower.startsWith('/') ? join(root.base, lower) : lower, rel);
    try { return readFileSync(path, 'utf8'); } catch { /* the next layer down */ }
  }
  return '';
}

/**
 * The id mappings of a new sandbox of `request` (undefined for the default), and the
 * request with keep-id's default user. auto's slice is left to createWithSlice.
 */
export function planIdMappings(request: RunRequest, root: RootSource): { request: RunRequest; mappings?: SandboxIdMappings } {
  const hasMaps = !!(request.uidMap?.length || request.gidMap?.length);
  const mode = parseUsernsMode(request.userns, hasMaps);
  if (request.subuidName !== undefined || request.subgidName !== undefined) return { request, mappings: subordinateNameMappings(request) };
  if (mode.kind === 'default') return { request };
  if (request.network === 'container') {
    // A joined network's user namespace is the other sandbox's (helpers/README.md): it cannot have maps of its own.
    throw new SandboxError(`--userns/--uidmap cannot be combined with ${request.pod ? '--pod' : '--network container:'}: the sandbox shares the other's user namespace`, {
      hint: 'give the id mode to the sandbox (or pod infra) whose network is shared, or leave it out',
    });
  }
  const maps = userIdMaps();
  if (maps.degraded) {
    throw new SandboxError(`--userns=${request.userns ?? ''}${hasMaps ? '--uidmap/--gidmap' : ''} needs a subordinate id range: ${maps.degraded}`, {
      hint: 'ids other than your own come from /etc/subuid and /etc/subgid; `sandbox doctor` checks them',
    });
  }
  const uSize = defaultSize(maps.uid);
  const gSize = defaultSize(maps.gid);
  const label = hasMaps ? 'maps' : (request.userns ?? '');
  if (mode.kind === 'keep-id') {
    const uid = mode.uid ?? process.getuid!();
    const gid = mode.gid ?? process.getgid!();
    const mappings = { mode: label, uid: keepIdMaps(uid, uSize), gid: keepIdMaps(gid, gSize), keepId: { uid, gid } };
    return { request: request.user ? request : { ...request, user: `${uid}:${gid}` }, mappings };
  }
  if (mode.kind === 'nomap') return { request, mappings: { mode: label, uid: nomapMaps(uSize), gid: nomapMaps(gSize) } };
  if (mode.kind === 'maps') {
    const uid = (request.uidMap ?? request.gidMap ?? []).map((m) => parseIdMapOption(m, '--uidmap'));
    const gid = (request.gidMap ?? request.uidMap ?? []).map((m) => parseIdMapOption(m, '--gidmap'));
    checkUserMaps(uid, uSize, '--uidmap');
    checkUserMaps(gid, gSize, '--gidmap');
    return { request, mappings: { mode: label, uid, gid } };
  }
  const size = mode.size ?? autoSize(idsNamedIn(imageFile(root, 'etc/passwd'), imageFile(root, 'etc/group')));
  const total = Math.min(uSize, gSize);
  if (size > total - 1) {
    throw new SandboxError(`--userns=${request.userns}: ${size} ids asked, your subordinate range has ${total - 1}`, { hint: 'give a smaller size=' });
  }
  return { request, mappings: { mode: label, uid: [], gid: [], slice: { start: 0, size } } };
}

/**
 * --subuidname/--subgidname (Podman's: the other given defaults to the same name): the
 * named ranges of /etc/subuid and /etc/subgid as the sandbox's ids 0.., when they are the
 * caller's (newuidmap's rule).
 */
function subordinateNameMappings(request: RunRequest): SandboxIdMappings {
  if (request.network === 'container') {
    throw new SandboxError(`--subuidname/--subgidname cannot be combined with ${request.pod ? '--pod' : '--network container:'}: the sandbox shares the other's user namespace`, { hint: 'leave it out' });
  }
  const maps = userIdMaps();
  const uname = request.subuidName ?? request.subgidName!;
  const gname = request.subgidName ?? request.subuidName!;
  let caller = String(process.getuid!());
  try { caller = `${userInfo().username} or ${caller}`; } catch { /* the uid only */ }
  const rangesOf = (file: string, name: string) => parseSubordinateIds(readOr(file), { name, id: /^\d+$/.test(name) ? Number(name) : -1 });
  if (maps.degraded) throw new SandboxError(`--subuidname/--subgidname need a subordinate id range of yours: ${maps.degraded}`, { hint: 'ids other than your own come from /etc/subuid and /etc/subgid; `sandbox doctor` checks them' });
  return {
    mode: `subuidname=${uname},subgidname=${gname}`,
    uid: subordinateNameMaps(uname, rangesOf('/etc/subuid', uname), maps.uid, '--subuidname', caller),
    gid: subordinateNameMaps(gname, rangesOf('/etc/subgid', gname), maps.gid, '--subgidname', caller),
  };
}

function readOr(file: string): string {
  try { return readFileSync(file, 'utf8'); } catch { return ''; }
}

/** The slices the store's sandboxes hold. */
function takenSlices(paths: StorePaths): AutoSlice[] {
  const taken: AutoSlice[] = [];
  for (const id of listSandboxIds(paths)) {
    const slice = readRecord(paths, id)?.idMappings?.slice;
    if (slice) taken.push(slice);
  }
  return taken;
}

/**
 * Runs `create` (which writes the record); for `--userns=auto`, first allocates the
 * slice under the store's slice lock, so that two creates never take the same ids.
 */
export async function createWithSlice(paths: StorePaths, record: SandboxRecord, create: () => Promise<unknown>): Promise<void> {
  const wanted = record.idMappings?.slice;
  if (!wanted) { await create(); return; }
  const { withFileLock } = await import('../state/file-lock.js');
  const maps = userIdMaps();
  const total = Math.min(defaultSize(maps.uid), defaultSize(maps.gid));
  await withFileLock({
    dir: paths.data, lockPath: join(paths.data, 'userns-auto.lock'), staleMs: 10000, waitMs: 30000,
    busy: (cause) => new SandboxError('another command is allocating user namespace ids', { hint: 'try again in a moment', cause }),
  }, async () => {
    const slice = allocateSlice(takenSlices(paths), wanted.size, total);
    if (!slice) {
      throw new SandboxError(`--userns=auto: no ${wanted.size} free ids left in your subordinate range (sandboxes hold them until they are removed)`, {
        hint: 'remove sandboxes you no longer need (`sandbox rm`), or give a smaller --userns=auto:size=',
      });
    }
    // uidmapping=/gidmapping= (Podman's auto options): forced ranges in the slice's place.
    const mode = parseUsernsMode(record.request.userns);
    const uid = autoMaps(slice, mode.kind === 'auto' ? mode.uidMapping : undefined);
    const gid = autoMaps(slice, mode.kind === 'auto' ? mode.gidMapping : undefined);
    checkUserMaps(uid, defaultSize(maps.uid), '--userns=auto:uidmapping=');
    checkUserMaps(gid, defaultSize(maps.gid), '--userns=auto:gidmapping=');
    record.idMappings = { ...record.idMappings!, uid, gid, slice };
    await create();
  });
}

/** The file `rel` of the sandbox's root as it stands: its writable layer's, else the image's. */
function currentFile(root: RootSource, upper: string, rel: string): string {
  try { return readFileSync(join(upper, rel), 'utf8'); } catch { return imageFile(root, rel); }
}

/**
 * keep-id's /etc/passwd and /etc/group entries for the caller's ids, when the sandbox's
 * files have none, as Podman adds them (its name, home /, /bin/sh): written into the
 * writable layer, where a file of yours is root's inside (the default ids on disk), so
 * they belong to root as the image's did; commit keeps them, as Podman's.
 */
export function addKeepIdEntries(mappings: SandboxIdMappings | undefined, root: RootSource, upper: string): void {
  if (!mappings?.keepId) return;
  const { uid, gid } = mappings.keepId;
  let name = 'user';
  try { name = userInfo().username; } catch { /* keep the default */ }
  const files: [string, string][] = [
    ['etc/passwd', withEntry(currentFile(root, upper, 'etc/passwd'), uid, `${name}:*:${uid}:${gid}::/:/bin/sh`, 2)],
    ['etc/group', withEntry(currentFile(root, upper, 'etc/group'), gid, `${name}:x:${gid}:${name}`, 2)],
  ];
  for (const [rel, content] of files) writeEtcFile(root, upper, rel, content);
}

/** `rel` (etc/passwd, etc/group) of the writable layer becomes `content`, when that changes it. */
function writeEtcFile(root: RootSource, upper: string, rel: string, content: string): void {
  if (content === currentFile(root, upper, rel)) return;
  mkdirSync(join(upper, 'etc'), { recursive: true, mode: 0o755 });
  const tmp = join(upper, `${rel}.sandbox-tmp`);
  writeFileSync(tmp, content, { mode: 0o644 });
  renameSync(tmp, join(upper, rel));
}

/** `--hostuser`: the host's users added to the sandbox's /etc/passwd as Podman adds them (runtime/host-users.ts), at every start. */
export function addHostUserEntries(users: string[] | undefined, workdir: string, root: RootSource, upper: string): void {
  if (!users?.length) return;
  writeEtcFile(root, upper, 'etc/passwd', withHostUsers(currentFile(root, upper, 'etc/passwd'), users.map(lookupHostUser), workdir));
}

/** A number of the user spec, or the id `file` (passwd, group) names `name` with. */
function idOf(name: string, file: string, field = 2): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  const line = file.split('\n').find((l) => l.split(':')[0] === name);
  const id = line ? Number(line.split(':')[field]) : NaN;
  return Number.isSafeInteger(id) ? id : undefined;
}

/** The ids the command runs as inside (--user, the image's USER, keep-id's), for `:U`; names from the image's files. */
export function sandboxUserIds(request: RunRequest, imageUser: string | undefined, root: RootSource): { uid: number; gid: number } {
  const spec = request.user ?? imageUser ?? '0';
  const [user = '0', group] = spec.split(':');
  const passwd = /^\d+$/.test(user) && (group === undefined || /^\d+$/.test(group)) ? '' : imageFile(root, 'etc/passwd');
  const uid = idOf(user, passwd);
  if (uid === undefined) throw new SandboxError(`:U: the user ${user} is not in the image's /etc/passwd`, { hint: 'give --user UID:GID' });
  const primary = passwd ? idOf(user, passwd, 3) : undefined;
  const gid = group !== undefined ? idOf(group, imageFile(root, 'etc/group')) : primary ?? (/^\d+$/.test(user) ? 0 : undefined);
  if (gid === undefined) throw new SandboxError(`:U: the group ${group ?? user} is not in the image's files`, { hint: 'give --user UID:GID' });
  return { uid, gid };
}

/** The id of the default namespace that `inside` is in the sandbox (its maps, or the default ones: the same). */
function defaultNamespaceId(maps: IdMapping[] | undefined, inside: number, what: string): number {
  if (!maps) return inside;
  const m = maps.find((r) => inside >= r.inside && inside < r.inside + r.count);
  if (!m) throw new SandboxError(`:U: ${what} ${inside} is not mapped in the sandbox's user namespace`, { hint: 'run as an id the sandbox maps (-u), or leave out U' });
  return m.outside + (inside - m.inside);
}

/**
 * `-v SRC:DST:U`, `--mount ...,U`: each such bind's source (and a volume's directory) is
 * chowned, recursively, to the sandbox's user, as root of the default namespace (where its
 * ids are the sandbox's, or, nested, what they map to). As Podman, at every start.
 */
export async function chownVolumes(request: RunRequest, ids: { uid: number; gid: number }, mappings: SandboxIdMappings | undefined): Promise<void> {
  const sources = request.volumes.flatMap((v) => (v.kind === 'bind' && v.chown ? [v.source] : []));
  if (!sources.length) return;
  const uid = defaultNamespaceId(mappings?.uid, ids.uid, 'uid');
  const gid = defaultNamespaceId(mappings?.gid, ids.gid, 'gid');
  const { runInUserns } = await import('../runtime/userns.js');
  for (const src of sources) {
    await runInUserns(['chown', '-R', '-h', `${uid}:${gid}`, '--', src], {
      captureStderr: true,
      failure: (reason) => new SandboxError(`cannot chown ${src} for :U${reason ? `: ${reason}` : ''}`, { hint: 'the source must be yours (or your sandboxes\')' }),
    });
  }
}
