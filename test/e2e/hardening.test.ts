/**
 * Issue 12, items 2 and 3, written as the attacks, as the unprivileged test user:
 * - the session keyring: a sandbox (its command, and every exec'd process) must neither
 *   read a key of the shell that started it nor plant one there;
 * - CVE-2019-5736: a command `#!/proc/self/exe` runs our own helper inside the sandbox;
 *   nothing inside may get a writable handle on the host's helper binary. The helpers run
 *   from a sealed memfd copy of themselves (helpers/common/sealed.h). The attack runs against an
 *   installation the test user owns (as after `npm install` by that user). Without the
 *   copy, the attacker does get a handle on that file, and today only ETXTBSY (the
 *   sandbox's monitor runs it, and outlives everything inside) stops the write: so the
 *   test also asserts what /proc/PID/exe names, which fails when the re-exec is removed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { busyboxRootfsTar } from './fixtures.js';
import {
  REPO_ROOT, SANDBOX_BIN, asUser, collect, eventually, importImage, killGroup, lines, lookupUser, newStore, newUserDir,
  needsRoot, removeUserTree, requireNoProblems, requireRootless, runSandbox, sharedTmp, show, spawnAsUser, testUser,
} from './harness.js';

const KEYCTL = '/usr/bin/keyctl';

/** Runs `script` (sh) as the test user in a new session keyring of its own, with $S the sandbox CLI. */
function inOwnSession(script: string, root: string) {
  return asUser('keyctl', ['session', '-', 'sh', '-c', script], { root, env: { S: SANDBOX_BIN }, timeoutMs: 120_000 });
}

test('a sandbox has a session keyring of its own: run and exec neither read nor plant keys of the caller', async (t) => {
  if (!requireRootless(t, 'session keyring')) return;
  if (!requireNoProblems(t, 'session keyring', existsSync(KEYCTL) ? [] : [`${KEYCTL} is missing (Debian: apt-get install keyutils)`])) return;
  const root = await newStore(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'keys'], { root }); });
  // Inside: read the caller's secret by its id and by search, list @s, and plant a key in @s.
  const attack = (who: string) => `
    [ -n "$secret" ] && echo "${who}-knows-id"
    keyctl print "$secret" >/dev/null 2>&1 && echo "${who}-read-by-id:LEAK"
    keyctl search @s user sandbox-e2e-secret >/dev/null 2>&1 && echo "${who}-search:LEAK"
    keyctl show @s 2>&1 | grep -q sandbox-e2e-secret && echo "${who}-show:LEAK"
    keyctl add user planted-by-${who} evil @s >/dev/null && echo "${who}-planted"
    keyctl search @s user planted-by-${who} >/dev/null && echo "${who}-sees-own-key"`;
  const script = `
    secret=$(keyctl add user sandbox-e2e-secret s3cret @s) || exit 90
    export secret
    echo "caller-reads:$(keyctl print "$secret")"
    echo "caller-finds:$(keyctl search @s user sandbox-e2e-secret)"
    "$S" run --rm --network none -e secret="$secret" host sh -c 'keyctl show @s >/dev/null 2>&1 || echo "filtered-keyctl:$?"'
    "$S" run --rm --network none $U -e secret="$secret" host sh -c '${attack('run')}' || echo "run-failed:$?"
    "$S" run -d --name keys --network none $U -e secret="$secret" host sleep 600 >/dev/null || echo "run-d-failed:$?"
    "$S" exec keys sh -c '${attack('exec')}' || echo "exec-failed:$?"
    "$S" exec keys sh -c 'keyctl search @s user planted-by-exec >/dev/null 2>&1 && echo "next-exec-sees-exec-key:LEAK"; true'
    for k in planted-by-run planted-by-exec; do
      keyctl search @s user $k >/dev/null 2>&1 && echo "caller-has-$k:LEAK"
    done
    keyctl show @s | grep -q _persistent && echo "caller-has-persistent:LEAK"
    "$S" rm -f keys >/dev/null
    true`;
  // The default seccomp filter refuses keyctl altogether (checked first); the keyring of
  // its own is what still holds without the filter, so the attacks run unconfined.
  const r = await inOwnSession(script.replace(/\$U/g, '--security-opt seccomp=unconfined'), root);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^filtered-keyctl:\d+$/m, `keyctl is refused under the default filter:\n${show(r)}`);
  // The test can fail: the caller itself does see its secret, by id and by search.
  assert.match(r.stdout, /^caller-reads:s3cret$/m, show(r));
  assert.match(r.stdout, /^caller-finds:\d+$/m, show(r));
  assert.doesNotMatch(r.stdout, /-failed:/, show(r));
  // The attacks really ran: each planted a key in the session keyring it has.
  for (const who of ['run', 'exec']) {
    assert.match(r.stdout, new RegExp(`^${who}-knows-id$`, 'm'), show(r));
    assert.match(r.stdout, new RegExp(`^${who}-planted$`, 'm'), show(r));
    assert.match(r.stdout, new RegExp(`^${who}-sees-own-key$`, 'm'), show(r));
  }
  assert.doesNotMatch(r.stdout, /LEAK/, show(r));
});

