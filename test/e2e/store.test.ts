/**
 * Issue 3, item 8: a store that survives everything, as the unprivileged test user.
 * Many sandboxes at once, races for one name, commands killed with SIGKILL at random
 * moments, a monitor killed behind our back; `system check [--repair]`, `system df`
 * and `container prune`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { busyboxRootfsTar } from './fixtures.js';
import {
  asUser, collect, eventually, importImage, killGroup, newStore, requireRootless, runSandbox, show, spawnSandbox,
  type RunResult, seeded, sandboxIdsIn,
} from './harness.js';

interface PsEntry { Id: string; Names: string[]; State: string; ExitCode: number; Pid: number }
interface Problem { kind: string; severity: 'problem' | 'notice'; path: string; repaired: boolean; detail: string; error?: string }
interface CheckReport { consistent: boolean; problems: Problem[] }

function dirEntries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}


/** Names reserved in the store (not the lock). */
function reservedNames(root: string): string[] {
  return dirEntries(join(root, 'data', 'names')).filter((n) => !n.startsWith('.'));
}

async function psAll(root: string): Promise<PsEntry[]> {
  const r = await runSandbox(['ps', '-a', '--format', 'json'], { root });
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout) as PsEntry[];
}

async function check(root: string, repair = false): Promise<{ result: RunResult; report: CheckReport }> {
  const result = await runSandbox(['system', 'check', ...(repair ? ['--repair'] : []), '--format', 'json'], { root, timeoutMs: 120_000 });
  assert.ok(result.code === 0 || result.code === 1, `system check exits 0 or 1\n${show(result)}`);
  return { result, report: JSON.parse(result.stdout) as CheckReport };
}

function problemsOf(report: CheckReport): Problem[] {
  return report.problems.filter((p) => p.severity === 'problem');
}

/** Whether a process exists (we run as root, or as the user who owns it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pids of processes whose command line or mount table names `needle` (a store path). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    if (Number(p) === process.pid) continue;
    let text = '';
    try { text += readFileSync(`/proc/${p}/cmdline`, 'utf8'); } catch { continue; }
    try { text += readFileSync(`/proc/${p}/mountinfo`, 'utf8'); } catch { /* gone */ }
    if (text.includes(needle)) out.push(Number(p));
  }
  return out;
}

/** The children of `pid` (their command lines). */
function childCommands(pid: number): string[] {
  let children: string[];
  try { children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean); } catch { return []; }
  return children.map((c) => { try { return readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').join(' ').trim(); } catch { return ''; } });
}

/** Removes every sandbox of the store (running or not), so none outlives its test. */
async function removeAll(root: string): Promise<void> {
  const ids = (await runSandbox(['ps', '-a', '-q', '--no-trunc'], { root })).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await runSandbox(['rm', '-f', ...ids], { root, timeoutMs: 120_000 });
}

test('32 parallel run -d with distinct names all succeed; ps lists 32; one rm -f removes them all', async (t) => {
  if (!requireRootless(t, 'parallel run -d')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const names = Array.from({ length: 32 }, (_, i) => `n${i}`);
  try {
    const runs = await Promise.all(names.map((n) =>
      runSandbox(['run', '-d', '--name', n, '--network', 'none', 'bb', 'sleep', '30'], { root, timeoutMs: 120_000 })));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, `run -d --name ${names[i]}\n${show(r)}`);
      assert.match(r.stdout, /^[a-f0-9]{64}\n$/);
    });
    assert.equal(new Set(runs.map((r) => r.stdout)).size, 32, 'distinct ids');

    const ps = await runSandbox(['ps', '-q'], { root });
    assert.equal(ps.code, 0, show(ps));
    assert.equal(ps.stdout.trim().split('\n').length, 32, ps.stdout);
    const listed = await psAll(root);
    assert.deepEqual(listed.map((e) => e.Names[0]).sort(), [...names].sort());
    assert.ok(listed.every((e) => e.State === 'running'), JSON.stringify(listed.map((e) => e.State)));

    const rm = await runSandbox(['rm', '-f', ...names], { root, timeoutMs: 120_000 });
    assert.equal(rm.code, 0, show(rm));
    assert.deepEqual(rm.stdout.trim().split('\n'), names);
    assert.deepEqual(sandboxIdsIn(root), [], 'no sandbox directory is left');
    assert.deepEqual(reservedNames(root), [], 'no name reservation is left');
    assert.deepEqual(processesMentioning(root), [], 'no process of those sandboxes is left');
    const { result, report } = await check(root);
    assert.equal(result.code, 0, show(result));
    assert.deepEqual(report.problems, []);
  } finally {
    await removeAll(root);
  }
});

