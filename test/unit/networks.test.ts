/** User-defined networks, the pure parts: subnets and addresses, --network NAME parsing, the hosts block. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { throwsSandbox } from './assert-sandbox-error.js';
import {
  nextFreeAddress, nextFreeSubnet, overlaps, parseSubnet, subnetClash, subnetString,
} from '../../src/network/subnets.js';
import { namedNetworks } from '../../src/cli/network-option.js';
import { withNetworkHosts } from '../../src/network/name-files.js';
import { macOf } from '../../src/api/networks.js';
import { networkDriver } from '../../src/network/driver.js';
import type { RunRequest } from '../../src/types.js';

const taken = (...subnets: string[]) => subnets.map((s, i) => ({ name: `n${i}`, subnet: parseSubnet(s) }));

describe('subnets', () => {
  it('parses IPv4 subnets, clearing host bits; refuses the rest', () => {
    assert.equal(subnetString(parseSubnet('10.89.5.7/24')), '10.89.5.0/24');
    assert.equal(subnetString(parseSubnet('192.168.0.0/16')), '192.168.0.0/16');
    for (const bad of ['10.89.5.0', '10.89.5.0/31', '10.89.5.0/7', '10.89.256.0/24', 'fd00::/64', '10.89.05.0/24']) {
      throwsSandbox(() => parseSubnet(bad), `invalid subnet ${JSON.stringify(bad)}`, /IPv4 subnet/);
    }
  });

  it('gives the first free /24 of 10.89.0.0/16, never one that overlaps', () => {
    assert.equal(subnetString(nextFreeSubnet([])), '10.89.0.0/24');
    assert.equal(subnetString(nextFreeSubnet(taken('10.89.0.0/24', '10.89.2.0/24'))), '10.89.1.0/24');
    assert.equal(subnetString(nextFreeSubnet(taken('10.89.0.0/23'))), '10.89.2.0/24');
    assert.equal(subnetString(nextFreeSubnet(taken('10.89.0.0/17'))), '10.89.128.0/24');
    throwsSandbox(() => nextFreeSubnet(taken('10.89.0.0/16')), 'no free subnet left in 10.89.0.0/16', /--subnet/);
  });

  it('overlap: either way round; slirp4netns\' 10.0.2.0/24 is taken', () => {
    assert.ok(overlaps(parseSubnet('10.0.0.0/8'), parseSubnet('10.89.3.0/24')));
    assert.ok(overlaps(parseSubnet('10.89.3.0/24'), parseSubnet('10.0.0.0/8')));
    assert.ok(!overlaps(parseSubnet('10.89.3.0/24'), parseSubnet('10.89.4.0/24')));
    assert.match(subnetClash(parseSubnet('10.0.0.0/16'), [])!, /slirp4netns/);
    assert.equal(subnetClash(parseSubnet('10.89.3.0/24'), taken('10.89.0.0/22')), 'it overlaps 10.89.0.0/22 of network n0');
    assert.equal(subnetClash(parseSubnet('10.89.4.0/24'), taken('10.89.0.0/22')), undefined);
  });

  it('addresses: the lowest free host address, past the gateway; a full subnet is an error', () => {
    const s = parseSubnet('10.89.1.0/24');
    assert.equal(nextFreeAddress(s, '10.89.1.1', []), '10.89.1.2');
    assert.equal(nextFreeAddress(s, '10.89.1.1', ['10.89.1.2', '10.89.1.4']), '10.89.1.3');
    assert.equal(nextFreeAddress(s, '10.89.1.9', []), '10.89.1.1');
    const small = parseSubnet('10.89.1.0/30');
    assert.equal(nextFreeAddress(small, '10.89.1.1', []), '10.89.1.2');
    throwsSandbox(() => nextFreeAddress(small, '10.89.1.1', ['10.89.1.2']), 'network 10.89.1.0/30 has no free address left', /larger --subnet/);
  });

  it('a member\'s MAC is 0a:58 and its address', () => {
    assert.equal(macOf('10.89.0.2'), '0a:58:0a:59:00:02');
  });
});

describe('--network NAME and --network-alias', () => {
  it('modes are not names', () => {
    assert.equal(namedNetworks([], []), undefined);
    assert.equal(namedNetworks(['none'], []), undefined);
    assert.equal(namedNetworks(['slirp4netns:port_handler=slirp4netns'], []), undefined);
    assert.equal(namedNetworks(['container:abc'], []), undefined);
  });

  it('names, repeated or comma-separated, each with every alias', () => {
    assert.deepEqual(namedNetworks(['front'], ['www', 'www']), [{ name: 'front', aliases: ['www'] }]);
    assert.deepEqual(namedNetworks(['front,back', 'front'], ['a']), [{ name: 'front', aliases: ['a'] }, { name: 'back', aliases: ['a'] }]);
  });

  it('refuses an alias without a network, a mode with a name, bad names and aliases', () => {
    throwsSandbox(() => namedNetworks(['none'], ['x']), '--network-alias needs a user-defined network', /network create/);
    throwsSandbox(() => namedNetworks(['host', 'front'], []), '--network host cannot be combined with the network front', /alone/);
    throwsSandbox(() => namedNetworks(['-x'], []), 'unknown network mode "-x"', /network name/);
    throwsSandbox(() => namedNetworks(['front'], ['a b']), 'invalid --network-alias "a b"', /host name/);
  });
});

describe('the network block of /etc/hosts', () => {
  const base = '127.0.0.1\tlocalhost\n127.0.1.1\tbox\n';
  it('is appended, replaced in place and removed, the other lines untouched', () => {
    const one = withNetworkHosts(base, [{ ip: '10.89.0.2', names: ['web', 'www'] }]);
    assert.equal(one, `${base}# sandbox networks: the members of this sandbox's networks\n10.89.0.2\tweb www\n# end of sandbox networks\n`);
    const two = withNetworkHosts(`${one}10.0.0.9\tmine\n`, [{ ip: '10.89.0.3', names: ['db'] }]);
    assert.equal(two, `${base}10.0.0.9\tmine\n# sandbox networks: the members of this sandbox's networks\n10.89.0.3\tdb\n# end of sandbox networks\n`);
    assert.equal(withNetworkHosts(two, []), `${base}10.0.0.9\tmine\n`);
    assert.equal(withNetworkHosts(base, []), base);
  });
});

describe('the bridge driver', () => {
  const request = { network: 'bridge' } as RunRequest;
  const words = ['--net-join', '/run/networks/abc', '10.89.0.2/24', 'eth0', '--net-switch-cmd', '/x/sandbox-netswitch'];
  it('slirp4netns for the outside unless every network is internal, then the joins', () => {
    const d = networkDriver('bridge');
    assert.equal(d.launchDriver, 'bridge');
    assert.equal(d.inspectMode(request), 'bridge');
    const tools = { slirp4netns: '/usr/bin/slirp4netns' };
    assert.deepEqual(d.launchArgs({ request, tools, dir: '/s/c/ID', join: { words, outside: true } }),
      ['--network-cmd', '/usr/bin/slirp4netns', '--net-log', '/s/c/ID/network.log', '--network-arg', '--mtu=65520', '--network-arg', '--disable-host-loopback', ...words]);
    assert.deepEqual(d.launchArgs({ request, tools, dir: '/s/c/ID', join: { words, outside: false } }), words);
    assert.throws(() => d.launchArgs({ request, tools, dir: '/s/c/ID' }), /internal: the networks to join are missing/);
  });
});