test('when the kernel\'s key quota is used up, the sandbox does not start rather than share the caller\'s keyring', async (t) => {
  if (!requireRootless(t, 'key quota')) return;
  const problems = existsSync(KEYCTL) ? [] : [`${KEYCTL} is missing (Debian: apt-get install keyutils)`];
  // The quota is per user: fill it for a uid nobody else uses (no other test's sandboxes
  // may fail meanwhile). Only root can become one.
  if (process.getuid?.() !== 0) problems.push(needsRoot('switching to an unused uid'));
  if (!requireNoProblems(t, 'key quota', problems)) return;
  const keyUsers = readFileSync('/proc/key-users', 'utf8');
  let uid = 64123;
  while (lookupUser(String(uid)) || new RegExp(`^\\s*${uid}:`, 'm').test(keyUsers)) uid++;
  const home = await mkdtemp(join(sharedTmp(), 'sandbox-e2e-quota-'));
  chownSync(home, uid, uid);
  t.after(() => removeUserTree(home));
  const script = `
    i=0; while keyctl add user k$i x @s >/dev/null 2>&1; do i=$((i+1)); done
    [ "$i" -gt 0 ] || echo no-key-added
    "$S" run --rm --network none host true; echo "exit:$?"`;
  const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'env', '-i', `HOME=${home}`,
    `SANDBOX_ROOT=${join(home, 'store')}`, `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, `S=${SANDBOX_BIN}`,
    KEYCTL, 'session', '-', 'sh', '-c', script], { cwd: home, stdio: ['pipe', 'pipe', 'pipe'] });
  const r = await collect(child, { timeoutMs: 60_000, what: 'run with the key quota used up' });
  assert.doesNotMatch(r.stdout, /no-key-added/, show(r));
  assert.match(r.stdout, /^exit:125$/m, show(r));
  const errors = lines(r.stderr).filter((l) => !/^Joined session keyring|^sandbox: warning: only your own user id/.test(l));
  assert.match(errors[0] ?? '', /^sandbox: cannot give the sandbox a session keyring of its own: the kernel's key quota for your user is used up$/, show(r));
  assert.match(errors[1] ?? '', /^hint: .*kernel\.keys\.maxkeys/, show(r));
  assert.equal(errors.length, 2, show(r));
});

/** A copy of the installation (launcher, bundles, helpers) owned by the test user. */
function userOwnedInstall(dir: string): { cli: string; launch: string } {
  const user = testUser();
  const copy = (from: string, to: string, filter: (name: string) => boolean = () => true) => {
    mkdirSync(to, { recursive: true });
    for (const name of readdirSync(from)) if (filter(name)) copyFileSync(join(from, name), join(to, name));
  };
  copy(join(REPO_ROOT, 'bin'), join(dir, 'bin'));
  copy(join(REPO_ROOT, 'dist'), join(dir, 'dist'), (n) => n.endsWith('.cjs'));
  copy(join(REPO_ROOT, 'helpers', 'build'), join(dir, 'helpers', 'build'));
  copyFileSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
  for (const f of ['bin/sandbox', ...readdirSync(join(dir, 'helpers', 'build')).map((n) => `helpers/build/${n}`)]) chmodSync(join(dir, f), 0o755);
  if (user.switchUser) {
    for (const p of ['bin', 'bin/sandbox', 'dist', ...readdirSync(join(dir, 'dist')).map((n) => `dist/${n}`), 'helpers', 'helpers/build',
      ...readdirSync(join(dir, 'helpers', 'build')).map((n) => `helpers/build/${n}`), 'package.json']) {
      chownSync(join(dir, p), user.uid, user.gid);
    }
  }
  return { cli: join(dir, 'bin', 'sandbox'), launch: join(dir, 'helpers', 'build', 'sandbox-launch') };
}

/** Keeps `child`'s stdin open until end(), which closes it and resolves to its exit code and output. */
function withStdinOpen(child: ChildProcess): { end: () => Promise<{ code: number | null; output: string }> } {
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { output += d; });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { output += d; });
  child.stdin?.on('error', () => { /* it may be gone */ });
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { end: async () => { child.stdin?.end(); return { code: await closed, output }; } };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * The attacker, run by `exec` next to the `#!/proc/self/exe` process: it finds it, says
 * what its exe is, tries to write it and /proc/1/exe, keeps a descriptor on it, kills it
 * (with `hold`), and writes through the descriptor once it is gone: what CVE-2019-5736 did.
 */
const FIND_EVIL = `
    pid=
    for d in /proc/[0-9]*; do
      case "$(tr '\\0' ' ' < $d/cmdline 2>/dev/null)" in "/proc/self/exe --args-fd /x/evil"*) pid=\${d#/proc/} ;; esac
    done
    [ -n "$pid" ] || { echo no-evil-process; exit 0; }
    echo found`;

function attacker(hold: boolean): string {
  return `${FIND_EVIL}
    echo "exe=$(readlink /proc/$pid/exe)"
    (echo x >> /proc/$pid/exe) 2>/dev/null && echo "wrote-running-exe:LEAK"
    (echo x >> /proc/1/exe) 2>/dev/null && echo "wrote-init-exe:LEAK"
    ${hold ? `exec 3< /proc/$pid/exe || echo cannot-hold
    kill -9 $pid
    while [ -e /proc/$pid ]; do sleep 0.05; done
    echo gone
    (echo x >> /proc/self/fd/3) 2>/dev/null && echo "wrote-held-exe:LEAK"` : ''}
    true`;
}

test('#!/proc/self/exe: nothing inside gets a writable handle on the host helper (run and exec)', async (t) => {
  if (!requireRootless(t, 'CVE-2019-5736')) return;
  const install = userOwnedInstall(await newUserDir(t, 'sandbox-e2e-install-'));
  const before = sha256(install.launch);
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const x = await newUserDir(t, 'sandbox-e2e-evil-');
  // The helper reads its plan from the descriptor named after --args-fd: atoi("/x/evil") = 0,
  // so it waits on stdin, which we keep open for as long as the attacker needs.
  writeFileSync(join(x, 'evil'), '#!/proc/self/exe --args-fd\n');
  chmodSync(join(x, 'evil'), 0o755);
  if (testUser().switchUser) chownSync(join(x, 'evil'), testUser().uid, testUser().gid);
  const sandbox = (args: string[]) => asUser(install.cli, args, { root, timeoutMs: 60_000 });
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const c of children) killGroup(c);
    // The checkout's CLI: the copy's directory is removed by an earlier hook (hooks run in order).
    await runSandbox(['rm', '-f', 'evil-run', 'evil-exec'], { root });
  });
  const findEvil = async (name: string) => {
    const wrong = await eventually(async () => {
      const r = await sandbox(['exec', name, 'sh', '-c', FIND_EVIL]);
      return /^found$/m.test(r.stdout) ? '' : show(r);
    }, 15_000, 200);
    assert.equal(wrong, '', `the #!/proc/self/exe process never showed up in ${name}`);
  };

  await t.test('as the command of run', async () => {
    const run = spawnAsUser(install.cli, ['run', '-i', '--name', 'evil-run', '--network', 'none', '-v', `${x}:/x`, 'bb', '/x/evil'], { root });
    children.push(run);
    const held = withStdinOpen(run);
    await findEvil('evil-run');
    const r = await sandbox(['exec', 'evil-run', 'sh', '-c', attacker(false)]);
    assert.equal(r.code, 0, show(r));
    // The sealed copy, not the host's file: the test fails if the re-exec is removed.
    assert.match(r.stdout, /^exe=\/memfd:sandbox-launch \(deleted\)$/m, show(r));
    assert.doesNotMatch(r.stdout, /LEAK/, show(r));
    const end = await held.end();
    assert.equal(end.code, 125, `the helper, given an empty plan, refuses it\n${end.output}`);
  });

  await t.test('as an exec\'d command, holding its exe past its end', async () => {
    const d = await sandbox(['run', '-d', '--name', 'evil-exec', '--network', 'none', '-v', `${x}:/x`, 'bb', 'sleep', '600']);
    assert.equal(d.code, 0, show(d));
    const ex = spawnAsUser(install.cli, ['exec', '-i', 'evil-exec', '/x/evil'], { root });
    children.push(ex);
    const held = withStdinOpen(ex);
    await findEvil('evil-exec');
    const r = await sandbox(['exec', 'evil-exec', 'sh', '-c', attacker(true)]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^exe=\/memfd:sandbox-launch \(deleted\)$/m, show(r));
    assert.match(r.stdout, /^gone$/m, show(r));
    assert.doesNotMatch(r.stdout, /LEAK|cannot-hold/, show(r));
    await held.end();
  });

  assert.equal(sha256(install.launch), before, 'the host helper is unchanged');
});
