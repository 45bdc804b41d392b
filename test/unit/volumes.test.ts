/** Volumes in a temp store: names, idempotent and racing creation, in-use detection, anonymous volumes, resolution to binds. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { SandboxError } from '../../src/errors.js';
import type { StorePaths } from '../../src/state/paths.js';
import type { RunRequest } from '../../src/types.js';
import { newSandboxId, writeRecord, type SandboxRecord } from '../../src/state/sandboxes.js';
import { sandboxDir } from '../../src/state/sandbox-dir.js';
import {
  checkVolumeName, createVolumeDir, readVolume, treeSize, volumeDataDir, volumeDir, volumesDir, volumesOfRequest, volumeUsers,
} from '../../src/state/volumes.js';
import {
  createVolume, inspectVolume, listVolumes, pruneVolumes, removeAnonymousVolumes, realBindSources, removeVolume, resolveVolumeMounts,
} from '../../src/api/volumes.js';
import { runRequest } from '../../src/api/index.js';
import { tempStores } from './temp-store.js';

/** A fresh, empty store. */
const store = tempStores('sandbox-volumes-');
let n = 0;

/** A sandbox record (as createSandbox writes it) whose request is `request`. */
function recordWith(paths: StorePaths, request: RunRequest, name = `sb-${n++}`): SandboxRecord {
  const id = newSandboxId();
  mkdirSync(sandboxDir(paths, id), { recursive: true });
  const record: SandboxRecord = {
    id, name, created: new Date().toISOString(), image: 'host', command: ['true'], hostname: id.slice(0, 12), request, state: { status: 'exited', exitCode: 0 },
  };
  writeRecord(paths, record);
  return record;
}

const inUse = (err: unknown, re: RegExp) => err instanceof SandboxError && err.exitCode === 125 && re.test(err.message);

describe('volume names', () => {
  it('accepts Docker\'s names and refuses the rest with 125', () => {
    for (const ok of ['data', 'a', '0', 'my_vol.1-x', 'A'.repeat(200)]) checkVolumeName(ok);
    for (const bad of ['', '-x', '.x', '_x', 'a/b', 'a b', '..', 'ä', 'a:b']) {
      assert.throws(() => checkVolumeName(bad), (e: unknown) => e instanceof SandboxError && e.exitCode === 125 && /invalid volume name/.test(e.message), bad);
    }
  });

  it('an invalid name is never looked up as a path', () => {
    const paths = store();
    assert.equal(readVolume(paths, '../containers'), undefined);
    assert.throws(() => createVolume(paths, '../escape'), SandboxError);
    assert.equal(existsSync(join(paths.data, 'escape')), false);
  });
});

