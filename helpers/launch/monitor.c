/* sandbox-launch: the monitor (M), outside the namespaces. */
#include "launch.h"

/* Set by a stop or kill request: no more restarts. */
int stop_requested = 0;

/* Writes the id maps of `pid` from the plan (helpers/common/idmap.h). */
static void write_plan_id_maps(pid_t pid) {
  struct idmap_spec spec = {
    plan.uidmap_cmd, plan.gidmap_cmd, plan.uid_maps, plan.gid_maps, plan.n_uid_maps, plan.n_gid_maps,
  };
  write_id_maps(pid, &spec);
}

/* Receives one message from init: its tag, any text (NUL-terminated into `text`), and
 * the descriptor it carries (-3 when none, -2 at EOF, -1 on error). */
static int recv_msg(int sock, char *tag, char *text, size_t text_size) {
  char buf[CMSG_SPACE(sizeof(int))];
  char data[4097];
  struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf };
  ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  if (n <= 0) return n == 0 ? -2 : -1;
  *tag = data[0];
  size_t len = (size_t)n - 1 < text_size - 1 ? (size_t)n - 1 : text_size - 1;
  memcpy(text, data + 1, len);
  text[len] = 0;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  if (c && c->cmsg_type == SCM_RIGHTS) { int fd; memcpy(&fd, CMSG_DATA(c), sizeof fd); return fd; }
  return -3;
}

/* The end of the sandbox, for whoever lists it later (written atomically). */
void write_exit_file(int code) {
  /* A foreground run's end is the CLI's to record, unless the run was detached from it. */
  if (!plan.exit_file || plan.die_with_parent) return;
  char tmp[PATH_MAX], body[160], when[64];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t h = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when + h, sizeof when - h, ".%09ldZ", ts.tv_nsec);
  snprintf(tmp, sizeof tmp, "%s.tmp", plan.exit_file);
  int n = snprintf(body, sizeof body, "{\"exitCode\":%d,\"finishedAt\":\"%s\"}\n", code, when);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, body, (size_t)n);
  fsync(fd);
  close(fd);
  rename(tmp, plan.exit_file);
}

/* Starts fuse-overlayfs (in the foreground, as our child) for the sandbox's root. It
 * gets a mount namespace of its own, copied from the init's, and mounts on
 * plan.fuse_merged, which the init made a shared mount point: the mount propagates
 * to the init, while the daemon's own root stays the host's when the init pivots.
 * Returns its pid; it is killed when the sandbox ends. */
static pid_t fuse_pid = 0;
static pid_t start_fuse_root(pid_t init) {
  pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) {
    reset_signals();
    setsid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)init);
    int userns = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)init);
    int mntns = open(path, O_RDONLY | O_CLOEXEC);
    /* Nested (id modes): fuse-overlayfs runs in the intermediate namespaces, where the store's files have the image's ids. */
    int entered = nested_userns() ? enter_intermediate_namespaces() == 0
                : userns >= 0 && mntns >= 0 && setns(userns, CLONE_NEWUSER) == 0 && setns(mntns, CLONE_NEWNS) == 0 && unshare(CLONE_NEWNS) == 0;
    if (!entered) {
      msg("sandbox: cannot enter the sandbox's namespaces for fuse-overlayfs: %s", strerror(errno));
      _exit(EXIT_SETUP);
    }
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) _exit(EXIT_SETUP);
    /* Short lower names are relative to the layer directory: fuse-overlayfs opens them from there. */
    if (plan.root_base && chdir(plan.root_base) < 0) {
      msg("sandbox: cannot enter the layer directory %s: %s", plan.root_base, strerror(errno));
      _exit(EXIT_SETUP);
    }
    size_t cap = strlen(plan.root_lowers) + strlen(plan.root_upper) + strlen(plan.root_work) + 64 + 80 * (MAX_MAPS * 2);
    char *opts = malloc(cap);
    snprintf(opts, cap, "lowerdir=%s,upperdir=%s,workdir=%s", plan.root_lowers, plan.root_upper, plan.root_work);
    if (nested_userns()) fuse_mapping_options(opts, cap);
    int devnull = open("/dev/null", O_RDWR);
    int log = plan.net_log ? open(plan.net_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    dup2(devnull, 0); dup2(devnull, 1); dup2(log >= 0 ? log : devnull, 2);
    execl(plan.fuse_overlayfs, "fuse-overlayfs", "-f", "-o", opts, plan.fuse_merged, (char *)NULL);
    _exit(EXIT_NOT_FOUND);
  }
  return child;
}

