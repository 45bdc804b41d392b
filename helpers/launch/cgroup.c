/* sandbox-launch: the sandbox's cgroups (--cgroup DIR, one per v1 controller or the one
 * v2 cgroup). The TypeScript side (src/runtime/cgroup/) makes them and writes the limits
 * before we start; here they are joined before anything of the sandbox runs, watched for
 * out-of-memory kills (--oom-file) and removed when the sandbox ends. */
#include "launch.h"

/* Moves process `pid` ("0": the writer) into every --cgroup. -1 (errno set) on failure. */
static int cgroup_move(const char *pid) {
  for (int i = 0; i < plan.n_cgroups; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", plan.cgroups[i]);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = write_all(fd, pid, strlen(pid)), e = errno;
    close(fd);
    if (r < 0) { errno = e; return -1; }
  }
  return 0;
}

/* Moves this process into every --cgroup. -1 (errno set) on failure. */
int cgroup_join_self(void) {
  return cgroup_move("0");
}

/* exec: the new command joins the sandbox's cgroups before it enters (the host's
 * cgroup filesystem is out of sight once in the sandbox's mount namespace). */
void cgroup_join_or_die(void) {
  if (cgroup_join_self() < 0)
    die_hint("see `sandbox doctor` (cgroups); the sandbox may have just ended",
             "cannot join the sandbox's cgroup: %s", strerror(errno));
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* The one v2 cgroup (cgroup v2 only): clone3 with CLONE_INTO_CGROUP puts the init in it
 * as it is born, with no migration. A migration (a write to cgroup.procs) takes the
 * kernel's cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period:
 * measured 13 ms here for the first one. The init's cgroup namespace is then made by the
 * init itself (a new one is rooted at the creator's cgroup, which would be ours). -1
 * when clone3 cannot (an older kernel): the caller falls back to the migration. */
static pid_t clone3_into_cgroup(unsigned long flags) {
  struct statfs sf;
  if (plan.n_cgroups != 1 || statfs(plan.cgroups[0], &sf) < 0 || (unsigned long)sf.f_type != CGROUP2_SUPER_MAGIC) return -1;
  int cfd = open(plan.cgroups[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cfd < 0) return -1;
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
  } args = { 0 };
  args.flags = (uint64_t)(flags & ~(unsigned long)(CSIGNAL | CLONE_NEWCGROUP)) | CLONE_INTO_CGROUP;
  args.exit_signal = (uint64_t)(flags & CSIGNAL);
  args.cgroup = (uint64_t)cfd;
  long r = syscall(SYS_clone3, &args, sizeof args);
  if (r == 0) {
    if ((flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
      dprintf(2, "sandbox: cannot make the sandbox's cgroup namespace: %s\n", strerror(errno));
      _exit(EXIT_SETUP);
    }
    return 0;
  }
  int e = errno;
  close(cfd);
  errno = e;
  return r < 0 ? -1 : (pid_t)r;
}

/* The init cloned (`flags`) inside the sandbox's cgroups, if it has any: born there on
 * v2 (clone3_into_cgroup), else this process joins them first (v1, or a kernel without
 * clone3). For the short-lived children that clone it with CLONE_PARENT (util.c
 * clone_from_child, nested.c): on v2 they stay outside, and no migration is paid. */
long cgroup_clone(unsigned long flags) {
  if (plan.n_cgroups) {
    pid_t direct = clone3_into_cgroup(flags);
    if (direct >= 0) return direct;
    if (cgroup_join_self() < 0) return -1;
  }
  return syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}

/* The move of the init on cgroup v1 (and v2 without clone3): a write of its pid to each
 * cgroup.procs. The first move takes the kernel's cgroup_threadgroup_rwsem for writing,
 * which waits for an RCU grace period (measured: 8-14 ms here; the moves that follow
 * within a grace period take 0.03-0.1 ms). So it is not done before the init exists, by
 * a child that joins and then clones it, with the monitor waiting: the init is cloned as
 * usual, and a short-lived child of the monitor (the mover) moves it while the monitor
 * writes the id maps and starts the network and the init builds the root. The init waits
 * for MSG_CGROUP before it makes its cgroup namespace (rooted at the sandbox's cgroups,
 * as CLONE_NEWCGROUP at the clone would be) and starts the command: nothing of the image
 * runs outside the cgroups, only our setup of the root. */
static pid_t mover = -1;
int cgroup_move_pending;
static int cgroup_ns_pending;

pid_t clone_in_cgroups(unsigned long flags) {
  pid_t direct = clone3_into_cgroup(flags);
  if (direct >= 0) return direct;
  cgroup_ns_pending = (flags & CLONE_NEWCGROUP) != 0;
  cgroup_move_pending = 1;
  pid_t init = (pid_t)syscall(SYS_clone, flags & ~(unsigned long)CLONE_NEWCGROUP, NULL, NULL, NULL, NULL);
  if (init <= 0) return init; /* the init, or the clone's failure (the caller says why) */
  char pid[16];
  snprintf(pid, sizeof pid, "%d", (int)init);
  mover = fork();
  if (mover < 0) { int e = errno; kill(init, SIGKILL); waitpid(init, NULL, 0); errno = e; return -1; }
  if (mover == 0) _exit(cgroup_move(pid) < 0 ? (errno & 0xff ? errno & 0xff : EIO) : 0);
  return init;
}

/* exec on cgroup v2: the command is born in the sandbox's cgroup (clone3 with
 * CLONE_INTO_CGROUP), where a move of this process there first would wait for an RCU
 * grace period (see clone3_into_cgroup) on every exec. Opened before we enter the
 * sandbox (the host's cgroup filesystem is out of sight there): the cgroup's directory,
 * and the sandbox's cgroup namespace, which the command enters once born (entered
 * before, the birth is refused: with nsdelegate, our own cgroup must be inside the
 * namespace of whoever moves a process). -1: fork() as usual. */
static int exec_cgroup_fd = -1, exec_cgroupns_fd = -1;

/* Before `exec` joins the sandbox of its command `target`: the namespaces it must leave
 * to the command (CLONE_NEWCGROUP when the command is born in the cgroup), after
 * joining the cgroups itself where it cannot be (v1: each controller's). */
int cgroup_exec_prepare(pid_t target) {
  if (!plan.n_cgroups) return 0;
  struct statfs sf;
  if (plan.n_cgroups == 1 && statfs(plan.cgroups[0], &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC) {
    char ns[64];
    snprintf(ns, sizeof ns, "/proc/%d/ns/cgroup", (int)target);
    exec_cgroup_fd = open(plan.cgroups[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    exec_cgroupns_fd = open(ns, O_RDONLY | O_CLOEXEC);
    if (exec_cgroup_fd >= 0 && exec_cgroupns_fd >= 0) return CLONE_NEWCGROUP;
    if (exec_cgroup_fd >= 0) close(exec_cgroup_fd);
    if (exec_cgroupns_fd >= 0) close(exec_cgroupns_fd);
    exec_cgroup_fd = exec_cgroupns_fd = -1;
  }
  cgroup_join_or_die();
  return 0;
}

/* fork(), for exec's command: born in the sandbox's cgroup when cgroup_exec_prepare
 * opened it (a kernel without clone3: the child moves itself there), then in the
 * sandbox's cgroup namespace. */
pid_t cgroup_fork(void) {
  if (exec_cgroup_fd < 0) return fork();
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
  } args = { 0 };
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = (uint64_t)exec_cgroup_fd;
  pid_t r = (pid_t)syscall(SYS_clone3, &args, sizeof args);
  int moved = r >= 0;
  if (r < 0 && (errno == ENOSYS || errno == E2BIG || errno == EINVAL)) r = fork();
  if (r != 0) return r;
  if (!moved) {
    int fd = openat(exec_cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, "0", 1) < 0)
      die_hint("see `sandbox doctor` (cgroups); the sandbox may have just ended", "cannot join the sandbox's cgroup: %s", strerror(errno));
    close(fd);
  }
  if (setns(exec_cgroupns_fd, CLONE_NEWCGROUP) < 0) die("cannot enter the sandbox's cgroup namespace: %s", strerror(errno));
  close(exec_cgroupns_fd);
  close(exec_cgroup_fd);
  return 0;
}

/* Reads the start of file `name` of the i-th --cgroup into buf (NUL-terminated); its
 * length, or <= 0 when there is no such file (the other cgroup version's, a controller
 * this directory lacks). */
static ssize_t read_cgroup_file(int i, const char *name, char *buf, size_t size) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", plan.cgroups[i], name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n > 0) buf[n] = 0;
  return n;
}

/* Whether `pause` froze the sandbox (v2 cgroup.freeze 1, v1 freezer.state FROZEN or
 * FREEZING: src/runtime/cgroup/freezer.ts writes them): one small read. */
int cgroup_frozen(void) {
  char buf[16];
  for (int i = 0; i < plan.n_cgroups; i++) {
    if (read_cgroup_file(i, "cgroup.freeze", buf, sizeof buf) > 0 && buf[0] == '1') return 1;
    if (read_cgroup_file(i, "freezer.state", buf, sizeof buf) > 0 && strncmp(buf, "FR", 2) == 0) return 1;
  }
  return 0;
}

/* Monitor: waits for the mover, then tells the init (MSG_CGROUP on `sock`). Dies when the
 * move failed: the init, which then reads the end of `sock`, cleans up and ends. */
void cgroup_move_done(int sock) {
  if (!cgroup_move_pending) return;
  cgroup_move_pending = 0;
  int st = 0;
  while (waitpid(mover, &st, 0) < 0 && errno == EINTR) {}
  mover = -1;
  int e = WIFEXITED(st) ? WEXITSTATUS(st) : EIO;
  if (e) die_hint("see `sandbox doctor` (cgroups)", "cannot start the sandbox in its cgroup %s: %s", plan.cgroups[0], strerror(e));
  if (write(sock, &(char){ MSG_CGROUP }, 1) != 1) { /* the init ended: the monitor's loop hears why */ }
}

/* Init, once moved (it has read MSG_CGROUP): its own cgroup namespace. */
void cgroup_init_moved(void) {
  if (cgroup_ns_pending && unshare(CLONE_NEWCGROUP) < 0) die("cannot make the sandbox's cgroup namespace: %s", strerror(errno));
}

/* The kernel's count of OOM kills in the sandbox's memory cgroup: `oom_kill N` of
 * memory.events (v2) or memory.oom_control (v1); 0 without one. */
static long long oom_kills(void) {
  long long total = 0;
  for (int i = 0; i < plan.n_cgroups; i++) {
    static const char *files[] = { "memory.events", "memory.oom_control" };
    for (int f = 0; f < 2; f++) {
      char buf[1024];
      if (read_cgroup_file(i, files[f], buf, sizeof buf) <= 0) continue;
      char *at = strstr(buf, "oom_kill ");
      if (at) total += atoll(at + 9);
    }
  }
  return total;
}

static long long oom_before = 0;

/* Before each run: the count so far, and no OOM mark from an earlier run. */
void cgroup_run_begins(void) {
  if (!plan.n_cgroups) return;
  oom_before = oom_kills();
  if (plan.oom_file) unlink(plan.oom_file);
}

/* After each run: the mark when the OOM killer struck in it (inspect's State.OOMKilled). */
void cgroup_run_ended(void) {
  if (!plan.n_cgroups || !plan.oom_file || oom_kills() <= oom_before) return;
  int fd = open(plan.oom_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}

/* The sandbox's end: its cgroups go. Everything in them died with the init (its pid
 * namespace), but the kernel may take a moment to let go: rmdir says EBUSY meanwhile. */
void cgroup_remove_all(void) {
  for (int i = 0; i < plan.n_cgroups; i++) {
    for (int tries = 0; tries < 100; tries++) {
      if (rmdir(plan.cgroups[i]) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) { msg("sandbox: cannot remove the cgroup %s: %s", plan.cgroups[i], strerror(errno)); break; }
      usleep(10000);
    }
  }
}
