/**
 * Issue 14, item 7 (part) and State.Health of item 9, as the unprivileged test user:
 * health checks run by the monitor at every interval (healthy, unhealthy), `healthcheck
 * run` and its exit codes, a check's timeout, no check process left after stop, kill,
 * rm -f or a SIGKILL of the monitor; --log-driver none, --log-opt max-size/max-file/path;
 * --stop-signal and --stop-timeout as stop and rm -f use them.
 */
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { eventually, importImage, newStore, newUserDir, requireRootless, runSandbox, show, testUser, type RunResult } from './harness.js';
import { newPodman } from './podman.js';

interface Health { Status: string; FailingStreak: number; Log: { Start: string; End: string; ExitCode: number; Output: string }[] | null }

async function storeWithBusybox(t: Parameters<typeof newStore>[0]): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

async function health(root: string, name: string): Promise<Health> {
  const r = await runSandbox(['inspect', '--format', '{{json .State.Health}}', name], { root });
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout) as Health;
}

async function runDetached(root: string, args: string[]): Promise<string> {
  const r = await runSandbox(['run', '-d', '--network', 'none', ...args], { root });
  assert.equal(r.code, 0, show(r));
  return r.stdout.trim();
}

/** Processes of the test user whose command line contains `marker` (a check's own words, or a sandbox id). */
function processesWith(marker: string): string[] {
  const uid = testUser().uid;
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (statSync(`/proc/${e}`).uid !== uid) continue;
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ');
      const state = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmd.includes(marker) && state !== 'Z') out.push(`${e} ${cmd.trim()}`);
    } catch { /* ended meanwhile */ }
  }
  return out;
}

test('a passing check makes the sandbox healthy, checked again at every interval; ps and inspect show it', async (t) => {
  if (!requireRootless(t, 'health checks')) return;
  const root = await storeWithBusybox(t);
  await runDetached(root, ['--name', 'ok', '--health-cmd', 'echo fine; cat /etc/hostname', '--health-interval', '1s', '--hostname', 'hc-host', 'bb', 'sleep', '600']);
  const first = await health(root, 'ok');
  assert.ok(first.Status === 'starting' || first.Status === 'healthy', JSON.stringify(first));

  // The monitor runs it by itself: two results without anyone asking.
  const wrong = await eventually(async () => {
    const h = await health(root, 'ok');
    return h.Status === 'healthy' && (h.Log?.length ?? 0) >= 2 ? '' : JSON.stringify(h);
  }, 30_000, 250);
  assert.equal(wrong, '', 'healthy after two periodic checks');
  const h = await health(root, 'ok');
  assert.equal(h.FailingStreak, 0);
  for (const entry of h.Log!) {
    assert.equal(entry.ExitCode, 0);
    assert.equal(entry.Output, 'fine\nhc-host', 'stdout of the check, run inside the sandbox, last newline dropped');
    assert.ok(Date.parse(entry.End) >= Date.parse(entry.Start), JSON.stringify(entry));
  }

  const ps = await runSandbox(['ps', '--format', '{{.Names}} {{.Status}}'], { root });
  assert.match(ps.stdout, /^ok Up .* \(healthy\)$/m, show(ps));
  const config = await runSandbox(['inspect', '--format', '{{json .Config.Healthcheck}}', 'ok'], { root });
  assert.deepEqual(JSON.parse(config.stdout), { Test: ['CMD-SHELL', 'echo fine; cat /etc/hostname'], Interval: 1e9, Timeout: 30e9, Retries: 3 });

  const run = await runSandbox(['healthcheck', 'run', 'ok'], { root });
  assert.deepEqual([run.code, run.stdout], [0, ''], show(run));
  const stop = await runSandbox(['stop', 'ok'], { root });
  assert.equal(stop.code, 0, show(stop));
  assert.equal((await health(root, 'ok')).Status, 'healthy', 'the last health stays after a stop, as in Podman');
  const start = await runSandbox(['start', 'ok'], { root });
  assert.equal(start.code, 0, show(start));
  const restarted = await health(root, 'ok');
  assert.ok(restarted.Status === 'starting' || restarted.Status === 'healthy', 'a start begins again from starting');
  assert.equal((await runSandbox(['rm', '-f', 'ok'], { root })).code, 0);
});

