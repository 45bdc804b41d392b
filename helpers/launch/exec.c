/* sandbox-launch: `sandbox exec`, into a running sandbox. */
#include "launch.h"

/* ---------- exec (E) ---------- */

/* Joins every namespace of the sandbox's command `target`: with one setns() on a pidfd
 * (Linux >= 5.8), else one open and setns() per namespace. All or nothing either way:
 * the files are all opened first, since the host's /proc is gone once in the sandbox's
 * mount namespace. The network namespace is entered when the sandbox's network driver
 * says so (network.c): a --network host sandbox's is the host's, not ours to enter. */
static void join_sandbox(pid_t target, int skip) {
  static const struct { const char *name; int type; } nss[] = {
    { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID }, { "uts", CLONE_NEWUTS },
    { "ipc", CLONE_NEWIPC }, { "net", CLONE_NEWNET }, { "cgroup", CLONE_NEWCGROUP },
  };
  const char *ended = "the sandbox may have just ended; `sandbox ps -a` shows it";
  int n = (int)(sizeof nss / sizeof nss[0]), flags = 0;
  for (int i = 0; i < n; i++) if (plan.network->exec_enters || nss[i].type != CLONE_NEWNET) flags |= nss[i].type;
  flags &= ~skip;
  int pidfd = (int)syscall(SYS_pidfd_open, target, 0);
  if (pidfd < 0 && errno == ESRCH) die_hint(ended, "cannot enter the sandbox: its process %d is gone", (int)target);
  if (pidfd >= 0) {
    int r = setns(pidfd, flags), e = errno;
    close(pidfd);
    if (r == 0) return;
    if (e != EINVAL) die("cannot enter the sandbox's namespaces: %s", strerror(e));
    /* EINVAL: a kernel before 5.8, whose setns() takes no pidfd. */
  }
  int fds[sizeof nss / sizeof nss[0]];
  for (int i = 0; i < n; i++) {
    fds[i] = -1;
    if (!(flags & nss[i].type)) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)target, nss[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) die_hint(ended, "cannot enter the sandbox (%s): %s", path, strerror(errno));
  }
  for (int i = 0; i < n; i++) {
    if (fds[i] < 0) continue;
    if (setns(fds[i], nss[i].type) < 0) die("cannot enter the sandbox's %s namespace: %s", nss[i].name, strerror(errno));
    close(fds[i]);
  }
}

/* `--exec-target PID`: runs the command in the running sandbox whose command is PID,
 * with no monitor and no init of its own (the sandbox's init reaps what the command
 * leaves behind). This process joins the sandbox's namespaces and becomes root there;
 * the command, forked into the sandbox's pid namespace, dies with the sandbox, and with
 * us (its parent-death signal). We pass signals on to it, proxy the terminal for -t,
 * report on --status-fd, and exit with its status; when the CLI dies (--die-with-parent),
 * the command's session is killed. */
int run_exec(int sfd) {
  /* First: the host's cgroup filesystem is out of sight inside. The command is born in
   * the cgroup (v2), which then enters the cgroup namespace itself; else we join it. */
  int leave = cgroup_exec_prepare(plan.exec_target);
  apply_oom_score_adj(); /* here too: our /proc/self is not in the sandbox's /proc (the command inherits it) */
  join_sandbox(plan.exec_target, leave);
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("cannot become root in the sandbox: %s", strerror(errno));
  if (!plan.keep_groups) setgroups(0, NULL);
  new_session_keyring();
  /* Set again: entering a user namespace clears the parent-death signal. */
  if (plan.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIG_PARENT_GONE);
    if (getppid() != plan.die_with_parent) _exit(EXIT_SETUP);
  }
  /* What runs in the sandbox cannot reach our descriptors (the caller's) through /proc. */
  prctl(PR_SET_DUMPABLE, 0);

  int master = -1;
  if (plan.tty) {
    master = open_pty_master();
    copy_winsize(master);
  }
  char why[4096];
  pid_t child = start_command(master, why, sizeof why);
  status(STATUS_PID, (int)child);
  if (why[0]) write_all(2, why, strlen(why));
  else status(STATUS_STARTED);
  if (master >= 0 && isatty(0) && tcgetattr(0, &saved_termios) == 0) {
    termios_saved = 1;
    struct termios raw = saved_termios;
    cfmakeraw(&raw);
    tcsetattr(0, TCSADRAIN, &raw);
  }

  int stdin_done = !plan.stdin_open, master_done = master < 0, exited = 0, code = EXIT_SETUP;
  for (;;) {
    if (exited && master_done) break;
    struct pollfd p[3];
    int n = 0, i_in = -1, i_master = -1;
    p[n++] = (struct pollfd){ sfd, POLLIN, 0 };
    if (!master_done && !stdin_done) { i_in = n++; p[i_in] = (struct pollfd){ 0, POLLIN, 0 }; }
    if (!master_done) { i_master = n++; p[i_master] = (struct pollfd){ master, POLLIN, 0 }; }
    int ready = poll(p, n, exited ? 200 : -1);
    if (ready < 0) { if (errno == EINTR) continue; break; }
    if (ready == 0 && exited) break; /* the terminal went quiet after the end */
    if (i_in >= 0 && p[i_in].revents && !pump(0, master)) {
      stdin_done = 1;
      char eof = 4;
      ssize_t unused = write(master, &eof, 1);
      (void)unused;
    }
    if (i_master >= 0 && p[i_master].revents && !pump(master, 1)) master_done = 1;
    if (!(p[0].revents & POLLIN)) continue;
    struct signalfd_siginfo si;
    int sig = read_signal(sfd, &si);
    if (!sig) continue;
    if (sig == SIGCHLD) {
      reap(child, &code, &exited);
    } else if (sig == SIGWINCH) {
      if (master >= 0) copy_winsize(master);
    } else if ((sig == SIGINT || sig == SIGQUIT) && si.ssi_code == SI_KERNEL) {
      /* From the terminal: the CLI got it too and will pass it on; send it once. */
      clock_gettime(CLOCK_MONOTONIC, &terminal_sig_at[sig]);
      if (!exited) kill(child, sig);
    } else if ((sig == SIGINT || sig == SIGQUIT) && (pid_t)si.ssi_pid == getppid() && recent(&terminal_sig_at[sig])) {
      /* the CLI's copy of a terminal signal we already passed on */
    } else if (sig == SIG_PARENT_GONE || sig == SIG_KILL_REQUEST) {
      /* The CLI is gone, or asks for the end (a health check's timeout): so is the
       * command, with its whole session. */
      if (!exited) { kill(-child, SIGKILL); kill(child, SIGKILL); }
      restore_terminal();
      while (!exited) {
        int st;
        pid_t w = waitpid(child, &st, 0);
        if (w == child || (w < 0 && errno != EINTR)) exited = 1;
      }
      return 128 + SIGKILL;
    } else if (forwardable(sig) && !exited) {
      kill(child, sig);
    }
  }
  restore_terminal();
  return code;
}