describe('createVolume', () => {
  it('makes <data>/volumes/<name>/_data and volume.json', () => {
    const paths = store();
    const v = createVolume(paths, 'data', { team: 'x' });
    assert.equal(v.Name, 'data');
    assert.equal(v.Driver, 'local');
    assert.equal(v.Mountpoint, join(paths.data, 'volumes', 'data', '_data'));
    assert.deepEqual(v.Labels, { team: 'x' });
    assert.equal(v.Anonymous, false);
    assert.ok(!Number.isNaN(Date.parse(v.CreatedAt)));
    assert.ok(statSync(v.Mountpoint).isDirectory());
    assert.deepEqual(JSON.parse(readFileSync(join(volumeDir(paths, 'data'), 'volume.json'), 'utf8')), v);
    assert.deepEqual(readdirSync(volumeDir(paths, 'data')).sort(), ['_data', 'volume.json'], 'no temp file is left');
  });

  it('is idempotent: an existing name is returned as it is, its data untouched', () => {
    const paths = store();
    const first = createVolume(paths, 'data', { a: '1' });
    writeFileSync(join(first.Mountpoint, 'f'), 'kept');
    const again = createVolume(paths, 'data', { b: '2' });
    assert.deepEqual(again, first);
    assert.equal(readFileSync(join(first.Mountpoint, 'f'), 'utf8'), 'kept');
    assert.equal(listVolumes(paths).length, 1);
  });

  it('exclusive (podman volume create without --ignore): an existing name is an error, its data untouched', () => {
    const paths = store();
    const first = createVolume(paths, 'data');
    writeFileSync(join(first.Mountpoint, 'f'), 'kept');
    assert.throws(() => createVolume(paths, 'data', {}, { exclusive: true }), (e: unknown) => e instanceof SandboxError && /already exists/.test(e.message));
    assert.equal(readFileSync(join(first.Mountpoint, 'f'), 'utf8'), 'kept');
    assert.equal(createVolume(paths, 'other', {}, { exclusive: true }).Name, 'other');
  });

  it('without a name gets 64 hex digits', () => {
    const paths = store();
    const v = createVolume(paths);
    assert.match(v.Name, /^[a-f0-9]{64}$/);
    assert.equal(v.Anonymous, false, 'volume create without a name is not an anonymous (-v /path) volume');
  });

  it('a directory whose creator died before volume.json is completed by the next create', () => {
    const paths = store();
    mkdirSync(volumeDir(paths, 'half'), { recursive: true });
    const listed = readVolume(paths, 'half');
    assert.equal(listed?.Name, 'half', 'it still shows');
    const v = createVolume(paths, 'half');
    assert.equal(v.Name, 'half');
    assert.ok(statSync(volumeDataDir(paths, 'half')).isDirectory());
    assert.ok(existsSync(join(volumeDir(paths, 'half'), 'volume.json')));
  });

  it('racing creators (processes): exactly one creates, all get the same volume', async () => {
    const paths = store();
    const goAt = Date.now() + 1500;
    const code = `
      const m = require(${JSON.stringify(join(__dirname, '../../src/state/volumes.ts'))});
      while (Date.now() < ${goAt}) {}
      const r = m.createVolumeDir(${JSON.stringify(paths)}, 'race');
      process.stdout.write(JSON.stringify({ created: r.created, at: r.volume.CreatedAt }));`;
    const all = await Promise.all(Array.from({ length: 6 }, () => new Promise<{ created: boolean; at: string }>((res, rej) => {
      execFile(process.execPath, ['--import', 'tsx', '-e', code], (err, stdout) => (err ? rej(err) : res(JSON.parse(stdout))));
    })));
    assert.equal(all.filter((r) => r.created).length, 1, JSON.stringify(all));
    assert.equal(new Set(all.map((r) => r.at)).size, 1, 'all see the same volume');
  });
});

