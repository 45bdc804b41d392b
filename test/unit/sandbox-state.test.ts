/**
 * What a sandbox's own files say about it (issue 12, items 4 and 6): the monitor file,
 * currentState whatever the record says, and records rebuilt from config.json (or from
 * nothing but the name reserved for the sandbox) when container.json is damaged.
 * A "live monitor" here is this test process itself: its pid and real start time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StorePaths } from '../../src/state/paths.js';
import { createSandboxRecord, discardIfNameless, isAbandoned, isRecordOf, listRecords, newSandboxId, readRecord, reserveName, writeRecord, type SandboxRecord } from '../../src/state/sandboxes.js';
import { configPath, sandboxDir, exitFilePath, liveMonitor, monitorFilePath, parseMonitorFile, pidFilePath } from '../../src/state/sandbox-dir.js';
import { processStartTime } from '../../src/state/liveness.js';
import { currentState } from '../../src/state/status.js';
import { tempStores } from './temp-store.js';

/** A fresh, empty store. */
const store = tempStores('sandbox-state-');

function recordOf(id: string, name: string, state: SandboxRecord['state'] = { status: 'created' }): SandboxRecord {
  return {
    id, name, created: '2026-01-01T00:00:00.000Z', image: 'bb', command: ['sleep', '1'], hostname: id.slice(0, 12),
    request: {
      image: 'bb', command: [], remove: false, detach: true, interactive: false, tty: false, env: {}, volumes: [], tmpfs: [],
      readOnly: false, network: 'none', capAdd: [], capDrop: [], noNewPrivileges: false, labels: { k: 'v' },
    },
    state,
  };
}

async function created(paths: StorePaths, name: string, state?: SandboxRecord['state']): Promise<SandboxRecord> {
  const record = recordOf(newSandboxId(), name, state);
  await createSandboxRecord(paths, record);
  return record;
}

const selfStart = () => processStartTime(process.pid)!;
/** Makes this process the sandbox's "monitor". */
function claim(paths: StorePaths, id: string, pid = process.pid, start = selfStart()): void {
  writeFileSync(monitorFilePath(paths, id), `${pid} ${start}\n`);
}

describe('parseMonitorFile', () => {
  it('reads "PID STARTTIME", with or without the newline', () => {
    assert.deepEqual(parseMonitorFile('123 456\n'), { pid: 123, startTime: 456 });
    assert.deepEqual(parseMonitorFile('1 0'), { pid: 1, startTime: 0 });
  });
  it('refuses anything else', () => {
    for (const bad of ['', '123', '0 5\n', '-1 5', '12 34 56', 'garbage', '12 3x', '12  3']) assert.equal(parseMonitorFile(bad), undefined, bad);
  });
});

describe('isRecordOf', () => {
  const id = newSandboxId();
  it('takes a record of this id, and a config without state when asked', () => {
    const r = recordOf(id, 'a');
    assert.equal(isRecordOf(r, id), true);
    const { state: _, ...config } = r;
    assert.equal(isRecordOf(config, id), false);
    assert.equal(isRecordOf(config, id, false), true);
  });
  it('refuses garbage, another id, and a record missing what every command uses', () => {
    for (const v of [null, 'x', 42, [], {}, { ...recordOf(id, 'a'), id: newSandboxId() }, { ...recordOf(id, 'a'), name: 3 },
      { ...recordOf(id, 'a'), request: null }, { ...recordOf(id, 'a'), command: 'sh' }, { ...recordOf(id, 'a'), state: { pid: 3 } }]) {
      assert.equal(isRecordOf(v, id), false, JSON.stringify(v));
    }
  });
});

