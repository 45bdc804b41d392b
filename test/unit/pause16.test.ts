/** update --pids-limit of a sandbox held by RLIMIT_NPROC: the nproc word it keeps for later execs and starts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withNproc } from '../../src/runtime/cgroup/sandbox.js';
import type { RunRequest } from '../../src/types.js';

const request = (ulimits: RunRequest['ulimits']) => ({ ulimits }) as unknown as RunRequest;

test('withNproc: the new limit replaces the nproc word, soft and hard; the other --ulimit words stay', () => {
  const r = withNproc(request([{ name: 'nofile', soft: 100, hard: 200 }, { name: 'nproc', soft: 64, hard: 64 }]), 20);
  assert.deepEqual(r.ulimits, [{ name: 'nofile', soft: 100, hard: 200 }, { name: 'nproc', soft: 20, hard: 20 }]);
  assert.deepEqual(withNproc(request(undefined), 30).ulimits, [{ name: 'nproc', soft: 30, hard: 30 }]);
});

test('withNproc: -1, 0 or none lifts it (no nproc word)', () => {
  for (const n of [-1, 0, undefined]) {
    assert.deepEqual(withNproc(request([{ name: 'nproc', soft: 64, hard: 64 }, { name: 'core', soft: 0, hard: 0 }]), n).ulimits, [{ name: 'core', soft: 0, hard: 0 }]);
  }
});
