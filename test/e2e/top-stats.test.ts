/**
 * Issue 4: `sandbox top` and `sandbox stats`, as the unprivileged test user.
 *
 * The zombie is made on purpose: `sh -c "sleep 0.1 & exec sleep 555"` forks a short sleep
 * and becomes `sleep 555`, which never reaps it. Its parent is not PID 1 (it is a child of
 * the main shell), so the zombie stays until that parent is killed; then the sandbox's
 * init (PID 1, which reaps what it inherits) must make it go away.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { eventually, importImage, lines, newStore, requireRootless, runSandbox, show } from './harness.js';

interface TopJson {
  Name: string;
  Zombies: number;
  Pid1: string;
  Processes: { Pid: number; HostPid: number; User: string; Uid: number | null; Time: string; Stat: string; Command: string }[];
}

interface StatsJson {
  id: string;
  name: string;
  cpuPercent: number;
  memoryBytes: number;
  pids: number;
  source: string;
}

test('top: processes inside with both pids and users, a zombie made on purpose, none once PID 1 reaps it; stats', async (t) => {
  if (!requireRootless(t, 'top and stats')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  t.after(async () => { await runSandbox(['rm', '-f', 'z'], { root }); });

  const run = await runSandbox(['run', '-d', '--name', 'z', '--network', 'none', 'bb', 'sh', '-c',
    'sh -c "sleep 0.1 & exec sleep 555" & while true; do sleep 1; done'], { root });
  assert.equal(run.code, 0, show(run));
  const app = await runSandbox(['exec', '-d', '-u', 'app', 'z', 'sleep', '556'], { root });
  assert.equal(app.code, 0, show(app));

  const top = async (): Promise<TopJson> => {
    const r = await runSandbox(['top', 'z', '--format', 'json'], { root });
    assert.equal(r.code, 0, show(r));
    return JSON.parse(r.stdout) as TopJson;
  };

  let seen: TopJson | undefined;
  const zombie = await eventually(async () => {
    seen = await top();
    return seen.Zombies === 1 && seen.Processes.some((p) => p.Command === 'sleep 556') ? '' : JSON.stringify(seen, null, 1);
  }, 10_000, 200);
  assert.equal(zombie, '', 'top shows the zombie (and the exec\'d sleep)');
  const t1 = seen!;
  assert.equal(t1.Pid1, 'sandbox-init');
  const pid1 = t1.Processes.find((p) => p.Pid === 1);
  assert.ok(pid1 && pid1.User === 'root' && pid1.HostPid > 1, JSON.stringify(pid1));
  const z = t1.Processes.find((p) => p.Stat === 'Z');
  assert.ok(z, JSON.stringify(t1));
  assert.match(z.Command, /^\[sleep\]/, 'a zombie has no command line: its name in brackets');
  assert.ok(z.HostPid !== z.Pid && z.HostPid > 1, 'pid on the host and inside differ');
  const parent = t1.Processes.find((p) => p.Command === 'sleep 555');
  assert.ok(parent, JSON.stringify(t1));
  assert.notEqual(parent.Pid, 1, 'the zombie\'s parent is not PID 1');
  assert.equal(parent.User, 'root');
  const appSleep = t1.Processes.find((p) => p.Command === 'sleep 556');
  assert.equal(appSleep?.User, 'app', 'a host uid is mapped back and named from the sandbox\'s /etc/passwd');
  assert.equal(appSleep?.Uid, 1000);
  for (const p of t1.Processes) assert.match(p.Time, /^\d\d:\d\d:\d\d$/, p.Time);

  const table = await runSandbox(['top', 'z'], { root });
  assert.equal(table.code, 0, show(table));
  const rows = lines(table.stdout);
  assert.match(rows[0]!, /^PID\s+HOST PID\s+USER\s+TIME\s+STAT\s+COMMAND$/, table.stdout);
  assert.match(table.stdout, /^\d+\s+\d+\s+root\s+\S+\s+Z\s+\[sleep\]/m, table.stdout);
  assert.equal(rows[rows.length - 1], '1 zombie; PID 1: sandbox-init');

  // Kill the zombie's parent: PID 1 inherits the zombie and reaps it.
  const kill = await runSandbox(['exec', 'z', 'kill', '-9', String(parent.Pid)], { root });
  assert.equal(kill.code, 0, show(kill));
  const reaped = await eventually(async () => {
    const now = await top();
    return now.Zombies === 0 && !now.Processes.some((p) => p.Stat === 'Z' || p.Command === 'sleep 555') ? '' : JSON.stringify(now, null, 1);
  }, 5000, 100);
  assert.equal(reaped, '', 'no zombie once PID 1 has reaped it');
  assert.match((await runSandbox(['top', 'z'], { root })).stdout, /^0 zombies; PID 1: sandbox-init$/m);

  // stats: one reading, as JSON, for the named sandbox and for all running ones.
  for (const args of [['z'], []]) {
    const s = await runSandbox(['stats', '--no-stream', '--format', 'json', ...args], { root });
    assert.equal(s.code, 0, show(s));
    const list = JSON.parse(s.stdout) as StatsJson[];
    assert.equal(list.length, 1, s.stdout);
    const one = list[0]!;
    assert.equal(one.name, 'z');
    assert.ok(one.pids >= 1, `pids ${one.pids}`);
    assert.ok(one.memoryBytes > 0, `memory ${one.memoryBytes}`);
    assert.ok(one.cpuPercent >= 0, `cpu ${one.cpuPercent}`);
    assert.equal(one.source, 'proc', 'the numbers come from /proc (no cgroup of ours)');
  }
  const st = await runSandbox(['stats', '--no-stream', 'z'], { root });
  assert.equal(st.code, 0, show(st));
  assert.match(lines(st.stdout)[0]!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE\s+PIDS\s+NET I\/O\s+BLOCK I\/O$/, st.stdout);
  assert.match(lines(st.stdout)[1]!, /^[0-9a-f]{12}\s+z\s+\d+\.\d\d%\s+\S+iB\s+\d+\s+/, st.stdout);

  // Stopped: one-line errors with 125.
  assert.equal((await runSandbox(['stop', '-t', '1', 'z'], { root })).code, 0);
  for (const args of [['top', 'z'], ['stats', '--no-stream', 'z']]) {
    const r = await runSandbox(args, { root });
    assert.equal(r.code, 125, show(r));
    assert.match(lines(r.stderr)[0]!, /^sandbox: sandbox z is not running$/, show(r));
  }
  const none = await runSandbox(['stats', '--no-stream', '--format', 'json'], { root });
  assert.equal(none.code, 0, show(none));
  assert.deepEqual(JSON.parse(none.stdout), [], 'no running sandboxes, no rows');
});