/* RFC 3339 UTC with nanoseconds, now. */
static void now_rfc3339(char *out, size_t size) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t h = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + h, size - h, ".%09ldZ", ts.tv_nsec);
}

/* Appends an event to the journal in the format of src/state/events.ts (one write). */
void append_event(const char *action, int exit_code) {
  if (!plan.events_file) return;
  char when[64], line[1024];
  now_rfc3339(when, sizeof when);
  int n = exit_code >= 0
    ? snprintf(line, sizeof line, "{\"time\":\"%s\",\"type\":\"container\",\"action\":\"%s\",\"id\":\"%s\",\"name\":\"%s\",\"attributes\":{\"exitCode\":%d}}\n",
               when, action, plan.event_id, plan.event_name, exit_code)
    : snprintf(line, sizeof line, "{\"time\":\"%s\",\"type\":\"container\",\"action\":\"%s\",\"id\":\"%s\",\"name\":\"%s\"}\n",
               when, action, plan.event_id, plan.event_name);
  if (n <= 0 || n >= (int)sizeof line) return;
  int fd = open(plan.events_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, line, (size_t)n);
  close(fd);
}

/* Restarts of the sandbox by its policy since this monitor started it (main.c counts them). */
int restart_count = 0;

/* "PID\nRESTARTS\n": the current init, and how many restarts came before it (inspect's RestartCount). */
static void write_pid_file(pid_t pid) {
  if (!plan.pid_file) return;
  char tmp[PATH_MAX], body[48];
  snprintf(tmp, sizeof tmp, "%s.tmp", plan.pid_file);
  int n = snprintf(body, sizeof body, "%d\n%d\n", (int)pid, restart_count);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, body, (size_t)n);
  close(fd);
  rename(tmp, plan.pid_file);
}

/* The sandbox's directory, opened and flock()ed by its monitor for as long as it lives:
 * a second monitor of the same sandbox (two `start`s at once) finds it locked and gives
 * up before cloning anything. */
static int monitor_lock_fd = -1;

/* An inotify watch for the rename of that directory: `rm` renames it away (to
 * .removing-ID) and then ends the monitor it finds there, but an rm killed right after
 * its rename never does; a monitor that sees the rename acts as on a kill request itself,
 * so nothing keeps running that the store does not list. -1 without inotify (the
 * per-user instance limit): then only rm's kill request ends us. */
static int moved_fd = -1;

/* The monitor's first act (--monitor-file DIR/monitor): makes itself discoverable in the
 * sandbox's directory before it starts anything, so that every command finds it whatever
 * the record says (the CLI that started it may be killed at any moment). Takes the
 * directory's lock (one monitor per sandbox), writes "PID STARTTIME" atomically, then
 * checks that the directory still has its name: `rm` renames it away before it looks for
 * a monitor, so either rm sees this file or we see the rename and give up. */
void claim_monitor(void) {
  if (!plan.monitor_file) return;
  char dir[PATH_MAX], tmp[PATH_MAX], body[64];
  snprintf(dir, sizeof dir, "%s", plan.monitor_file);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) die("internal: bad monitor file %s", plan.monitor_file);
  *slash = 0;
  monitor_lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (monitor_lock_fd < 0) die_hint("list them with `sandbox ps -a`", "the sandbox was removed (%s)", strerror(errno));
  if (flock(monitor_lock_fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) die_hint("stop it first (`sandbox stop`), or wait for it to end", "the sandbox is already running");
    die("cannot lock the sandbox's directory: %s", strerror(errno));
  }
  /* Watched through the descriptor (the very directory we locked), before the check of its name below. */
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", monitor_lock_fd);
  moved_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (moved_fd >= 0 && inotify_add_watch(moved_fd, self, IN_MOVE_SELF) < 0) { close(moved_fd); moved_fd = -1; }
  snprintf(tmp, sizeof tmp, "%s.tmp", plan.monitor_file);
  int n = snprintf(body, sizeof body, "%d %llu\n", (int)getpid(), process_start_time(getpid()));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write_all(fd, body, (size_t)n) < 0 || close(fd) < 0 || rename(tmp, plan.monitor_file) < 0)
    die_hint("list them with `sandbox ps -a`", "cannot record the sandbox's monitor in %s: %s", dir, strerror(errno));
  struct stat by_fd, by_name;
  if (fstat(monitor_lock_fd, &by_fd) < 0 || stat(dir, &by_name) < 0 || by_fd.st_ino != by_name.st_ino || by_fd.st_dev != by_name.st_dev)
    die_hint("list them with `sandbox ps -a`", "the sandbox was removed");
  /* A directory without the sandbox's record is not the sandbox's: a `start` racing `rm`
   * may have made it again (its mkdir of the writable layer) after rm renamed the real
   * one away. Running there would be a sandbox the store does not know. */
  if (faccessat(monitor_lock_fd, "config.json", F_OK, 0) < 0 && faccessat(monitor_lock_fd, "container.json", F_OK, 0) < 0) {
    unlink(plan.monitor_file);
    die_hint("list them with `sandbox ps -a`", "the sandbox was removed");
  }
}

