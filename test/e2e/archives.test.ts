/**
 * Issue 5, item 3: `sandbox load` and `sandbox save` (docker-archive, oci-archive). Proven
 * against the real thing: what `podman save` writes loads into us and runs; what we save
 * loads into `podman load` and runs there, with the same owners (a uid 1000 file) and
 * modes (a setuid file) on both sides. A truncated or corrupt archive is a one-line error
 * that leaves no image and no blob behind. Run as the unprivileged test user.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { buildTar, file, readTar } from './layer-tar.js';
import { newPodman } from './podman.js';
import { APP_GID, APP_UID, OWNED_FILE_CONTENT, SETUID_PATH, busyboxRootfsTar } from './fixtures.js';
import {
  SANDBOX_BIN, asUser, importImage, lines, newStore, newUserDir, requireNoProblems, requireRootless, runSandbox, show, testUser,
  type RunResult,
} from './harness.js';

const CHECK_SCRIPT = [
  `stat -c '%u:%g %A %n' /home/app /home/app/owned ${SETUID_PATH}`,
  'cat /home/app/owned',
].join('; ');

function assertBusybox(r: RunResult, where: string): void {
  assert.equal(r.code, 0, `${where}:\n${show(r)}`);
  const out = lines(r.stdout);
  assert.equal(out[0], `${APP_UID}:${APP_GID} drwxr-xr-x /home/app`, `${where}:\n${show(r)}`);
  assert.equal(out[1], `${APP_UID}:${APP_GID} -rw-r--r-- /home/app/owned`, `${where}:\n${show(r)}`);
  assert.equal(out[2], `0:0 -rwsr-xr-x ${SETUID_PATH}`, `${where}: the setuid bit is kept:\n${show(r)}`);
  assert.equal(`${out.slice(3).join('\n')}\n`, OWNED_FILE_CONTENT, `${where}:\n${show(r)}`);
}

function assertErrorWithHint(r: RunResult): void {
  assert.equal(r.code, 125, show(r));
  const l = lines(r.stderr);
  assert.equal(l.length, 2, `two lines on stderr:\n${show(r)}`);
  assert.match(l[0] ?? '', /^sandbox: \S/, show(r));
  assert.match(l[1] ?? '', /^hint: \S/, show(r));
}

function runIn(root: string, args: string[]): Promise<RunResult> {
  return runSandbox(['run', '--rm', '--network', 'none', ...args], { root });
}

/** `sandbox load < FILE`, through a shell: stdin is the file itself. */
function loadFromStdin(root: string, file: string): Promise<RunResult> {
  return asUser('sh', ['-c', `exec "$1" load < "$2"`, 'sh', SANDBOX_BIN, file], { root });
}

/** A file the test user owns, in a directory of its own. */
async function userFile(dir: string, name: string, data: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  const u = testUser();
  if (u.switchUser) await chown(path, u.uid, u.gid);
  return path;
}

