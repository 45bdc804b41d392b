/** /etc/hosts and /etc/resolv.conf of a sandbox (src/network/name-files.ts), per network driver, and the name options of run. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRequest } from '../../src/types.js';
import { throwsSandbox } from './assert-sandbox-error.js';
import { networkDriver } from '../../src/network/driver.js';
import {
  checkDns, checkDnsOptions, checkDnsSearch, firstHostAddress, hostsFile, ownNameFiles, parseAddHost,
  resolvConfFile, routableNameservers, sandboxNameFiles, type HostNameFiles, type NameFilesInput,
} from '../../src/network/name-files.js';
import { parseNameArgs } from '../../src/cli/name-options.js';
import { parseRunArgv } from '../../src/cli/run-option-table.js';
import { toRunRequest } from '../../src/cli/run-request.js';
import { mountPoints } from '../../src/runtime/plan.js';

const HOST_RESOLV = 'search example.org\nnameserver 127.0.0.53\noptions edns0\nnameserver 10.1.1.1\nnameserver fd00::1\n';
const HOST_HOSTS = '127.0.0.1 localhost\n10.0.0.1 db\n';

/** The host's files and address, counting what is read. */
function host(files: { resolv?: string; hosts?: string; address?: string } = {}): HostNameFiles & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    resolvConf: () => { reads.push('resolv.conf'); return files.resolv ?? HOST_RESOLV; },
    hosts: () => { reads.push('hosts'); return files.hosts ?? HOST_HOSTS; },
    address: () => { reads.push('address'); return files.address ?? '192.0.2.2'; },
  };
}

function files(mode: 'none' | 'host' | 'slirp4netns', request: NameFilesInput['request'] = {}, h = host()) {
  const full = { network: mode, ...request } as RunRequest;
  return sandboxNameFiles({ request: full, hostname: 'box', name: 'web', host: h, network: networkDriver(mode).names({ request: full, host: h }) });
}

describe('name files per driver (no options)', () => {
  it("slirp4netns: the host's hosts, host.containers.internal, its own address with hostname and name; DNS at 10.0.2.3 then the host's routable servers", () => {
    const f = files('slirp4netns');
    assert.equal(f.hosts, '127.0.0.1 localhost\n10.0.0.1 db\n192.0.2.2\thost.containers.internal\n10.0.2.100\tbox web\n');
    assert.equal(f.resolvConf, 'nameserver 10.0.2.3\nnameserver 10.1.1.1\nsearch example.org\noptions edns0\n');
  });

  it("none: 127.0.1.1 for its names; the host's search and options without any name server", () => {
    const f = files('none');
    assert.equal(f.hosts, '127.0.0.1 localhost\n10.0.0.1 db\n192.0.2.2\thost.containers.internal\n127.0.1.1\tbox web\n');
    assert.equal(f.resolvConf, 'search example.org\noptions edns0\n');
  });

  it("host: the host's resolv.conf as it is; its names on 127.0.1.1", () => {
    const f = files('host');
    assert.equal(f.hosts, '127.0.0.1 localhost\n10.0.0.1 db\n192.0.2.2\thost.containers.internal\n127.0.1.1\tbox web\n');
    assert.equal(f.resolvConf, HOST_RESOLV);
  });

  it('a name equal to the hostname is written once; a host without an address gets no host.containers.internal', () => {
    const h = host({ address: '' });
    const f = sandboxNameFiles({ request: {}, hostname: 'box', name: 'box', host: h, network: networkDriver('none').names({ request: {} as RunRequest, host: h }) });
    assert.equal(f.hosts, '127.0.0.1 localhost\n10.0.0.1 db\n127.0.1.1\tbox\n');
  });
});