test('8 parallel runs with the same name: exactly one wins, 7 fail with one line and a hint (125)', async (t) => {
  if (!requireRootless(t, 'name race')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const runs = await Promise.all(Array.from({ length: 8 }, () =>
    runSandbox(['run', '--name', 'same', '--network', 'none', 'bb', 'true'], { root, timeoutMs: 120_000 })));
  const winners = runs.filter((r) => r.code === 0);
  const losers = runs.filter((r) => r.code !== 0);
  assert.equal(winners.length, 1, runs.map(show).join('\n'));
  assert.equal(losers.length, 7);
  for (const r of losers) {
    assert.equal(r.code, 125, show(r));
    assert.match(r.stderr, /^sandbox: [^\n]*name "same" is already in use[^\n]*\nhint: [^\n]+\n$/, show(r));
    assert.equal(r.stdout, '');
  }
  // The losers left nothing: one sandbox, one name.
  assert.equal(sandboxIdsIn(root).length, 1);
  assert.deepEqual(reservedNames(root), ['same']);
  const listed = await psAll(root);
  assert.deepEqual(listed.map((e) => [e.Names[0], e.State, e.ExitCode]), [['same', 'exited', 0]]);
  const { result } = await check(root);
  assert.equal(result.code, 0, show(result));
});

test('SIGKILL of run --rm, run -d, stop and rm -f at random moments: system check repairs all, other sandboxes stay intact', async (t) => {
  if (!requireRootless(t, 'kill chaos')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const SEED = 0x5eed5;
  const ROUNDS = 15;
  const rand = seeded(SEED);
  t.diagnostic(`seed ${SEED}, ${ROUNDS} rounds`);

  const keepers = ['keep1', 'keep2'];
  // Not t.after: those run after newStore's removal of the store, too late to find the sandboxes.
  try {
    for (const k of keepers) {
      const r = await runSandbox(['run', '-d', '--name', k, '--network', 'none', 'bb', 'sleep', '300'], { root });
      assert.equal(r.code, 0, show(r));
    }
    // Victims for the stop and rm -f commands, made beforehand (a few at a time).
    const victims = Array.from({ length: ROUNDS }, (_, i) => [`s${i}`, `x${i}`]).flat();
    for (let i = 0; i < victims.length; i += 6) {
      const batch = victims.slice(i, i + 6);
      const rs = await Promise.all(batch.map((v) =>
        runSandbox(['run', '-d', '--name', v, '--network', 'none', 'bb', 'sleep', '300'], { root, timeoutMs: 120_000 })));
      rs.forEach((r, j) => assert.equal(r.code, 0, `${batch[j]}: ${show(r)}`));
    }

    const log: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const commands: string[][] = [
        ['run', '--rm', '--name', `r${round}`, '--network', 'none', 'bb', 'sleep', '1'],
        ['run', '-d', '--name', `d${round}`, '--network', 'none', 'bb', 'sleep', '30'],
        ['stop', '-t', '1', `s${round}`],
        ['rm', '-f', `x${round}`],
      ];
      const started: Promise<RunResult>[] = commands.map((args) => {
        // 0-500 ms: the CLI alone needs ~150 ms to start on a busy 2-core machine, so with
        // 0-300 ms most kills would land before it touched the store.
        const delay = Math.floor(rand() * 500);
        const child: ChildProcess = spawnSandbox(args, { root, stdio: ['ignore', 'pipe', 'pipe'] });
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), delay);
        return collect(child, { timeoutMs: 60_000, what: args.join(' ') }).then((r) => {
          clearTimeout(timer);
          log.push(`round ${round}: ${args.slice(0, 2).join(' ')} killed at ${delay} ms -> ${r.signal ?? `exit ${r.code}`}`);
          return r;
        });
      });
      await Promise.all(started);
    }
    t.diagnostic(log.join('\n'));

    // What is younger than 10 s may be being created right now: check once all has aged.
    await new Promise((r) => setTimeout(r, 11_000));
    const repaired = await check(root, true);
    assert.equal(repaired.result.code, 0, `system check --repair leaves nothing:\n${show(repaired.result)}`);
    t.diagnostic(`repaired: ${problemsOf(repaired.report).map((p) => `${p.kind} ${p.detail}`).join('\n') || 'nothing'}`);
    const after = await check(root);
    assert.equal(after.result.code, 0, show(after.result));
    assert.deepEqual(after.report.problems, [], 'a second check finds nothing at all');

    // The long-running sandboxes were never touched: running, and their command still there.
    const ps = await runSandbox(['ps'], { root });
    for (const k of keepers) {
      const row = ps.stdout.split('\n').find((l) => l.endsWith(` ${k}`));
      assert.ok(row && /\bUp\b/.test(row), `${k} is up:\n${ps.stdout}`);
    }
    const listed = await psAll(root);
    for (const k of keepers) {
      const e = listed.find((x) => x.Names[0] === k);
      assert.ok(e && e.State === 'running' && e.Pid > 0, JSON.stringify(e));
      assert.ok(alive(e.Pid), `${k}'s init ${e.Pid} is alive`);
      assert.ok(childCommands(e.Pid).includes('sleep 300'), `${k} still runs its command: ${childCommands(e.Pid).join(', ')}`);
    }

    // Nothing listed is broken: each can be inspected and removed, and then nothing is left.
    for (const e of listed) {
      assert.ok(['running', 'exited', 'created'].includes(e.State), JSON.stringify(e));
      const inspect = await runSandbox(['inspect', e.Id], { root });
      assert.equal(inspect.code, 0, show(inspect));
    }
    assert.ok(!listed.some((e) => /^r\d+$/.test(e.Names[0] ?? '') && e.State !== 'running'), `no ended --rm sandbox is listed: ${JSON.stringify(listed)}`);
    const others = listed.filter((e) => !keepers.includes(e.Names[0] ?? '')).map((e) => e.Id);
    if (others.length) {
      const rm = await runSandbox(['rm', '-f', ...others], { root, timeoutMs: 120_000 });
      assert.equal(rm.code, 0, show(rm));
    }
    const keeperIds = listed.filter((e) => keepers.includes(e.Names[0] ?? '')).map((e) => e.Id).sort();
    assert.deepEqual(sandboxIdsIn(root), keeperIds);
    assert.deepEqual(reservedNames(root), keepers);
    const rm = await runSandbox(['rm', '-f', ...keepers], { root });
    assert.equal(rm.code, 0, show(rm));
    const leftover = await eventually(() => {
      const pids = processesMentioning(root);
      return pids.length ? `processes still use the store: ${pids.join(', ')}` : '';
    }, 5000);
    assert.equal(leftover, '');
  } finally {
    await removeAll(root);
  }
});

