/**
 * Issue 16, item 2 (and item 5's TIOCSTI/TIOCLINUX), as the unprivileged test user: the
 * default seccomp filter refuses what the runtimes' default profiles refuse, with EPERM,
 * for the command and for what `exec` starts; `--security-opt seccomp=unconfined` lifts it
 * and `seccomp=FILE` replaces it; a bad profile is one line; inspect says which applies.
 * The probe (seccomp-probe.c, built here with gcc -static) makes each system call with
 * arguments the kernel itself would answer otherwise (EBADF, ENOENT, success), so that
 * EPERM is the filter's and unconfined shows the kernel's answer.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  REPO_ROOT, SANDBOX_BIN, importImage, killGroup, newStore, newUserDir, requireRootless, runSandbox, sharedTmp, show, spawnAsUser,
} from './harness.js';
import { SCRIPT, Session, requireScript } from './terminal.js';

/** Refused by the default filter with EPERM (and what the kernel answers without it differs). */
const REFUSED = [
  'keyctl', 'add_key', 'request_key', 'bpf', 'userfaultfd', 'perf_event_open', 'open_by_handle_at', 'mount', 'umount2',
  'open_tree', 'setns', 'socket_vsock', 'socket_vsock_high', 'ioctl_tiocsti', 'ioctl_tiocsti_high', 'ioctl_tioclinux',
  'unshare_user', 'clone_newuser', 'personality_exec',
];
/** Refused with EPERM by the filter, and by the kernel too without it (no capability in the host's namespace). */
const REFUSED_TWICE = ['kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module'];
/** Allowed by the default filter. */
const ALLOWED = ['socket_inet', 'ioctl_fionread', 'getpid', 'unshare_files', 'personality_linux', 'mkdir'];
const EPERM = 1;
const ENOSYS = 38;

let probeDir: string | undefined;