describe('name files with the options', () => {
  it('--add-host lines come first, in order, several names on one; host-gateway is the host\'s address', () => {
    const f = files('slirp4netns', { addHosts: ['a:1.2.3.4', 'b;c:5.6.7.8', 'v6:[::1]', 'gw:host-gateway', 'a:2.2.2.2'] });
    assert.equal(f.hosts, [
      '1.2.3.4\ta', '5.6.7.8\tb c', '::1\tv6', '192.0.2.2\tgw', '2.2.2.2\ta',
      '127.0.0.1 localhost', '10.0.0.1 db', '192.0.2.2\thost.containers.internal', '10.0.2.100\tbox web', '',
    ].join('\n'));
  });

  it('--add-host host.containers.internal:IP replaces ours', () => {
    const f = files('slirp4netns', { addHosts: ['host.containers.internal:9.9.9.9'] });
    assert.doesNotMatch(f.hosts!, /192\.0\.2\.2/);
    assert.match(f.hosts!, /^9\.9\.9\.9\thost\.containers\.internal$/m);
  });

  it('host-gateway where the network has no host address is an error with a hint', () => {
    const h = host({ address: '' });
    const request = { network: 'none', addHosts: ['gw:host-gateway'] } as RunRequest;
    throwsSandbox(() => sandboxNameFiles({ request, hostname: 'b', name: 'b', host: h, network: networkDriver('none').names({ request, host: h }) }),
      '--add-host gw:host-gateway: this network has no address that reaches the host', /--add-host NAME:IP/);
  });

  it('--dns, --dns-search, --dns-option replace the host\'s lines of their kind (Podman\'s order)', () => {
    const f = files('slirp4netns', { dns: ['1.1.1.1', '8.8.8.8'], dnsSearch: ['a.org', 'b.org'], dnsOptions: ['ndots:2', 'rotate'] });
    assert.equal(f.resolvConf, 'search a.org b.org\nnameserver 1.1.1.1\nnameserver 8.8.8.8\noptions ndots:2 rotate\n');
    assert.equal(files('host', { dnsSearch: ['x.y'] }).resolvConf, 'search x.y\nnameserver 127.0.0.53\noptions edns0\nnameserver 10.1.1.1\nnameserver fd00::1\n');
    assert.equal(files('none', { dns: ['9.9.9.9'] }).resolvConf, 'nameserver 9.9.9.9\nsearch example.org\noptions edns0\n');
    assert.equal(files('slirp4netns', { dnsSearch: ['.'] }).resolvConf, 'nameserver 10.0.2.3\nnameserver 10.1.1.1\noptions edns0\n');
  });

  it('--no-hosts and --dns none: no file of ours (nor its mount point); the host\'s hosts file is not read', () => {
    const h = host();
    const f = files('slirp4netns', { noHosts: true, dns: ['none'] }, h);
    assert.deepEqual(f, {});
    assert.ok(!h.reads.includes('hosts'), h.reads.join(' '));
    assert.deepEqual(ownNameFiles({ noHosts: true }), { hosts: false, resolvConf: true });
    const points = mountPoints({ volumes: [], tmpfs: [], readOnly: false, noHosts: true, dns: ['none'] });
    assert.deepEqual(points.filter((p) => p.startsWith('/etc/')), ['/etc/hostname']);
  });
});