test('a monitor killed with kill -9 behind our back: exited with an error, its processes gone, check repairs the record', async (t) => {
  if (!requireRootless(t, 'dead monitor')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  try {
    const run = await runSandbox(['run', '-d', '--name', 'victim', '--network', 'none', 'bb', 'sleep', '300'], { root });
    assert.equal(run.code, 0, show(run));
    const id = run.stdout.trim();
    const record = JSON.parse(readFileSync(join(root, 'data', 'containers', id, 'container.json'), 'utf8')) as { state: { monitorPid: number; pid: number } };
    const { monitorPid, pid } = record.state;
    assert.ok(monitorPid > 0 && pid > 0, JSON.stringify(record.state));
    assert.ok(childCommands(pid).includes('sleep 300'));

    process.kill(monitorPid, 'SIGKILL');
    const gone = await eventually(() => (alive(pid) || alive(monitorPid) ? `init ${pid} or monitor ${monitorPid} still alive` : ''), 5000);
    assert.equal(gone, '', 'the sandbox dies with its monitor');
    assert.deepEqual(processesMentioning(join(root, 'data', 'containers', id)), [], 'nothing of the sandbox is left running');

    const listed = await psAll(root);
    assert.deepEqual(listed.map((e) => [e.Id, e.State]), [[id, 'exited']]);
    assert.equal((await runSandbox(['ps', '-q'], { root })).stdout, '', 'not listed as running');
    const inspect = JSON.parse((await runSandbox(['inspect', 'victim'], { root })).stdout) as { State: { Status: string; Running: boolean; Error: string; ExitCode: number } }[];
    assert.equal(inspect[0]?.State.Status, 'exited');
    assert.equal(inspect[0]?.State.Running, false);
    assert.match(inspect[0]?.State.Error ?? '', /monitor/);
    assert.notEqual(inspect[0]?.State.ExitCode, 0);

    const found = await check(root);
    assert.equal(found.result.code, 1, show(found.result));
    assert.deepEqual(problemsOf(found.report).map((p) => [p.kind, p.repaired]), [['dead-monitor', false]]);
    const repaired = await check(root, true);
    assert.equal(repaired.result.code, 0, show(repaired.result));
    const stored = JSON.parse(readFileSync(join(root, 'data', 'containers', id, 'container.json'), 'utf8')) as { state: { status: string; error?: string } };
    assert.equal(stored.state.status, 'exited', 'the record itself now says so');
    assert.match(stored.state.error ?? '', /monitor/);
    assert.equal((await check(root)).result.code, 0);
    const rm = await runSandbox(['rm', 'victim'], { root });
    assert.equal(rm.code, 0, show(rm));
  } finally {
    await removeAll(root);
  }
});

test('system check finds and repairs leftovers of killed commands; df and container prune', async (t) => {
  if (!requireRootless(t, 'system check')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const exited = await runSandbox(['run', '--name', 'done', '--network', 'none', 'bb', 'sh', '-c', 'head -c 100000 /dev/zero > /big'], { root });
  assert.equal(exited.code, 0, show(exited));
  const up = await runSandbox(['run', '-d', '--name', 'up', '--network', 'none', 'bb', 'sleep', '300'], { root });
  assert.equal(up.code, 0, show(up));
  try {
    const clean = await check(root);
    assert.equal(clean.result.code, 0, show(clean.result));

    // Plant what killed commands leave, as the user, aged by `touch -d`.
    const data = join(root, 'data');
    const ghost = 'a'.repeat(64);
    const noRecord = 'b'.repeat(64);
    const broken = 'c'.repeat(64);
    const young = 'd'.repeat(64);
    const plant = await asUser('sh', ['-c', [
      `printf %s ${ghost} > ${data}/names/ghost`,
      `mkdir -p ${data}/containers/${noRecord}/upper/etc && echo x > ${data}/containers/${noRecord}/upper/etc/f`,
      `mkdir ${data}/containers/${broken} && printf '{"id":' > ${data}/containers/${broken}/container.json`,
      `mkdir ${data}/containers/${young} && touch -d '+5 minutes' ${data}/containers/${young}`,
      `echo partial > ${data}/.images.json.0123456789ab.tmp`,
      `mkdir ${data}/images.lock`,
      `mkdir -p ${data}/layers/.import-0123456789ab/diff/bin`,
      // A killed pull: its temporary blob file, named after its (long gone) process.
      `mkdir -p ${data}/blobs/tmp && echo part > ${data}/blobs/tmp/999999999-0123456789ab`,
      `touch -d '-2 minutes' ${data}/containers/${noRecord} ${data}/containers/${broken} ${data}/.images.json.0123456789ab.tmp ${data}/images.lock ${data}/layers/.import-0123456789ab ${data}/blobs/tmp/999999999-0123456789ab`,
    ].join(' && ')], { root });
    assert.equal(plant.code, 0, show(plant));

    // Nothing of this trips up the everyday commands.
    const ps = await runSandbox(['ps', '-a', '--format', 'json'], { root });
    assert.equal(ps.code, 0, show(ps));
    assert.deepEqual((JSON.parse(ps.stdout) as PsEntry[]).map((e) => e.Names[0]).sort(), ['done', 'up']);
    const reuse = await runSandbox(['run', '--rm', '--name', 'ghost', '--network', 'none', 'bb', 'true'], { root });
    assert.equal(reuse.code, 0, `a stale name is taken over: ${show(reuse)}`);

    const found = await check(root);
    assert.equal(found.result.code, 1, show(found.result));
    const kinds = (r: CheckReport) => problemsOf(r).map((p) => p.kind).sort();
    assert.deepEqual(kinds(found.report), ['blob-temp', 'layer-staging', 'no-record', 'stale-lock', 'temp-file', 'unreadable-record']);
    assert.deepEqual(found.report.problems.filter((p) => p.severity === 'notice').map((p) => p.kind), ['maybe-in-progress'],
      'an empty directory made just now may be being created: only a notice');
    const text = await runSandbox(['system', 'check'], { root });
    assert.equal(text.code, 1);
    assert.match(text.stdout, /--repair/);

    const repaired = await check(root, true);
    assert.equal(repaired.result.code, 0, show(repaired.result));
    assert.ok(problemsOf(repaired.report).every((p) => p.repaired), show(repaired.result));
    assert.deepEqual(sandboxIdsIn(root).filter((d) => /^[a-d]{64}$/.test(d)), [young], 'the young one is left alone');
    assert.ok(!existsSync(join(data, 'images.lock')) && !existsSync(join(data, 'layers', '.import-0123456789ab')));
    assert.ok(!existsSync(join(data, 'blobs', 'tmp', '999999999-0123456789ab')));
    const rmYoung = await asUser('rmdir', [join(data, 'containers', young)]);
    assert.equal(rmYoung.code, 0, show(rmYoung));
    const final = await check(root);
    assert.equal(final.result.code, 0, show(final.result));
    assert.deepEqual(final.report.problems, []);

    // df: the image, two sandboxes (one running), the 100 kB the exited one wrote.
    const df = await runSandbox(['system', 'df', '--format', 'json'], { root });
    assert.equal(df.code, 0, show(df));
    const rows = JSON.parse(df.stdout) as { Type: string; TotalCount: number; Active: number; Size: number; Reclaimable: number }[];
    const row = (type: string) => rows.find((r) => r.Type === type)!;
    assert.equal(row('Images').TotalCount, 1);
    assert.ok(row('Images').Size > 500_000, `busybox is in the image: ${df.stdout}`);
    assert.equal(row('Sandboxes').TotalCount, 2);
    assert.equal(row('Sandboxes').Active, 1);
    assert.ok(row('Sandboxes').Reclaimable >= 100_000, df.stdout);
    const dfTable = await runSandbox(['system', 'df'], { root });
    assert.match(dfTable.stdout, /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +1 +1 /, dfTable.stdout);

    // prune: the exited sandbox goes, the running one stays.
    const doneId = (await psAll(root)).find((e) => e.Names[0] === 'done')!.Id;
    const prune = await runSandbox(['container', 'prune', '-f'], { root });
    assert.equal(prune.code, 0, show(prune));
    assert.match(prune.stdout, new RegExp(`^Deleted Containers:\\n${doneId}\\n\\nTotal reclaimed space: \\d+(\\.\\d+)?kB\\n$`), prune.stdout);
    assert.deepEqual((await psAll(root)).map((e) => e.Names[0]), ['up']);
    const again = await runSandbox(['container', 'prune', '-f'], { root });
    assert.equal(again.stdout, 'Total reclaimed space: 0B\n');
  } finally {
    await removeAll(root);
  }
});
