/* sandbox-launch: the init (I), PID 1 of the sandbox. */
#include "launch.h"

/* ---------- removing the writable layer (init side) ---------- */

/* The names directory and the reservation to release after the cleanup (init side). */
static int release_dir = -1;
static const char *release_base;

void rm_rf_at(int parent, const char *name) {
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return;
  if (S_ISDIR(st.st_mode)) {
    /* Entries may still appear meanwhile (the CLI writing the record of a --rm sandbox
     * that ended at once): empty it again while rmdir finds it not empty. */
    for (int attempt = 0; attempt < 5; attempt++) {
      int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        fchmodat(parent, name, 0700, 0);
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
      if (fd >= 0) {
        DIR *d = fdopendir(fd);
        if (d) {
          struct dirent *e;
          while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            rm_rf_at(dirfd(d), e->d_name);
          }
          closedir(d);
        } else close(fd);
      }
      if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno != ENOTEMPTY) break;
      usleep(20000);
    }
  } else unlinkat(parent, name, 0);
}

/* --rm: removes the name reservation `name` (in directory `dirfd`) if it still holds
 * this sandbox's id (--release-name), once the sandbox's directory `sandbox` (in `parent`)
 * is gone: so that a killed `run --rm --name x` leaves x free. Done by whichever of init
 * and monitor outlives the other (a kill of the whole process group takes the monitor too). */
void release_reservation(int dirfd, const char *name, int parent, const char *sandbox) {
  if (faccessat(parent, sandbox, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) return;
  char owner[128];
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, owner, sizeof owner - 1);
  close(fd);
  if (n <= 0) return;
  owner[n] = 0;
  owner[strcspn(owner, " \t\r\n")] = 0;
  if (!strcmp(owner, plan.release_id)) unlinkat(dirfd, name, 0);
}

/* ---------- init (I) ---------- */

static int send_fd(int sock, char tag, int fd) {
  char buf[CMSG_SPACE(sizeof(int))];
  memset(buf, 0, sizeof buf);
  struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &m, 0) < 0 ? -1 : 0;
}

/* Waits for the monitor's message `want`; 'N' (the network driver started) and 'C' (moved
 * into the cgroups) may come first at any time and are remembered. Exits quietly when the
 * monitor is gone: it said why. */
static int network_up = 0;
static int cgroup_moved = 0; /* MSG_CGROUP came while we waited for something else */
/* The monitor went away while we were being set up (its CLI was killed with it, say):
 * nobody else is left to remove a --rm sandbox, and its record may already say that it
 * runs. The same cleanup as at the end, by path (the host is still in view here). */
static void __attribute__((noreturn)) monitor_gone_in_setup(void) {
  if (plan.cleanup) {
    rm_rf_at(AT_FDCWD, plan.cleanup);
    if (plan.release_name) release_reservation(AT_FDCWD, plan.release_name, AT_FDCWD, plan.cleanup);
  }
  _exit(EXIT_SETUP);
}

static void wait_for_monitor(int sock, char want) {
  if ((want == MSG_NETWORK && network_up) || (want == MSG_CGROUP && cgroup_moved)) return;
  for (;;) {
    char c;
    ssize_t n = read(sock, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1) monitor_gone_in_setup();
    if (c == want) return;
    if (c == MSG_NETWORK) network_up = 1;
    else if (c == MSG_CGROUP) cgroup_moved = 1;
    else _exit(EXIT_SETUP);
  }
}

/* Waits (up to 10 s) until fuse-overlayfs has mounted on `dir`. */
static void wait_for_fuse(const char *dir) {
  for (int i = 0; i < 10000; i++) {
    struct statfs sf;
    if (statfs(dir, &sf) == 0 && sf.f_type == 0x65735546 /* FUSE_SUPER_MAGIC */) return;
    usleep(1000);
  }
  die_hint("/dev/fuse must be read-writable for you; `sandbox doctor` checks it (the log is network.log in the sandbox's directory)",
           "fuse-overlayfs did not mount the root of the sandbox");
}

/* A new, empty session keyring for this process and what it starts (the init and so the
 * command; each exec'd process). Root inside has the caller's uid: with the caller's
 * session keyring it would read its keys and plant its own. When that cannot be done,
 * the sandbox does not start, unless keyctl() is unavailable to us altogether (a kernel
 * without keys, a seccomp filter that denies it): then no process of ours can reach a
 * keyring either. */
void new_session_keyring(void) {
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) >= 0) return;
  int e = errno;
  if (e == ENOSYS) return;
  if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) < 0 && errno == e) return;
  if (e == EDQUOT)
    die_hint("raise the limits (sysctl kernel.keys.maxkeys, kernel.keys.maxbytes; /proc/key-users shows your use), or unlink keys you no longer need",
             "cannot give the sandbox a session keyring of its own: the kernel's key quota for your user is used up");
  die("cannot give the sandbox a session keyring of its own: %s", strerror(e));
}

