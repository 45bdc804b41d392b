/** Sandbox.start's options as a RunRequest (src/api/sdk/sandbox.ts startRequest): the CLI's validation, the API's shapes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRequest } from '../../src/api/sdk/sandbox.js';
import { SandboxError } from '../../src/errors.js';

describe('startRequest', () => {
  it('maps every option to the run request the CLI would make (detached, kept until disposed)', () => {
    const r = startRequest({
      image: 'host', command: ['sleep', 'infinity'], entrypoint: [], env: { A: '1', B: 'x=y' }, workdir: '/src', user: '0:0',
      hostname: 't1', name: 'box1', labels: { suite: 'x' }, mounts: [{ source: '/tmp', target: '/src', readonly: true }],
      tmpfs: ['/tmp', '/run:size=1m'], network: 'none', limits: { memory: '256m', pids: 128, cpus: 0.5 }, pull: 'never',
    });
    assert.equal(r.image, 'host');
    assert.deepEqual(r.command, ['sleep', 'infinity']);
    assert.deepEqual(r.entrypoint, []);
    assert.equal(r.detach, true);
    assert.equal(r.remove, false);
    assert.deepEqual(r.env, { A: '1', B: 'x=y' });
    assert.equal(r.workdir, '/src');
    assert.equal(r.user, '0:0');
    assert.equal(r.hostname, 't1');
    assert.equal(r.name, 'box1');
    assert.deepEqual(r.labels, { suite: 'x' });
    assert.deepEqual(r.volumes, [{ kind: 'bind', source: '/tmp', target: '/src', readOnly: true }]);
    assert.deepEqual(r.tmpfs.map((t) => t.target), ['/tmp', '/run']);
    assert.equal(r.network, 'none');
    assert.equal(r.limits?.memory, 256 * 1024 * 1024);
    assert.equal(r.limits?.pidsLimit, 128);
    assert.equal(r.limits?.cpus, 0.5);
    assert.equal(r.pull, 'never');
  });

  it('publishes a port number on a free port of 127.0.0.1, and takes -p strings as they are', () => {
    const r = startRequest({ image: 'host', ports: [8080, '9000:90/udp'] });
    assert.deepEqual(r.ports, [
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 8080, protocol: 'tcp' },
      { hostIp: '', hostPort: 9000, containerPort: 90, protocol: 'udp' },
    ]);
  });

  it('joins user-defined networks with their aliases', () => {
    const r = startRequest({ image: 'host', networks: [{ network: 'net1', aliases: ['db', 'pg'] }, { network: 'net2' }] });
    assert.equal(r.network, 'bridge');
    assert.deepEqual(r.networks, [{ name: 'net1', aliases: ['db', 'pg'] }, { name: 'net2', aliases: [] }]);
  });

  it('refuses bad options with SandboxError code invalid-option and a hint', () => {
    const bad: [string, () => unknown][] = [
      ['no image', () => startRequest({ image: '' })],
      ['memory', () => startRequest({ image: 'host', limits: { memory: 'lots' } })],
      ['name', () => startRequest({ image: 'host', name: 'a b' })],
      ['relative workdir', () => startRequest({ image: 'host', workdir: 'src' })],
      ['relative mount target', () => startRequest({ image: 'host', mounts: [{ source: '/tmp', target: 'src' }] })],
      ['port', () => startRequest({ image: 'host', ports: ['x:y'] })],
    ];
    for (const [what, fn] of bad) {
      assert.throws(fn, (err: unknown) => err instanceof SandboxError && err.code === 'invalid-option' && !!err.hint, what);
    }
  });
});