/* The monitor's last act: it is not to be found any more (a `--rm` sandbox whose
 * directory is gone also gives back its name, so that a killed `run --rm --name x`
 * leaves x free). */
void release_monitor(void) {
  nested_cleanup(write_plan_id_maps); /* before the name is given back: it waits for the directory to go */
  if (plan.monitor_file) unlink(plan.monitor_file);
  if (plan.release_name && plan.cleanup) release_reservation(AT_FDCWD, plan.release_name, AT_FDCWD, plan.cleanup);
}

/* A write to the init failed: it ended during setup. When it failed a step it has said
 * why itself (one line, a hint, exit 125): a second line from us would only blur that.
 * Only an init that ended otherwise (killed, say) gets a word from the monitor. */
static void __attribute__((noreturn)) init_died_in_setup(pid_t init) {
  int st;
  if (waitpid(init, &st, 0) == init && WIFEXITED(st) && WEXITSTATUS(st) == EXIT_SETUP) _exit(EXIT_SETUP);
  die("the sandbox's init died during setup");
}

/* One run of the sandbox: clone the init, id maps, network, then monitor it until it
 * ends; returns the command's exit status. */
int run_once(int sfd) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair: %s", strerror(errno));
  struct log_stream out = { .fd = -1, .tee_fd = 1, .name = "stdout" }, err = { .fd = -1, .tee_fd = 2, .name = "stderr" };
  if (plan.log_path) {
    if (!plan.tty) {
      int po[2], pe[2];
      if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
      out.fd = po[0]; log_out_w = po[1];
      err.fd = pe[0]; log_err_w = pe[1];
    }
  }
  /* Published ports: a taken one fails here, before anything is cloned (a driver that
   * forwards them itself, pasta, binds them later: they are only checked now). */
  if (plan.network->own_ports) ports_check_free();
  else ports_bind_all();
  attach_before_clone();
  unsigned long flags = CLONE_NEWUSER | SIGCHLD;
  if (!plan.userns_only) {
    flags |= CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    flags |= (unsigned long)plan.network->clone_flags;
  } else {
    flags |= CLONE_NEWNS;
  }
  pid_t init = plan.network_join && !plan.userns_only ? clone_joined(flags)
    : nested_userns() && !plan.userns_only ? clone_nested(flags, write_plan_id_maps) /* joins the cgroups too */
    : plan.n_cgroups ? clone_in_cgroups(flags) /* limits: the init starts inside the sandbox's cgroups */
    : (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (init < 0) {
    int e = errno;
    die_hint("run `sandbox doctor`: user namespaces may be disabled (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, or the AppArmor restriction on Ubuntu)",
             "cannot create the sandbox's namespaces: %s", strerror(e));
  }
  if (init == 0) {
    close(sv[0]);
    if (monitor_lock_fd >= 0) close(monitor_lock_fd); /* no handle on a host directory inside */
    if (moved_fd >= 0) close(moved_fd);
    lifeline_close();
    if (out.fd >= 0) { close(out.fd); close(err.fd); }
    if (log_fd >= 0) close(log_fd);
    ports_close_inherited();
    attach_in_init();
    run_init(sv[1]);
  }
  close(sv[1]);
  attach_after_clone();
  if (log_out_w >= 0) { close(log_out_w); close(log_err_w); log_out_w = log_err_w = -1; }
  int sock = sv[0];
  /* Out of our process group before anyone hears of it: the CLI records the sandbox as
   * running on the pid line, and a kill of the CLI's whole group (kill -9 -PGID) after
   * that must leave the init to clean up (it makes its own session too, but may not have
   * got there yet; then its setsid fails, harmlessly: it already leads a group). */
  setpgid(init, init);
  status(STATUS_PID, (int)init);
  write_pid_file(init);
  /* A joined user namespace has its maps; a nested one got them from clone_nested. */
  if (!plan.network_join && !(nested_userns() && !plan.userns_only)) write_plan_id_maps(init);
  if (!plan.network->own_ports) ports_start(init);
  if (write(sock, &(char){ MSG_GO }, 1) != 1) init_died_in_setup(init);
  if (plan.network->start) {
    /* init builds the root meanwhile; it waits for 'N' before starting the command. */
    plan.network->start(init);
    if (write(sock, &(char){ MSG_NETWORK }, 1) != 1) init_died_in_setup(init);
  }
  cgroup_move_done(sock); /* limits on v1: the init moved into its cgroups meanwhile */

  int master = -1, stdin_done = !plan.stdin_open, master_done = 0, exited = 0, code = EXIT_SETUP;
  int kill_pending = 0; /* a kill request of a --rm sandbox: SIGKILL if the init has not ended by kill_by */
  struct timespec kill_by = { 0, 0 };
  /* --timeout: at the deadline we send ourselves a kill request (the same end as `sandbox
   * kill`, --rm clean-up included), and the run ends with 255, as Podman's does. */
  int timed_out = 0;
  struct timespec timeout_at = { 0, 0 };
  if (plan.timeout_s > 0) { clock_gettime(CLOCK_MONOTONIC, &timeout_at); timeout_at.tv_sec += plan.timeout_s; }
  for (;;) {
    struct pollfd p[8 + attach_poll_size()];
    int n = 0, i_sig = n++, i_sock = -1, i_in = -1, i_master = -1, i_out = -1, i_err = -1, i_moved = -1, i_owner = -1;
    p[i_sig] = (struct pollfd){ sfd, POLLIN, 0 };
    if (!exited) lifeline_poll_add(p, &n, &i_owner);
    if (moved_fd >= 0) { i_moved = n++; p[i_moved] = (struct pollfd){ moved_fd, POLLIN, 0 }; }
    if (sock >= 0) { i_sock = n++; p[i_sock] = (struct pollfd){ sock, POLLIN, 0 }; }
    if (master >= 0 && !stdin_done) { i_in = n++; p[i_in] = (struct pollfd){ 0, POLLIN, 0 }; }
    if (master >= 0 && !master_done) { i_master = n++; p[i_master] = (struct pollfd){ master, POLLIN, 0 }; }
    if (out.fd >= 0) { i_out = n++; p[i_out] = (struct pollfd){ out.fd, POLLIN, 0 }; }
    if (err.fd >= 0) { i_err = n++; p[i_err] = (struct pollfd){ err.fd, POLLIN, 0 }; }
    if (!exited) attach_poll_add(p, &n);
    if (exited && (master < 0 || master_done) && out.fd < 0 && err.fd < 0) break;
    int wait_ms = -1;
    if (plan.timeout_s > 0 && !timed_out && !exited) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long left = (timeout_at.tv_sec - now.tv_sec) * 1000 + (timeout_at.tv_nsec - now.tv_nsec) / 1000000;
      if (left <= 0) { timed_out = 1; kill(getpid(), SIG_KILL_REQUEST); } else wait_ms = (int)left;
    }
    if (kill_pending && !exited) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long left = (kill_by.tv_sec - now.tv_sec) * 1000 + (kill_by.tv_nsec - now.tv_nsec) / 1000000;
      if (left <= 0) { kill(init, SIGKILL); kill_pending = 0; } else if (wait_ms < 0 || left < wait_ms) wait_ms = (int)left;
    }
    int ready = poll(p, n, health_poll_timeout(exited ? 200 : wait_ms));
    if (ready < 0) { if (errno == EINTR) continue; break; }
    if (ready == 0 && exited) break; /* the terminal went quiet after the end */
    if (!exited) health_tick();
    lifeline_check(p, i_owner); /* the starter is gone: a kill request is pending below */
    if (i_sock >= 0 && p[i_sock].revents) {
      char tag = 0, text[4097];
      int fd = recv_msg(sock, &tag, text, sizeof text);
      if (fd >= 0 && tag == MSG_TERMINAL) {
        master = fd;
        if (isatty(0)) {
          if (tcgetattr(0, &saved_termios) == 0) {
            termios_saved = 1;
            struct termios raw = saved_termios;
            cfmakeraw(&raw);
            tcsetattr(0, TCSADRAIN, &raw);
          }
        }
        copy_winsize(master);
      } else if (fd == -3 && tag == MSG_STARTED) {
        status(STATUS_STARTED);
        health_arm();
      } else if (fd == -3 && tag == MSG_EXEC_FAILED) {
        write_all(2, text, strlen(text)); /* the command could not be started: why */
      } else if (fd == -3 && tag == MSG_FUSE) {
        fuse_pid = start_fuse_root(init);
        if (fuse_pid < 0 || write(sock, &(char){ MSG_FUSE_STARTED }, 1) != 1) kill(init, SIGKILL);
      } else if (fd == -2 || fd == -1) {
        close(sock);
        sock = -1;
      }
    }
    if (i_moved >= 0 && p[i_moved].revents) {
      /* The directory was renamed away (see moved_fd): a kill request, once. */
      close(moved_fd);
      moved_fd = -1;
      stop_requested = 1;
      if (!exited) kill(init, SIGKILL); /* once reaped, its pid may be another's */
    }
    if (i_in >= 0 && p[i_in].revents) {
      int in = foreground_input(master);
      if (in == 2) stdin_done = 1; /* detached */
      else if (!in) { stdin_done = 1; char eof = 4; ssize_t unused = write(master, &eof, 1); (void)unused; }
    }
    if (i_master >= 0 && p[i_master].revents) {
      if (log_fd >= 0) { out.fd = master; if (!log_pump(&out)) master_done = 1; out.fd = -1; }
      else if (!attach_pump(master, 1)) master_done = 1;
    }
    if (!exited) attach_poll_handle(p, master, init);
    if (i_out >= 0 && p[i_out].revents && !log_pump(&out)) { close(out.fd); out.fd = -1; }
    if (i_err >= 0 && p[i_err].revents && !log_pump(&err)) { close(err.fd); err.fd = -1; }
    if (p[i_sig].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
          int st;
          if (waitpid(init, &st, WNOHANG) == init) { code = exit_code_of(st); exited = 1; }
          health_reap();
        } else if (sig == SIGWINCH) {
          if (master >= 0) copy_winsize(master);
        } else if (plan.detach_on_signal && (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)) {
          if (plan.die_with_parent) detach_foreground(); /* run --sig-proxy=false: the signal is the CLI's, not the sandbox's */
        } else if ((sig == SIGINT || sig == SIGQUIT) && si.ssi_code == SI_KERNEL) {
          /* From the terminal: the CLI got it too and will pass it on; send it once. */
          clock_gettime(CLOCK_MONOTONIC, &terminal_sig_at[sig]);
          kill(init, sig);
        } else if ((sig == SIGINT || sig == SIGQUIT) && (pid_t)si.ssi_pid == getppid() && recent(&terminal_sig_at[sig])) {
          /* the CLI's copy of a terminal signal we already passed on */
        } else if (sig == SIG_PARENT_GONE) {
          kill(init, SIG_ABORT);
        } else if (sig == SIG_STOP_REQUEST) {
          stop_requested = 1;
          kill(init, plan.stop_signal);
        } else if (sig == SIG_KILL_REQUEST) {
          stop_requested = 1;
          if (plan.cleanup && sock >= 0 && !exited) {
            /* A --rm sandbox: a SIGKILLed init could not remove its directory. The end of
             * the socket tells the init we are gone: it SIGKILLs everything inside, removes
             * the directory and exits 137 (SIGKILL still follows if it has not within 5 s). */
            close(sock);
            sock = -1;
            kill_pending = 1;
            clock_gettime(CLOCK_MONOTONIC, &kill_by);
            kill_by.tv_sec += 5;
          } else {
            kill(init, SIGKILL); /* from outside its pid namespace: ends everything inside */
          }
        } else if (forwardable(sig)) {
          kill(init, sig);
        }
      }
    }
  }
  if (timed_out) code = EXIT_TIMED_OUT;
  restore_terminal();
  health_disarm();
  attach_end(code);
  if (fuse_pid > 0) { kill(fuse_pid, SIGKILL); waitpid(fuse_pid, NULL, 0); fuse_pid = 0; }
  if (sock >= 0) close(sock);
  if (master >= 0) close(master);
  if (plan.network->stop) plan.network->stop();
  ports_stop();
  return code;
}