test('a failing check: unhealthy after --health-retries failures in a row; healthcheck run exits 1', async (t) => {
  if (!requireRootless(t, 'health checks')) return;
  const root = await storeWithBusybox(t);
  await runDetached(root, ['--name', 'bad', '--health-cmd', '["/bin/sh", "-c", "echo broken >&2; exit 3"]', '--health-interval', '1s', '--health-retries', '2', 'bb', 'sleep', '600']);
  const wrong = await eventually(async () => {
    const h = await health(root, 'bad');
    return h.Status === 'unhealthy' ? '' : JSON.stringify(h);
  }, 30_000, 250);
  assert.equal(wrong, '', 'unhealthy from periodic checks alone');
  const h = await health(root, 'bad');
  assert.ok(h.FailingStreak >= 2, JSON.stringify(h));
  assert.ok(h.Log!.length <= 5, 'at most five results are kept');
  assert.deepEqual([h.Log![0]!.ExitCode, h.Log![0]!.Output], [1, 'broken'], 'stderr is the output too; a failure is 1, as in Podman');
  const ps = await runSandbox(['ps', '--format', '{{.Names}} {{.Status}}'], { root });
  assert.match(ps.stdout, /^bad Up .* \(unhealthy\)$/m, show(ps));
  const config = await runSandbox(['inspect', '--format', '{{json .Config.Healthcheck.Test}}', 'bad'], { root });
  assert.equal(config.stdout.trim(), '["CMD","/bin/sh","-c","echo broken >&2; exit 3"]', 'a JSON array is the exec form');

  const run = await runSandbox(['healthcheck', 'run', 'bad'], { root });
  assert.deepEqual([run.code, run.stdout], [1, 'unhealthy\n'], show(run));
  assert.equal((await runSandbox(['rm', '-f', 'bad'], { root })).code, 0);
});

test('healthcheck run: 125 without a check, when not running, for no such sandbox; a timeout fails the check and ends it', async (t) => {
  if (!requireRootless(t, 'health checks')) return;
  const root = await storeWithBusybox(t);
  await runDetached(root, ['--name', 'plain', 'bb', 'sleep', '600']);
  const none = await runSandbox(['healthcheck', 'run', 'plain'], { root });
  assert.equal(none.code, 125, show(none));
  assert.match(none.stderr, /^sandbox: sandbox plain has no defined healthcheck\nhint: /, show(none));
  assert.equal((await health(root, 'plain')).Status, '', 'no check: an empty Health, as Podman 4 shows it');
  const missing = await runSandbox(['healthcheck', 'run', 'nosuch'], { root });
  assert.equal(missing.code, 125, show(missing));

  const created = await runSandbox(['create', '--name', 'idle', '--health-cmd', 'true', 'bb', 'sleep', '600'], { root });
  assert.equal(created.code, 0, show(created));
  const idle = await runSandbox(['healthcheck', 'run', 'idle'], { root });
  assert.equal(idle.code, 125, show(idle));
  assert.match(idle.stderr, /is not running/, show(idle));

  // A check that outlives --health-timeout is killed (its whole session) and counts as failed (-1).
  await runDetached(root, ['--name', 'slow', '--health-cmd', 'sleep 4243; true', '--health-timeout', '1s', '--health-interval', 'disable', 'bb', 'sleep', '600']);
  const slow = await runSandbox(['healthcheck', 'run', 'slow'], { root });
  assert.deepEqual([slow.code, slow.stdout], [1, 'unhealthy\n'], show(slow));
  const h = await health(root, 'slow');
  assert.equal(h.Log?.at(-1)?.ExitCode, -1, JSON.stringify(h));
  assert.equal(h.FailingStreak, 1);
  assert.deepEqual(processesWith('sleep 4243'), [], 'the timed-out check is gone');
  // --health-interval disable: nothing runs by itself.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await health(root, 'slow')).Log?.length, 1, 'no periodic checks with --health-interval disable');

  for (const bad of [['--health-retries', '0'], ['--health-interval', 'soon'], ['--health-timeout', '0s'], ['--no-healthcheck', '--health-cmd', 'true']]) {
    const r = await runSandbox(['create', '--health-cmd', 'true', ...bad, 'bb', 'true'], { root });
    assert.equal(r.code, 125, `${bad.join(' ')}: ${show(r)}`);
    assert.match(r.stderr, /^sandbox: .*\nhint: /, show(r));
  }
  const disabled = await runSandbox(['create', '--name', 'nohc', '--health-cmd', 'none', 'bb', 'true'], { root });
  assert.equal(disabled.code, 0, show(disabled));
  const cfg = await runSandbox(['inspect', '--format', '{{json .State.Health}}', 'nohc'], { root });
  assert.equal(JSON.parse(cfg.stdout).Status, '', '--health-cmd none: no check');
  for (const n of ['plain', 'slow']) await runSandbox(['rm', '-f', '-t', '0', n], { root });
});