describe('currentState: a live monitor counts whatever the record says', () => {
  it('created, with a live monitor: running, with the monitor and the init from the pid file', async () => {
    const paths = store();
    const r = await created(paths, 'a');
    claim(paths, r.id);
    writeFileSync(pidFilePath(paths, r.id), '4242\n');
    const s = currentState(paths, r);
    assert.equal(s.status, 'running');
    assert.equal(s.monitorPid, process.pid);
    assert.equal(s.monitorStartTime, selfStart());
    assert.equal(s.pid, 4242);
    assert.ok(s.startedAt && !Number.isNaN(Date.parse(s.startedAt)));
  });

  it('exited and marked starting, with a live monitor (a killed `start`): running', async () => {
    const paths = store();
    const r = await created(paths, 'a', { status: 'exited', exitCode: 0, starting: true });
    claim(paths, r.id);
    assert.equal(currentState(paths, r).status, 'running');
  });

  it('exited and marked starting, no monitor (the start was killed before it, or failed): exited, the mark gone; the exit file has the newer end', async () => {
    const paths = store();
    const r = await created(paths, 'a', { status: 'exited', exitCode: 1, starting: true });
    assert.deepEqual(currentState(paths, r), { status: 'exited', exitCode: 1 });
    writeFileSync(exitFilePath(paths, r.id), '{"exitCode":4,"finishedAt":"2026-01-01T00:00:02Z"}\n');
    assert.deepEqual(currentState(paths, r), { status: 'exited', exitCode: 4, finishedAt: '2026-01-01T00:00:02Z' });
  });

  it('exited and not marked (what ps -a sees most): trusted as it is, no monitor file looked at', async () => {
    const paths = store();
    const r = await created(paths, 'a', { status: 'exited', exitCode: 0 });
    claim(paths, r.id); // cannot happen (only start starts an exited sandbox, and marks it first)
    assert.equal(currentState(paths, r).status, 'exited');
  });

  it('running with a dead recorded monitor, but a live new one: running with the new one', async () => {
    const paths = store();
    const r = await created(paths, 'a', { status: 'running', pid: 1, monitorPid: 999_999_999, monitorStartTime: 1 });
    claim(paths, r.id);
    assert.equal(currentState(paths, r).monitorPid, process.pid);
  });

  it('a monitor file of a dead process (same pid, other start time) does not count', async () => {
    const paths = store();
    const r = await created(paths, 'a');
    claim(paths, r.id, process.pid, selfStart() + 1);
    assert.equal(currentState(paths, r).status, 'created');
    assert.equal(liveMonitor(paths, r.id), undefined);
  });

  it('a monitor that wrote its exit file is ending: exited with its code', async () => {
    const paths = store();
    const r = await created(paths, 'a');
    claim(paths, r.id);
    writeFileSync(exitFilePath(paths, r.id), '{"exitCode":3,"finishedAt":"2026-01-01T00:00:01Z"}\n');
    assert.deepEqual([currentState(paths, r).status, currentState(paths, r).exitCode], ['exited', 3]);
  });

  it('created, no monitor, an exit file (a killed `run -d` whose sandbox ended): exited with its code', async () => {
    const paths = store();
    const r = await created(paths, 'a');
    writeFileSync(exitFilePath(paths, r.id), '{"exitCode":7,"finishedAt":"2026-01-01T00:00:01Z"}\n');
    assert.equal(currentState(paths, r).exitCode, 7);
  });

  it('running, monitor dead, garbage in the exit file: exited with an error, no throw', async () => {
    const paths = store();
    const r = await created(paths, 'a', { status: 'running', pid: 1, monitorPid: 999_999_999, monitorStartTime: 1 });
    writeFileSync(exitFilePath(paths, r.id), '{"exitC');
    const s = currentState(paths, r);
    assert.equal(s.status, 'exited');
    assert.match(s.error ?? '', /monitor died/);
  });
});

describe('records rebuilt when container.json is damaged', () => {
  it('from config.json: name, labels and command kept; listed; state from the monitor', async () => {
    const paths = store();
    const r = await created(paths, 'web');
    writeFileSync(join(sandboxDir(paths, r.id), 'container.json'), '\0garbage{');
    const rebuilt = readRecord(paths, r.id)!;
    assert.equal(rebuilt.rebuiltFrom, 'config');
    assert.equal(rebuilt.name, 'web');
    assert.deepEqual(rebuilt.request.labels, { k: 'v' });
    assert.deepEqual(rebuilt.command, ['sleep', '1']);
    assert.equal(rebuilt.state.status, 'created');
    assert.deepEqual(listRecords(paths).map((x) => x.id), [r.id]);
    claim(paths, r.id);
    assert.equal(currentState(paths, rebuilt).status, 'running');
  });

  it('one that ran (a pid file) and left no exit file: exited, how is not known', async () => {
    const paths = store();
    const r = await created(paths, 'web');
    writeFileSync(pidFilePath(paths, r.id), '12\n');
    writeFileSync(join(sandboxDir(paths, r.id), 'container.json'), '[]');
    const s = currentState(paths, readRecord(paths, r.id)!);
    assert.equal(s.status, 'exited');
    assert.match(s.error ?? '', /damaged/);
  });

  it('writing a rebuilt record repairs container.json (without the rebuilt mark)', async () => {
    const paths = store();
    const r = await created(paths, 'web');
    writeFileSync(join(sandboxDir(paths, r.id), 'container.json'), 'x');
    writeRecord(paths, readRecord(paths, r.id)!);
    const stored = JSON.parse(readFileSync(join(sandboxDir(paths, r.id), 'container.json'), 'utf8')) as SandboxRecord;
    assert.equal(stored.name, 'web');
    assert.equal('rebuiltFrom' in stored, false);
  });

  it('from nothing (config damaged too): named after its reservation, listed while it runs, never written back', async () => {
    const paths = store();
    const r = await created(paths, 'lost');
    writeFileSync(join(sandboxDir(paths, r.id), 'container.json'), 'x');
    writeFileSync(configPath(paths, r.id), 'y');
    const rebuilt = readRecord(paths, r.id)!;
    assert.equal(rebuilt.rebuiltFrom, 'nothing');
    assert.equal(rebuilt.name, 'lost');
    assert.deepEqual(listRecords(paths), [], 'not running: left to system check');
    claim(paths, r.id);
    assert.deepEqual(listRecords(paths).map((x) => x.name), ['lost']);
    writeRecord(paths, rebuilt);
    assert.equal(readFileSync(join(sandboxDir(paths, r.id), 'container.json'), 'utf8'), 'x', 'the damage stays visible to system check');
  });

  it('a directory without container.json and config.json (being created): no record, unless a monitor runs there', async () => {
    const paths = store();
    const r = await created(paths, 'new');
    rmSync(join(sandboxDir(paths, r.id), 'container.json'));
    rmSync(configPath(paths, r.id));
    assert.equal(readRecord(paths, r.id), undefined);
    claim(paths, r.id);
    assert.equal(readRecord(paths, r.id)?.rebuiltFrom, 'nothing');
  });
});

