/** Where the store lives: XDG directories, the /tmp fallback, and the one-root overrides. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realStorePaths, resolveStorePaths } from '../../src/state/paths.js';

const home = '/home/u';

describe('resolveStorePaths', () => {
  it('XDG defaults under the home directory, runtime in /tmp/sandbox-UID without XDG_RUNTIME_DIR', () => {
    assert.deepEqual(resolveStorePaths({ env: {}, uid: 1234, home }), {
      data: '/home/u/.local/share/sandbox',
      runtime: '/tmp/sandbox-1234',
      config: '/home/u/.config/sandbox',
      cache: '/home/u/.cache/sandbox',
    });
  });

  it('absolute XDG variables are used', () => {
    const env = {
      XDG_DATA_HOME: '/x/data',
      XDG_RUNTIME_DIR: '/run/user/1234',
      XDG_CONFIG_HOME: '/x/config/',
      XDG_CACHE_HOME: '/x/cache',
    };
    assert.deepEqual(resolveStorePaths({ env, uid: 1234, home }), {
      data: '/x/data/sandbox',
      runtime: '/run/user/1234/sandbox',
      config: '/x/config/sandbox',
      cache: '/x/cache/sandbox',
    });
  });

  it('relative or empty XDG variables are ignored, as the XDG spec says', () => {
    const env = { XDG_DATA_HOME: 'data', XDG_RUNTIME_DIR: 'run/user/1', XDG_CONFIG_HOME: './cfg', XDG_CACHE_HOME: '' };
    assert.deepEqual(resolveStorePaths({ env, uid: 7, home }), {
      data: '/home/u/.local/share/sandbox',
      runtime: '/tmp/sandbox-7',
      config: '/home/u/.config/sandbox',
      cache: '/home/u/.cache/sandbox',
    });
  });

  it('SANDBOX_ROOT puts everything under one directory, beating XDG', () => {
    const env = { SANDBOX_ROOT: '/r', XDG_DATA_HOME: '/x/data', XDG_RUNTIME_DIR: '/run/user/1' };
    assert.deepEqual(resolveStorePaths({ env, uid: 1, home }), {
      data: '/r/data',
      runtime: '/r/run',
      config: '/r/config',
      cache: '/r/cache',
    });
  });

  it('--root beats SANDBOX_ROOT', () => {
    const paths = resolveStorePaths({ env: { SANDBOX_ROOT: '/r' }, uid: 1, home, rootOverride: '/o' });
    assert.deepEqual(paths, { data: '/o/data', runtime: '/o/run', config: '/o/config', cache: '/o/cache' });
  });

  it('an empty or undefined --root falls back to SANDBOX_ROOT, an empty SANDBOX_ROOT to XDG', () => {
    assert.equal(resolveStorePaths({ env: { SANDBOX_ROOT: '/r' }, uid: 1, home, rootOverride: '' }).data, '/r/data');
    assert.equal(resolveStorePaths({ env: { SANDBOX_ROOT: '/r' }, uid: 1, home, rootOverride: undefined }).data, '/r/data');
    assert.equal(resolveStorePaths({ env: { SANDBOX_ROOT: '' }, uid: 1, home }).data, '/home/u/.local/share/sandbox');
  });

  it('does not read the process environment', () => {
    const saved = process.env.SANDBOX_ROOT;
    process.env.SANDBOX_ROOT = '/from/process';
    try {
      assert.equal(resolveStorePaths({ env: {}, uid: 1, home }).data, '/home/u/.local/share/sandbox');
    } finally {
      if (saved === undefined) delete process.env.SANDBOX_ROOT;
      else process.env.SANDBOX_ROOT = saved;
    }
  });
});

describe('realStorePaths', () => {
  it('resolves symlinks on the way, also under directories that do not exist yet', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sandbox-paths-')));
    try {
      mkdirSync(join(dir, 'real'));
      symlinkSync(join(dir, 'real'), join(dir, 'link'));
      const paths = resolveStorePaths({ env: {}, uid: 1, home: '/h', rootOverride: join(dir, 'link') });
      assert.deepEqual(realStorePaths(paths), {
        data: join(dir, 'real', 'data'), runtime: join(dir, 'real', 'run'), config: join(dir, 'real', 'config'), cache: join(dir, 'real', 'cache'),
      });
      const missing = resolveStorePaths({ env: {}, uid: 1, home: '/h', rootOverride: join(dir, 'link', 'a', 'b') });
      assert.equal(realStorePaths(missing).data, join(dir, 'real', 'a', 'b', 'data'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
