import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  exposedPorts, formatPortLines, formatPortsColumn, ipVersion, parseExpose, parsePortQuery, parsePublish, parsePublishes,
  portBindings, publishAllExposed, publishWords,
} from '../../src/network/port-spec.js';
import { parsePortOptions } from '../../src/cli/run-request.js';
import { parseRunArgv } from '../../src/cli/run-option-table.js';
import type { PortMapping, RunRequest } from '../../src/types.js';
import { matchesFilters, parseFilters } from '../../src/cli/ps-filter.js';
import type { SandboxView } from '../../src/api/lifecycle.js';
import { throwsSandbox } from './assert-sandbox-error.js';

const tcp = (hostPort: number, containerPort: number, hostIp = ''): PortMapping => ({ hostIp, hostPort, containerPort, protocol: 'tcp' });
const udp = (hostPort: number, containerPort: number, hostIp = ''): PortMapping => ({ hostIp, hostPort, containerPort, protocol: 'udp' });

describe('parsePublish: the forms of podman run -p', () => {
  it('HOSTPORT:CONTAINERPORT, CONTAINERPORT alone, with a protocol', () => {
    assert.deepEqual(parsePublish('8080:80'), [tcp(8080, 80)]);
    assert.deepEqual(parsePublish('80'), [tcp(0, 80)]);
    assert.deepEqual(parsePublish('5353:53/udp'), [udp(5353, 53)]);
    assert.deepEqual(parsePublish('8080:80/TCP'), [tcp(8080, 80)]);
  });
  it('an address: IPv4, [IPv6], an empty host port (a free one on that address)', () => {
    assert.deepEqual(parsePublish('127.0.0.1:8080:80'), [tcp(8080, 80, '127.0.0.1')]);
    assert.deepEqual(parsePublish('127.0.0.1::80'), [tcp(0, 80, '127.0.0.1')]);
    assert.deepEqual(parsePublish('[::1]:8080:80'), [tcp(8080, 80, '::1')]);
    assert.deepEqual(parsePublish('[fe80::1]::53/udp'), [udp(0, 53, 'fe80::1')]);
    assert.deepEqual(parsePublish('0.0.0.0:8080:80'), [tcp(8080, 80)], '0.0.0.0 is every address: the same as none');
  });
  it('ranges: the same length on both sides, or a free host port for each', () => {
    assert.deepEqual(parsePublish('8000-8003:80-83'), [tcp(8000, 80), tcp(8001, 81), tcp(8002, 82), tcp(8003, 83)]);
    assert.deepEqual(parsePublish('80-82'), [tcp(0, 80), tcp(0, 81), tcp(0, 82)]);
    assert.deepEqual(parsePublish('127.0.0.1:9000-9001:90-91/udp'), [udp(9000, 90, '127.0.0.1'), udp(9001, 91, '127.0.0.1')]);
  });
  it('what Podman refuses, one line each with the forms in the hint', () => {
    const hint = /-p \[IP:\]\[HOSTPORT:\]CONTAINERPORT/;
    throwsSandbox(() => parsePublish('8000-8003:80'), 'invalid -p "8000-8003:80": the host and container port ranges have different lengths: 4 vs 1', hint);
    throwsSandbox(() => parsePublish('8000-8001:80-83'), 'invalid -p "8000-8001:80-83": the host and container port ranges have different lengths: 2 vs 4', hint);
    throwsSandbox(() => parsePublish('abc'), 'invalid -p "abc": container port "abc" is not a port number or range', hint);
    throwsSandbox(() => parsePublish('70000:80'), 'invalid -p "70000:80": host port 70000 is not between 1 and 65535', hint);
    throwsSandbox(() => parsePublish('0:80'), 'invalid -p "0:80": host port 0 is not between 1 and 65535', hint);
    throwsSandbox(() => parsePublish('90-80'), 'invalid -p "90-80": container port range 90-80 ends before it starts', hint);
    throwsSandbox(() => parsePublish('1.2.3:8080:80'), 'invalid -p "1.2.3:8080:80": "1.2.3" is not an IP address', hint);
    throwsSandbox(() => parsePublish('::1:8080:80'), 'invalid -p "::1:8080:80": too many ":" (an IPv6 address goes in brackets: [::1]:8080:80)', hint);
    throwsSandbox(() => parsePublish('[::1:8080:80'), 'invalid -p "[::1:8080:80": an IPv6 address opened with "[" is not closed with "]"', hint);
    throwsSandbox(() => parsePublish('[1.2.3.4]:8080:80'), 'invalid -p "[1.2.3.4]:8080:80": "1.2.3.4" is not an IPv6 address', hint);
    throwsSandbox(() => parsePublish('8080:80/sctp'), 'invalid -p "8080:80/sctp": sctp ports cannot be published by a rootless sandbox (user-mode forwarding carries tcp and udp)', hint);
    throwsSandbox(() => parsePublish('8080:80/tcp,udp'), 'invalid -p "8080:80/tcp,udp": one protocol per option: repeat it for tcp and udp (-p 53:53/tcp -p 53:53/udp)', hint);
    throwsSandbox(() => parsePublish('8080:80/icmp'), 'invalid -p "8080:80/icmp": unknown protocol "icmp" (tcp or udp)', hint);
    throwsSandbox(() => parsePublish(':80'), 'invalid -p ":80": empty host port (give one, or only the container port for a free one)', hint);
    throwsSandbox(() => parsePublish('8080:'), 'invalid -p "8080:": no container port', hint);
    throwsSandbox(() => parsePublish(''), 'invalid -p "": empty', hint);
    throwsSandbox(() => parsePublish('1:2:3:4'), 'invalid -p "1:2:3:4": too many ":" (an IPv6 address goes in brackets: [::1]:8080:80)', hint);
  });
  it('a host port published twice (same address and protocol) is refused; tcp and udp may share one', () => {
    throwsSandbox(() => parsePublishes(['8080:80', '8080:81']), 'host port 8080/tcp is published twice', /each host port once/);
    throwsSandbox(() => parsePublishes(['8000-8002:80-82', '8002:90']), 'host port 8002/tcp is published twice', /each host port once/);
    assert.deepEqual(parsePublishes(['53:53/tcp', '53:53/udp']), [tcp(53, 53), udp(53, 53)]);
    assert.deepEqual(parsePublishes(['80', '80']), [tcp(0, 80), tcp(0, 80)], 'free host ports are chosen apart');
  });
});