static void __attribute__((noreturn)) run_and_wait(int sock, int cleanup_parent, const char *cleanup_name);

void __attribute__((noreturn)) run_init(int sock) {
  prctl(PR_SET_PDEATHSIG, SIG_ABORT);
  /* Out of the caller's process group: a kill of the whole group (a terminal hangup,
   * `kill -9 -PGID`) reaches the monitor, and we still get to clean up. The monitor moves
   * us into a group of our own as well (before it reports our pid); when it was first,
   * setsid fails (we lead a group already), and a group of our own is what counts.
   * Then we are still in the caller's session, with its terminal as our controlling
   * one: let go of it (TIOCNOTTY, which a process that does not lead its session may
   * do), so that no process of the sandbox ever has the caller's terminal as its own. */
  if (setsid() < 0) {
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty >= 0) { (void)ioctl(tty, TIOCNOTTY); close(tty); }
  }
  /* Wait for the monitor to write our id maps. */
  char go;
  ssize_t got = read(sock, &go, 1);
  if (got != 1) monitor_gone_in_setup();
  if (go != MSG_GO) _exit(EXIT_SETUP);
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("cannot become root in the user namespace: %s", strerror(errno));
  /* Nested (id modes): root here is another id than the monitor's, which must still open our namespaces (fuse-overlayfs). */
  if (nested_userns()) { prctl(PR_SET_DUMPABLE, 1); nested_init_paths(); }
  if (!plan.keep_groups) setgroups(0, NULL); /* fails harmlessly when setgroups is denied */

  if (plan.userns_only) {
    reset_signals();
    execvp(plan.argv[0], plan.argv);
    msg("sandbox: cannot execute %s: %s", plan.argv[0], strerror(errno));
    _exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
  }
  /* Before anything of the image runs; the command inherits it. (Not for --userns-only,
   * which runs programs of ours, such as sandbox-layer, and nothing of an image.) */
  new_session_keyring();

  /* Nested: slaves, not private: the root's mount point receives fuse-overlayfs' mount (nested.c). */
  if (mount(NULL, "/", NULL, MS_REC | (nested_userns() ? MS_SLAVE : MS_PRIVATE), NULL) < 0) die("cannot make mounts private: %s", strerror(errno));
  /* The writable layer to remove when we are done: opened now, while the host is visible. */
  int cleanup_parent = -1;
  const char *cleanup_name = NULL;
  if (plan.cleanup) {
    char *copy = strdup(plan.cleanup);
    char *slash = strrchr(copy, '/');
    if (!slash || slash == copy) die("internal: bad cleanup path %s", plan.cleanup);
    *slash = 0;
    cleanup_name = slash + 1;
    cleanup_parent = open(copy, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cleanup_parent < 0) die("cannot open %s: %s", copy, strerror(errno));
    if (plan.release_name) {
      char *names = strdup(plan.release_name);
      char *s = strrchr(names, '/');
      if (s && s != names) {
        *s = 0;
        release_dir = open(names, O_PATH | O_DIRECTORY | O_CLOEXEC);
        release_base = s + 1;
      }
    }
  }
  if (plan.fuse_overlayfs) {
    /* The monitor mounts fuse-overlayfs into our mount namespace (its daemon stays
     * outside the sandbox's pid namespace, out of reach of what runs inside). */
    if (!nested_userns() && (mount(plan.fuse_merged, plan.fuse_merged, NULL, MS_BIND, NULL) < 0 || mount(NULL, plan.fuse_merged, NULL, MS_SHARED, NULL) < 0))
      die("cannot prepare the mount point for fuse-overlayfs: %s", strerror(errno));
    char f = MSG_FUSE;
    if (write(sock, &f, 1) != 1) monitor_gone_in_setup();
    wait_for_monitor(sock, MSG_FUSE_STARTED);
    wait_for_fuse(plan.fuse_merged);
  }
  /* A private tmpfs as the base; the host root goes to /oldroot under it. */
  const char *base = "/tmp";
  if (mount("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0) die("cannot mount the staging tmpfs on %s: %s", base, strerror(errno));
  if (chdir(base) < 0) die("chdir %s: %s", base, strerror(errno));
  if (mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0) die("cannot prepare the staging directory: %s", strerror(errno));
  if (syscall(SYS_pivot_root, ".", "oldroot") < 0) die("pivot_root: %s", strerror(errno));
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));

  if (plan.fuse_overlayfs) {
    char *merged = host_path(plan.fuse_merged);
    if (mount(merged, "/newroot", NULL, MS_BIND | MS_REC, NULL) < 0) die("cannot use the fuse-overlayfs root: %s", strerror(errno));
    /* pivot_root refuses a shared new root; the propagation was only needed to get here. */
    if (mount(NULL, "/newroot", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("cannot make the fuse-overlayfs root private: %s", strerror(errno));
    free(merged);
  } else if (plan.root_lowers) {
    if (mount_overlay("/newroot", OLDROOT, plan.root_base, plan.root_lowers, plan.root_upper, plan.root_work) < 0)
      die_hint("`sandbox doctor` checks whether this kernel allows overlayfs in a user namespace",
               "cannot mount the copy-on-write root (overlayfs): %s", strerror(errno));
  } else {
    if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID, "mode=0755") < 0) die("cannot mount the root tmpfs: %s", strerror(errno));
  }
  int rootfd = open("/newroot", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die("cannot open the new root: %s", strerror(errno));
  run_ops(rootfd);

  /* Into the new root; the staging tmpfs and the host root under it are detached. */
  if (fchdir(rootfd) < 0) die("chdir to the new root: %s", strerror(errno));
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root into the sandbox: %s", strerror(errno));
  if (umount2(".", MNT_DETACH) < 0) die("cannot detach the host root: %s", strerror(errno));
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
  close(rootfd);

  if (plan.hostname && sethostname(plan.hostname, strlen(plan.hostname)) < 0)
    die("cannot set the hostname: %s", strerror(errno));
  run_and_wait(sock, cleanup_parent, cleanup_name);
}