describe('hostsFile', () => {
  it('an empty base gets localhost v4 and v6; trailing blank lines of the base go', () => {
    assert.equal(hostsFile({ extra: [], base: '', own: [{ ip: '127.0.1.1', names: ['box'] }] }),
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbox\n');
    assert.equal(hostsFile({ extra: [], base: '127.0.0.1 localhost\n\n\n', own: [] }), '127.0.0.1 localhost\n');
  });

  it('a base naming localhost only in a comment still gets it', () => {
    assert.match(hostsFile({ extra: [], base: '# localhost\n10.0.0.1 db\n', own: [] }), /^127\.0\.0\.1\tlocalhost\n/);
  });

  it('takes what networks add after the sandbox\'s own line', () => {
    const text = hostsFile({ extra: [], base: '127.0.0.1 localhost', own: [{ ip: '10.89.0.2', names: ['me', 'alias'] }, { ip: '10.89.0.3', names: ['db'] }] });
    assert.equal(text, '127.0.0.1 localhost\n10.89.0.2\tme alias\n10.89.0.3\tdb\n');
  });
});

describe('resolvConfFile', () => {
  it('keeps the host\'s text when nothing is replaced; drops blank lines otherwise, keeps comments and others', () => {
    assert.equal(resolvConfFile('# mine\nnameserver 1.1.1.1\n\nsortlist 10.0.0.0\n', {}), '# mine\nnameserver 1.1.1.1\n\nsortlist 10.0.0.0\n');
    assert.equal(resolvConfFile('# mine\nnameserver 1.1.1.1\n\nsortlist 10.0.0.0\n', { nameservers: ['2.2.2.2'] }), 'nameserver 2.2.2.2\n# mine\nsortlist 10.0.0.0\n');
    assert.equal(resolvConfFile('domain a.b\nnameserver 1.1.1.1\n', { search: ['c.d'] }), 'search c.d\nnameserver 1.1.1.1\n');
    assert.equal(resolvConfFile('', { nameservers: [] }), '');
  });

  it('routable name servers: IPv4 off the loopback', () => {
    assert.deepEqual(routableNameservers(HOST_RESOLV), ['10.1.1.1']);
  });
});

describe('firstHostAddress', () => {
  it('the first non-loopback IPv4, else a global IPv6, else none', () => {
    const lo = { address: '127.0.0.1', family: 'IPv4', internal: true };
    assert.equal(firstHostAddress({ lo: [lo], eth0: [{ address: 'fd00::2', family: 'IPv6', internal: false }, { address: '192.0.2.2', family: 'IPv4', internal: false }] }), '192.0.2.2');
    assert.equal(firstHostAddress({ lo: [lo], eth0: [{ address: 'fe80::1', family: 'IPv6', internal: false }, { address: 'fd00::2', family: 'IPv6', internal: false }] }), 'fd00::2');
    assert.equal(firstHostAddress({ lo: [lo] }), '');
  });
});

describe('the values of the name options', () => {
  it('--add-host: NAME[;NAME]:IP, IPv6 with or without brackets, host-gateway', () => {
    assert.deepEqual(parseAddHost('a:1.2.3.4'), { ip: '1.2.3.4', names: ['a'] });
    assert.deepEqual(parseAddHost('a;b.c:::1'), { ip: '::1', names: ['a', 'b.c'] });
    assert.deepEqual(parseAddHost('x:[fe80::1]'), { ip: 'fe80::1', names: ['x'] });
    assert.deepEqual(parseAddHost('gw:host-gateway'), { ip: 'host-gateway', names: ['gw'] });
    const hint = /--add-host NAME:IP/;
    throwsSandbox(() => parseAddHost('x'), 'invalid --add-host "x": not NAME:IP', hint);
    throwsSandbox(() => parseAddHost(':1.2.3.4'), 'invalid --add-host ":1.2.3.4": empty name', hint);
    throwsSandbox(() => parseAddHost('x:1.2.3'), 'invalid --add-host "x:1.2.3": "1.2.3" is not an IP address (nor host-gateway)', hint);
    throwsSandbox(() => parseAddHost('x:'), 'invalid --add-host "x:": "" is not an IP address (nor host-gateway)', hint);
    throwsSandbox(() => parseAddHost('bad name:1.2.3.4'), 'invalid --add-host "bad name:1.2.3.4": "bad name" is not a host name (no spaces, "#", ";" or ":")', hint);
  });

  it('--dns: addresses, or none alone', () => {
    assert.deepEqual(checkDns(['1.1.1.1', '::1']), ['1.1.1.1', '::1']);
    assert.deepEqual(checkDns(['none']), ['none']);
    throwsSandbox(() => checkDns(['1.2.3']), 'invalid --dns "1.2.3": not an IP address', /--dns IP/);
    throwsSandbox(() => checkDns(['none', '1.1.1.1']), '--dns none cannot be combined with other --dns addresses', /--dns none/);
  });

  it('--dns-search: domains, or . alone; --dns-option: one word each', () => {
    assert.deepEqual(checkDnsSearch(['a.b.', 'x_y-z.org']), ['a.b.', 'x_y-z.org']);
    throwsSandbox(() => checkDnsSearch(['bad domain']), 'invalid --dns-search "bad domain": not a domain', /--dns-search \./);
    throwsSandbox(() => checkDnsSearch(['.', 'a.b']), '--dns-search . cannot be combined with other search domains', /alone/);
    throwsSandbox(() => checkDnsSearch(['-a.b']), 'invalid --dns-search "-a.b": not a domain', /example\.com/);
    assert.deepEqual(checkDnsOptions(['ndots:2']), ['ndots:2']);
    throwsSandbox(() => checkDnsOptions(['ndots:1\nnameserver 6.6.6.6']), 'invalid --dns-option "ndots:1\\nnameserver 6.6.6.6": one resolv.conf option a time', /ndots:2/);
  });

  it('run\'s name options: only those given are set; --no-hosts with --add-host is refused', () => {
    assert.deepEqual(parseNameArgs({}), {});
    assert.deepEqual(parseNameArgs({ addHost: ['a:1.1.1.1'], dns: ['1.1.1.1'], dnsSearch: ['a.b'], dnsOption: ['rotate'] }),
      { addHosts: ['a:1.1.1.1'], dns: ['1.1.1.1'], dnsSearch: ['a.b'], dnsOptions: ['rotate'] });
    assert.deepEqual(parseNameArgs({ noHosts: true }), { noHosts: true });
    throwsSandbox(() => parseNameArgs({ noHosts: true, addHost: ['a:1.1.1.1'] }), '--no-hosts and --add-host cannot be combined', /leave it out/);
  });

  it('run and create take them from the command line (--dns-opt is --dns-option), repeated options in order', () => {
    const request = toRunRequest(parseRunArgv(['--add-host', 'a:1.1.1.1', '--add-host=b:::1', '--dns', '9.9.9.9', '--dns-opt', 'ndots:1',
      '--dns-option=rotate', '--dns-search', 'x.org', 'bb', 'true'], 'create'), { env: {}, cwd: '/', readFile: () => '', verb: 'create' });
    assert.deepEqual([request.addHosts, request.dns, request.dnsSearch, request.dnsOptions, request.noHosts],
      [['a:1.1.1.1', 'b:::1'], ['9.9.9.9'], ['x.org'], ['ndots:1', 'rotate'], undefined]);
    const plain = toRunRequest(parseRunArgv(['--no-hosts', 'bb']), { env: {}, cwd: '/', readFile: () => '' });
    assert.equal(plain.noHosts, true);
    assert.equal('addHosts' in plain || 'dns' in plain, false);
  });
});