function imageTags(root: string): Record<string, string> {
  const p = join(root, 'data', 'images.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as { tags?: Record<string, string> }).tags ?? {} : {};
}

function dirEntries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** What a failed load may not leave: blobs, temp files, half-unpacked layers. */
function leftovers(root: string): string[] {
  return [
    ...dirEntries(join(root, 'data', 'blobs', 'sha256')).map((f) => `blob ${f}`),
    ...dirEntries(join(root, 'data', 'blobs', 'tmp')).map((f) => `temp ${f}`),
    ...dirEntries(join(root, 'data', 'layers')).filter((f) => f.startsWith('.')).map((f) => `staging ${f}`),
  ];
}

/** Offsets of the data of each regular file in a plain tar (ustar headers, no long names). */
function tarDataOffsets(tar: Buffer): Map<string, { offset: number; size: number }> {
  const out = new Map<string, { offset: number; size: number }>();
  let pos = 0;
  while (pos + 512 <= tar.length) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
    const prefix = h.subarray(345, 500).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    out.set(prefix ? `${prefix}/${name}` : name, { offset: pos + 512, size });
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
async function must(r: Promise<RunResult>, what: string): Promise<RunResult> {
  const res = await r;
  assert.equal(res.code, 0, `${what}:\n${show(res)}`);
  return res;
}

// ---------------------------------------------------------------------------------------

test('podman save (docker-archive) loads into sandbox and runs: uid 1000 owners, modes, setuid kept', async (t) => {
  if (!requireRootless(t, 'load podman docker-archive')) return;
  const podman = await newPodman(t);
  if (!podman) return;
  const root = await newStore(t);
  await must(podman(['import', await busyboxRootfsTar(), 'localhost/pbb:v1']), 'podman import');
  const archive = join(podman.dir, 'pbb.tar');
  await must(podman(['save', '-o', archive, 'localhost/pbb:v1']), 'podman save');

  const load = await runSandbox(['load', '-i', archive], { root });
  assert.equal(load.code, 0, show(load));
  assert.equal(load.stdout, 'Loaded image: localhost/pbb:v1\n', show(load));
  assertBusybox(await runIn(root, ['localhost/pbb:v1', 'sh', '-c', CHECK_SCRIPT]), 'sandbox run of the loaded image');
  assert.deepEqual(leftovers(root).filter((l) => !l.startsWith('blob')), [], 'no temp files');
});

test('podman save output on stdin: a gzip-compressed docker-archive, and an oci-archive (gzip layers)', async (t) => {
  if (!requireRootless(t, 'load podman archives from stdin')) return;
  const podman = await newPodman(t);
  if (!podman) return;
  const root = await newStore(t);
  await must(podman(['import', await busyboxRootfsTar(), 'localhost/pbb']), 'podman import');
  const docker = join(podman.dir, 'docker.tar');
  const oci = join(podman.dir, 'oci.tar');
  await must(podman(['save', '-o', docker, 'localhost/pbb']), 'podman save');
  await must(podman(['tag', 'localhost/pbb', 'localhost/pbb-oci:2']), 'podman tag');
  await must(podman(['save', '--format', 'oci-archive', '-o', oci, 'localhost/pbb-oci:2']), 'podman save --format oci-archive');
  const gz = await userFile(podman.dir, 'docker-compressed', gzipSync(readFileSync(docker)));

  const a = await loadFromStdin(root, gz);
  assert.equal(a.code, 0, show(a));
  assert.equal(a.stdout, 'Loaded image: localhost/pbb:latest\n', show(a));
  const b = await loadFromStdin(root, oci);
  assert.equal(b.code, 0, show(b));
  assert.equal(b.stdout, 'Loaded image: localhost/pbb-oci:2\n', show(b));
  assertBusybox(await runIn(root, ['localhost/pbb', 'sh', '-c', CHECK_SCRIPT]), 'run of the gzip docker-archive');
  assertBusybox(await runIn(root, ['localhost/pbb-oci:2', 'sh', '-c', CHECK_SCRIPT]), 'run of the oci-archive');

  // Its layer is stored gzip-compressed: a docker-archive gets it as the plain tar.
  const back = join(podman.dir, 'back.tar');
  const s = await runSandbox(['save', '-o', back, 'localhost/pbb-oci:2'], { root });
  assert.equal(s.code, 0, show(s));
  await must(podman(['rmi', '-a', '-f']), 'podman rmi');
  const l = await must(podman(['load', '-i', back]), 'podman load of a re-saved gzip-layer image');
  assert.match(l.stdout, /Loaded image: localhost\/pbb-oci:2/, show(l));
  assertBusybox(await podman(['run', '--rm', '--network', 'none', 'localhost/pbb-oci:2', 'sh', '-c', CHECK_SCRIPT]), 'podman run of the re-saved image');
});

test('sandbox save loads into podman load and runs there: docker-archive and oci-archive; stdout round trip', async (t) => {
  if (!requireRootless(t, 'save for podman')) return;
  const podman = await newPodman(t);
  if (!podman) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const docker = join(podman.dir, 'ours-docker.tar');
  const oci = join(podman.dir, 'ours-oci.tar');
  const s1 = await runSandbox(['save', '-o', docker, 'bb'], { root });
  assert.equal(s1.code, 0, show(s1));
  assert.equal(s1.stdout, '', 'save -o prints nothing');
  const s2 = await runSandbox(['save', '--format', 'oci-archive', '-o', oci, 'bb:latest'], { root });
  assert.equal(s2.code, 0, show(s2));

  const l1 = await must(podman(['load', '-i', docker]), 'podman load of our docker-archive');
  assert.match(l1.stdout, /Loaded image: localhost\/bb:latest/, show(l1));
  assertBusybox(await podman(['run', '--rm', '--network', 'none', 'localhost/bb', 'sh', '-c', CHECK_SCRIPT]), 'podman run of our docker-archive');

  await must(podman(['rmi', 'localhost/bb']), 'podman rmi');
  const l2 = await must(podman(['load', '-i', oci]), 'podman load of our oci-archive');
  assert.match(l2.stdout, /Loaded image: localhost\/bb:latest/, show(l2));
  assertBusybox(await podman(['run', '--rm', '--network', 'none', 'localhost/bb', 'sh', '-c', CHECK_SCRIPT]), 'podman run of our oci-archive');

  // Ours to ours through a pipe: save to stdout, load from stdin, into another store.
  const other = await newStore(t);
  const pipe = await asUser('sh', ['-c', `set -e; SANDBOX_ROOT="$3" "$1" save bb | "$1" load`, 'sh', SANDBOX_BIN, other, root], { root: other });
  assert.equal(pipe.code, 0, show(pipe));
  assert.equal(pipe.stdout, 'Loaded image: localhost/bb:latest\n', show(pipe));
  assertBusybox(await runIn(other, ['bb', 'sh', '-c', CHECK_SCRIPT]), 'sandbox run after save | load');
});

test('several images in one docker-archive: one layer written once, every tag loaded, the id for an untagged one; -q', async (t) => {
  if (!requireRootless(t, 'multi-image archives')) return;
  const root = await newStore(t);
  const tar = await busyboxRootfsTar();
  const one = await importImage(root, tar, 'one');
  const r2 = await runSandbox(['import', '--change', 'CMD ["/bin/echo", "two"]', tar, 'two:v2'], { root });
  assert.equal(r2.code, 0, show(r2));
  const two = r2.stdout.trim();
  assert.notEqual(one, two);
  const dir = await newUserDir(t, 'sandbox-e2e-archives-');
  const multi = join(dir, 'multi.tar');
  // `one` twice (by name and by id): one entry in the archive.
  const s = await runSandbox(['save', '-o', multi, 'one', 'two:v2', one.slice(7, 19)], { root });
  assert.equal(s.code, 0, show(s));
  const files = [...tarDataOffsets(readFileSync(multi)).keys()];
  assert.equal(files.filter((f) => f.endsWith('.tar')).length, 1, `the shared layer is written once: ${files.join(' ')}`);
  const manifest = JSON.parse(readFileSync(multi).subarray(tarDataOffsets(readFileSync(multi)).get('manifest.json')!.offset).toString('utf8').replace(/\0[\s\S]*$/, '')) as unknown[];
  assert.equal(manifest.length, 2, JSON.stringify(manifest));

  const fresh = await newStore(t);
  const load = await runSandbox(['load', '-q', '-i', multi], { root: fresh });
  assert.equal(load.code, 0, show(load));
  assert.deepEqual(lines(load.stdout), ['Loaded image: localhost/one:latest', 'Loaded image: localhost/two:v2'], show(load));
  assert.deepEqual(imageTags(fresh), { 'localhost/one:latest': one, 'localhost/two:v2': two }, 'the same ids as in the saving store');
  const run = await runSandbox(['run', '--rm', '--network', 'none', 'two:v2'], { root: fresh });
  assert.equal(run.code, 0, show(run));
  assert.equal(run.stdout, 'two\n', 'the config (CMD) came along');

  // Saved by id only: no tag in the archive; load prints the id.
  const byId = join(dir, 'by-id.tar');
  assert.equal((await runSandbox(['save', '-o', byId, two], { root })).code, 0);
  const third = await newStore(t);
  const l3 = await runSandbox(['load', '-i', byId], { root: third });
  assert.equal(l3.code, 0, show(l3));
  assert.equal(l3.stdout, `Loaded image: ${two}\n`, show(l3));
  const r3 = await runSandbox(['run', '--rm', '--network', 'none', two.slice(7, 19)], { root: third });
  assert.equal(r3.stdout, 'two\n', show(r3));
});

test('a truncated, corrupt or foreign archive: exit 125, one line and a hint, no image and nothing left in the store', async (t) => {
  if (!requireRootless(t, 'load of bad archives')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const dir = await newUserDir(t, 'sandbox-e2e-archives-');
  const docker = join(dir, 'good-docker.tar');
  const oci = join(dir, 'good-oci.tar');
  assert.equal((await runSandbox(['save', '-o', docker, 'bb'], { root })).code, 0);
  assert.equal((await runSandbox(['save', '--format', 'oci-archive', '-o', oci, 'bb'], { root })).code, 0);
  const good = readFileSync(docker);
  const goodOci = readFileSync(oci);

  const flip = (buf: Buffer, at: number) => { const b = Buffer.from(buf); b[at] = b[at]! ^ 0xff; return b; };
  const layerName = [...tarDataOffsets(good).keys()].find((n) => n.endsWith('.tar'))!;
  const layer = tarDataOffsets(good).get(layerName)!;
  const ociLayer = [...tarDataOffsets(goodOci).entries()].find(([n, e]) => n.startsWith('blobs/') && e.size > 100_000)!;
  const cases: [string, Buffer, RegExp][] = [
    ['truncated', good.subarray(0, Math.floor(good.length / 2)), /truncated or corrupt/],
    ['truncated gzip', gzipSync(good).subarray(0, 200_000), /truncated or corrupt/],
    ['a changed byte in a layer', flip(good, layer.offset + Math.floor(layer.size / 2)), /does not match its diff id/],
    ['a changed byte in an oci blob', flip(goodOci, ociLayer[1].offset + 1000), /does not match its digest/],
    ['no manifest.json', good.subarray(0, layer.offset + Math.ceil(layer.size / 512) * 512), /not an image archive/],
    ['a rootfs tarball', readFileSync(await busyboxRootfsTar()), /not an image archive/],
    ['not a tar at all', Buffer.from('just text\n'.repeat(300)), /truncated or corrupt/],
  ];
  for (const [what, bytes, message] of cases) {
    const fresh = await newStore(t);
    const file = await userFile(dir, `${what.replace(/\W+/g, '-')}.tar`, bytes);
    for (const r of [await runSandbox(['load', '-i', file], { root: fresh }), await loadFromStdin(fresh, file)]) {
      assertErrorWithHint(r);
      assert.match(r.stderr, message, `${what}:\n${show(r)}`);
      assert.deepEqual(imageTags(fresh), {}, `${what}: no image`);
      assert.deepEqual(leftovers(fresh), [], `${what}: nothing left in the store`);
    }
  }

  const missing = await runSandbox(['load', '-i', join(dir, 'no-such.tar')], { root });
  assertErrorWithHint(missing);
  assert.match(missing.stderr, /no such file/, show(missing));
});

test('save: refuses a terminal, an unknown image leaves no file (and an old one untouched), no temp files', async (t) => {
  if (!requireRootless(t, 'save errors')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const dir = await newUserDir(t, 'sandbox-e2e-archives-');

  const out = join(dir, 'out.tar');
  const bad = await runSandbox(['save', '-o', out, 'bb', 'nosuch'], { root });
  assertErrorWithHint(bad);
  assert.match(bad.stderr, /nosuch/, show(bad));
  assert.deepEqual(readdirSync(dir), [], 'no file, no temp file');

  await userFile(dir, 'out.tar', Buffer.from('old content'));
  const bad2 = await runSandbox(['save', '-o', out, 'nosuch'], { root });
  assertErrorWithHint(bad2);
  assert.equal(readFileSync(out, 'utf8'), 'old content', 'a failed save leaves the old file alone');
  const good = await runSandbox(['save', '-o', out, 'bb'], { root });
  assert.equal(good.code, 0, show(good));
  assert.ok(tarDataOffsets(readFileSync(out)).has('manifest.json'), 'replaced by the archive');
  assert.deepEqual(readdirSync(dir), ['out.tar'], 'no temp file left');

  const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
  if (!requireNoProblems(t, 'save to a terminal', script ? [] : ['util-linux `script` is missing (apt-get install bsdutils)'])) return;
  const tty = await asUser(script!, ['-qec', `"${SANDBOX_BIN}" save bb`, '/dev/null'], { root });
  assert.equal(tty.code, 125, show(tty));
  assert.match(tty.stdout, /sandbox: refusing to write an image archive to a terminal/, show(tty));
  assert.match(tty.stdout, /hint: .*-o FILE/, show(tty));
});

test('other archive shapes: legacy <id>/layer.tar links with a repositories file and a gzip layer; a zstd-compressed OCI layout with a nested multi-platform index', async (t) => {
  if (!requireRootless(t, 'load of other archive shapes')) return;
  const root = await newStore(t);
  const id = await importImage(root, await busyboxRootfsTar(), 'bb');
  const dir = await newUserDir(t, 'sandbox-e2e-archives-');
  const docker = join(dir, 'docker.tar');
  const oci = join(dir, 'oci.tar');
  assert.equal((await runSandbox(['save', '-o', docker, 'bb'], { root })).code, 0);
  assert.equal((await runSandbox(['save', '--format', 'oci-archive', '-o', oci, 'bb'], { root })).code, 0);

  // Old Docker's shape: layers as <v1 id>/layer.tar (here a symlink to a gzip-compressed
  // layer, as some tools write), no RepoTags, the tag only in `repositories`.
  const d = await readTar(readFileSync(docker));
  const layer = d.find((e) => e.header.name.endsWith('.tar'))!;
  const config = d.find((e) => e.header.name.endsWith('.json') && e.header.name !== 'manifest.json')!;
  const v1 = 'f'.repeat(64);
  const legacy = await buildTar([
    file('layer-data.gz', gzipSync(layer.content)),
    { name: `${v1}/`, type: 'dir' },
    { name: `${v1}/layer.tar`, type: 'symlink', linkname: '../layer-data.gz' },
    file(config.header.name, config.content),
    file('repositories', JSON.stringify({ 'legacy/bb': { old: v1 } })),
    file('manifest.json', JSON.stringify([{ Config: config.header.name, RepoTags: null, Layers: [`${v1}/layer.tar`] }])),
  ]);
  const fresh = await newStore(t);
  const l1 = await runSandbox(['load', '-i', await userFile(dir, 'legacy.tar', legacy)], { root: fresh });
  assert.equal(l1.code, 0, show(l1));
  assert.equal(l1.stdout, 'Loaded image: localhost/legacy/bb:old\n', show(l1));
  assertBusybox(await runIn(fresh, ['legacy/bb:old', 'sh', '-c', CHECK_SCRIPT]), 'run of the legacy-shaped archive');
  assert.equal(imageTags(fresh)['localhost/legacy/bb:old'], id, 'the same image id');

  // Docker's and buildx's shape: index.json -> a multi-platform index -> the manifest;
  // the name in io.containerd.image.name, ref.name only a tag; the whole tar zstd-compressed.
  const o = await readTar(readFileSync(oci));
  const index = JSON.parse(o.find((e) => e.header.name === 'index.json')!.content.toString()) as { manifests: { digest: string; size: number; mediaType: string }[] };
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
  const nested = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      // Another platform first, whose blobs this archive does not even hold.
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'e'.repeat(64)}`, size: 10, platform: { os: 'linux', architecture: arch === 's390x' ? 'riscv64' : 's390x' } },
      { ...index.manifests[0]!, platform: { os: 'linux', architecture: arch } },
    ],
  }));
  const nestedDigest = `sha256:${createHash('sha256').update(nested).digest('hex')}`;
  const layout = await buildTar([
    ...o.filter((e) => e.header.name !== 'index.json').map((e) => file(e.header.name, e.content)),
    file(`blobs/sha256/${nestedDigest.slice(7)}`, nested),
    file('index.json', JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: 'application/vnd.oci.image.index.v1+json', digest: nestedDigest, size: nested.length,
        annotations: { 'io.containerd.image.name': 'docker.io/library/nested:1', 'org.opencontainers.image.ref.name': '1' },
      }],
    })),
  ]);
  const plain = await userFile(dir, 'nested.tar', layout);
  const zst = await asUser('zstd', ['-q', '-f', plain, '-o', join(dir, 'nested.tar.zst')]);
  if (!requireNoProblems(t, 'zstd-compressed archive', zst.code === 0 ? [] : [`zstd failed (apt-get install zstd): ${zst.stderr.trim()}`])) return;
  const l2 = await loadFromStdin(fresh, join(dir, 'nested.tar.zst'));
  assert.equal(l2.code, 0, show(l2));
  assert.equal(l2.stdout, 'Loaded image: docker.io/library/nested:1\n', show(l2));
  assertBusybox(await runIn(fresh, ['docker.io/library/nested:1', 'sh', '-c', CHECK_SCRIPT]), 'run of the nested-index archive');
});
