/* sandbox-launch: the lifetime of network helpers, and how they are found again.
 *
 * A network helper is any process a network driver starts to serve a sandbox from
 * outside its namespaces (slirp4netns, pasta, the port forwarder, a network's switch).
 * The contract (helpers/README.md, "Network helpers: lifetime and identification"):
 *   - it is forked by net_helper_fork(), which makes it die with the process that forked
 *     it (PR_SET_PDEATHSIG SIGKILL; a monitor already gone by then ends it at once);
 *   - it runs in the foreground (no daemonizing: the pid forked is the helper's);
 *   - it carries SANDBOX_NET_OWNER=<owner> and SANDBOX_NET_HELPERS=<dir> (which store:
 *     owners are only unique within one) in its environment, and while it runs the
 *     file <dir>/<owner>.<name>.pid holds "PID STARTTIME" (written atomically by its
 *     parent right after the fork, removed by net_helper_reaped() once it is reaped), so
 *     that `sandbox system check` can end what a crash left (src/network/helper-files.ts);
 *   - any other file it keeps at run time (a socket, a lock) is <dir>/<owner>.<name>.*.
 * <dir> and <owner> come from the plan's `--net-helpers DIR OWNER` (the store's runtime
 * directory's net-helpers/, the sandbox's id); without it there are no files, the rest
 * holds. */
#include "launch.h"

static pid_t forked_by = 0; /* in a helper: the pid of the process that forked it */

/* The kernel clears the parent-death signal when credentials change in a way that could
 * give more (commit_creds: another effective uid or gid, capabilities beyond the old
 * ones, a set-user-ID exec): a helper that changes its credentials after the fork calls
 * this again, last, right before its exec. */
void net_helper_die_with_monitor(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != forked_by) _exit(EXIT_SETUP); /* the monitor died before the line above */
}

/* <dir>/<owner>.<name><suffix>, or 0 without --net-helpers. */
static int helper_file(char *out, size_t size, const char *name, const char *suffix) {
  if (!plan.net_helpers_dir || !plan.net_owner) return 0;
  int n = snprintf(out, size, "%s/%s.%s%s", plan.net_helpers_dir, plan.net_owner, name, suffix);
  return n > 0 && (size_t)n < size;
}

/* Records the helper `name` (pid `pid`) in its pid file, atomically. Best effort: a
 * helper without its file still dies with us; only `system check` would not see it. */
static void record_helper(const char *name, pid_t pid) {
  char path[PATH_MAX], tmp[PATH_MAX], body[64];
  if (!helper_file(path, sizeof path, name, ".pid") || !helper_file(tmp, sizeof tmp, name, ".pid.tmp")) return;
  mkdir(plan.net_helpers_dir, 0700); /* its parent, the runtime directory, is the CLI's */
  int n = snprintf(body, sizeof body, "%d %llu\n", (int)pid, process_start_time(pid));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  int ok = write_all(fd, body, (size_t)n) == 0;
  close(fd);
  if (!ok || rename(tmp, path) < 0) unlink(tmp);
}

/* fork() for a network helper called `name` (a word: slirp4netns, pasta, ...). In the
 * child (0): it dies with us, and SANDBOX_NET_OWNER and SANDBOX_NET_HELPERS are set for
 * its exec. In the parent
 * (the child's pid): the pid file is written. -1: fork failed. */
pid_t net_helper_fork(const char *name) {
  forked_by = getpid();
  pid_t child = fork();
  if (child == 0) {
    net_helper_die_with_monitor();
    if (plan.net_owner) { setenv("SANDBOX_NET_OWNER", plan.net_owner, 1); setenv("SANDBOX_NET_HELPERS", plan.net_helpers_dir, 1); }
    return 0;
  }
  if (child > 0) record_helper(name, child);
  return child;
}

/* After the helper `name` has been reaped: its pid file goes. */
void net_helper_reaped(const char *name) {
  char path[PATH_MAX];
  if (helper_file(path, sizeof path, name, ".pid")) unlink(path);
}

/* The end of a run: waits up to `grace_ms` for the helper `name` (pid `pid`), asked to
 * end in its own orderly way just before, then SIGKILLs it; reaps it and removes its pid
 * file. A helper that hangs never holds up the end of the sandbox (or its restart). */
void net_helper_end(pid_t pid, const char *name, int grace_ms) {
  for (int waited = 0; waitpid(pid, NULL, WNOHANG) == 0; waited += 5) {
    if (waited >= grace_ms) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); break; }
    usleep(5000);
  }
  net_helper_reaped(name);
}
