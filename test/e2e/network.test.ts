/**
 * The network drivers (src/network/, helpers/launch/network.c), each end to end as the
 * unprivileged test user: the namespace the sandbox gets and exec enters, what the
 * driver finishes inside (lo up, ping allowed), its /etc/resolv.conf and /etc/hosts,
 * inspect's NetworkMode, slirp4netns and pasta started with the sandbox and gone when it
 * stops. (Their options and the host's loopback: network-modes.test.ts.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { eventually, importImage, lines, newStore, requireRootless, runSandbox, sandboxIdsIn, show } from './harness.js';

async function storeWithBusybox(t: TestContext): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

/** Host pids whose command line contains `word` as one of its arguments. */
function pidsWithArg(word: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(word)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

const withoutNameservers = (text: string) => lines(text).filter((l) => !/^\s*nameserver\s/.test(l));
const nameservers = (text: string) => lines(text).flatMap((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1] ?? []);

/** The pasta processes serving the init `pid` (`pasta ... PID`: the init's pid is its last word). */
function pastasOf(pid: string): number[] {
  return pidsWithArg(pid).filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
      return argv[0] === 'pasta' && argv[argv.length - 1] === pid;
    } catch {
      return false; // gone
    }
  });
}

for (const mode of ['none', 'host', 'slirp4netns', 'pasta'] as const) {
  test(`--network ${mode}: the namespace run makes and exec enters, lo, ping, resolv.conf, hosts, inspect`, async (t) => {
    if (!requireRootless(t, `--network ${mode}`)) return;
    const root = await storeWithBusybox(t);
    const name = `net-${mode}`;
    t.after(async () => { await runSandbox(['rm', '-f', name], { root }); });
    const run = await runSandbox(['run', '-d', '--name', name, '--hostname', 'netbox', '--network', mode, 'bb', 'sleep', '600'], { root });
    assert.equal(run.code, 0, show(run));
    const exec = async (script: string) => {
      const r = await runSandbox(['exec', name, 'sh', '-c', script], { root });
      assert.equal(r.code, 0, show(r));
      return r.stdout;
    };

    const inspect = await runSandbox(['inspect', '--format', '{{.HostConfig.NetworkMode}} {{.State.Pid}}', name], { root });
    assert.equal(inspect.code, 0, show(inspect));
    const [networkMode, pid] = inspect.stdout.trim().split(' ');
    assert.equal(networkMode, mode);

    // exec is in the network namespace of the sandbox (seen from the host, through its
    // command: the init is not dumpable, so only root could look at it): the host's for
    // host, its own otherwise.
    const initNs = readlinkSync(`/proc/${childOf(Number(pid))}/ns/net`);
    assert.equal((await exec('readlink /proc/self/ns/net')).trim(), initNs);
    const hostNs = readlinkSync('/proc/self/ns/net');
    if (mode === 'host') assert.equal(initNs, hostNs);
    else assert.notEqual(initNs, hostNs);

    if (mode !== 'host') {
      // What the driver finishes inside: lo up, and ping without CAP_NET_RAW (as Podman).
      const inside = await exec('ip -o link show lo; cat /proc/sys/net/ipv4/ping_group_range');
      assert.match(inside, /^1: lo: <[^>]*\bUP\b/m, inside);
      assert.match(inside, /^0\s+0$/m, inside);
    }

    const hostResolv = readFileSync('/etc/resolv.conf', 'utf8');
    const resolv = await exec('cat /etc/resolv.conf');
    if (mode === 'host') assert.equal(resolv, hostResolv);
    else {
      // The host's loopback name servers cannot be reached from a namespace of its own:
      // slirp4netns' forwarder then the host's others (as Podman), pasta's forwarder, or none.
      const routable = nameservers(hostResolv).filter((ns) => /^\d+\.\d+\.\d+\.\d+$/.test(ns) && !ns.startsWith('127.'));
      const expected = { none: [], slirp4netns: [...new Set(['10.0.2.3', ...routable])], pasta: ['169.254.1.1'] }[mode];
      assert.deepEqual(nameservers(resolv), expected);
      assert.deepEqual(withoutNameservers(resolv), withoutNameservers(hostResolv));
    }

    const hosts = await exec('cat /etc/hosts');
    // The host's file (Podman's base), then the sandbox's address with its hostname and name.
    assert.match(hosts, new RegExp(`^${mode === 'slirp4netns' ? '10\\.0\\.2\\.100' : '127\\.0\\.1\\.1'}\tnetbox ${name}$`, 'm'));
    assert.ok(hosts.includes(readFileSync('/etc/hosts', 'utf8').replace(/\n*$/, '\n')), hosts);

    if (mode === 'pasta') {
      // pasta configured the interface inside (--config-net): an address and a default route.
      const net = await exec('ip -4 -o addr show scope global; ip route show default');
      assert.match(net, /inet \d+\.\d+\.\d+\.\d+\/\d+/, net);
      assert.match(net, /^default via /m, net);
    }

    // slirp4netns or pasta runs for the sandbox's namespaces while it runs, and not after it stops.
    const helper = () => (mode === 'pasta' ? pastasOf(pid!) : pidsWithArg(`--userns-path=/proc/${pid}/ns/user`));
    if (mode === 'slirp4netns' || mode === 'pasta') assert.equal(helper().length, 1, `one ${mode} for init ${pid}`);
    const stop = await runSandbox(['stop', '-t', '1', name], { root });
    assert.equal(stop.code, 0, show(stop));
    assert.equal(await eventually(() => (helper().length === 0 ? '' : `${mode} still runs: ${helper().join(' ')}`)), '');
  });
}

test('slirp4netns: one per run of a restarting sandbox, each stopped when its run ends', async (t) => {
  if (!requireRootless(t, 'slirp4netns with --restart')) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'flaky'], { root }); });
  const run = await runSandbox(['run', '-d', '--name', 'flaky', '--restart', 'always', '--network', 'slirp4netns', 'bb', 'sh', '-c', 'sleep 0.3; exit 1'], { root });
  assert.equal(run.code, 0, show(run));
  const [id] = sandboxIdsIn(root);
  const monitor = Number(readFileSync(join(root, 'data', 'containers', id!, 'monitor'), 'utf8').split(' ')[0]);
  const slirps = () => childrenOf(monitor).filter((c) => {
    try { return readFileSync(`/proc/${c}/cmdline`, 'utf8').startsWith('slirp4netns\0'); } catch { return false; /* gone */ }
  });
  // Inits come and go; the monitor never holds more than the current run's slirp4netns.
  const inits = new Set<number>();
  const deadline = Date.now() + 20_000;
  while (inits.size < 4 && Date.now() < deadline) {
    // The pid file: the init's pid on its first line (then the restart count).
    const pid = Number(readFileSync(join(root, 'data', 'containers', id!, 'pid'), 'utf8').split('\n')[0]);
    inits.add(pid);
    const now = slirps();
    assert.ok(now.length <= 1, `slirp4netns of monitor ${monitor}: ${now.join(' ')} (run ${inits.size})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(inits.size >= 4, `restarted: ${[...inits].join(' ')}`);
});

/** The first process whose parent is `pid` (from /proc/N/stat, which anyone may read). */
function childOf(pid: number): number {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat = '';
    try { stat = readFileSync(`/proc/${e}/stat`, 'utf8'); } catch { continue; /* gone */ }
    // After the command name in parentheses (which may hold spaces): state, then the parent's pid.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(e);
  }
  throw new Error(`no child of ${pid}`);
}

/** The children of `pid` (as the kernel lists them). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
