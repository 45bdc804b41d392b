/* sandbox-launch: the entry point. */
#include "launch.h"
#include "../common/sealed.h"

/* Its messages are the CLI's own: "sandbox: ..." (and "hint: ..."); a failure is 125. */
const char say_prog[] = "sandbox";
int die_status = EXIT_SETUP;

int main(int argc, char **argv) {
  /* Before any namespace: run from a sealed copy of ourselves (helpers/common/sealed.h). */
  const char *failed = sealed_self_exec(argv, "sandbox-launch");
  if (failed && !strcmp(failed, "memfd_create") && errno == EACCES)
    die_hint("the sysctl vm.memfd_noexec=2 forbids it; 1 or 0 allows it", "cannot make an executable memory file for the helper's sealed copy");
  if (failed) die("cannot run the helper from a sealed copy of itself (%s): %s", failed, strerror(errno));
  if (argc == 3 && !strcmp(argv[1], ARGS_FD)) argv = read_args_fd(atoi(argv[2]), &argc);
  else if (argc == 2 && !strcmp(argv[1], ARGS_ENV)) argv = read_args_env(&argc);
  parse_args(argc, argv);
  if (plan.status_fd >= 0) fcntl(plan.status_fd, F_SETFD, FD_CLOEXEC);
  lifeline_prepare();
  /* While the host's paths are ours: the command (run's, exec's) inherits it in memory. */
  seccomp_prepare();

  sigset_t old;
  block_all_signals(&old);
  install_noop_handlers();
  if (plan.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIG_PARENT_GONE);
    if (getppid() != plan.die_with_parent) _exit(EXIT_SETUP); /* the CLI is already gone */
  }

  sigset_t mask;
  sigfillset(&mask);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (plan.exec_target) {
    int code = run_exec(sfd);
    status(STATUS_EXIT_CODE, code);
    return code;
  }
  if (plan.attach_to) return run_attach(sfd);
  claim_monitor();
  if (plan.log_path) log_open();

  /* Runs the sandbox, and again while its restart policy says so (Docker's rules: never
   * after a stop or kill request; on-failure only for a non-zero exit, at most N
   * times; a delay doubling from 100 ms, reset after 10 s of running). */
  long delay_ms = 100;
  for (;;) {
    struct timespec began, ended;
    clock_gettime(CLOCK_MONOTONIC, &began);
    cgroup_run_begins();
    int code = run_once(sfd);
    cgroup_run_ended();
    clock_gettime(CLOCK_MONOTONIC, &ended);
    append_event("die", code);
    int again = !stop_requested && !plan.userns_only &&
      (plan.restart == 2 || (plan.restart == 1 && code != 0 && (plan.restart_max == 0 || restart_count < plan.restart_max)));
    if (!again) {
      cgroup_remove_all(); /* gone before the end is seen */
      write_exit_file(code);
      release_monitor();
      status(STATUS_EXIT_CODE, code);
      return code;
    }
    if (ended.tv_sec - began.tv_sec >= 10) delay_ms = 100;
    /* Wait, but a stop request ends the wait (and the restarts). */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long left = delay_ms;
    while (left > 0 && !stop_requested) {
      struct pollfd p[2] = { { sfd, POLLIN, 0 } };
      int n = 1, i_owner;
      lifeline_poll_add(p, &n, &i_owner);
      if (poll(p, (nfds_t)n, (int)left) > 0) {
        if (lifeline_check(p, i_owner)) break; /* the starter is gone: no restart */
        struct signalfd_siginfo si;
        if ((p[0].revents & POLLIN) && read(sfd, &si, sizeof si) == sizeof si &&
            ((int)si.ssi_signo == SIG_STOP_REQUEST || (int)si.ssi_signo == SIG_KILL_REQUEST || (int)si.ssi_signo == SIGTERM))
          stop_requested = 1;
      }
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      left = delay_ms - ((now.tv_sec - until.tv_sec) * 1000 + (now.tv_nsec - until.tv_nsec) / 1000000);
    }
    if (stop_requested) {
      cgroup_remove_all(); /* gone before the end is seen */
      write_exit_file(code);
      release_monitor();
      status(STATUS_EXIT_CODE, code);
      return code;
    }
    restart_count++;
    if (delay_ms < 10000) delay_ms *= 2;
    append_event("restart", -1);
  }
}
