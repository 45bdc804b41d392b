/**
 * Issue 4, item 4: the Makefile workflow from the README — one long-lived dev sandbox per
 * project that recipe lines `exec` into, and the throw-away `run --rm` variant — under
 * `make -j4`, as the unprivileged test user.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { asUser, importImage, newStore, newUserDir, requireRootless, runSandbox, SANDBOX_BIN, show, testUser } from './harness.js';

/** The README's Makefile, with the image and the sandbox binary made explicit. */
function makefile(): string {
  return [
    'SANDBOX ?= sandbox',
    'IMAGE   ?= bb',
    'BOX     := $(notdir $(CURDIR))-dev',
    '',
    '# The project\'s dev sandbox: created once, started again if it was stopped.',
    '.box:',
    '\t@$(SANDBOX) start $(BOX) >/dev/null 2>&1 || \\',
    '\t  $(SANDBOX) run -d --name $(BOX) --network none -v $(CURDIR):$(CURDIR) -w $(CURDIR) $(IMAGE) sleep 3600 >/dev/null || \\',
    '\t  $(SANDBOX) start $(BOX) >/dev/null',
    '',
    'IN_BOX := $(SANDBOX) exec $(BOX)',
    '',
    'out/%: .box',
    '\t@mkdir -p out',
    '\t$(IN_BOX) sh -c \'echo "$* by $$(id -u) in $$(pwd) on $$(hostname)" > out/$*\'',
    '',
    'all: out/a out/b out/c out/d',
    '',
    'fail: .box',
    '\t$(IN_BOX) sh -c \'exit 7\'',
    '',
    '# The throw-away variant: a fresh sandbox per recipe line.',
    'once:',
    '\t$(SANDBOX) run --rm --network none -v $(CURDIR):/src -w /src $(IMAGE) sh -c \'ls Makefile > once.txt\'',
    '',
    'down:',
    '\t@$(SANDBOX) rm -f $(BOX) >/dev/null',
    '',
    '.PHONY: all fail once down .box',
    '',
  ].join('\n');
}

test('the README Makefile under make -j4: one dev sandbox, recipe lines exec into it; run --rm variant', async (t) => {
  if (!requireRootless(t, 'Makefile workflow')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const project = await newUserDir(t, 'sandbox-e2e-project-');
  const user = testUser();
  writeFileSync(join(project, 'Makefile'), makefile());
  chownSync(join(project, 'Makefile'), user.uid, user.gid);
  const make = (args: string[]) => asUser('make', ['-C', project, `SANDBOX=${SANDBOX_BIN}`, ...args], { root, timeoutMs: 120_000 });

  const all = await make(['-j4', 'all']);
  assert.equal(all.code, 0, show(all));
  const box = `${project.split('/').pop()}-dev`;
  for (const target of ['a', 'b', 'c', 'd']) {
    const text = readFileSync(join(project, 'out', target), 'utf8');
    // Root inside, the project's own path as the working directory, the sandbox's host name.
    assert.match(text, new RegExp(`^${target} by 0 in ${project} on [0-9a-f]{12}\\n$`), `out/${target}: ${text}`);
  }
  const hostnames = new Set(['a', 'b', 'c', 'd'].map((x) => readFileSync(join(project, 'out', x), 'utf8').trim().split(' ').pop()));
  assert.equal(hostnames.size, 1, 'every recipe line ran in the same sandbox');
  const ps = await runSandbox(['ps', '--format', 'json'], { root });
  const listed = JSON.parse(ps.stdout) as { Names: string[] }[];
  assert.deepEqual(listed.map((c) => c.Names[0]), [box], 'exactly one dev sandbox, still running');

  // A second make reuses it; a failing recipe line fails make with the command's status reported.
  const again = await make(['-j4', '-B', 'all']);
  assert.equal(again.code, 0, show(again));
  const fail = await make(['fail']);
  assert.equal(fail.code, 2, show(fail));
  assert.match(fail.stderr, /Error 7/, 'make reports the exec\'d command\'s own exit status');

  // Stopped in between (a reboot, say): the next make starts it again.
  assert.equal((await runSandbox(['stop', '-t', '0', box], { root })).code, 0);
  const restarted = await make(['-j4', '-B', 'all']);
  assert.equal(restarted.code, 0, show(restarted));

  const once = await make(['once']);
  assert.equal(once.code, 0, show(once));
  assert.equal(readFileSync(join(project, 'once.txt'), 'utf8'), 'Makefile\n');

  const down = await make(['down']);
  assert.equal(down.code, 0, show(down));
  assert.equal((await runSandbox(['ps', '-a', '-q'], { root })).stdout, '');
});
