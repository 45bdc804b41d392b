/** `--network MODE:OPTS`: the split, slirp4netns' options (Podman's spellings), pasta's words and published ports. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRequest } from '../../src/types.js';
import { throwsSandbox } from './assert-sandbox-error.js';
import { networkDriver, parseNetworkOption } from '../../src/network/driver.js';
import { parseSlirpOptions, slirpAddresses, slirpArgs } from '../../src/network/slirp4netns.js';
import { PASTA_DNS_FORWARD, checkPastaOptions, pastaArgs, pastaDnsForward, pastaPortArgs } from '../../src/network/pasta.js';
import type { HostNameFiles } from '../../src/network/name-files.js';

const SLIRP_HINT = /^slirp4netns takes allow_host_loopback=, cidr=, enable_ipv6=, mtu=, outbound_addr=, outbound_addr6=, port_handler=/;
const host: HostNameFiles = { resolvConf: () => 'search example.org\nnameserver 127.0.0.53\n', hosts: () => '', address: () => '192.0.2.5' };

describe('parseNetworkOption', () => {
  it('a mode alone has no options; MODE:OPTS is split at commas; MODE: is no options', () => {
    assert.deepEqual(parseNetworkOption('pasta'), { network: 'pasta' });
    assert.deepEqual(parseNetworkOption('none'), { network: 'none' });
    assert.deepEqual(parseNetworkOption('pasta:-T,8080,--map-gw'), { network: 'pasta', networkOptions: ['-T', '8080', '--map-gw'] });
    assert.deepEqual(parseNetworkOption('slirp4netns:allow_host_loopback=true,mtu=1500'),
      { network: 'slirp4netns', networkOptions: ['allow_host_loopback=true', 'mtu=1500'] });
    assert.deepEqual(parseNetworkOption('slirp4netns:'), { network: 'slirp4netns', networkOptions: [] });
  });

  it('refuses unknown modes, options for modes without any, and bad options, before anything runs', () => {
    throwsSandbox(() => parseNetworkOption('wifi'), 'unknown network mode "wifi"', /^use --network none\|host\|slirp4netns\|pasta/);
    throwsSandbox(() => parseNetworkOption('host:x'), '--network host takes no options: "host:x"', 'use --network host');
    throwsSandbox(() => parseNetworkOption('slirp4netns:foo=bar'), '--network slirp4netns: unknown option "foo=bar"', SLIRP_HINT);
    throwsSandbox(() => parseNetworkOption('pasta:--pid,/tmp/x'), '--network pasta: option "--pid" cannot be given: its pid file is how the sandbox knows pasta is ready', /pasta:-T,8080/);
  });
});

describe('slirp4netns options', () => {
  it('defaults: mtu 65520, the host loopback closed, 10.0.2.0/24 without IPv6', () => {
    const o = parseSlirpOptions([]);
    assert.deepEqual(o, { allowHostLoopback: false, cidr: '10.0.2.0/24', enableIPv6: false, mtu: 65520, portHandler: 'rootlesskit' });
    assert.deepEqual(slirpArgs(o), ['--mtu=65520', '--disable-host-loopback']);
  });

  it('each of Podman\'s options becomes slirp4netns\' own', () => {
    const o = parseSlirpOptions(['allow_host_loopback=true', 'cidr=10.0.5.7/24', 'enable_ipv6=true', 'mtu=1500',
      'outbound_addr=eth0', 'outbound_addr6=fd00::2', 'port_handler=slirp4netns']);
    assert.equal(o.cidr, '10.0.5.0/24');
    assert.equal(o.portHandler, 'slirp4netns');
    assert.deepEqual(slirpArgs(o), ['--mtu=1500', '--cidr=10.0.5.0/24', '--enable-ipv6', '--outbound-addr=eth0', '--outbound-addr6=fd00::2']);
    assert.deepEqual(slirpArgs(parseSlirpOptions(['allow_host_loopback=false', 'outbound_addr=192.0.2.2', 'port_handler=rootlesskit'])),
      ['--mtu=65520', '--disable-host-loopback', '--outbound-addr=192.0.2.2']);
  });

  it('bad values and unknown keys are one line each', () => {
    const cases: [string, string][] = [
      ['allow_host_loopback=maybe', 'invalid value of allow_host_loopback "maybe": true or false'],
      ['allow_host_loopback', 'unknown option "allow_host_loopback"'],
      ['mtu=67', 'invalid value of mtu "67": a number from 68 to 65521'],
      ['mtu=1e3', 'invalid value of mtu "1e3": a number from 68 to 65521'],
      ['cidr=10.0.2.0', 'invalid value of cidr "10.0.2.0": an IPv4 network A.B.C.D/N, N from 8 to 25'],
      ['cidr=10.0.2.0/28', 'invalid value of cidr "10.0.2.0/28": an IPv4 network A.B.C.D/N, N from 8 to 25'],
      ['cidr=300.0.2.0/24', 'invalid value of cidr "300.0.2.0/24": an IPv4 network A.B.C.D/N, N from 8 to 25'],
      ['port_handler=socat', 'invalid value of port_handler "socat": rootlesskit or slirp4netns'],
      ['outbound_addr=fd00::2', 'invalid value of outbound_addr "fd00::2": an interface name or an address'],
      ['outbound_addr6=fd00::2', 'outbound_addr6 needs enable_ipv6=true'],
      ['Mtu=1500', 'unknown option "Mtu=1500"'],
    ];
    for (const [opt, message] of cases) throwsSandbox(() => parseSlirpOptions([opt]), `--network slirp4netns: ${message}`, SLIRP_HINT);
  });

  it('addresses follow cidr: the sandbox .100, gateway .2, DNS .3, in inspect and resolv.conf', () => {
    assert.deepEqual(slirpAddresses('10.0.2.0/24'), { ip: '10.0.2.100', prefixLen: 24, gateway: '10.0.2.2', dns: '10.0.2.3' });
    assert.deepEqual(slirpAddresses('172.20.0.0/16'), { ip: '172.20.0.100', prefixLen: 16, gateway: '172.20.0.2', dns: '172.20.0.3' });
    const slirp = networkDriver('slirp4netns');
    const request = { network: 'slirp4netns', networkOptions: ['cidr=10.0.9.0/24'] } as RunRequest;
    assert.deepEqual(slirp.addressOf?.(request), { ip: '10.0.9.100', prefixLen: 24, gateway: '10.0.9.2' });
    assert.deepEqual(slirp.names({ request, host }), { ownAddress: '10.0.9.100', hostAddress: '192.0.2.5', nameservers: ['10.0.9.3'] });
    assert.deepEqual(slirp.launchArgs({ request, tools: { slirp4netns: '/s' }, dir: '/d' }).slice(4),
      ['--network-arg', '--mtu=65520', '--network-arg', '--disable-host-loopback', '--network-arg', '--cidr=10.0.9.0/24']);
  });
});

describe('pasta', () => {
  const DEFAULTS = ['--config-net', '--no-map-gw', '-t', 'none', '-u', 'none', '-T', 'none', '-U', 'none', '--dns-forward', PASTA_DNS_FORWARD];

  it('defaults as Podman\'s: interface configured, host loopback closed, no port forwarded either way, DNS forwarded', () => {
    assert.deepEqual(pastaArgs([]), DEFAULTS);
  });

  it('--map-gw (Podman\'s word, not pasta\'s) opens the host loopback; the user\'s -t/-T/-u/-U replace our "none"', () => {
    assert.deepEqual(pastaArgs(['--map-gw']), DEFAULTS.filter((w) => w !== '--no-map-gw'));
    assert.deepEqual(pastaArgs(['-T', '8080']), ['--config-net', '--no-map-gw', '-t', 'none', '-u', 'none', '-U', 'none', '--dns-forward', PASTA_DNS_FORWARD, '-T', '8080']);
    assert.deepEqual(pastaArgs(['--tcp-ports=5201', '-u5353', '--udp-ns', 'auto', '--tcp-ns=none']),
      ['--config-net', '--no-map-gw', '--dns-forward', PASTA_DNS_FORWARD, '--tcp-ports=5201', '-u5353', '--udp-ns', 'auto', '--tcp-ns=none']);
    // What we always give is not given twice.
    assert.deepEqual(pastaArgs(['--config-net', '--no-map-gw']), DEFAULTS);
  });

  it('another --dns-forward replaces ours, and resolv.conf names it', () => {
    assert.deepEqual(pastaArgs(['--dns-forward', '10.9.9.9']).slice(-2), ['--dns-forward', '10.9.9.9']);
    assert.ok(!pastaArgs(['--dns-forward=10.9.9.9']).includes(PASTA_DNS_FORWARD));
    assert.equal(pastaDnsForward(['--dns-forward=10.9.9.9']), '10.9.9.9');
    assert.equal(pastaDnsForward([]), PASTA_DNS_FORWARD);
    const pasta = networkDriver('pasta');
    assert.deepEqual(pasta.names({ request: { networkOptions: ['--dns-forward', '10.9.9.9'] } as RunRequest, host }), { nameservers: ['10.9.9.9'] });
    assert.deepEqual(pasta.names({ request: {} as RunRequest, host }), { nameservers: [PASTA_DNS_FORWARD] });
  });

  it('published ports become pasta\'s own -t/-u (pasta forwards them and keeps source addresses)', () => {
    const ports = [
      { hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const },
      { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' as const },
      { hostIp: '::1', hostPort: 8443, containerPort: 443, protocol: 'tcp' as const },
    ];
    assert.deepEqual(pastaPortArgs(ports), ['-t', '8080:80', '-u', '127.0.0.1/5353:53', '-t', '::1/8443:443']);
    assert.deepEqual(pastaArgs([], ports), ['--config-net', '--no-map-gw', '-T', 'none', '-U', 'none', '--dns-forward', PASTA_DNS_FORWARD,
      '-t', '8080:80', '-u', '127.0.0.1/5353:53', '-t', '::1/8443:443']);
    // tcp only: udp stays "none"
    assert.ok(pastaArgs([], [ports[0]!]).join(' ').includes('-u none'));
    const request = { network: 'pasta', ports } as unknown as RunRequest;
    const words = networkDriver('pasta').launchArgs({ request, tools: { pasta: '/usr/bin/pasta' }, dir: '/d' });
    assert.deepEqual(words.slice(0, 4), ['--network-cmd', '/usr/bin/pasta', '--net-log', '/d/network.log']);
    assert.ok(words.slice(4).every((w, i) => i % 2 === 1 || w === '--network-arg'));
    assert.deepEqual(words.slice(4).filter((_, i) => i % 2 === 1), pastaArgs([], ports));
  });

  it('refuses the options that would take pasta out of our hands, and empty ones', () => {
    for (const o of ['-P', '--pid=/x', '-l', '--log-file', '--netns', '--userns', '--netns-only', '-F', '--fd', '--help', '-h', '--version']) {
      assert.throws(() => checkPastaOptions([o]), /cannot be given/, o);
    }
    throwsSandbox(() => checkPastaOptions(['-T', '']), '--network pasta: an empty option', /separate pasta's options with single commas/);
    checkPastaOptions(['-T', '8080', '--map-gw', '-a', '10.0.0.2', '--mtu', '1500']);
  });
});
