/**
 * Issue 16, item 5, written as the attack, as the unprivileged test user: a sandbox
 * without -t must not push input into the caller's terminal. A static probe, bound in,
 * tries TIOCSTI (fake typing: `echo pwned` then Enter) and TIOCLINUX (paste the console
 * selection) on every terminal it holds: its stdio (a foreground run's stdout and stderr,
 * an exec's, are the caller's terminal itself) and the caller's terminal node passed in
 * with --device. Every command in a sandbox runs in a session of its own (setsid in
 * helpers/launch/command.c), where the caller's terminal is not its controlling terminal,
 * so the kernel refuses TIOCSTI (EPERM: and CAP_SYS_ADMIN of a user namespace does not
 * count) even with seccomp=unconfined. The same probe run directly by the caller's shell
 * does push (on kernels that still allow TIOCSTI: dev.tty.legacy_tiocsti=1): the control
 * that shows the test can fail.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { SANDBOX_BIN, killGroup, newStore, newUserDir, requireNoProblems, requireRootless, runSandbox, spawnAsUser } from './harness.js';
import { SCRIPT, Session, requireScript } from './terminal.js';

const PROBE_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/tiocl.h>
/* Types "echo pwned" and Enter into the terminal on fd with TIOCSTI, then asks for a paste of the console selection (TIOCLINUX). */
static void attack(const char *label, int fd, const char *name) {
  const char *payload = "echo pwned\n";
  int pushed = 0, err = 0;
  for (const char *c = payload; *c; c++) {
    if (ioctl(fd, TIOCSTI, c) == 0) pushed++;
    else { err = errno; break; }
  }
  char sub = TIOCL_PASTESEL;
  int pasted = ioctl(fd, TIOCLINUX, &sub);
  int lerr = errno;
  printf("%s %s tiocsti=%s tioclinux=%s\n", label, name, pushed ? "PUSHED" : strerrorname_np(err), pasted == 0 ? "PASTED" : strerrorname_np(lerr));
  fflush(stdout);
}
/* probe LABEL TARGET...: a TARGET is a descriptor (0, 1, 2) or the path of a terminal to open. */
int main(int argc, char **argv) {
  for (int i = 2; i < argc; i++) {
    const char *t = argv[i];
    int fd = (t[0] >= '0' && t[0] <= '2' && !t[1]) ? t[0] - '0' : open(t, O_RDWR | O_NOCTTY);
    if (fd < 0) { printf("%s %s open=%s\n", argv[1], t, strerrorname_np(errno)); continue; }
    if (!isatty(fd)) printf("%s %s not-a-tty\n", argv[1], t);
    else attack(argv[1], fd, t[1] ? t : (const char[]){ 'f', 'd', t[0], 0 });
    fflush(stdout);
  }
  return 0;
}
`;

/** Builds the probe with the system compiler, static (the image need have no libc). */
function buildProbe(dir: string): string[] {
  if (!existsSync('/usr/bin/gcc')) return ['gcc is missing (apt-get install gcc): the probe is compiled in the test'];
  const src = join(dir, 'probe.c');
  writeFileSync(src, PROBE_C);
  const out = join(dir, 'probe');
  const r = spawnSync('gcc', ['-static', '-O2', '-o', out, src], { encoding: 'utf8' });
  if (r.status !== 0) return [`gcc -static failed (Debian: libc6-dev holds libc.a): ${r.stderr}`];
  chmodSync(out, 0o755);
  spawnSync('chown', ['--reference', dir, out, src]);
  return [];
}

test('a sandbox cannot type into the caller\'s terminal: TIOCSTI and TIOCLINUX fail in run, run -d and exec; with -t only its own', async (t) => {
  if (!requireRootless(t, 'terminal safety') || !requireScript(t)) return;
  const dir = await newUserDir(t, 'sandbox-e2e-tiocsti-');
  if (!requireNoProblems(t, 'terminal safety', buildProbe(dir))) return;
  const root = await newStore(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'tsafe', 'tsafe-d'], { root }); });
  const legacy = readFileSync('/proc/sys/dev/tty/legacy_tiocsti', 'utf8').trim() === '1';

  // After each attempt the shell reads what was pushed into its terminal, if anything, and says so.
  const check = (what: string) => `line=; read -r -t 2 line; echo "after-${what}:[$line]"`;
  const common = `--network none --security-opt seccomp=unconfined --device "$(tty)":/dev/callertty -v ${dir}/probe:/probe:ro`;
  const script = [
    `${dir}/probe control 0; ${check('control')}`,
    // run: stdin is /dev/null, stdout and stderr are the caller's terminal itself.
    // The init too has no controlling terminal (field 7 of /proc/1/stat, tty_nr, is 0).
    `${SANDBOX_BIN} run --rm ${common} host sh -c '/probe run 0 1 2 /dev/callertty; echo "init-tty:$(cut -d" " -f7 /proc/1/stat)"'; ${check('run')}`,
    `${SANDBOX_BIN} run -d --name tsafe-d ${common} host /probe detached 0 1 2 /dev/callertty >/dev/null; ${SANDBOX_BIN} wait tsafe-d >/dev/null; ${SANDBOX_BIN} logs tsafe-d; ${check('detached')}`,
    `${SANDBOX_BIN} run -d --name tsafe ${common} host sleep 300 >/dev/null; ${SANDBOX_BIN} exec tsafe /probe exec 0 1 2 /dev/callertty; ${check('exec')}`,
    // -t: the sandbox's own terminal is its controlling one; typing into it stays inside.
    `${SANDBOX_BIN} run --rm -t ${common} host /probe tty 0 /dev/callertty; ${check('tty')}`,
    'echo all-done',
  ].join('\n');
  writeFileSync(join(dir, 'attack.sh'), script);
  const child = spawnAsUser(SCRIPT!, ['-qec', `bash ${dir}/attack.sh`, '/dev/null'], { root, env: { TERM: 'xterm' } });
  t.after(() => killGroup(child, 'SIGKILL'));
  const s = new Session(child);
  await s.expect(/all-done/, 120_000);
  const screen = s.screen.replace(/\r/g, '');
  if (process.env.SHOW_SCREEN) console.error(screen);

  if (legacy) {
    // The control: the same probe, run by the caller's shell itself, does type into the terminal.
    assert.match(screen, /^control fd0 tiocsti=PUSHED/m, screen);
    assert.match(screen, /^after-control:\[echo pwned\]$/m, screen);
  }
  const lines = screen.split('\n');
  assert.match(screen, /^init-tty:0$/m, `the sandbox's init has no controlling terminal:\n${screen}`);
  for (const what of ['run', 'detached', 'exec']) {
    assert.match(screen, new RegExp(`^after-${what}:\\[\\]$`, 'm'), `nothing reached the shell after ${what}:\n${screen}`);
    // Each held the caller's terminal (the node passed in; run and exec on stdout and stderr too) and was refused.
    const held = what === 'detached' ? ['/dev/callertty'] : ['/dev/callertty', 'fd1', 'fd2'];
    for (const name of held) {
      const l = lines.find((x) => x.startsWith(`${what} ${name} `));
      assert.ok(l, `${what} ${name} reported:\n${screen}`);
      assert.match(l!, /tiocsti=EPERM tioclinux=(ENOTTY|EINVAL|EPERM)$/, `not its controlling terminal: ${l}`);
    }
    assert.ok(!lines.some((x) => x.startsWith(`${what} `) && /PUSHED|PASTED/.test(x)), screen);
  }
  assert.match(screen, /^tty fd0 tiocsti=PUSHED/m, `with -t the probe types into the sandbox's own terminal:\n${screen}`);
  assert.match(screen, /^tty \/dev\/callertty tiocsti=EPERM/m, screen);
  assert.match(screen, /^after-tty:\[\]$/m, `nothing reached the caller's shell with -t:\n${screen}`);
  assert.equal(await s.exited, 0, screen);
});