/** The probe, static, in a directory the test user can read (built once per process). */
function probe(): string {
  if (probeDir) return join(probeDir, 'seccomp-probe');
  const dir = mkdtempSync(join(sharedTmp(), 'sandbox-e2e-probe-'));
  chmodSync(dir, 0o755);
  const out = join(dir, 'seccomp-probe');
  const r = spawnSync('gcc', ['-static', '-O2', '-o', out, join(REPO_ROOT, 'test', 'e2e', 'seccomp-probe.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build the probe (gcc -static; libc6-dev has the static libc): ${r.stderr}`);
  chmodSync(out, 0o755);
  process.on('exit', () => spawnSync('rm', ['-rf', dir]));
  probeDir = dir;
  return out;
}

function parseProbe(stdout: string): Record<string, number> {
  return Object.fromEntries(stdout.trim().split('\n').map((l) => { const [k, v] = l.split(' '); return [k!, Number(v)]; }));
}

async function setup(t: TestContext) {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return { root, bind: ['-v', `${probe()}:/probe:ro`] };
}

test('seccomp: the default filter refuses with EPERM what the runtimes refuse; seccomp=unconfined lifts it', async (t) => {
  if (!requireRootless(t, 'seccomp')) return;
  const { root, bind } = await setup(t);
  const all = [...REFUSED, ...REFUSED_TWICE, 'clone3', ...ALLOWED];
  const def = await runSandbox(['run', '--rm', '--network', 'none', ...bind, 'bb', '/probe', ...all], { root });
  assert.equal(def.code, 0, show(def));
  const got = parseProbe(def.stdout);
  for (const name of [...REFUSED, ...REFUSED_TWICE]) assert.equal(got[name], EPERM, `${name} is refused with EPERM:\n${def.stdout}`);
  assert.equal(got.clone3, ENOSYS, 'clone3 gets ENOSYS (libc falls back to clone, whose flags the filter sees), as under Docker');
  for (const name of ALLOWED) assert.equal(got[name] === EPERM || got[name] === ENOSYS, false, `${name} is allowed:\n${def.stdout}`);

  const status = await runSandbox(['run', '--rm', '--network', 'none', 'bb', 'grep', '^Seccomp:', '/proc/self/status'], { root });
  assert.match(status.stdout, /^Seccomp:\s+2$/m, `the command runs in filter mode:\n${show(status)}`);

  const unc = await runSandbox(['run', '--rm', '--network', 'none', '--security-opt', 'seccomp=unconfined', ...bind, 'bb', '/probe', ...all], { root });
  assert.equal(unc.code, 0, show(unc));
  const free = parseProbe(unc.stdout);
  for (const name of REFUSED) assert.notEqual(free[name], EPERM, `${name}: unconfined, the kernel answers (not EPERM):\n${unc.stdout}`);
  assert.notEqual(free.clone3, ENOSYS, 'unconfined, clone3 reaches the kernel');
  const uncStatus = await runSandbox(['run', '--rm', '--network', 'none', '--security-opt', 'seccomp=unconfined', 'bb', 'grep', '^Seccomp:', '/proc/self/status'], { root });
  assert.match(uncStatus.stdout, /^Seccomp:\s+0$/m, show(uncStatus));

  // The filter goes on at one of two points (command.c): before the switch of user for the
  // usual root, a user (-u) too; right before exec with no_new_privs or CAP_SYS_ADMIN.
  for (const opts of [['-u', '1000'], ['--security-opt', 'no-new-privileges']]) {
    const r = await runSandbox(['run', '--rm', '--network', 'none', ...opts, ...bind, 'bb', 'sh', '-c', 'grep ^Seccomp: /proc/self/status; /probe keyctl mount'], { root });
    assert.match(r.stdout, /^Seccomp:\s+2\nkeyctl 1\nmount 1\n$/, `${opts.join(' ')}:\n${show(r)}`);
  }

  // --cap-add SYS_ADMIN is how a sandbox asks for namespaces and mounts (Docker's rule): the filter lets them through.
  const adm = await runSandbox(['run', '--rm', '--network', 'none', '--cap-add', 'SYS_ADMIN', ...bind, 'bb', '/probe', 'unshare_user', 'clone_newuser', 'mount', 'setns', 'keyctl'], { root });
  const admin = parseProbe(adm.stdout);
  for (const name of ['unshare_user', 'clone_newuser', 'mount', 'setns']) assert.notEqual(admin[name], EPERM, `${name} with CAP_SYS_ADMIN:\n${show(adm)}`);
  assert.equal(admin.keyctl, EPERM, 'keyctl stays refused');
});

test('seccomp: exec\'d processes run under the same filter; inspect shows the profile', async (t) => {
  if (!requireRootless(t, 'seccomp exec')) return;
  const { root, bind } = await setup(t);
  const up = await runSandbox(['run', '-d', '--name', 'f', '--network', 'none', ...bind, 'bb', 'sleep', '300'], { root });
  assert.equal(up.code, 0, show(up));
  t.after(() => { void runSandbox(['rm', '-f', 'f'], { root }); });
  const ex = await runSandbox(['exec', 'f', '/probe', ...REFUSED, 'getpid'], { root });
  assert.equal(ex.code, 0, show(ex));
  const got = parseProbe(ex.stdout);
  for (const name of REFUSED) assert.equal(got[name], EPERM, `exec: ${name} refused:\n${ex.stdout}`);
  assert.equal(got.getpid, 0);
  const st = await runSandbox(['exec', 'f', 'grep', '^Seccomp:', '/proc/self/status'], { root });
  assert.match(st.stdout, /^Seccomp:\s+2$/m, show(st));

  const insp = await runSandbox(['inspect', '--format', '{{.SeccompProfilePath}} {{.HostConfig.SecurityOpt}}', 'f'], { root });
  assert.equal(insp.stdout, 'default []\n', show(insp));
  const unc = await runSandbox(['create', '--name', 'u', '--security-opt', 'seccomp=unconfined', 'bb', 'true'], { root });
  assert.equal(unc.code, 0, show(unc));
  const inspU = await runSandbox(['inspect', '--format', '{{.SeccompProfilePath}} {{.HostConfig.SecurityOpt}}', 'u'], { root });
  assert.equal(inspU.stdout, 'unconfined [seccomp=unconfined]\n', show(inspU));
  const info = await runSandbox(['info', '--format', '{{.Host.Security.SECCOMPEnabled}}'], { root });
  assert.equal(info.stdout, 'true\n', show(info));
});

test('seccomp: a profile file in the Docker/OCI format applies (to run and exec); a bad one is one line', async (t) => {
  if (!requireRootless(t, 'seccomp profiles')) return;
  const { root, bind } = await setup(t);
  const dir = await newUserDir(t);
  const profile = join(dir, 'no-mkdir.json');
  // A denylist: everything allowed but mkdir and mkdirat, refused with EACCES (13); 64-bit values survive.
  writeFileSync(profile, JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['socket'], action: 'SCMP_ACT_ERRNO', errno: 'EXDEV', args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
    ],
  }).replace('"value":2', '"value":2,"valueTwo":18446744073709551615'));
  spawnSync('chmod', ['644', profile]);
  const r = await runSandbox(['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${profile}`, ...bind, 'bb', 'sh', '-c', '/probe mkdir keyctl socket_inet getpid; mkdir /tmp/x; echo "mkdir=$?"'], { root });
  assert.match(r.stdout, /^mkdir 13$/m, show(r));
  assert.match(r.stdout, /^keyctl 0$/m, 'the default filter is replaced, not added to');
  assert.match(r.stdout, /^socket_inet 18$/m, 'an errno by name (EXDEV = 18), with an argument condition');
  assert.match(r.stdout, /^getpid 0$/m, show(r));
  assert.match(r.stdout, /^mkdir=1$/m, show(r));
  assert.match(r.stderr, /Permission denied/, show(r));

  const d = await runSandbox(['run', '-d', '--name', 'p', '--network', 'none', '--security-opt', `seccomp=${profile}`, ...bind, 'bb', 'sleep', '300'], { root });
  assert.equal(d.code, 0, show(d));
  t.after(() => { void runSandbox(['rm', '-f', 'p'], { root }); });
  const ex = await runSandbox(['exec', 'p', '/probe', 'mkdir', 'keyctl'], { root });
  assert.equal(ex.stdout, 'mkdir 13\nkeyctl 0\n', show(ex));
  const insp = await runSandbox(['inspect', '--format', '{{.SeccompProfilePath}} {{.HostConfig.SecurityOpt}}', 'p'], { root });
  assert.equal(insp.stdout, `${profile} [seccomp=${profile}]\n`, show(insp));

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_EXPLODE' }] }));
  spawnSync('chmod', ['644', bad]);
  for (const [file, problem] of [[bad, 'syscalls\\[0\\]\\.action "SCMP_ACT_EXPLODE" is not one of'], [join(dir, 'missing.json'), 'no such file']] as const) {
    const b = await runSandbox(['run', '--rm', '--security-opt', `seccomp=${file}`, 'bb', 'true'], { root });
    assert.equal(b.code, 125, show(b));
    assert.match(b.stderr, new RegExp(`^sandbox: (cannot read )?seccomp profile ${file}: ${problem}`), show(b));
    assert.match(b.stderr, /^hint: /m, show(b));
    assert.equal(b.stderr.trim().split('\n').length, 2, 'one line and a hint');
  }
  const ps = await runSandbox(['ps', '-a', '--format', '{{.Names}}'], { root });
  assert.equal(ps.stdout.split('\n').filter(Boolean).sort().join(' '), 'p', 'a bad profile leaves no sandbox behind');
});

test('seccomp: TIOCSTI on the caller\'s terminal fails inside (a sandbox without -t)', async (t) => {
  if (!requireRootless(t, 'TIOCSTI') || !requireScript(t)) return;
  const { root, bind } = await setup(t);
  // The command's stdout is the caller's terminal; the probe pushes into it (fd 0 <- fd 1).
  const inner = `${SANDBOX_BIN} run --rm --network none ${bind.join(' ')} bb sh -c '[ -t 1 ] && echo out-is-a-tty; /probe ioctl_tiocsti ioctl_tioclinux 0<&1; echo probed'; sleep 0.5`;
  const child = spawnAsUser(SCRIPT!, ['-qec', inner, '/dev/null'], { root, env: { TERM: 'xterm' } });
  t.after(() => killGroup(child, 'SIGKILL'));
  const s = new Session(child);
  await s.expect(/probed/);
  const code = await s.exited;
  assert.equal(code, 0, s.screen);
  assert.match(s.screen, /out-is-a-tty/, `the caller's terminal reaches the command:\n${s.screen}`);
  assert.match(s.screen, /ioctl_tiocsti 1\b/, `TIOCSTI refused with EPERM:\n${s.screen}`);
  assert.match(s.screen, /ioctl_tioclinux 1\b/, `TIOCLINUX refused with EPERM:\n${s.screen}`);
});
