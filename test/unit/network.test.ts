/** The network drivers (src/network/): the registry, each driver's plan words and name files. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkMode, RunRequest } from '../../src/types.js';
import { throwsSandbox } from './assert-sandbox-error.js';
import { DEFAULT_NETWORK, NETWORK_MODES, NETWORK_TOOLS, networkDriver } from '../../src/network/driver.js';

const request = { network: 'none' } as RunRequest;

describe('network registry', () => {
  it('has a driver for none, host, slirp4netns and pasta, each naming its C driver', () => {
    for (const mode of ['none', 'host', 'slirp4netns', 'pasta'] as const) {
      const d = networkDriver(mode);
      assert.equal(d.mode, mode);
      assert.equal(d.launchDriver, mode);
      assert.equal(d.inspectMode(request), mode);
    }
    assert.equal(DEFAULT_NETWORK, 'slirp4netns');
    assert.deepEqual(NETWORK_MODES, ['none', 'host', 'slirp4netns', 'pasta', 'bridge']); // container: only as container:NAME
  });

  it('has no driver for a mode it does not know', () => {
    assert.throws(() => networkDriver('bogus' as NetworkMode), /internal: no network driver for "bogus"/);
  });

  it('lists the host programs of every mode for doctor, the default first', () => {
    const tools = NETWORK_TOOLS.map((t) => [t.name, t.debianPackage]);
    assert.deepEqual(tools[0], DEFAULT_NETWORK === 'pasta' ? ['pasta', 'passt'] : ['slirp4netns', 'slirp4netns']);
    assert.deepEqual([...tools].sort(), [['pasta', 'passt'], ['slirp4netns', 'slirp4netns']]);
    assert.deepEqual(networkDriver('none').tools, []);
    assert.deepEqual(networkDriver('host').tools, []);
    assert.match(networkDriver('slirp4netns').tools[0]!.why, /--network pasta, none or host work without it/);
    assert.match(networkDriver('pasta').tools[0]!.why, /--network slirp4netns, none or host work without it/);
  });

  it('none and host add no words to the plan; slirp4netns its program and log', () => {
    const input = { request, tools: {}, dir: '/store/c/ID' };
    assert.deepEqual(networkDriver('none').launchArgs(input), []);
    assert.deepEqual(networkDriver('host').launchArgs(input), []);
    assert.deepEqual(networkDriver('slirp4netns').launchArgs({ ...input, tools: { slirp4netns: '/usr/bin/slirp4netns' } }),
      ['--network-cmd', '/usr/bin/slirp4netns', '--net-log', '/store/c/ID/network.log', '--network-arg', '--mtu=65520', '--network-arg', '--disable-host-loopback']);
    assert.throws(() => networkDriver('slirp4netns').launchArgs(input), /internal: slirp4netns path missing/);
  });
});