test('no check process is left after stop, kill, rm -f, or a SIGKILL of the monitor', async (t) => {
  if (!requireRootless(t, 'health checks')) return;
  const root = await storeWithBusybox(t);
  // Each sandbox's check runs for a while (a marker of its own), started every second.
  const endings: [string, (name: string, id: string) => Promise<void>][] = [
    ['stop', async (n) => { assert.equal((await runSandbox(['stop', '-t', '2', n], { root })).code, 0); }],
    ['kill', async (n) => { assert.equal((await runSandbox(['kill', n], { root })).code, 0); }],
    ['rm -f', async (n) => { assert.equal((await runSandbox(['rm', '-f', '-t', '2', n], { root })).code, 0); }],
    ['SIGKILL of the monitor', async (_n, id) => {
      const [pid] = readFileSync(join(root, 'data', 'containers', id, 'monitor'), 'utf8').split(' ');
      process.kill(Number(pid), 'SIGKILL');
    }],
  ];
  let marker = 4300;
  for (const [what, end] of endings) {
    marker++;
    const name = `hc-${marker}`;
    const id = await runDetached(root, ['--name', name, '--health-cmd', `sleep ${marker}`, '--health-interval', '1s', 'bb', 'sleep', '600']);
    const running = await eventually(() => (processesWith(`sleep ${marker}`).length && processesWith(`healthcheck run`).some((p) => p.includes(id)) ? '' : 'no check running yet'), 20_000, 100);
    assert.equal(running, '', `${what}: a check is running`);
    await end(name, id);
    const left = await eventually(() => [...processesWith(`sleep ${marker}`), ...processesWith(id)].join('\n'), 10_000, 100);
    assert.equal(left, '', `${what}: nothing of the check is left`);
  }
});

