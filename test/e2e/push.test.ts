/**
 * Issue 5 item 2: `sandbox push` to a real registry on 127.0.0.1; what we push is pulled
 * back by skopeo and by us (into a fresh store, and run). Blobs the registry has are
 * skipped, blobs from another repository of the same registry are mounted, and pushing
 * through a bearer-token front needs `login`.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { lines, newStore, newUserDir, requireNoProblems, requireRootless, runSandbox, show, type RunResult } from './harness.js';
import { buildTar, file } from './layer-tar.js';
import { writeOciLayout } from './oci-layout.js';
import { registryHasBlob, registryProblems, skopeoCopy, skopeoRawManifest, startRegistry, startTokenFront } from './registry.js';

function ready(t: TestContext, what: string): boolean {
  return requireRootless(t, what) && requireNoProblems(t, what, registryProblems());
}

function assertErrorWithHint(r: RunResult, message: RegExp, hint?: RegExp): void {
  assert.equal(r.code, 125, show(r));
  // Progress lines may come first; the error is the last two lines, and the only one.
  const all = lines(r.stderr);
  const l = all.slice(-2);
  assert.equal(all.filter((x) => /^(sandbox|hint): /.test(x)).length, 2, `one error line and a hint:\n${show(r)}`);
  assert.match(l[0] ?? '', message, show(r));
  assert.match(l[1] ?? '', /^hint: \S/, show(r));
  if (hint) assert.match(l[1] ?? '', hint, show(r));
}

interface Manifest { config: { digest: string }; layers: { digest: string; mediaType: string }[] }

test('push an imported image; skopeo and a fresh store pull it back; a second push skips every blob', async (t) => {
  if (!ready(t, 'push')) return;
  const reg = await startRegistry(t);
  const root = await newStore(t);
  const ref = `${reg.host}/pushed/bb:v1`;
  const imp = await runSandbox(['import', '--change', 'ENV PUSHED=yes', await busyboxRootfsTar(), ref], { root });
  assert.equal(imp.code, 0, show(imp));
  const id = imp.stdout.trim();

  const digestFile = join(await newUserDir(t, 'sandbox-e2e-push-'), 'digest');
  const push = await runSandbox(['push', '--digestfile', digestFile, ref], { root, timeoutMs: 120_000 });
  assert.equal(push.code, 0, show(push));
  assert.doesNotMatch(push.stderr, /\x1b\[/, 'no escape codes off a terminal');
  const digest = readFileSync(digestFile, 'utf8');
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);

  // The registry has the manifest byte for byte, and every blob it names.
  const manifest = await skopeoRawManifest(ref) as unknown as Manifest;
  assert.equal(manifest.config.digest, id, 'the config is the image id');
  for (const b of [manifest.config, ...manifest.layers]) assert.ok(registryHasBlob(reg, b.digest), b.digest);

  // skopeo pulls it into an OCI layout whose config and layer check out.
  const out = await mkdtemp(join(tmpdir(), 'sandbox-e2e-push-oci-'));
  await skopeoCopy(`docker://${ref}`, `oci:${out}:got`);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  assert.equal(index.manifests[0]?.digest, digest, 'skopeo got the manifest we pushed');
  const config = JSON.parse(await readFile(join(out, 'blobs/sha256', id.slice(7)), 'utf8')) as { config: { Env: string[] } };
  assert.ok(config.config.Env.includes('PUSHED=yes'), JSON.stringify(config));

  // And we pull it into a fresh store and run it.
  const other = await newStore(t);
  const pull = await runSandbox(['pull', '-q', `${reg.host}/pushed/bb@${digest}`], { root: other, timeoutMs: 120_000 });
  assert.equal(pull.code, 0, show(pull));
  assert.equal(pull.stdout.trim(), id, 'the same image id');
  const r = await runSandbox(['run', '--rm', '--network', 'none', id, 'sh', '-c', 'echo $PUSHED; stat -c %u:%g /home/app/owned'], { root: other });
  assert.deepEqual(lines(r.stdout), ['yes', '1000:1000'], show(r));

  // Pushed again: the registry has every blob, nothing is uploaded.
  const again = await runSandbox(['push', ref], { root, timeoutMs: 60_000 });
  assert.equal(again.code, 0, show(again));
  assert.equal((again.stderr.match(/already at the registry/g) ?? []).length, 1 + manifest.layers.length, show(again));
  assert.doesNotMatch(again.stderr, /: pushed/, show(again));
});

test('push a pulled multi-layer image under another name: blobs are mounted, not uploaded, and skopeo reads it', async (t) => {
  if (!ready(t, 'push mount')) return;
  const reg = await startRegistry(t);
  const layout = await mkdtemp(join(tmpdir(), 'sandbox-e2e-layout-'));
  await writeOciLayout(layout, 't', [{ layers: [
    { compression: 'gzip', tar: readFileSync(await busyboxRootfsTar()) },
    { compression: 'zstd', tar: await buildTar([file('etc/second', 'zstd layer\n')]) },
  ] }]);
  await skopeoCopy(`oci:${layout}:t`, `docker://${reg.host}/src/app:v1`);
  const root = await newStore(t);
  const pull = await runSandbox(['pull', '-q', `${reg.host}/src/app:v1`], { root, timeoutMs: 120_000 });
  assert.equal(pull.code, 0, show(pull));

  const push = await runSandbox(['push', `${reg.host}/src/app:v1`, `${reg.host}/dst/app:v2`], { root, timeoutMs: 120_000 });
  assert.equal(push.code, 0, show(push));
  assert.equal((push.stderr.match(/mounted from another repository/g) ?? []).length, 3, `config and both layers mounted:\n${show(push)}`);

  const src = await skopeoRawManifest(`${reg.host}/src/app:v1`);
  const dst = await skopeoRawManifest(`${reg.host}/dst/app:v2`);
  assert.deepEqual(dst, src, 'the same manifest');
  assert.equal((dst as unknown as Manifest).layers[1]?.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');

  const other = await newStore(t);
  const back = await runSandbox(['pull', `${reg.host}/dst/app:v2`], { root: other, timeoutMs: 120_000 });
  assert.equal(back.code, 0, show(back));
  const r = await runSandbox(['run', '--rm', '--network', 'none', `${reg.host}/dst/app:v2`, 'cat', '/etc/second'], { root: other });
  assert.equal(r.stdout, 'zstd layer\n', show(r));
});

test('push through a bearer-token front: denied without login, works after it', async (t) => {
  if (!ready(t, 'push with auth')) return;
  const reg = await startRegistry(t);
  const front = await startTokenFront(t, reg, { credentials: { username: 'carol', password: 'pw' }, anonymousPull: true });
  const root = await newStore(t);
  const env = { REGISTRY_AUTH_FILE: join(await newUserDir(t, 'sandbox-e2e-auth-'), 'auth.json') };
  const ref = `${front.host}/team/bb:v1`;
  const imp = await runSandbox(['import', await busyboxRootfsTar(), ref], { root });
  assert.equal(imp.code, 0, show(imp));

  const denied = await runSandbox(['push', ref], { root, env });
  assertErrorWithHint(denied, /wants credentials|denied/, new RegExp(`sandbox login ${front.host}`));

  const login = await runSandbox(['login', '-u', 'carol', '--password-stdin', front.host], { root, env, input: 'pw' });
  assert.equal(login.code, 0, show(login));
  const push = await runSandbox(['push', '-q', ref], { root, env, timeoutMs: 120_000 });
  assert.equal(push.code, 0, show(push));
  assert.equal(push.stderr, '', `-q prints nothing:\n${show(push)}`);
  assert.ok(front.tokens.some((x) => x.user === 'carol' && x.scopes.includes('repository:team/bb:pull,push')), JSON.stringify(front.tokens));

  // skopeo, with the same credentials, reads it.
  const manifest = await skopeoRawManifest(ref, { username: 'carol', password: 'pw' }) as unknown as Manifest;
  assert.equal(manifest.config.digest, imp.stdout.trim());
});

test('push errors: an image by id needs a destination; an unknown image', async (t) => {
  if (!ready(t, 'push errors')) return;
  const root = await newStore(t);
  const imp = await runSandbox(['import', await busyboxRootfsTar(), 'local/bb'], { root });
  assert.equal(imp.code, 0, show(imp));
  assertErrorWithHint(await runSandbox(['push', imp.stdout.trim().slice(7, 19)], { root }), /needs a destination/);
  assertErrorWithHint(await runSandbox(['push', 'no/such:image'], { root }), /not found/);
  // A layer blob damaged on our disk: named as such, not blamed on the registry.
  const reg = await startRegistry(t);
  const inspect = JSON.parse((await runSandbox(['image', 'inspect', 'local/bb'], { root })).stdout) as { Digest: string }[];
  const manifest = JSON.parse(readFileSync(join(root, 'data', 'blobs', 'sha256', inspect[0]!.Digest.slice(7)), 'utf8')) as Manifest;
  appendFileSync(join(root, 'data', 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7)), 'damage');
  assertErrorWithHint(await runSandbox(['push', 'local/bb', `${reg.host}/local/bb:v1`], { root }), /stored blob sha256:[0-9a-f]{64} of image local\/bb is corrupt/, /system check --verify --repair/);
});
