/** auth.json: where it is looked for, which key wins, and what login/logout write. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxError } from '../../src/errors.js';
import {
  authFileToWrite, authFilesToRead, findCredentials, normaliseAuthKey, removeCredentials, storeCredentials,
} from '../../src/images/registry/auth-file.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function home(): string {
  return mkdtempSync(join(tmpdir(), 'sandbox-unit-auth-'));
}

describe('auth file locations', () => {
  it('uses --authfile or REGISTRY_AUTH_FILE alone', () => {
    assert.deepEqual(authFilesToRead({ env: { REGISTRY_AUTH_FILE: '/a.json' }, home: '/h' }), ['/a.json']);
    assert.deepEqual(authFilesToRead({ env: { REGISTRY_AUTH_FILE: '/a.json' }, home: '/h', authFile: '/b.json' }), ['/b.json']);
  });

  it('searches the runtime dir, the config dir, then Docker\'s config', () => {
    assert.deepEqual(authFilesToRead({ env: { XDG_RUNTIME_DIR: '/run/user/7', XDG_CONFIG_HOME: '/cfg' }, home: '/h' }),
      ['/run/user/7/containers/auth.json', '/cfg/containers/auth.json', '/h/.docker/config.json']);
    assert.deepEqual(authFilesToRead({ env: {}, home: '/h' }), ['/h/.config/containers/auth.json', '/h/.docker/config.json']);
    assert.equal(authFileToWrite({ env: {}, home: '/h' }), '/h/.config/containers/auth.json');
  });

  it('ignores relative XDG paths', () => {
    assert.deepEqual(authFilesToRead({ env: { XDG_RUNTIME_DIR: 'rel', XDG_CONFIG_HOME: 'rel' }, home: '/h' })[0], '/h/.config/containers/auth.json');
  });
});

describe('findCredentials', () => {
  it('reads base64 user:password, the most specific key first', () => {
    const h = home();
    const file = join(h, 'auth.json');
    writeFileSync(file, JSON.stringify({ auths: {
      'reg.example:5000': { auth: b64('host:pw:with:colons') },
      'reg.example:5000/team': { auth: b64('team:t') },
    } }));
    const e = { env: {}, home: h, authFile: file };
    assert.deepEqual(findCredentials(e, 'reg.example:5000', 'other/app'), { username: 'host', password: 'pw:with:colons' });
    assert.deepEqual(findCredentials(e, 'reg.example:5000', 'team/app'), { username: 'team', password: 't' });
    assert.equal(findCredentials(e, 'elsewhere.example'), undefined);
  });

  it('reads Docker\'s config.json with URL keys for Docker Hub', () => {
    const h = home();
    mkdirSync(join(h, '.docker'));
    writeFileSync(join(h, '.docker', 'config.json'), JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('me:secret') } } }));
    assert.deepEqual(findCredentials({ env: {}, home: h }, 'docker.io', 'library/alpine'), { username: 'me', password: 'secret' });
  });

  it('prefers the containers file to Docker\'s', () => {
    const h = home();
    mkdirSync(join(h, '.docker'));
    mkdirSync(join(h, '.config', 'containers'), { recursive: true });
    writeFileSync(join(h, '.docker', 'config.json'), JSON.stringify({ auths: { 'r.example': { auth: b64('docker:1') } } }));
    writeFileSync(join(h, '.config', 'containers', 'auth.json'), JSON.stringify({ auths: { 'r.example': { auth: b64('containers:2') } } }));
    assert.equal(findCredentials({ env: {}, home: h }, 'r.example')?.username, 'containers');
  });

  it('treats a missing file as empty and a broken one as an error with a hint', () => {
    const h = home();
    assert.equal(findCredentials({ env: {}, home: h, authFile: join(h, 'none.json') }, 'r.example'), undefined);
    writeFileSync(join(h, 'bad.json'), '{not json');
    assert.throws(() => findCredentials({ env: {}, home: h, authFile: join(h, 'bad.json') }, 'r.example'),
      (err: unknown) => err instanceof SandboxError && /not a valid auth file/.test(err.message) && !!err.hint);
  });

  it('normalises keys', () => {
    assert.equal(normaliseAuthKey('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normaliseAuthKey('http://127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(normaliseAuthKey('registry-1.docker.io'), 'docker.io');
  });
});

describe('storeCredentials / removeCredentials', () => {
  it('writes a 0600 file, keeps other entries and keys, and removes again', () => {
    const h = home();
    const file = join(h, 'dir', 'auth.json');
    const e = { env: {}, home: h, authFile: file };
    mkdirSync(join(h, 'dir'));
    writeFileSync(file, JSON.stringify({ auths: { 'other.example': { auth: b64('o:p') } }, credHelpers: { x: 'y' } }));
    assert.equal(storeCredentials(e, '127.0.0.1:5000', { username: 'u', password: 'p' }), file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(doc.auths['127.0.0.1:5000'], { auth: b64('u:p') });
    assert.ok(doc.auths['other.example']);
    assert.deepEqual(doc.credHelpers, { x: 'y' });
    assert.deepEqual(findCredentials(e, '127.0.0.1:5000'), { username: 'u', password: 'p' });

    assert.equal(removeCredentials(e, '127.0.0.1:5000'), true);
    assert.equal(removeCredentials(e, '127.0.0.1:5000'), false);
    assert.ok(JSON.parse(readFileSync(file, 'utf8')).auths['other.example']);
    assert.equal(removeCredentials(e, undefined, true), true);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).auths, {});
  });

  it('replaces an old entry spelt as a URL', () => {
    const h = home();
    const file = join(h, 'auth.json');
    writeFileSync(file, JSON.stringify({ auths: { 'https://r.example': { auth: b64('old:1') } } }));
    storeCredentials({ env: {}, home: h, authFile: file }, 'r.example', { username: 'new', password: '2' });
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8')).auths), ['r.example']);
  });
});
