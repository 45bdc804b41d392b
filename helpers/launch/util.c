/* sandbox-launch: small utilities shared by the monitor, the init and exec. */
#include "launch.h"

/* ---------- small utilities ---------- */

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) { if (errno == EINTR) continue; return -1; }
    p += n; len -= (size_t)n;
  }
  return 0;
}

void status(const char *fmt, ...) {
  if (plan.status_fd < 0) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0 || n >= (int)sizeof buf - 1) return;
  buf[n++] = '\n';
  write_all(plan.status_fd, buf, n);
}

char *host_path(const char *p) { return join2(OLDROOT, p); }

void block_all_signals(sigset_t *old) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, old);
}

static void noop_handler(int sig) { (void)sig; }

/* A PID 1 only receives signals that have a handler (pid_namespaces(7)); signals
 * stay blocked and are read from a signalfd, so the handler never runs. */
void install_noop_handlers(void) {
  struct sigaction sa = { .sa_handler = noop_handler };
  sigfillset(&sa.sa_mask);
  for (int s = 1; s < _NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sigaction(s, &sa, NULL);
  }
}

void reset_signals(void) {
  struct sigaction sa = { .sa_handler = SIG_DFL };
  for (int s = 1; s < _NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sigaction(s, &sa, NULL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

int exit_code_of(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return EXIT_SETUP;
}

/* The start time of `pid` (field 22 of /proc/PID/stat, clock ticks since boot), as
 * src/state/liveness.ts reads it: with the pid, what tells a process from a later one
 * that reuses its pid. 0 when it cannot be read. */
unsigned long long process_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  p += 2; /* field 3 */
  for (int field = 3; field < 22 && p; field++) { p = strchr(p, ' '); if (p) p++; }
  return p ? strtoull(p, NULL, 10) : 0;
}

/* The next signal from the signalfd (0 when none could be read). */
int read_signal(int sfd, struct signalfd_siginfo *si) {
  return read(sfd, si, sizeof *si) == sizeof *si ? (int)si->ssi_signo : 0;
}

/* On SIGCHLD: reaps every child that ended; when `child` did, its status goes to *code. */
void reap(pid_t child, int *code, int *done) {
  int st;
  pid_t w;
  while ((w = waitpid(-1, &st, WNOHANG)) > 0)
    if (w == child) { *code = exit_code_of(st); *done = 1; }
}

/* A new terminal of the sandbox's /dev/pts (for -t); the command opens its other end. */
int open_pty_master(void) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("cannot open /dev/ptmx in the sandbox: %s", strerror(errno));
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die("cannot unlock the terminal: %s", strerror(errno));
  return master;
}


/* ---------- terminals (monitor and exec) ---------- */

struct termios saved_termios;
int termios_saved = 0;

void restore_terminal(void) {
  if (termios_saved) tcsetattr(0, TCSADRAIN, &saved_termios);
  termios_saved = 0;
}

void copy_winsize(int master) {
  struct winsize ws;
  if (ioctl(1, TIOCGWINSZ, &ws) == 0 || ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}


/* Copies what is readable from `from` to `to`; returns 0 at EOF or error. */
int pump(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  return write_all(to, buf, (size_t)n) == 0;
}

int forwardable(int sig) {
  switch (sig) {
  case SIGCHLD: case SIGWINCH: case SIGTTIN: case SIGTTOU: case SIGTSTP: case SIGPIPE: return 0;
  default: return sig != SIG_ABORT && sig != SIG_PARENT_GONE && sig != SIG_STOP_REQUEST && sig != SIG_KILL_REQUEST;
  }
}

struct timespec terminal_sig_at[_NSIG];

/* Was `t` less than half a second ago? */
int recent(const struct timespec *t) {
  if (!t->tv_sec && !t->tv_nsec) return 0;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long ms = (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
  return ms < 500;
}

/* Clones the init (flags | CLONE_PARENT: it is still our child) from a short-lived child
 * that first runs prepare(arg) (joins another sandbox's namespaces), in the sandbox's
 * cgroups (cgroup_clone), so that the init is born there. 0 in the init; its pid here; -1 with errno set
 * when prepare or the clone failed. */
pid_t clone_from_child(unsigned long flags, int (*prepare)(void *), void *arg) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    close(pfd[0]);
    long r = prepare(arg);
    if (r == 0) r = cgroup_clone(flags | CLONE_PARENT); /* in the sandbox's cgroups, if any */
    if (r == 0) { close(pfd[1]); return 0; } /* the init */
    int msg[2] = { (int)r, r < 0 ? errno : 0 };
    ssize_t unused = write(pfd[1], msg, sizeof msg);
    (void)unused;
    _exit(0);
  }
  close(pfd[1]);
  int msg[2] = { -1, EIO };
  ssize_t n;
  while ((n = read(pfd[0], msg, sizeof msg)) < 0 && errno == EINTR) {}
  close(pfd[0]);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
  if (n != (ssize_t)sizeof msg || msg[0] <= 0) {
    errno = msg[1] ? msg[1] : EIO;
    return -1;
  }
  return (pid_t)msg[0];
}
