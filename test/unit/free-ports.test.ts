/**
 * Host ports left to us, many sandboxes at once from one process (a test suite driving
 * the library): the same port is never handed out twice, although each is free again
 * the moment it is handed out (the monitor binds it later).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assignHostPorts } from '../../src/network/free-ports.js';

describe('assignHostPorts', () => {
  it('gives one process 400 different ports, one after another', async () => {
    // Each is free again once handed out, and the kernel picks a random free port each
    // time: among 400 picks from ~28000 a repeat is likely (~94%) without the guard.
    const ports: number[] = [];
    for (let i = 0; i < 400; i++) ports.push((await assignHostPorts([{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }]))[0]!.hostPort);
    assert.ok(ports.every((p) => p > 0));
    assert.equal(new Set(ports).size, ports.length, 'a port was handed out twice');
  });

  it('keeps a port given explicitly as it is', async () => {
    const [m] = await assignHostPorts([{ hostIp: '', hostPort: 8081, containerPort: 80, protocol: 'udp' }]);
    assert.equal(m!.hostPort, 8081);
  });
});
