/**
 * How a launch plan reaches the helper (runtime/launch.ts planChannel): in its
 * environment when it fits one variable, on a descriptor when it does not, the same for
 * run, run -d and exec. Every path is driven here with a plan that must arrive intact:
 * a short one, one longer than the variable may be, and one whose characters are few
 * but whose bytes are many (a check by characters would put it in a variable that the
 * kernel refuses: E2BIG).
 */
import assert from 'node:assert/strict';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { importImage, newStore, newUserDir, requireRootless, runSandbox, show, testUser } from './harness.js';

test('run, run -d and exec get short, long and multi-byte plans intact', async (t) => {
  if (!requireRootless(t, 'run')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const dir = await newUserDir(t);
  const envFile = (name: string, value: string) => {
    const f = join(dir, `${name}.env`);
    writeFileSync(f, `BIG=${value}\n`);
    chownSync(f, testUser().uid, testUser().gid);
    return f;
  };
  const cases: [string, string][] = [
    ['short', 'x'.repeat(10)],
    ['long', 'y'.repeat(100_000)],
    // 43,000 characters, 129,000 bytes: under MAX_ARG_STRLEN as one entry, over it as a plan in a variable.
    ['multibyte', '\u20ac'.repeat(43_000)],
  ];
  const bytes = 'echo -n "$BIG" | wc -c';
  t.after(async () => { await runSandbox(['rm', '-f', 'box'], { root }); });
  const d = await runSandbox(['run', '-d', '--name', 'box', '--network', 'none', 'bb', 'sleep', '600'], { root });
  assert.equal(d.code, 0, show(d));
  for (const [name, value] of cases) {
    const file = envFile(name, value);
    const want = String(Buffer.byteLength(value));
    const r = await runSandbox(['run', '--rm', '--network', 'none', '--env-file', file, 'bb', 'sh', '-c', bytes], { root });
    assert.equal(r.code, 0, `run, ${name} plan\n${show(r)}`);
    assert.equal(r.stdout.trim(), want.trim(), `run, ${name} plan`);
    const e = await runSandbox(['exec', '--env-file', file, 'box', 'sh', '-c', bytes], { root });
    assert.equal(e.code, 0, `exec, ${name} plan\n${show(e)}`);
    assert.equal(e.stdout.trim(), want.trim(), `exec, ${name} plan`);
    const det = await runSandbox(['run', '-d', '--name', `det-${name}`, '--network', 'none', '--env-file', file, 'bb', 'sh', '-c', `${bytes} > /tmp/n; sleep 600`], { root });
    assert.equal(det.code, 0, `run -d, ${name} plan\n${show(det)}`);
    const got = await runSandbox(['exec', `det-${name}`, 'sh', '-c', 'while [ ! -s /tmp/n ]; do sleep 0.05; done; cat /tmp/n'], { root });
    assert.equal(got.stdout.trim(), want.trim(), `run -d, ${name} plan\n${show(got)}`);
    await runSandbox(['rm', '-f', `det-${name}`], { root });
  }
});