describe('ipVersion', () => {
  it('tells IPv4 and IPv6 addresses from anything else', () => {
    for (const v4 of ['127.0.0.1', '0.0.0.0', '255.255.255.255', '10.0.2.100']) assert.equal(ipVersion(v4), 4, v4);
    for (const v6 of ['::', '::1', 'fe80::1', '2001:db8::8:800:200c:417a', '1:2:3:4:5:6:7:8', '::ffff:127.0.0.1']) assert.equal(ipVersion(v6), 6, v6);
    for (const bad of ['', '1.2.3', '256.0.0.1', '01.2.3.4x', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', 'localhost', '::ffff:1.2.3']) assert.equal(ipVersion(bad), 0, bad);
  });
});

describe('--expose and -P', () => {
  it('--expose PORT[-PORT][/PROTO]', () => {
    assert.deepEqual(parseExpose('80'), ['80/tcp']);
    assert.deepEqual(parseExpose('100-102/udp'), ['100/udp', '101/udp', '102/udp']);
    throwsSandbox(() => parseExpose('http'), 'invalid --expose "http": port "http" is not a port number or range', /--expose PORT/);
  });
  it("an image's ExposedPorts keys; odd ones are left out", () => {
    assert.deepEqual(exposedPorts(['80/tcp', '53/udp', '8080', '9/sctp', 'x', '80/tcp']), [
      { containerPort: 80, protocol: 'tcp' }, { containerPort: 53, protocol: 'udp' }, { containerPort: 8080, protocol: 'tcp' },
    ]);
  });
  it('-P adds each exposed port not already published, with a host port to choose', () => {
    assert.deepEqual(publishAllExposed([tcp(8080, 80)], ['80/tcp', '80/udp', '443/tcp']), [tcp(8080, 80), udp(0, 80), tcp(0, 443)]);
    assert.deepEqual(publishAllExposed([], []), []);
  });
  it('run options: -p and -P are discarded with a warning where the sandbox has no network of its own, as Podman', () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    assert.deepEqual(parsePortOptions(['8080:80'], true, ['90'], 'slirp4netns', { warn }), { ports: [tcp(8080, 80)], publishAll: true, expose: ['90/tcp'] });
    assert.deepEqual(warnings, []);
    for (const mode of ['host', 'none'] as const) {
      assert.deepEqual(parsePortOptions(['8080:80'], false, [], mode, { warn }), {});
      assert.match(warnings.pop()!, new RegExp(`^port mappings have been discarded: --network ${mode} `));
    }
    const args = parseRunArgv(['-p', '8080:80', '--publish=127.0.0.1:9090:90/udp', '-P', '--expose', '5000', 'bb', 'true']);
    assert.deepEqual(args.publish, ['8080:80', '127.0.0.1:9090:90/udp']);
    assert.equal(args.publishAll, true);
    assert.deepEqual(args.expose, ['5000']);
  });
});

describe('how published ports are shown (as podman ps, port and inspect)', () => {
  // What `podman ps` showed for -p 18080:80 -p 8000-8002:90-92 -p [::1]:18081:80 -p 127.0.0.1::81/udp -p 18090:80/udp.
  const ports = [tcp(18080, 80), tcp(8000, 90), tcp(8001, 91), tcp(8002, 92), tcp(18081, 80, '::1'), udp(38187, 81, '127.0.0.1'), udp(18090, 80)];
  it("ps's PORTS: every address first, by host port, consecutive ports collapsed", () => {
    assert.equal(formatPortsColumn(ports), '0.0.0.0:8000-8002->90-92/tcp, 0.0.0.0:18080->80/tcp, 0.0.0.0:18090->80/udp, ::1:18081->80/tcp, 127.0.0.1:38187->81/udp');
    assert.equal(formatPortsColumn([]), '');
    assert.equal(formatPortsColumn([tcp(8000, 80), tcp(8001, 90)]), '0.0.0.0:8000->80/tcp, 0.0.0.0:8001->90/tcp', 'not a range unless both sides run on');
  });
  it('port NAME, and port NAME PORT[/PROTO]', () => {
    assert.deepEqual(formatPortLines(ports), [
      '90/tcp -> 0.0.0.0:8000', '91/tcp -> 0.0.0.0:8001', '92/tcp -> 0.0.0.0:8002', '80/tcp -> 0.0.0.0:18080',
      '80/udp -> 0.0.0.0:18090', '80/tcp -> ::1:18081', '81/udp -> 127.0.0.1:38187',
    ]);
    assert.deepEqual(formatPortLines(ports, parsePortQuery('80')), ['0.0.0.0:18080', '::1:18081']);
    assert.deepEqual(formatPortLines(ports, parsePortQuery('81/udp')), ['127.0.0.1:38187']);
    assert.deepEqual(formatPortLines(ports, parsePortQuery('99')), []);
    throwsSandbox(() => parsePortQuery('http'), 'invalid port "http"', /PORT\/tcp\|udp/);
  });
  it("inspect's Ports and PortBindings: Docker's shape", () => {
    assert.deepEqual(portBindings([tcp(18080, 80), tcp(18081, 80, '::1'), udp(5353, 53)]), {
      '80/tcp': [{ HostIp: '', HostPort: '18080' }, { HostIp: '::1', HostPort: '18081' }],
      '53/udp': [{ HostIp: '', HostPort: '5353' }],
    });
  });
  it("the launch plan's words", () => {
    assert.deepEqual(publishWords('--publish', [tcp(8080, 80), udp(5353, 53, '::1')]), ['--publish', 'tcp', '', '8080', '80', '--publish', 'udp', '::1', '5353', '53']);
  });
});

describe('ps --filter publish= and expose= (Docker\'s): a container port or range, tcp unless given', () => {
  const view = (name: string, request: Partial<RunRequest>) => ({
    record: { id: name.padEnd(64, '0'), name, created: '2024-01-01T00:00:00.000Z', image: 'bb', command: [], hostname: name, request: { labels: {}, volumes: [], ...request } },
    state: { status: 'running' },
  }) as unknown as SandboxView;
  const web = view('web', { ports: [tcp(8080, 80), udp(5353, 53)] });
  const exposing = view('exposing', { expose: ['9000/tcp'] });
  const plain = view('plain', {});
  const pick = (...specs: string[]) => [web, exposing, plain].filter((v) => matchesFilters(v, parseFilters(specs))).map((v) => v.record.name);
  it('publish: published container ports', () => {
    assert.deepEqual(pick('publish=80'), ['web']);
    assert.deepEqual(pick('publish=80/udp'), []);
    assert.deepEqual(pick('publish=50-60/udp'), ['web']);
    assert.deepEqual(pick('publish=8080'), [], 'the container port, not the host port');
  });
  it('expose: published or exposed', () => {
    assert.deepEqual(pick('expose=9000'), ['exposing']);
    assert.deepEqual(pick('expose=80-9000'), ['web', 'exposing']);
  });
  it('a bad value is one line', () => {
    throwsSandbox(() => parseFilters(['publish=http']), 'invalid filter "publish=http"', 'publish=PORT[-PORT][/tcp|/udp], a container port or range');
  });
});
