/* sandbox-launch: the periodic health check (monitor side).
 *
 * With --health-check MS RUNNER, the monitor starts RUNNER (`sandbox healthcheck run` of
 * this sandbox, made by src/api/healthcheck.ts) every MS milliseconds while the command
 * runs: what Podman has systemd timers for, without a daemon. The runner does the check
 * through the exec path and records the result in the sandbox's directory; the monitor
 * only keeps time. One runner at a time: a check still running when the next one is due
 * skips that turn (its own timeout ends it), and so does one due while the sandbox is
 * paused.
 *
 * Nothing of it outlives the sandbox: the runner leads a process group of its own, which
 * the monitor kills when this run of the sandbox ends (health_disarm), and it gets
 * SIGKILL when the monitor dies (its parent-death signal); what the runner starts, the
 * exec helper, dies with it (--die-with-parent), and the check's command with that. */
#include "launch.h"

static pid_t runner = 0;
static int armed = 0;
static struct timespec due;

static long ms_until(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

static void schedule_next(void) {
  clock_gettime(CLOCK_MONOTONIC, &due);
  due.tv_sec += plan.health_interval_ms / 1000;
  due.tv_nsec += (plan.health_interval_ms % 1000) * 1000000;
  if (due.tv_nsec >= 1000000000) { due.tv_sec++; due.tv_nsec -= 1000000000; }
}

/* The command runs: the first check is due one interval from now (as Podman's timer). */
void health_arm(void) {
  if (!plan.health_runner || armed) return;
  armed = 1;
  schedule_next();
}

/* The poll timeout of the monitor's loop: `timeout_ms` (-1: none), or sooner when a check is due. */
int health_poll_timeout(int timeout_ms) {
  if (!armed) return timeout_ms;
  long left = ms_until(&due);
  if (left < 0) left = 0;
  return timeout_ms < 0 || left < timeout_ms ? (int)left : timeout_ms;
}

static void start_runner(void) {
  pid_t child = fork();
  if (child < 0) return; /* no check this turn; the next one tries again */
  if (child == 0) {
    reset_signals();
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(EXIT_SETUP); /* the monitor is gone already */
    int devnull = open("/dev/null", O_RDWR);
    int log = plan.net_log ? open(plan.net_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    dup2(devnull, 0); dup2(devnull, 1); dup2(log >= 0 ? log : devnull, 2);
    execv(plan.health_runner[0], plan.health_runner);
    msg("sandbox: cannot run the health check %s: %s", plan.health_runner[0], strerror(errno));
    _exit(EXIT_NOT_FOUND);
  }
  runner = child;
}

/* After each wake-up of the monitor's loop: starts the runner when a check is due. */
void health_tick(void) {
  if (!armed || ms_until(&due) > 0) return;
  /* Paused: no check (as Podman), so its health stays as it was; the next is due an interval on. */
  if (runner == 0 && !cgroup_frozen()) start_runner();
  schedule_next();
}

/* On SIGCHLD: the runner ended. */
void health_reap(void) {
  if (runner > 0 && waitpid(runner, NULL, WNOHANG) == runner) runner = 0;
}

/* This run of the sandbox ended: no more checks, and none left running. */
void health_disarm(void) {
  armed = 0;
  if (runner > 0) {
    kill(-runner, SIGKILL);
    kill(runner, SIGKILL);
    while (waitpid(runner, NULL, 0) < 0 && errno == EINTR) {}
    runner = 0;
  }
}