/* The end of init: the terminal, the command, the report of its start, signals passed
 * on; it also waits for the network, becomes non-dumpable, ends everything inside with
 * the command, and removes the writable layer (--cleanup). */
static void __attribute__((noreturn)) run_and_wait(int sock, int cleanup_parent, const char *cleanup_name) {
  int pty_master = -1;
  if (plan.tty) {
    pty_master = open_pty_master();
    if (send_fd(sock, MSG_TERMINAL, pty_master) < 0) die("cannot hand the terminal to the monitor: %s", strerror(errno));
  }

  /* A network driver that the monitor starts (network.c) is up before the command. */
  if (plan.network->start) wait_for_monitor(sock, MSG_NETWORK);
  /* Limits (cgroup v1): the monitor moved us into the sandbox's cgroups meanwhile (cgroup.c). */
  if (cgroup_move_pending) { wait_for_monitor(sock, MSG_CGROUP); cgroup_init_moved(); }
  /* Not dumpable from here on: the sandbox's root cannot reach our descriptors (the
   * host directory kept for --cleanup) through /proc/1/fd. Not earlier: the network's
   * program (slirp4netns) needs our /proc/PID/ns files. --oom-score-adj before: a
   * process that is not dumpable cannot open its own /proc/self/oom_score_adj. */
  apply_oom_score_adj();
  prctl(PR_SET_DUMPABLE, 0);
  /* To the monitor: 'S' when the command runs, else 'E' and why (which it prints). */
  char report[4096];
  pid_t child = start_command(pty_master, report + 1, sizeof report - 1);
  if (pty_master >= 0) close(pty_master);
  if (log_out_w >= 0) { close(log_out_w); close(log_err_w); }
  report[0] = report[1] ? MSG_EXEC_FAILED : MSG_STARTED;
  ssize_t unused = write(sock, report, 1 + strlen(report + 1));
  (void)unused;
  /* We print nothing from here on: our stdio (a foreground run's is the CLI's) is let go,
   * so that a run detached from the CLI (attach.c, detach_foreground) holds none of it. */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) { dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2); close(devnull); }

  sigset_t mask;
  sigfillset(&mask);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  int code = EXIT_SETUP, aborted = 0, child_done = 0;
  while (!child_done) {
    struct pollfd p[2] = { { sfd, POLLIN, 0 }, { sock, POLLIN, 0 } };
    if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    if (p[1].revents & (POLLHUP | POLLERR | POLLIN)) {
      char b;
      ssize_t n = read(sock, &b, 1);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { aborted = 1; break; } /* monitor gone */
    }
    if (!(p[0].revents & POLLIN)) continue;
    struct signalfd_siginfo si;
    int sig = read_signal(sfd, &si);
    if (!sig) continue;
    if (sig == SIGCHLD) {
      reap(child, &code, &child_done);
    } else if (sig == SIG_ABORT) {
      aborted = 1;
      break;
    } else {
      kill(child, sig);
    }
  }
  int st;
  pid_t w;
  /* The sandbox ends with its command: nothing inside may outlive it. */
  kill(-1, SIGKILL);
  while ((w = waitpid(-1, &st, 0)) > 0 || errno == EINTR)
    if (w == child && !child_done) { code = exit_code_of(st); child_done = 1; }
  if (aborted) code = 128 + SIGKILL;
  if (cleanup_parent >= 0) {
    rm_rf_at(cleanup_parent, cleanup_name);
    if (release_dir >= 0) release_reservation(release_dir, release_base, cleanup_parent, cleanup_name);
  }
  _exit(code);
}
