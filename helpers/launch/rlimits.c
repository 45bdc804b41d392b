/* sandbox-launch: `--rlimit NAME SOFT HARD` (the sandbox's --ulimit, and part of
 * --pids-limit where no pids cgroup bounds it: RLIMIT_NPROC is counted per user
 * namespace). Parsed with the plan, applied by the command (X) before its exec: the
 * sandbox's command and every exec'd one, so all of them live under the same limits. */
#include "launch.h"
#include <sys/resource.h>

static const struct { const char *name; int resource; } names[] = {
  { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU }, { "data", RLIMIT_DATA }, { "fsize", RLIMIT_FSIZE },
  { "locks", RLIMIT_LOCKS }, { "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
  { "nice", RLIMIT_NICE }, { "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC }, { "rss", RLIMIT_RSS },
  { "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME }, { "sigpending", RLIMIT_SIGPENDING },
  { "stack", RLIMIT_STACK },
};
#define N_NAMES ((int)(sizeof names / sizeof names[0]))

static struct { int name; long long soft, hard; } limits[N_NAMES * 2];
static int n_limits;

static long long value(const char *s) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno || v < -1) die("internal: bad %s value %s", FLAG_RLIMIT, s);
  return v;
}

void rlimit_add(const char *name, const char *soft, const char *hard) {
  int k = 0;
  while (k < N_NAMES && strcmp(names[k].name, name)) k++;
  if (k == N_NAMES) die("internal: unknown %s %s", FLAG_RLIMIT, name);
  if (n_limits >= (int)(sizeof limits / sizeof limits[0])) die("internal: too many %s", FLAG_RLIMIT);
  limits[n_limits].name = k;
  limits[n_limits].soft = value(soft);
  limits[n_limits].hard = value(hard);
  n_limits++;
}

/* In the order given (a later one for the same limit wins). -1 is as high as allowed:
 * the hard limit we have (an unprivileged user cannot raise it, not even as root of a
 * user namespace). */
void apply_rlimits(void) {
  for (int i = 0; i < n_limits; i++) {
    int r = names[limits[i].name].resource;
    struct rlimit cur, want;
    if (getrlimit(r, &cur) < 0) die("getrlimit %s: %s", names[limits[i].name].name, strerror(errno));
    want.rlim_max = limits[i].hard < 0 ? cur.rlim_max : (rlim_t)limits[i].hard;
    want.rlim_cur = limits[i].soft < 0 ? want.rlim_max : (rlim_t)limits[i].soft;
    if (setrlimit(r, &want) == 0) continue;
    if (errno == EPERM)
      die_hint("an unprivileged user cannot raise a hard limit: lower the --ulimit (-1 is your own hard limit)",
               "cannot set --ulimit %s=%lld:%lld: above your hard limit (%llu)", names[limits[i].name].name,
               limits[i].soft, limits[i].hard, (unsigned long long)cur.rlim_max);
    die("cannot set --ulimit %s: %s", names[limits[i].name].name, strerror(errno));
  }
}

/* --oom-score-adj: the sandbox's init's (its command inherits it) and every exec'd one's. Raising it is
 * anyone's right; lowering it below what the caller had needs CAP_SYS_RESOURCE on the
 * host, which no one has in a user namespace (EACCES). */
static const char *oom_score_adj;

void oom_score_adj_set(const char *value) { oom_score_adj = value; }

void apply_oom_score_adj(void) {
  if (!oom_score_adj) return;
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open /proc/self/oom_score_adj: %s", strerror(errno));
  ssize_t n = write(fd, oom_score_adj, strlen(oom_score_adj));
  int err = errno;
  close(fd);
  if (n >= 0) return;
  if (err == EACCES || err == EPERM)
    die_hint("an unprivileged user can raise the OOM score adjustment, not lower it below its own (cat /proc/self/oom_score_adj): give a value at least that",
             "cannot set --oom-score-adj %s: lowering it needs CAP_SYS_RESOURCE on the host", oom_score_adj);
  die("cannot set --oom-score-adj %s: %s", oom_score_adj, strerror(err));
}