describe('a --rm sandbox whose run was killed before it started it', () => {
  const dead = { pid: process.pid, startTime: selfStart() + 1 };
  async function rmRecord(paths: StorePaths, name: string, creator: { pid: number; startTime: number }): Promise<SandboxRecord> {
    const r = recordOf(newSandboxId(), name, { status: 'created', creator });
    r.request = { ...r.request, remove: true };
    await createSandboxRecord(paths, r);
    return r;
  }

  it('is abandoned when its creator is gone and no monitor runs it; its name is taken over and it is removed', async () => {
    const paths = store();
    const old = await rmRecord(paths, 'job', dead);
    assert.equal(isAbandoned(paths, old.id), true);
    const next = recordOf(newSandboxId(), 'job');
    await createSandboxRecord(paths, next);
    assert.equal(readFileSync(join(paths.data, 'names', 'job'), 'utf8'), next.id);
    assert.equal(existsSync(sandboxDir(paths, old.id)), false);
  });

  it('killed after its record and before its name: the listing removes it; not while its creator lives or it holds its name', async () => {
    const paths = store();
    const lost = await rmRecord(paths, 'lost', dead);
    rmSync(join(paths.data, 'names', 'lost')); // as if killed between the record and the reservation
    const next = recordOf(newSandboxId(), 'lost');
    await createSandboxRecord(paths, next); // the name was free: no take-over
    assert.equal(discardIfNameless(paths, readRecord(paths, next.id)!), false, 'the new one holds its name');
    assert.equal(discardIfNameless(paths, readRecord(paths, lost.id)!), true);
    assert.equal(existsSync(sandboxDir(paths, lost.id)), false);
    const young = await rmRecord(paths, 'young', { pid: process.pid, startTime: selfStart() });
    rmSync(join(paths.data, 'names', 'young')); // its creator is about to reserve it
    assert.equal(discardIfNameless(paths, readRecord(paths, young.id)!), false);
    const holding = await rmRecord(paths, 'holding', dead);
    assert.equal(discardIfNameless(paths, readRecord(paths, holding.id)!), false, 'a take-over is what removes it');
    assert.ok(existsSync(sandboxDir(paths, young.id)) && existsSync(sandboxDir(paths, holding.id)));
  });

  it('is not abandoned while its creator lives, or a monitor runs it, or without --rm', async () => {
    const paths = store();
    const alive = await rmRecord(paths, 'a', { pid: process.pid, startTime: selfStart() });
    assert.equal(isAbandoned(paths, alive.id), false);
    await assert.rejects(reserveName(paths, 'a', newSandboxId()), /already in use/);
    const running = await rmRecord(paths, 'b', dead);
    claim(paths, running.id);
    assert.equal(isAbandoned(paths, running.id), false);
    const kept = recordOf(newSandboxId(), 'c', { status: 'created', creator: dead });
    await createSandboxRecord(paths, kept);
    assert.equal(isAbandoned(paths, kept.id), false);
  });
});
