/** The network drivers (src/network/): the registry, each driver's plan words and name files. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkMode, RunRequest } from '../../src/types.js';
import { throwsSandbox } from './assert-sandbox-error.js';
import { DEFAULT_NETWORK, NETWORK_MODES, NETWORK_TOOLS, networkDriver } from '../../src/network/driver.js';
import { hostsFile, resolvConfWith, type HostNameFiles } from '../../src/network/name-files.js';

const HOST_RESOLV = 'search example.org\nnameserver 127.0.0.53\noptions edns0\nnameserver 10.1.1.1\n';
const HOST_HOSTS = '127.0.0.1 localhost\n10.0.0.1 db\n';

/** The host's files, counting how often each is read. */
function host(): HostNameFiles & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    resolvConf: () => { reads.push('resolv.conf'); return HOST_RESOLV; },
    hosts: () => { reads.push('hosts'); return HOST_HOSTS; },
  };
}

const request = { network: 'none' } as RunRequest;

describe('network registry', () => {
  it('has a driver for none, host and slirp4netns, each naming its C driver; slirp4netns is the default', () => {
    for (const mode of ['none', 'host', 'slirp4netns'] as const) {
      const d = networkDriver(mode);
      assert.equal(d.mode, mode);
      assert.equal(d.launchDriver, mode);
      assert.equal(d.inspectMode(request), mode);
    }
    assert.equal(DEFAULT_NETWORK, 'slirp4netns');
    assert.deepEqual(NETWORK_MODES, ['none', 'host', 'slirp4netns', 'pasta']); // container: only as container:NAME
  });

  it('refuses pasta (no driver yet) with the modes that work', () => {
    throwsSandbox(() => networkDriver('pasta'), '--network pasta is not available yet', 'use --network slirp4netns (the default), none (loopback only) or host');
    assert.throws(() => networkDriver('bridge' as NetworkMode), /internal: no network driver for "bridge"/);
  });

  it('lists the host programs of every mode for doctor, the default first', () => {
    assert.deepEqual(NETWORK_TOOLS.map((t) => [t.name, t.debianPackage]), [['slirp4netns', 'slirp4netns'], ['pasta', 'passt']]);
    assert.deepEqual(networkDriver('none').tools, []);
    assert.deepEqual(networkDriver('host').tools, []);
    assert.match(networkDriver('slirp4netns').tools[0]!.why, /--network none or host work without it/);
  });

  it('none and host add no words to the plan; slirp4netns its program and log', () => {
    const input = { request, tools: {}, dir: '/store/c/ID' };
    assert.deepEqual(networkDriver('none').launchArgs(input), []);
    assert.deepEqual(networkDriver('host').launchArgs(input), []);
    assert.deepEqual(networkDriver('slirp4netns').launchArgs({ ...input, tools: { slirp4netns: '/usr/bin/slirp4netns' } }),
      ['--network-cmd', '/usr/bin/slirp4netns', '--net-log', '/store/c/ID/network.log']);
    assert.throws(() => networkDriver('slirp4netns').launchArgs(input), /internal: slirp4netns path missing/);
  });
});

describe('name files per driver', () => {
  it('none: own hosts; the host\'s search and options without any name server', () => {
    const h = host();
    const f = networkDriver('none').nameFiles('box', h);
    assert.equal(f.hosts, hostsFile('box'));
    assert.equal(f.resolvConf, 'search example.org\noptions edns0\n');
    assert.deepEqual(h.reads, ['resolv.conf']);
  });

  it('host: the host\'s files, its hosts with the sandbox\'s name', () => {
    const f = networkDriver('host').nameFiles('box', host());
    assert.equal(f.hosts, `${HOST_HOSTS}127.0.1.1\tbox\n`);
    assert.equal(f.resolvConf, HOST_RESOLV);
  });

  it("slirp4netns: slirp4netns' DNS forwarder first, the host's servers gone", () => {
    const h = host();
    const f = networkDriver('slirp4netns').nameFiles('box', h);
    assert.equal(f.hosts, hostsFile('box'));
    assert.equal(f.resolvConf, 'nameserver 10.0.2.3\nsearch example.org\noptions edns0\n');
    assert.deepEqual(h.reads, ['resolv.conf']);
  });
});

describe('hostsFile', () => {
  it('without the host file: localhost v4 and v6, and the sandbox name', () => {
    assert.equal(
      hostsFile('box'),
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbox\n',
    );
  });

  it("with the host's file: it, one newline, then the sandbox name", () => {
    assert.equal(hostsFile('box', '127.0.0.1 localhost\n10.0.0.1 db\n\n\n'), '127.0.0.1 localhost\n10.0.0.1 db\n127.0.1.1\tbox\n');
    assert.equal(hostsFile('box', '127.0.0.1 localhost'), '127.0.0.1 localhost\n127.0.1.1\tbox\n');
  });
});

describe('resolvConfWith', () => {
  it('puts the given servers first and drops the host\'s, indented ones too', () => {
    assert.equal(resolvConfWith('  nameserver 1.1.1.1\nsearch a\n', ['10.0.2.3']), 'nameserver 10.0.2.3\nsearch a\n');
    assert.equal(resolvConfWith('', []), '');
  });
});