describe('in use', () => {
  it('a record referring to the volume (unresolved or resolved) makes it in use; running or not', () => {
    const paths = store();
    createVolume(paths, 'a');
    createVolume(paths, 'b');
    createVolume(paths, 'c');
    recordWith(paths, runRequest('host', [], { volumes: [{ kind: 'volume', name: 'a', target: '/a', readOnly: false }] }), 'user-a');
    recordWith(paths, resolveVolumeMounts(paths, runRequest('host', [], { volumes: [{ kind: 'volume', name: 'b', target: '/b', readOnly: true }] })), 'user-b');
    recordWith(paths, runRequest('host', [], { volumes: [{ kind: 'bind', source: '/srv/c', target: '/c', readOnly: false }] }));
    const users = volumeUsers(paths);
    assert.deepEqual([...users.keys()].sort(), ['a', 'b']);
    assert.deepEqual(users.get('b')?.map((r) => r.name), ['user-b']);
  });

  it('a bind of a volume\'s _data given by path counts too', () => {
    const paths = store();
    const v = createVolume(paths, 'p');
    assert.deepEqual(volumesOfRequest(paths, { volumes: [{ kind: 'bind', source: v.Mountpoint, target: '/p', readOnly: false }] }), ['p']);
    assert.deepEqual(volumesOfRequest(paths, { volumes: [{ kind: 'bind', source: join(v.Mountpoint, 'sub'), target: '/p', readOnly: false }] }), []);
  });

  it('removeVolume refuses a volume in use (125, the sandbox named in the message and hint), then works once it is gone', async () => {
    const paths = store();
    createVolume(paths, 'data');
    const rec = recordWith(paths, resolveVolumeMounts(paths, runRequest('host', [], { volumes: [{ kind: 'volume', name: 'data', target: '/d', readOnly: false }] })), 'web');
    await assert.rejects(removeVolume(paths, 'data'), (e: unknown) => {
      assert.ok(inUse(e, /^volume data is in use by sandbox web \([a-f0-9]{12}\)$/), String(e));
      assert.equal((e as SandboxError).hint, 'remove that sandbox first: sandbox rm web');
      return true;
    });
    await assert.rejects(removeVolume(paths, 'data', { force: true }), SandboxError, '-f does not remove a volume in use');
    rmSync(sandboxDir(paths, rec.id), { recursive: true });
    await removeVolume(paths, 'data');
    assert.equal(readVolume(paths, 'data'), undefined);
    assert.deepEqual(readdirSync(volumesDir(paths)), [], 'nothing left, not even the hidden removal dir');
  });

  it('removeVolume of a missing volume: 125 without -f, nothing with -f', async () => {
    const paths = store();
    await assert.rejects(removeVolume(paths, 'nope'), (e: unknown) => e instanceof SandboxError && e.message === 'no such volume: nope');
    await removeVolume(paths, 'nope', { force: true });
    assert.throws(() => inspectVolume(paths, 'nope'), /no such volume: nope/);
  });
});

describe('resolveVolumeMounts', () => {
  it('named volumes become binds of _data (created on first use), binds stay, the input is untouched', () => {
    const paths = store();
    const req = runRequest('host', [], {
      volumes: [
        { kind: 'bind', source: '/srv', target: '/srv', readOnly: true },
        { kind: 'volume', name: 'data', target: '/data', readOnly: false },
        { kind: 'volume', name: 'data', target: '/again', readOnly: true },
      ],
    });
    const copy = structuredClone(req);
    const out = resolveVolumeMounts(paths, req);
    assert.deepEqual(req, copy);
    assert.deepEqual(out.volumes, [
      { kind: 'bind', source: '/srv', target: '/srv', readOnly: true },
      { kind: 'bind', source: volumeDataDir(paths, 'data'), target: '/data', readOnly: false, volume: 'data' },
      { kind: 'bind', source: volumeDataDir(paths, 'data'), target: '/again', readOnly: true, volume: 'data' },
    ]);
    assert.equal(listVolumes(paths).length, 1);
    assert.ok(statSync(volumeDataDir(paths, 'data')).isDirectory());
  });

  it('each -v /path gets a fresh anonymous volume, named in the result', () => {
    const paths = store();
    const out = resolveVolumeMounts(paths, runRequest('host', [], {
      volumes: [{ kind: 'volume', name: '', target: '/a', readOnly: false }, { kind: 'volume', name: '', target: '/b', readOnly: false }],
    }));
    const names = out.volumes.map((v) => (v as { volume?: string }).volume);
    assert.equal(names.length, 2);
    for (const name of names) {
      assert.match(name ?? '', /^[a-f0-9]{64}$/);
      assert.equal(inspectVolume(paths, name!).Anonymous, true);
    }
    assert.notEqual(names[0], names[1]);
  });

  it('a request without volumes is returned as it is, and makes no volumes directory', () => {
    const paths = store();
    const req = runRequest('host');
    assert.equal(resolveVolumeMounts(paths, req), req);
    assert.equal(existsSync(volumesDir(paths)), false);
  });
});