test('--log-driver none keeps nothing and logs says so; json-file is k8s-file; --log-opt path= and max-size', async (t) => {
  if (!requireRootless(t, 'log drivers')) return;
  const root = await storeWithBusybox(t);
  const fg = await runSandbox(['run', '--name', 'quiet', '--network', 'none', '--log-driver', 'none', 'bb', 'echo', 'to-terminal'], { root });
  assert.deepEqual([fg.code, fg.stdout], [0, 'to-terminal\n'], 'a foreground run still prints its output');
  const id = await runDetached(root, ['--name', 'quiet-d', '--log-driver', 'none', 'bb', 'sh', '-c', 'echo gone; sleep 600']);
  await new Promise((r) => setTimeout(r, 300));
  const logs = await runSandbox(['logs', 'quiet-d'], { root });
  assert.equal(logs.code, 125, show(logs));
  assert.match(logs.stderr, /^sandbox: .*'none' log driver.*\nhint: /, show(logs));
  assert.ok(!existsSync(join(root, 'data', 'containers', id, 'ctr.log')), 'no log file');
  const type = await runSandbox(['inspect', '--format', '{{.HostConfig.LogConfig.Type}}', 'quiet-d'], { root });
  assert.equal(type.stdout, 'none\n');

  const json = await runSandbox(['run', '--name', 'js', '--network', 'none', '--log-driver', 'json-file', 'bb', 'echo', 'kept'], { root });
  assert.equal(json.code, 0, show(json));
  assert.equal((await runSandbox(['logs', 'js'], { root })).stdout, 'kept\n');

  const dir = await newUserDir(t);
  const path = join(dir, 'app.log');
  const moved = await runSandbox(['run', '--name', 'moved', '--network', 'none', '--log-opt', `path=${path}`, 'bb', 'echo', 'over-there'], { root });
  assert.equal(moved.code, 0, show(moved));
  assert.match(readFileSync(path, 'utf8'), /^\S+ stdout F over-there$/m, 'the log is where path= says');
  assert.equal((await runSandbox(['logs', 'moved'], { root })).stdout, 'over-there\n');
  assert.equal((await runSandbox(['inspect', '--format', '{{.LogPath}}', 'moved'], { root })).stdout, `${path}\n`);

  // max-size bounds the log: 20 000 lines of output, at most 8 KiB kept in ctr.log and ctr.log.1.
  const many = 'i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done';
  for (const [name, extra, oldKept] of [['bounded', [], true], ['truncated', ['--log-opt', 'max-file=1'], false]] as const) {
    const r = await runSandbox(['run', '--name', name, '--network', 'none', '--log-opt', 'max-size=4k', ...extra, 'bb', 'sh', '-c', many], { root, timeoutMs: 120_000 });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const rid = (await runSandbox(['inspect', '--format', '{{.Id}}', name], { root })).stdout.trim();
    const log = join(root, 'data', 'containers', rid, 'ctr.log');
    assert.ok(statSync(log).size <= 4096 + 64, `${name}: ctr.log is ${statSync(log).size} bytes`);
    assert.equal(existsSync(`${log}.1`), oldKept, `${name}: ctr.log.1 ${oldKept ? 'kept' : 'dropped'}`);
    if (oldKept) assert.ok(statSync(`${log}.1`).size <= 4096 + 64, `${name}: ctr.log.1 is ${statSync(`${log}.1`).size} bytes`);
    const tail = await runSandbox(['logs', '--tail', '1', name], { root });
    assert.equal(tail.stdout, 'line-19999\n', `${name}: the newest output is kept`);
  }
  for (const bad of [['--log-driver', 'syslog'], ['--log-opt', 'max-size=1x'], ['--log-opt', 'nosuch=1'], ['--log-opt', 'max-file=0']]) {
    const r = await runSandbox(['create', ...bad, 'bb', 'true'], { root });
    assert.equal(r.code, 125, `${bad.join(' ')}: ${show(r)}`);
    assert.match(r.stderr, /^sandbox: .*\nhint: /, show(r));
  }
});

test('--stop-signal is what the command gets from stop and rm -f; --stop-timeout is how long they wait', async (t) => {
  if (!requireRootless(t, 'stop signal and timeout')) return;
  const root = await storeWithBusybox(t);
  const dir = await newUserDir(t);
  const trap = (sig: string) => `trap "echo got-${sig} >> /out/signals; exit 0" ${sig}; while true; do sleep 0.05; done`;

  await runDetached(root, ['--name', 'usr1', '--stop-signal', 'SIGUSR1', '-v', `${dir}:/out`, 'bb', 'sh', '-c', trap('USR1')]);
  await new Promise((r) => setTimeout(r, 300));
  const stop = await runSandbox(['stop', 'usr1'], { root });
  assert.equal(stop.code, 0, show(stop));
  assert.equal(readFileSync(join(dir, 'signals'), 'utf8'), 'got-USR1\n', 'stop sent SIGUSR1, trapped inside');
  const cfg = await runSandbox(['inspect', '--format', '{{.Config.StopSignal}} {{.Config.StopTimeout}}', 'usr1'], { root });
  assert.equal(cfg.stdout, '10 10\n');

  // rm -f stops first, with the stop signal, as Podman's does.
  await runDetached(root, ['--name', 'usr2', '--stop-signal', 'USR2', '-v', `${dir}:/out`, 'bb', 'sh', '-c', trap('USR2')]);
  await new Promise((r) => setTimeout(r, 300));
  const rm = await runSandbox(['rm', '-f', 'usr2'], { root });
  assert.equal(rm.code, 0, show(rm));
  assert.equal(readFileSync(join(dir, 'signals'), 'utf8'), 'got-USR1\ngot-USR2\n', 'rm -f sent the stop signal first');

  // A command that ignores the stop signal: SIGKILL after --stop-timeout, not after 10 s.
  await runDetached(root, ['--name', 'stubborn', '--stop-timeout', '1', 'bb', 'sh', '-c', 'trap "" TERM; while true; do sleep 0.05; done']);
  const timeout = await runSandbox(['inspect', '--format', '{{.Config.StopTimeout}}', 'stubborn'], { root });
  assert.equal(timeout.stdout, '1\n');
  const stopped = await runSandbox(['stop', 'stubborn'], { root });
  assert.equal(stopped.code, 0, show(stopped));
  assert.ok(stopped.ms < 8000, `stop waited ${stopped.ms} ms: the sandbox's --stop-timeout 1, not 10 s`);
  const exit = await runSandbox(['inspect', '--format', '{{.State.ExitCode}}', 'stubborn'], { root });
  assert.equal(exit.stdout, '137\n', 'ended by SIGKILL');
  const bad = await runSandbox(['create', '--stop-timeout', 'soon', 'bb', 'true'], { root });
  assert.equal(bad.code, 125, show(bad));
});