describe('removeAnonymousVolumes and prune', () => {
  it('rm -v removes the anonymous volumes only, and not one another sandbox still uses', async () => {
    const paths = store();
    const req = resolveVolumeMounts(paths, runRequest('host', [], {
      volumes: [{ kind: 'volume', name: '', target: '/anon', readOnly: false }, { kind: 'volume', name: 'named', target: '/n', readOnly: false }],
    }));
    const anon = (req.volumes[0] as unknown as { volume: string }).volume;
    const other = recordWith(paths, req);
    assert.deepEqual(await removeAnonymousVolumes(paths, req), [], 'still used by the other record');
    rmSync(sandboxDir(paths, other.id), { recursive: true });
    assert.deepEqual(await removeAnonymousVolumes(paths, req), [anon]);
    assert.deepEqual(listVolumes(paths).map((v) => v.Name), ['named']);
  });

  it('prune removes the unused volumes, named and anonymous, and says how much space came back', async () => {
    const paths = store();
    const used = createVolume(paths, 'used');
    const idle = createVolume(paths, 'idle');
    writeFileSync(join(idle.Mountpoint, 'f'), 'x'.repeat(1234));
    mkdirSync(join(idle.Mountpoint, 'd'));
    writeFileSync(join(idle.Mountpoint, 'd', 'g'), 'y'.repeat(10));
    assert.equal(treeSize(idle.Mountpoint), 1244);
    const anon = resolveVolumeMounts(paths, runRequest('host', [], { volumes: [{ kind: 'volume', name: '', target: '/x', readOnly: false }] }));
    recordWith(paths, runRequest('host', [], { volumes: [{ kind: 'bind', source: used.Mountpoint, target: '/u', readOnly: false, volume: 'used' } as never] }));
    // A removal killed half-way left a hidden directory.
    mkdirSync(join(volumesDir(paths), '.removing-old-0000', '_data'), { recursive: true });
    const r = await pruneVolumes(paths);
    assert.deepEqual(r.removed.sort(), ['idle', (anon.volumes[0] as unknown as { volume: string }).volume].sort());
    assert.equal(r.reclaimed, 1244, 'the files in _data, as Docker');
    assert.deepEqual(readdirSync(volumesDir(paths)), ['used']);
  });
});

describe('realBindSources: bind sources with their symlinks resolved', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-binds-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const request = (...sources: string[]) => ({ volumes: sources.map((source, i) => ({ kind: 'bind' as const, source, target: `/t${i}`, readOnly: false })) }) as unknown as RunRequest;

  it('resolves absolute and relative symlinks, of directories and files, on the way and at the end (volumes too)', () => {
    mkdirSync(join(dir, 'real', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'real', 'sub', 'f'), 'x');
    symlinkSync(join(dir, 'real'), join(dir, 'abs'));
    symlinkSync('real/sub/f', join(dir, 'rel-file'));
    const out = realBindSources(request(join(dir, 'abs', 'sub'), join(dir, 'rel-file'), join(dir, 'real')));
    assert.deepEqual(out.volumes.map((v) => (v as { source: string }).source),
      [join(realpathSync(dir), 'real', 'sub'), join(realpathSync(dir), 'real', 'sub', 'f'), join(realpathSync(dir), 'real')]);
    const noBinds = { volumes: [] } as unknown as RunRequest;
    assert.equal(realBindSources(noBinds), noBinds);
  });

  it('a missing source, or a dangling symlink, is one line naming it', () => {
    assert.throws(() => realBindSources(request(join(dir, 'nope'))), (e: unknown) => e instanceof SandboxError && e.message === `bind source ${join(dir, 'nope')}: no such file or directory`);
    symlinkSync(join(dir, 'gone'), join(dir, 'dangling'));
    assert.throws(() => realBindSources(request(join(dir, 'dangling'))), /bind source .*dangling: no such file or directory \(a symlink to .*gone, which does not exist\)/);
  });
});