test("the image's HEALTHCHECK (built by Podman) applies; --health-* override it, --no-healthcheck drops it", async (t) => {
  if (!requireRootless(t, "the image's health check")) return;
  const podman = await newPodman(t);
  if (!podman) return;
  const root = await newStore(t);
  const user = testUser();
  const context = join(podman.dir, 'ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'Containerfile'), 'FROM localhost/pbb\nHEALTHCHECK --interval=1s --retries=4 CMD echo from-image\n');
  for (const p of [context, join(context, 'Containerfile')]) chownSync(p, user.uid, user.gid);
  const steps: [string, string[]][] = [
    ['import', ['import', await busyboxRootfsTar(), 'localhost/pbb']],
    // Docker's format: an OCI image config has no Healthcheck (Podman drops it there).
    ['build', ['build', '--format', 'docker', '-t', 'localhost/pbb-hc', context]],
    ['save', ['save', '--format', 'docker-archive', '-o', join(podman.dir, 'hc.tar'), 'localhost/pbb-hc']],
  ];
  for (const [what, args] of steps) {
    const r: RunResult = await podman(args);
    assert.equal(r.code, 0, `podman ${what}\n${show(r)}`);
  }
  const load = await runSandbox(['load', '-i', join(podman.dir, 'hc.tar')], { root });
  assert.equal(load.code, 0, show(load));

  await runDetached(root, ['--name', 'img', 'localhost/pbb-hc', 'sleep', '600']);
  const cfg = await runSandbox(['inspect', '--format', '{{json .Config.Healthcheck}}', 'img'], { root });
  assert.deepEqual(JSON.parse(cfg.stdout), { Test: ['CMD-SHELL', 'echo from-image'], Interval: 1e9, Timeout: 30e9, Retries: 4 });
  const wrong = await eventually(async () => {
    const h = await health(root, 'img');
    return h.Status === 'healthy' && h.Log?.[0]?.Output === 'from-image' ? '' : JSON.stringify(h);
  }, 30_000, 250);
  assert.equal(wrong, '', "the image's check runs by itself");

  const created = await runSandbox(['create', '--name', 'over', '--health-retries', '7', '--health-interval', 'disable', 'localhost/pbb-hc', 'true'], { root });
  assert.equal(created.code, 0, show(created));
  const over = await runSandbox(['inspect', '--format', '{{json .Config.Healthcheck}}', 'over'], { root });
  assert.deepEqual(JSON.parse(over.stdout), { Test: ['CMD-SHELL', 'echo from-image'], Interval: 0, Timeout: 30e9, Retries: 7 }, 'flags override the image');
  const off = await runSandbox(['create', '--name', 'off', '--no-healthcheck', 'localhost/pbb-hc', 'true'], { root });
  assert.equal(off.code, 0, show(off));
  const offHc = await runSandbox(['healthcheck', 'run', 'off'], { root });
  assert.equal(offHc.code, 125, show(offHc));
  assert.equal((await runSandbox(['rm', '-f', '-t', '0', 'img'], { root })).code, 0);
});
