/*
 * sandbox-launch: the part of `sandbox` that must be native.
 *
 * Three processes, each with one job:
 *   monitor (M)  outside the namespaces, as the user. Clones the init with new
 *                user/mount/pid/uts/ipc(/net) namespaces, has newuidmap/newgidmap
 *                write its id maps, forwards signals, proxies the terminal for -t,
 *                reports on --status-fd and exits with the command's status.
 *   init (I)     PID 1 of the new pid namespace, root of the new user namespace.
 *                Builds the root filesystem from the ordered mount operations on
 *                the command line, pivots into it with the host root detached,
 *                forks the command, reaps zombies, forwards signals and, with
 *                --cleanup, removes the sandbox's writable layer after everything
 *                inside is dead.
 *   command (X)  setsid, the pty, user/groups, capabilities, no_new_privs, cwd,
 *                a clean environment, exec.
 *
 * An exec (`--exec-target PID`) is one process fewer: no monitor and no init of its own.
 * The helper itself joins the namespaces of the sandbox's command (pid PID), forks the
 * new command into its pid namespace, passes signals on, proxies the terminal for -t
 * and exits with the command's status (see run_exec()).
 *
 * Exit status: the command's own; 128+N when it was killed by signal N; 125 when the
 * sandbox could not be set up; 126 when the command cannot be executed; 127 when it
 * was not found. Every failure prints one line `sandbox: ...` (and a `hint: ...`).
 *
 * The launch plan comes as arguments (see usage()), built by src/runtime/plan.ts.
 * Host paths are absolute; destinations are paths inside the sandbox, resolved with
 * RESOLVE_IN_ROOT so that a symlink in an image can never point a mount outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "idmap.h"
#include "sealed.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

#define EXIT_SETUP 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127
/* Sent by the monitor to init: kill everything, clean up, exit. Never forwarded. */
#define SIG_ABORT (SIGRTMAX)
/* Delivered to the monitor when the CLI that started it dies (--die-with-parent). */
#define SIG_PARENT_GONE (SIGRTMAX - 1)
/* Sent to the monitor by `sandbox stop` / `kill`: no more restarts; then the stop
 * signal, or SIGKILL, to the current init. Fixed numbers: the CLI sends them too. */
#define SIG_STOP_REQUEST 40
#define SIG_KILL_REQUEST 41

/* ---------- the plan ---------- */

enum op_type {
  OP_BIND, OP_RO_BIND, OP_TMPFS, OP_PROC, OP_DEV, OP_SYS, OP_MQUEUE, OP_SYMLINK,
  OP_DIR, OP_HOST_DIR, OP_REMOUNT_RO, OP_MASK, OP_RO_SELF,
};

struct op {
  enum op_type type;
  const char *a, *b, *c, *d;
};

#define MAX_OPS 1024
#define MAX_MAPS IDMAP_MAX
#define MAX_ENV 4096

static struct {
  const char *uidmap_cmd, *gidmap_cmd;
  const char *uid_maps[MAX_MAPS], *gid_maps[MAX_MAPS];
  int n_uid_maps, n_gid_maps;
  int userns_only;
  int unshare_net;
  const char *slirp4netns; /* user-mode networking for the new network namespace */
  const char *net_log;
  int status_fd;
  pid_t die_with_parent;
  int tty, stdin_open;
  const char *cleanup;
  const char *base;
  const char *hostname;
  const char *root_lowers, *root_upper, *root_work; /* overlay root */
  const char *root_base; /* --root-base: the root's lowers are relative to this directory */
  const char *fuse_overlayfs, *fuse_merged; /* --root-fuse: fuse-overlayfs instead of the kernel's overlay */
  struct op ops[MAX_OPS];
  int n_ops;
  const char *cwd;
  int create_cwd;
  const char *user;
  const char *env[MAX_ENV];
  int n_env;
  const char *caps;
  int no_new_privs;
  const char *log_path;   /* the command's output goes here (CRI log format) */
  int log_tee;            /* foreground: to our stdout/stderr as well as to the log */
  long log_max_size;      /* rotate to PATH.1 past this many bytes; 0: no limit */
  const char *exit_file;  /* written at the end: {"exitCode":N,"finishedAt":"..."} */
  const char *pid_file;   /* the current init's pid, rewritten at every (re)start */
  const char *monitor_file; /* "PID STARTTIME": written (and its directory locked) before anything is cloned */
  const char *release_name, *release_id; /* --rm: the name reservation to remove once the directory is gone */
  pid_t exec_target;      /* exec: join the namespaces of this process (the sandbox's command) */
  int exec_host_net;      /* exec: the sandbox has the host's network namespace (--network host) */
  const char *events_file, *event_id, *event_name; /* where `die` (and restart `start`) events go */
  int restart;            /* 0 no, 1 on-failure, 2 always */
  int restart_max;        /* on-failure:N; 0 = no limit */
  int stop_signal;        /* what `sandbox stop` sends first (default SIGTERM) */
  char **argv;
} plan = { .status_fd = -1, .stop_signal = SIGTERM };


/* Where msg() writes: stderr, except in the command's process before exec, where it
 * is the exec pipe, so that the monitor prints it on its own stderr (the command's
 * stderr may be a log or a terminal by then). */
static int msg_fd = 2;

static void msg(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t unused = write(msg_fd, buf, n);
  (void)unused;
}

/* One line, an optional hint, and the setup exit code. */
static void __attribute__((noreturn)) die_hint(const char *hint, const char *fmt, ...) {
  char buf[3000];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  msg("sandbox: %s", buf);
  if (hint) msg("hint: %s", hint);
  _exit(EXIT_SETUP);
}
#define die(...) die_hint(NULL, __VA_ARGS__)

static void usage(void) {
  msg("usage: sandbox-launch [PLAN OPTIONS] -- COMMAND [ARG...]\n"
      "This is an internal helper of `sandbox`; its options are a launch plan made by\n"
      "src/runtime/plan.ts and may change between versions. Run `sandbox run` instead.");
  _exit(EXIT_SETUP);
}

static const char *next_arg(int *i, int argc, char **argv) {
  if (*i + 1 >= argc) die("internal: option %s needs a value", argv[*i]);
  return argv[++*i];
}

static void add_op(enum op_type t, const char *a, const char *b, const char *c, const char *d) {
  if (plan.n_ops >= MAX_OPS) die("internal: too many mount operations");
  plan.ops[plan.n_ops++] = (struct op){ t, a, b, c, d };
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
#define ARG() next_arg(&i, argc, argv)
    if (!strcmp(o, "--")) { plan.argv = &argv[i + 1]; break; }
    else if (!strcmp(o, "--uidmap-cmd")) plan.uidmap_cmd = ARG();
    else if (!strcmp(o, "--gidmap-cmd")) plan.gidmap_cmd = ARG();
    else if (!strcmp(o, "--uid-map")) { if (plan.n_uid_maps >= MAX_MAPS) die("internal: too many maps"); plan.uid_maps[plan.n_uid_maps++] = ARG(); }
    else if (!strcmp(o, "--gid-map")) { if (plan.n_gid_maps >= MAX_MAPS) die("internal: too many maps"); plan.gid_maps[plan.n_gid_maps++] = ARG(); }
    else if (!strcmp(o, "--userns-only")) plan.userns_only = 1;
    else if (!strcmp(o, "--unshare-net")) plan.unshare_net = 1;
    else if (!strcmp(o, "--net-log")) plan.net_log = ARG();
    else if (!strcmp(o, "--slirp4netns")) { plan.slirp4netns = ARG(); plan.unshare_net = 1; }
    else if (!strcmp(o, "--status-fd")) plan.status_fd = atoi(ARG());
    else if (!strcmp(o, "--die-with-parent")) plan.die_with_parent = atoi(ARG());
    else if (!strcmp(o, "--tty")) plan.tty = 1;
    else if (!strcmp(o, "--stdin")) plan.stdin_open = 1;
    else if (!strcmp(o, "--cleanup")) plan.cleanup = ARG();
    else if (!strcmp(o, "--base")) plan.base = ARG();
    else if (!strcmp(o, "--hostname")) plan.hostname = ARG();
    else if (!strcmp(o, "--root-overlay")) { plan.root_lowers = ARG(); plan.root_upper = ARG(); plan.root_work = ARG(); }
    else if (!strcmp(o, "--root-base")) plan.root_base = ARG();
    else if (!strcmp(o, "--root-fuse")) { plan.fuse_overlayfs = ARG(); plan.fuse_merged = ARG(); }
    else if (!strcmp(o, "--bind")) { const char *s = ARG(); add_op(OP_BIND, s, ARG(), NULL, NULL); }
    else if (!strcmp(o, "--ro-bind")) { const char *s = ARG(); add_op(OP_RO_BIND, s, ARG(), NULL, NULL); }
    else if (!strcmp(o, "--tmpfs")) { const char *d = ARG(); add_op(OP_TMPFS, d, ARG(), NULL, NULL); }
    else if (!strcmp(o, "--proc")) add_op(OP_PROC, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, "--dev")) add_op(OP_DEV, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, "--sys")) add_op(OP_SYS, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, "--mqueue")) add_op(OP_MQUEUE, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, "--symlink")) { const char *t = ARG(); add_op(OP_SYMLINK, t, ARG(), NULL, NULL); }
    else if (!strcmp(o, "--dir")) add_op(OP_DIR, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, "--host-dir")) { const char *l = ARG(), *u = ARG(), *w = ARG(); add_op(OP_HOST_DIR, l, u, w, ARG()); }
    else if (!strcmp(o, "--remount-ro")) add_op(OP_REMOUNT_RO, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, "--mask")) add_op(OP_MASK, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, "--ro-self")) add_op(OP_RO_SELF, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, "--chdir")) plan.cwd = ARG();
    else if (!strcmp(o, "--create-cwd")) plan.create_cwd = 1;
    else if (!strcmp(o, "--user")) plan.user = ARG();
    else if (!strcmp(o, "--env")) { if (plan.n_env >= MAX_ENV - 2) die("too many environment variables"); plan.env[plan.n_env++] = ARG(); }
    else if (!strcmp(o, "--caps")) plan.caps = ARG();
    else if (!strcmp(o, "--no-new-privs")) plan.no_new_privs = 1;
    else if (!strcmp(o, "--log")) plan.log_path = ARG();
    else if (!strcmp(o, "--log-tee")) plan.log_tee = 1;
    else if (!strcmp(o, "--log-max-size")) plan.log_max_size = atol(ARG());
    else if (!strcmp(o, "--exit-file")) plan.exit_file = ARG();
    else if (!strcmp(o, "--pid-file")) plan.pid_file = ARG();
    else if (!strcmp(o, "--monitor-file")) plan.monitor_file = ARG();
    else if (!strcmp(o, "--release-name")) { plan.release_name = ARG(); plan.release_id = ARG(); }
    else if (!strcmp(o, "--exec-target")) plan.exec_target = atoi(ARG());
    else if (!strcmp(o, "--exec-host-net")) plan.exec_host_net = 1;
    else if (!strcmp(o, "--events")) { plan.events_file = ARG(); plan.event_id = ARG(); plan.event_name = ARG(); }
    else if (!strcmp(o, "--restart")) {
      const char *v = ARG();
      if (!strcmp(v, "no")) plan.restart = 0;
      else if (!strcmp(v, "always")) plan.restart = 2;
      else if (!strncmp(v, "on-failure", 10)) { plan.restart = 1; plan.restart_max = v[10] == ':' ? atoi(v + 11) : 0; }
      else die("internal: bad restart policy %s", v);
    }
    else if (!strcmp(o, "--stop-signal")) plan.stop_signal = atoi(ARG());
    else if (!strcmp(o, "--help")) usage();
    else die("internal: unknown launch option %s", o);
#undef ARG
  }
  if (!plan.argv || !plan.argv[0]) die("no command to run");
}

/* ---------- small utilities ---------- */

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) { if (errno == EINTR) continue; return -1; }
    p += n; len -= (size_t)n;
  }
  return 0;
}

static void status(const char *fmt, ...) {
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

static char *join2(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *r = malloc(la + lb + 2);
  if (!r) die("out of memory");
  memcpy(r, a, la);
  if (la == 0 || a[la - 1] != '/') r[la++] = '/';
  while (*b == '/') { b++; lb--; }
  memcpy(r + la, b, lb + 1);
  return r;
}

/* Where a host path is seen once the host root has been moved to /oldroot. */
#define OLDROOT "/oldroot"
static char *host_path(const char *p) { return join2(OLDROOT, p); }

static void block_all_signals(sigset_t *old) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, old);
}

static void noop_handler(int sig) { (void)sig; }

/* A PID 1 only receives signals that have a handler (pid_namespaces(7)); signals
 * stay blocked and are read from a signalfd, so the handler never runs. */
static void install_noop_handlers(void) {
  struct sigaction sa = { .sa_handler = noop_handler };
  sigfillset(&sa.sa_mask);
  for (int s = 1; s < _NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sigaction(s, &sa, NULL);
  }
}

static void reset_signals(void) {
  struct sigaction sa = { .sa_handler = SIG_DFL };
  for (int s = 1; s < _NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sigaction(s, &sa, NULL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static int exit_code_of(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return EXIT_SETUP;
}

/* ---------- id maps (monitor side) ---------- */

/* Writes the maps of `pid`. With newuidmap/newgidmap: the whole subordinate range.
 * Without: only the caller's own ids (one mapping), written directly. */
static void write_id_maps(pid_t pid) {
  struct idmap_spec spec = {
    plan.uidmap_cmd, plan.gidmap_cmd, plan.uid_maps, plan.gid_maps, plan.n_uid_maps, plan.n_gid_maps,
  };
  enum idmap_result r = idmap_write(pid, &spec);
  switch (r) {
  case IDMAP_OK: return;
  case IDMAP_BAD_SPEC: die("internal: bad id map");
  case IDMAP_NEWUIDMAP:
  case IDMAP_NEWGIDMAP:
    die_hint("check /etc/subuid and /etc/subgid for your user and that newuidmap/newgidmap are setuid root; `sandbox doctor` explains",
             "%s failed to write the id map of the sandbox", r == IDMAP_NEWUIDMAP ? "newuidmap" : "newgidmap");
  case IDMAP_UID_MAP: die_hint("`sandbox doctor` checks user namespace support", "cannot write uid_map: %s", strerror(errno));
  case IDMAP_SETGROUPS: die("cannot write setgroups: %s", strerror(errno));
  case IDMAP_GID_MAP: die("cannot write gid_map: %s", strerror(errno));
  }
}

/* ---------- path resolution inside the new root ---------- */

static int resolve_in(int rootfd, const char *path, int extra_flags) {
  struct open_how how = {
    .flags = O_PATH | O_CLOEXEC | extra_flags,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  while (*path == '/') path++;
  if (!*path) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

enum make_kind { MAKE_NONE, MAKE_DIR, MAKE_FILE };

/* Opens `path` inside the root (O_PATH), creating it (and its parents, as
 * directories) when missing. A dangling symlink where a file must go is replaced:
 * images commonly ship /etc/resolv.conf as a link into /run. */
static int ensure_in(int rootfd, const char *path, enum make_kind kind) {
  int fd = resolve_in(rootfd, path, 0);
  if (fd >= 0 || errno != ENOENT || kind == MAKE_NONE) return fd;
  char *copy = strdup(path);
  if (!copy) die("out of memory");
  while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/') copy[strlen(copy) - 1] = 0;
  char *slash = strrchr(copy, '/');
  const char *name = slash ? slash + 1 : copy;
  int pfd;
  if (slash && slash != copy) { *slash = 0; pfd = ensure_in(rootfd, copy, MAKE_DIR); }
  else pfd = resolve_in(rootfd, "/", 0);
  if (pfd < 0) { int e = errno; free(copy); errno = e; return -1; }
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) unlinkat(pfd, name, 0);
  int r;
  if (kind == MAKE_DIR) r = mkdirat(pfd, name, 0755);
  else {
    r = openat(pfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (r >= 0) { close(r); r = 0; }
  }
  if (r < 0 && errno != EEXIST) { int e = errno; close(pfd); free(copy); errno = e; return -1; }
  close(pfd);
  free(copy);
  return resolve_in(rootfd, path, 0);
}

static char *fd_path(int fd) {
  static char buf[64];
  /* The host's /proc, under the old root until the final pivot. */
  snprintf(buf, sizeof buf, OLDROOT "/proc/self/fd/%d", fd);
  return buf;
}

static int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr) {
  return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr);
}

/* Makes the mount at `path` inside root read-only (recursively with `recursive`). */
static void make_readonly(int rootfd, const char *path, int recursive) {
  int fd = resolve_in(rootfd, path, 0);
  if (fd < 0) die("cannot open %s to make it read-only: %s", path, strerror(errno));
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
    die("cannot make %s read-only: %s", path, strerror(errno));
  close(fd);
}

/* ---------- mount operations (init side, after the first pivot) ---------- */

/* As Podman (containers.conf's default sysctl): root's group may open ICMP echo sockets,
 * so `ping` works without CAP_NET_RAW, which the default capability set lacks. Written
 * through the sandbox's fresh /proc (`proc`, a directory fd) before anything makes
 * /proc/sys read-only; net sysctls belong to our own network namespace. Best effort. */
static void allow_ping(int proc) {
  int fd = openat(proc, "sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (write(fd, "0 0", 3) < 0) { /* an old kernel: ping needs --cap-add NET_RAW */ }
  close(fd);
}

static int mount_at(int rootfd, const char *dest, enum make_kind kind, const char *src, const char *fstype,
                    unsigned long flags, const char *data) {
  int fd = ensure_in(rootfd, dest, kind);
  if (fd < 0) return -1;
  int r = mount(src, fd_path(fd), fstype, flags, data);
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

static void op_bind(int rootfd, const char *src, const char *dest, int ro) {
  char *hsrc = host_path(src);
  struct stat st;
  if (stat(hsrc, &st) < 0) die_hint("create it first, or fix the path of the -v option", "bind source %s: %s", src, strerror(errno));
  if (mount_at(rootfd, dest, S_ISDIR(st.st_mode) ? MAKE_DIR : MAKE_FILE, hsrc, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == EACCES || errno == EPERM || errno == EOVERFLOW)
      die_hint("the root filesystem has directories owned by ids outside your user namespace (the real root, say): use a copy you own, or `sandbox import` a tarball of it",
               "cannot create the mount point %s in the sandbox's root: %s", dest, strerror(errno));
    die("cannot bind %s to %s: %s", src, dest, strerror(errno));
  }
  if (ro) make_readonly(rootfd, dest, 1);
  free(hsrc);
}

/* tmpfs options: the flag words become mount flags, the rest is passed as data. */
static void op_tmpfs(int rootfd, const char *dest, const char *opts) {
  unsigned long flags = 0;
  char data[512] = "";
  char *copy = strdup(opts ? opts : "");
  for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
    if (!strcmp(tok, "ro")) flags |= MS_RDONLY;
    else if (!strcmp(tok, "rw")) flags &= ~MS_RDONLY;
    else if (!strcmp(tok, "noexec")) flags |= MS_NOEXEC;
    else if (!strcmp(tok, "exec")) flags &= ~MS_NOEXEC;
    else if (!strcmp(tok, "nosuid")) flags |= MS_NOSUID;
    else if (!strcmp(tok, "suid")) flags &= ~MS_NOSUID;
    else if (!strcmp(tok, "nodev")) flags |= MS_NODEV;
    else if (!strcmp(tok, "dev")) flags &= ~MS_NODEV;
    else {
      if (strlen(data) + strlen(tok) + 2 >= sizeof data) die("tmpfs options too long");
      if (*data) strcat(data, ",");
      strcat(data, tok);
    }
  }
  free(copy);
  if (mount_at(rootfd, dest, MAKE_DIR, "tmpfs", "tmpfs", flags, data) < 0)
    die("cannot mount tmpfs on %s (%s): %s", dest, data, strerror(errno));
}

static void op_dev(int rootfd, const char *dest, int gid5_mapped) {
  if (mount_at(rootfd, dest, MAKE_DIR, "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536k") < 0)
    die("cannot mount /dev: %s", strerror(errno));
  static const char *nodes[] = { "null", "zero", "full", "random", "urandom", "tty", NULL };
  char path[PATH_MAX], src[PATH_MAX];
  for (int i = 0; nodes[i]; i++) {
    snprintf(path, sizeof path, "%s/%s", dest, nodes[i]);
    snprintf(src, sizeof src, OLDROOT "/dev/%s", nodes[i]);
    if (mount_at(rootfd, path, MAKE_FILE, src, NULL, MS_BIND, NULL) < 0)
      die("cannot bind /dev/%s: %s", nodes[i], strerror(errno));
  }
  static const char *links[][2] = {
    { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" }, { "/proc/kcore", "core" }, { NULL, NULL },
  };
  int dfd = resolve_in(rootfd, dest, 0);
  for (int i = 0; links[i][0]; i++)
    if (symlinkat(links[i][0], dfd, links[i][1]) < 0 && errno != EEXIST) die("cannot create /dev/%s: %s", links[i][1], strerror(errno));
  close(dfd);
  snprintf(path, sizeof path, "%s/pts", dest);
  const char *ptsopts = gid5_mapped ? "newinstance,ptmxmode=0666,mode=0620,gid=5" : "newinstance,ptmxmode=0666,mode=0620";
  if (mount_at(rootfd, path, MAKE_DIR, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, ptsopts) < 0)
    die("cannot mount devpts: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/shm", dest);
  if (mount_at(rootfd, path, MAKE_DIR, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
    die("cannot mount /dev/shm: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/mqueue", dest);
  if (mount_at(rootfd, path, MAKE_DIR, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    msg("sandbox: warning: no /dev/mqueue: %s", strerror(errno));
}

static void op_sys(int rootfd, const char *dest) {
  /* A fresh sysfs needs a network namespace of our own; otherwise a read-only view. */
  if (mount_at(rootfd, dest, MAKE_DIR, "sysfs", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) return;
  if (mount_at(rootfd, dest, MAKE_DIR, OLDROOT "/sys", NULL, MS_BIND | MS_REC, NULL) < 0)
    die("cannot mount /sys: %s", strerror(errno));
  make_readonly(rootfd, dest, 1);
}

/* Hides a file or directory under /proc or /sys the way Podman does. */
static void op_mask(int rootfd, const char *dest) {
  int fd = resolve_in(rootfd, dest, 0);
  if (fd < 0) return; /* nothing to hide */
  struct stat st;
  fstat(fd, &st);
  int r = S_ISDIR(st.st_mode)
    ? mount("tmpfs", fd_path(fd), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555")
    : mount(OLDROOT "/dev/null", fd_path(fd), NULL, MS_BIND, NULL);
  if (r < 0) die("cannot mask %s: %s", dest, strerror(errno));
  close(fd);
}

static int try_overlay(const char *target, const char *base, const char *lowers, const char *upper, const char *work) {
  /* lowers: colon-separated host paths, all seen under /oldroot now; or, with `base`,
   * short names relative to it (image layers: the options must fit in one page), read
   * from there as our working directory while the mount is made. */
  int here = -1;
  if (base) {
    char *dir = host_path(base);
    here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (here < 0 || chdir(dir) < 0) die("cannot enter the layer directory %s: %s", base, strerror(errno));
    free(dir);
  }
  size_t cap = strlen(lowers) * 2 + strlen(upper) + strlen(work) + 256;
  char *data = malloc(cap);
  if (!data) die("out of memory");
  strcpy(data, "lowerdir=");
  char *copy = strdup(lowers);
  int first = 1;
  for (char *tok = strtok(copy, ":"); tok; tok = strtok(NULL, ":")) {
    if (!first) strcat(data, ":");
    if (!base || tok[0] == '/') strcat(data, OLDROOT);
    strcat(data, tok);
    first = 0;
  }
  free(copy);
  size_t len = strlen(data);
  if (upper) {
    snprintf(data + len, cap - len, ",upperdir=" OLDROOT "%s,workdir=" OLDROOT "%s", upper, work);
    len = strlen(data);
  }
  /* userxattr: whiteouts and opaque directories as user.overlay.* xattrs, the only
   * kind an unprivileged user can set (needed for image layers and for commit). */
  snprintf(data + len, cap - len, ",userxattr");
  int r = mount("overlay", target, "overlay", 0, data);
  if (r < 0 && errno == EINVAL) {
    data[len] = 0; /* older kernels: no userxattr */
    r = mount("overlay", target, "overlay", 0, data);
  }
  int e = errno;
  free(data);
  if (here >= 0) {
    if (fchdir(here) < 0) die("cannot return from the layer directory: %s", strerror(errno));
    close(here);
  }
  errno = e;
  return r;
}

/* One top-level directory of the host for the `host` image: copy-on-write overlay
 * when the kernel allows it there, else a read-only recursive bind. */
static void op_host_dir(int rootfd, const char *lower, const char *upper, const char *work, const char *dest) {
  int fd = ensure_in(rootfd, dest, MAKE_DIR);
  if (fd < 0) die("cannot create %s: %s", dest, strerror(errno));
  if (try_overlay(fd_path(fd), NULL, lower, upper, work) == 0) { close(fd); return; }
  char *h = host_path(lower);
  if (mount(h, fd_path(fd), NULL, MS_BIND | MS_REC, NULL) < 0) {
    /* A directory we cannot even read (lost+found, a private mount) is left empty. */
    close(fd);
    free(h);
    return;
  }
  free(h);
  close(fd);
  make_readonly(rootfd, dest, 1);
}

static int gid_is_mapped(gid_t g) {
  FILE *f = fopen("/proc/self/gid_map", "re");
  if (!f) return 0;
  unsigned long in, out, count;
  int found = 0;
  while (fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3)
    if (g >= in && g < in + count) found = 1;
  fclose(f);
  return found;
}

static void run_ops(int rootfd) {
  int gid5 = gid_is_mapped(5);
  for (int i = 0; i < plan.n_ops; i++) {
    struct op *op = &plan.ops[i];
    switch (op->type) {
    case OP_BIND: op_bind(rootfd, op->a, op->b, 0); break;
    case OP_RO_BIND: op_bind(rootfd, op->a, op->b, 1); break;
    case OP_TMPFS: op_tmpfs(rootfd, op->a, op->b); break;
    case OP_PROC:
      if (mount_at(rootfd, op->a, MAKE_DIR, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("cannot mount /proc: %s", strerror(errno));
      if (plan.unshare_net) {
        int proc = ensure_in(rootfd, op->a, MAKE_DIR);
        if (proc >= 0) { allow_ping(proc); close(proc); }
      }
      break;
    case OP_DEV: op_dev(rootfd, op->a, gid5); break;
    case OP_SYS: op_sys(rootfd, op->a); break;
    case OP_MQUEUE:
      if (mount_at(rootfd, op->a, MAKE_DIR, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("cannot mount mqueue: %s", strerror(errno));
      break;
    case OP_SYMLINK: {
      char *copy = strdup(op->b);
      char *slash = strrchr(copy, '/');
      const char *name = slash ? slash + 1 : copy;
      if (slash) *slash = 0;
      int pfd = ensure_in(rootfd, slash && *copy ? copy : "/", MAKE_DIR);
      if (pfd < 0 || (symlinkat(op->a, pfd, name) < 0 && errno != EEXIST))
        die("cannot create symlink %s: %s", op->b, strerror(errno));
      close(pfd);
      free(copy);
      break;
    }
    case OP_DIR: {
      int fd = ensure_in(rootfd, op->a, MAKE_DIR);
      if (fd < 0) die("cannot create %s: %s", op->a, strerror(errno));
      close(fd);
      break;
    }
    case OP_HOST_DIR: op_host_dir(rootfd, op->a, op->b, op->c, op->d); break;
    case OP_REMOUNT_RO: make_readonly(rootfd, op->a, 0); break;
    case OP_MASK: op_mask(rootfd, op->a); break;
    case OP_RO_SELF: {
      /* A read-only view of a path inside the sandbox (/proc/sys and the like). */
      int fd = resolve_in(rootfd, op->a, 0);
      if (fd < 0) break;
      if (mount(fd_path(fd), fd_path(fd), NULL, MS_BIND | MS_REC, NULL) < 0) die("cannot bind %s read-only: %s", op->a, strerror(errno));
      close(fd);
      make_readonly(rootfd, op->a, 1);
      break;
    }
    }
  }
}

/* ---------- removing the writable layer (init side) ---------- */

/* The names directory and the reservation to release after the cleanup (init side). */
static int release_dir = -1;
static const char *release_base;

static void rm_rf_at(int parent, const char *name) {
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
 * this sandbox's id (--release-name), once the sandbox's directory is gone: so that a
 * killed `run --rm --name x` leaves x free. Done by whichever of init and monitor
 * outlives the other (a kill of the whole process group takes the monitor too). */
static void release_reservation(int dirfd, const char *name) {
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

/* Write ends of the pipes that carry the command's stdout and stderr to the monitor's
 * log (detached sandboxes without a terminal); -1 otherwise. */
static int log_out_w = -1, log_err_w = -1;

/* ---------- the command (X) ---------- */

static const char *env_get(const char *name) {
  size_t n = strlen(name);
  for (int i = 0; i < plan.n_env; i++)
    if (!strncmp(plan.env[i], name, n) && plan.env[i][n] == '=') return plan.env[i] + n + 1;
  return NULL;
}

static int parse_id(const char *s, unsigned long *out) {
  if (!*s) return -1;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*end || errno) return -1;
  *out = v;
  return 0;
}

struct user_info {
  uid_t uid;
  gid_t gid;
  const char *home;
  gid_t groups[64];
  int n_groups;
};

/* Resolves `--user` against the sandbox's own /etc/passwd and /etc/group. */
static void resolve_user(struct user_info *u) {
  memset(u, 0, sizeof *u);
  u->home = "/root";
  const char *spec = plan.user ? plan.user : "0";
  char *copy = strdup(spec);
  char *colon = strchr(copy, ':');
  char *grp = NULL;
  if (colon) { *colon = 0; grp = colon + 1; }
  unsigned long id;
  const char *name = NULL;
  int have_passwd = 0;
  FILE *f = fopen("/etc/passwd", "re");
  struct passwd *pw;
  if (parse_id(copy, &id) == 0) {
    u->uid = (uid_t)id;
    u->gid = (gid_t)(grp ? u->gid : 0);
    if (f) while ((pw = fgetpwent(f))) if (pw->pw_uid == u->uid) {
      u->gid = pw->pw_gid; u->home = strdup(pw->pw_dir); name = strdup(pw->pw_name); have_passwd = 1; break;
    }
    if (!have_passwd) { u->gid = u->uid == 0 ? 0 : u->gid; u->home = u->uid == 0 ? "/root" : "/"; }
  } else {
    if (f) while ((pw = fgetpwent(f))) if (!strcmp(pw->pw_name, copy)) {
      u->uid = pw->pw_uid; u->gid = pw->pw_gid; u->home = strdup(pw->pw_dir); name = strdup(pw->pw_name); have_passwd = 1; break;
    }
    if (!have_passwd) die_hint("use a numeric UID[:GID], or a user the image defines", "unable to find user %s: no matching entries in the sandbox's /etc/passwd", copy);
  }
  if (f) fclose(f);
  struct group *gr;
  if (grp) {
    if (parse_id(grp, &id) == 0) u->gid = (gid_t)id;
    else {
      int found = 0;
      FILE *g = fopen("/etc/group", "re");
      if (g) { while ((gr = fgetgrent(g))) if (!strcmp(gr->gr_name, grp)) { u->gid = gr->gr_gid; found = 1; break; } fclose(g); }
      if (!found) die_hint("use a numeric GID, or a group the image defines", "unable to find group %s: no matching entries in the sandbox's /etc/group", grp);
    }
  }
  /* Supplementary groups of a named user, as Docker does. */
  if (name && !grp) {
    FILE *g = fopen("/etc/group", "re");
    if (g) {
      while ((gr = fgetgrent(g)) && u->n_groups < 64)
        for (char **m = gr->gr_mem; m && *m; m++)
          if (!strcmp(*m, name) && gr->gr_gid != u->gid) { u->groups[u->n_groups++] = gr->gr_gid; break; }
      fclose(g);
    }
  }
  free(copy);
}

static uint64_t kept_caps(void) {
  uint64_t keep = 0;
  if (plan.caps) {
    char *copy = strdup(plan.caps);
    for (char *t = strtok(copy, ","); t; t = strtok(NULL, ",")) if (*t) keep |= 1ULL << atoi(t);
    free(copy);
  }
  return keep;
}

/* Step one, while still root with every capability: the bounding set (needs CAP_SETPCAP). */
static void drop_bounding_caps(uint64_t keep) {
  for (int c = 0; c <= 63; c++) {
    if (keep & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) die("cannot drop capability %d: %s", c, strerror(errno));
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

/* Step two, after the switch of user (which a dropped CAP_SETUID must not prevent): the
 * sets of a root command. A non-root command has none left, as under Docker. */
static void set_caps(uint64_t keep) {
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
  data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) die("cannot set capabilities: %s", strerror(errno));
}

/* Finds the program like execvp, but with the sandbox's PATH, not ours. */
static void exec_command(char **envp) {
  const char *cmd = plan.argv[0];
  if (strchr(cmd, '/')) {
    execve(cmd, plan.argv, envp);
  } else {
    const char *path = env_get("PATH");
    if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    int saw_eacces = 0;
    char *copy = strdup(path);
    for (char *dir = strtok(copy, ":"); dir; dir = strtok(NULL, ":")) {
      char *full = join2(*dir ? dir : ".", cmd);
      execve(full, plan.argv, envp);
      if (errno == EACCES) saw_eacces = 1;
      free(full);
    }
    free(copy);
    errno = saw_eacces ? EACCES : ENOENT;
  }
  int e = errno;
  if (e == ENOENT) {
    if (strchr(cmd, '/')) msg("sandbox: %s: no such file or directory in the sandbox", cmd);
    else msg("sandbox: %s: command not found in the sandbox's PATH", cmd);
    msg("hint: check the command name, or run a shell in the image to look around");
    _exit(EXIT_NOT_FOUND);
  }
  msg("sandbox: cannot execute %s: %s", cmd, strerror(e));
  _exit(EXIT_CANNOT_EXEC);
}

/* Descriptor of the exec pipe in the command's process: its end means exec worked. */
#define EXEC_REPORT_FD 1023

static void __attribute__((noreturn)) run_command(int pty_master) {
  reset_signals();
  msg_fd = EXEC_REPORT_FD;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (setsid() < 0) die("setsid: %s", strerror(errno));
  if (pty_master >= 0) {
    int slave = ioctl(pty_master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) die("cannot open the terminal: %s", strerror(errno));
    if (ioctl(slave, TIOCSCTTY, 0) < 0) die("cannot set the controlling terminal: %s", strerror(errno));
    dup2(slave, 0); dup2(slave, 1); dup2(slave, 2);
    if (slave > 2) close(slave);
    close(pty_master);
  } else if (log_out_w >= 0) {
    dup2(log_out_w, 1);
    dup2(log_err_w, 2);
  }
  struct user_info u;
  resolve_user(&u);
  /* The environment: the plan's, plus HOME from the user when the plan has none. */
  char **envp = calloc(plan.n_env + 2, sizeof *envp);
  int k = 0;
  for (int i = 0; i < plan.n_env; i++) envp[k++] = (char *)plan.env[i];
  if (!env_get("HOME")) { char *h = malloc(strlen(u.home) + 6); sprintf(h, "HOME=%s", u.home); envp[k++] = h; }
  envp[k] = NULL;

  if (plan.cwd && plan.create_cwd) {
    int rootfd = open("/", O_PATH | O_CLOEXEC);
    int fd = ensure_in(rootfd, plan.cwd, MAKE_DIR);
    if (fd >= 0) close(fd);
    close(rootfd);
  }
  uint64_t keep = kept_caps();
  drop_bounding_caps(keep);
  if (setgroups(u.n_groups, u.groups) < 0 && errno != EPERM) die("setgroups: %s", strerror(errno));
  if (setresgid(u.gid, u.gid, u.gid) < 0)
    die_hint("the sandbox maps only the ids of your /etc/subgid range (see `sandbox doctor`)", "cannot switch to group %u: %s", (unsigned)u.gid, strerror(errno));
  if (setresuid(u.uid, u.uid, u.uid) < 0)
    die_hint("the sandbox maps only the ids of your /etc/subuid range (see `sandbox doctor`)", "cannot switch to user %u: %s", (unsigned)u.uid, strerror(errno));
  if (u.uid == 0) set_caps(keep);
  if (plan.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs: %s", strerror(errno));
  const char *cwd = plan.cwd ? plan.cwd : "/";
  if (chdir(cwd) < 0) {
    if (plan.cwd) die_hint("the working directory (-w) must exist in the sandbox", "cannot change to working directory %s: %s", cwd, strerror(errno));
    if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
  }
  /* Nothing of ours may leak into the command: every descriptor past stdio closes at
   * exec (the exec pipe included, which tells init that exec worked). */
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  exec_command(envp);
  _exit(EXIT_SETUP);
}

/* ---------- init (I) ---------- */

/* A new network namespace starts with `lo` down; programs expect localhost to work. */
static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket: %s", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("cannot read the loopback interface: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("cannot bring up the loopback interface: %s", strerror(errno));
  close(s);
}

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

/* Waits for the monitor's message `want`; 'N' (network up) may come first at any
 * time and is remembered. Exits quietly when the monitor is gone: it said why. */
static int network_up = 0;
static void wait_for_monitor(int sock, char want) {
  if (want == 'N' && network_up) return;
  for (;;) {
    char c;
    ssize_t n = read(sock, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1) _exit(EXIT_SETUP);
    if (c == want) return;
    if (c == 'N') network_up = 1;
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

static void __attribute__((noreturn)) run_and_wait(int sock, int cleanup_parent, const char *cleanup_name);

/* A new, empty session keyring for this process and what it starts (the init and so the
 * command; each exec'd process). Root inside has the caller's uid: with the caller's
 * session keyring it would read its keys and plant its own. When that cannot be done,
 * the sandbox does not start, unless keyctl() is unavailable to us altogether (a kernel
 * without keys, a seccomp filter that denies it): then no process of ours can reach a
 * keyring either. */
static void new_session_keyring(void) {
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) >= 0) return;
  int e = errno;
  if (e == ENOSYS) return;
  if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) < 0 && errno == e) return;
  if (e == EDQUOT)
    die_hint("raise the limits (sysctl kernel.keys.maxkeys, kernel.keys.maxbytes; /proc/key-users shows your use), or unlink keys you no longer need",
             "cannot give the sandbox a session keyring of its own: the kernel's key quota for your user is used up");
  die("cannot give the sandbox a session keyring of its own: %s", strerror(e));
}

static void __attribute__((noreturn)) run_init(int sock) {
  prctl(PR_SET_PDEATHSIG, SIG_ABORT);
  /* Out of the caller's process group: a kill of the whole group (a terminal hangup,
   * `kill -9 -PGID`) reaches the monitor, and we still get to clean up. */
  setsid();
  /* Wait for the monitor to write our id maps. */
  char go;
  if (read(sock, &go, 1) != 1 || go != 'G') _exit(EXIT_SETUP);
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("cannot become root in the user namespace: %s", strerror(errno));
  setgroups(0, NULL); /* fails harmlessly when setgroups is denied */

  if (plan.userns_only) {
    reset_signals();
    execvp(plan.argv[0], plan.argv);
    msg("sandbox: cannot execute %s: %s", plan.argv[0], strerror(errno));
    _exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
  }
  /* Before anything of the image runs; the command inherits it. (Not for --userns-only,
   * which runs programs of ours, such as sandbox-layer, and nothing of an image.) */
  new_session_keyring();

  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("cannot make mounts private: %s", strerror(errno));
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
    if (mount(plan.fuse_merged, plan.fuse_merged, NULL, MS_BIND, NULL) < 0 || mount(NULL, plan.fuse_merged, NULL, MS_SHARED, NULL) < 0)
      die("cannot prepare the mount point for fuse-overlayfs: %s", strerror(errno));
    char f = 'F';
    if (write(sock, &f, 1) != 1) _exit(EXIT_SETUP);
    wait_for_monitor(sock, 'f');
    wait_for_fuse(plan.fuse_merged);
  }
  /* A private tmpfs as the base; the host root goes to /oldroot under it. */
  const char *base = plan.base ? plan.base : "/tmp";
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
    if (try_overlay("/newroot", plan.root_base, plan.root_lowers, plan.root_upper, plan.root_work) < 0)
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

  if (plan.unshare_net) loopback_up();
  if (plan.hostname && sethostname(plan.hostname, strlen(plan.hostname)) < 0)
    die("cannot set the hostname: %s", strerror(errno));
  run_and_wait(sock, cleanup_parent, cleanup_name);
}

/* The next signal from the signalfd (0 when none could be read). */
static int read_signal(int sfd, struct signalfd_siginfo *si) {
  return read(sfd, si, sizeof *si) == sizeof *si ? (int)si->ssi_signo : 0;
}

/* On SIGCHLD: reaps every child that ended; when `child` did, its status goes to *code. */
static void reap(pid_t child, int *code, int *done) {
  int st;
  pid_t w;
  while ((w = waitpid(-1, &st, WNOHANG)) > 0)
    if (w == child) { *code = exit_code_of(st); *done = 1; }
}

/* A new terminal of the sandbox's /dev/pts (for -t); the command opens its other end. */
static int open_pty_master(void) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("cannot open /dev/ptmx in the sandbox: %s", strerror(errno));
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die("cannot unlock the terminal: %s", strerror(errno));
  return master;
}

/* Forks the command (run_command) and waits until it has been exec'd: the exec pipe
 * ends at once when it was; text comes first when it could not be, and why. Returns its
 * pid; `why` gets that text, NUL-terminated (empty: it runs). */
static pid_t start_command(int pty_master, char *why, size_t size) {
  int execpipe[2];
  if (pipe2(execpipe, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    close(execpipe[0]);
    dup2(execpipe[1], EXEC_REPORT_FD);
    run_command(pty_master);
  }
  close(execpipe[1]);
  size_t got = 0;
  for (;;) {
    ssize_t n = read(execpipe[0], why + got, size - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
    if (got == size - 1) break;
  }
  close(execpipe[0]);
  why[got] = 0;
  return child;
}

/* The end of init: the terminal, the command, the report of its start, signals passed
 * on; it also waits for the network, becomes non-dumpable, ends everything inside with
 * the command, and removes the writable layer (--cleanup). */
static void __attribute__((noreturn)) run_and_wait(int sock, int cleanup_parent, const char *cleanup_name) {
  int pty_master = -1;
  if (plan.tty) {
    pty_master = open_pty_master();
    if (send_fd(sock, 'T', pty_master) < 0) die("cannot hand the terminal to the monitor: %s", strerror(errno));
  }

  if (plan.slirp4netns) wait_for_monitor(sock, 'N');
  /* Not dumpable from here on: the sandbox's root cannot reach our descriptors (the
   * host directory kept for --cleanup) through /proc/1/fd. Not earlier: slirp4netns
   * needs our /proc/PID/ns files. */
  prctl(PR_SET_DUMPABLE, 0);
  /* To the monitor: 'S' when the command runs, else 'E' and why (which it prints). */
  char report[4096];
  pid_t child = start_command(pty_master, report + 1, sizeof report - 1);
  if (pty_master >= 0) close(pty_master);
  if (log_out_w >= 0) { close(log_out_w); close(log_err_w); }
  report[0] = report[1] ? 'E' : 'S';
  ssize_t unused = write(sock, report, 1 + strlen(report + 1));
  (void)unused;

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
    if (release_dir >= 0 && faccessat(cleanup_parent, cleanup_name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
      release_reservation(release_dir, release_base);
  }
  _exit(code);
}

/* ---------- monitor (M) ---------- */

static struct termios saved_termios;
static int termios_saved = 0;

static void restore_terminal(void) {
  if (termios_saved) tcsetattr(0, TCSADRAIN, &saved_termios);
  termios_saved = 0;
}

static void copy_winsize(int master) {
  struct winsize ws;
  if (ioctl(1, TIOCGWINSZ, &ws) == 0 || ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
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

/* Copies what is readable from `from` to `to`; returns 0 at EOF or error. */
static int pump(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  return write_all(to, buf, (size_t)n) == 0;
}

static int forwardable(int sig) {
  switch (sig) {
  case SIGCHLD: case SIGWINCH: case SIGTTIN: case SIGTTOU: case SIGTSTP: case SIGPIPE: return 0;
  default: return sig != SIG_ABORT && sig != SIG_PARENT_GONE && sig != SIG_STOP_REQUEST && sig != SIG_KILL_REQUEST;
  }
}

/* ---------- the log (monitor side) ----------
 * One line per line of output, in the CRI format Podman's k8s-file driver and
 * Kubernetes use: `<RFC 3339 UTC time with ns> <stdout|stderr> <F|P> <text>`, where P
 * marks a part of a longer line. Past --log-max-size the file moves to PATH.1 (one
 * old file is kept), so a chatty sandbox cannot fill the disk. */
struct log_stream {
  int fd;
  int tee_fd; /* with --log-tee: where the output goes as it comes, before the log */
  const char *name;
  char buf[16384];
  size_t len;
};

static int log_fd = -1;
static long log_size = 0;

static void log_open(void) {
  log_fd = open(plan.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) die("cannot open the log %s: %s", plan.log_path, strerror(errno));
  struct stat st;
  log_size = fstat(log_fd, &st) == 0 ? (long)st.st_size : 0;
}

static void log_rotate(void) {
  char old[PATH_MAX];
  snprintf(old, sizeof old, "%s.1", plan.log_path);
  close(log_fd);
  rename(plan.log_path, old);
  log_open();
}

static void log_record(const char *stream, char tag, const char *text, size_t len) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char head[96];
  size_t h = strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
  h += (size_t)snprintf(head + h, sizeof head - h, ".%09ldZ %s %c ", ts.tv_nsec, stream, tag);
  struct iovec iov[3] = { { head, h }, { (void *)text, len }, { "\n", 1 } };
  ssize_t unused = writev(log_fd, iov, 3);
  (void)unused;
  log_size += (long)(h + len + 1);
  if (plan.log_max_size > 0 && log_size > plan.log_max_size) log_rotate();
}

/* Reads what is there; returns 0 at end of file. */
static int log_pump(struct log_stream *s) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) {
    /* The stream ended: what is left is a whole line, not a part of the next run's first. */
    if (s->len) log_record(s->name, 'F', s->buf, s->len);
    s->len = 0;
    return 0;
  }
  if (plan.log_tee) write_all(s->tee_fd, s->buf + s->len, (size_t)n);
  s->len += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if (s->buf[i] != '\n') continue;
    size_t end = i > start && s->buf[i - 1] == '\r' ? i - 1 : i; /* a terminal's CRLF */
    log_record(s->name, 'F', s->buf + start, end - start);
    start = i + 1;
  }
  if (start == 0 && s->len == sizeof s->buf) { log_record(s->name, 'P', s->buf, s->len); s->len = 0; return 1; }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
  return 1;
}

/* The end of the sandbox, for whoever lists it later (written atomically). */
static void write_exit_file(int code) {
  if (!plan.exit_file) return;
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
    if (userns < 0 || mntns < 0 || setns(userns, CLONE_NEWUSER) < 0 || setns(mntns, CLONE_NEWNS) < 0 || unshare(CLONE_NEWNS) < 0) {
      msg("sandbox: cannot enter the sandbox's namespaces for fuse-overlayfs: %s", strerror(errno));
      _exit(EXIT_SETUP);
    }
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) _exit(EXIT_SETUP);
    /* Short lower names are relative to the layer directory: fuse-overlayfs opens them from there. */
    if (plan.root_base && chdir(plan.root_base) < 0) {
      msg("sandbox: cannot enter the layer directory %s: %s", plan.root_base, strerror(errno));
      _exit(EXIT_SETUP);
    }
    size_t cap = strlen(plan.root_lowers) + strlen(plan.root_upper) + strlen(plan.root_work) + 64;
    char *opts = malloc(cap);
    snprintf(opts, cap, "lowerdir=%s,upperdir=%s,workdir=%s", plan.root_lowers, plan.root_upper, plan.root_work);
    int devnull = open("/dev/null", O_RDWR);
    int log = plan.net_log ? open(plan.net_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    dup2(devnull, 0); dup2(devnull, 1); dup2(log >= 0 ? log : devnull, 2);
    execl(plan.fuse_overlayfs, "fuse-overlayfs", "-f", "-o", opts, plan.fuse_merged, (char *)NULL);
    _exit(EXIT_NOT_FOUND);
  }
  return child;
}

/* Runs slirp4netns for the sandbox's network namespace and waits until it is up.
 * It exits when we do: its --exit-fd is a pipe whose write end only we hold. */
static pid_t slirp_pid = 0;
static int slirp_exit_fd = -1; /* closing it ends slirp4netns */
static void start_slirp4netns(pid_t init) {
  int ready[2], ex[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    reset_signals();
    setsid(); /* the terminal's Ctrl-C is for the sandbox, not for its network */
    int rfd = dup(ready[1]), efd = dup(ex[0]); /* without O_CLOEXEC */
    char pidbuf[32], rbuf[32], ebuf[32], userns[64];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)init);
    snprintf(rbuf, sizeof rbuf, "--ready-fd=%d", rfd);
    snprintf(ebuf, sizeof ebuf, "--exit-fd=%d", efd);
    snprintf(userns, sizeof userns, "--userns-path=/proc/%d/ns/user", (int)init);
    /* Its chatter goes to a log (--net-log), never to the user's terminal. */
    int devnull = open("/dev/null", O_RDWR);
    int log = plan.net_log ? open(plan.net_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    dup2(devnull, 0); dup2(devnull, 1); dup2(log >= 0 ? log : devnull, 2);
    execl(plan.slirp4netns, "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
          rbuf, ebuf, userns, pidbuf, "tap0", (char *)NULL);
    msg("sandbox: cannot run %s: %s", plan.slirp4netns, strerror(errno));
    _exit(127);
  }
  close(ready[1]);
  close(ex[0]);
  /* ex[1] stays open (close-on-exec) for as long as this run of the sandbox lasts. */
  slirp_pid = child;
  slirp_exit_fd = ex[1];
  char c;
  ssize_t n;
  while ((n = read(ready[0], &c, 1)) < 0 && errno == EINTR) {}
  close(ready[0]);
  if (n != 1) {
    int st;
    /* The init failed first (and said why): that is the error, not the network. It may
     * still be on its way out when slirp4netns gives up on its namespaces: half a second. */
    for (int i = 0; i < 100; i++) {
      if (waitpid(init, &st, WNOHANG) == init) _exit(exit_code_of(st));
      usleep(5000);
    }
    kill(init, SIGKILL);
    die_hint("slirp4netns needs read-write access to /dev/net/tun (`sandbox doctor` checks it; a distribution sets it 0666); or use --network none|host",
             "slirp4netns could not set up the network of the sandbox");
  }
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
static void append_event(const char *action, int exit_code) {
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

static void write_pid_file(pid_t pid) {
  if (!plan.pid_file) return;
  char tmp[PATH_MAX], body[32];
  snprintf(tmp, sizeof tmp, "%s.tmp", plan.pid_file);
  int n = snprintf(body, sizeof body, "%d\n", (int)pid);
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

/* Our own start time (field 22 of /proc/self/stat), as src/state/liveness.ts reads it. */
static unsigned long long own_start_time(void) {
  char buf[1024];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
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

/* The monitor's first act (--monitor-file DIR/monitor): makes itself discoverable in the
 * sandbox's directory before it starts anything, so that every command finds it whatever
 * the record says (the CLI that started it may be killed at any moment). Takes the
 * directory's lock (one monitor per sandbox), writes "PID STARTTIME" atomically, then
 * checks that the directory still has its name: `rm` renames it away before it looks for
 * a monitor, so either rm sees this file or we see the rename and give up. */
static void claim_monitor(void) {
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
  snprintf(tmp, sizeof tmp, "%s.tmp", plan.monitor_file);
  int n = snprintf(body, sizeof body, "%d %llu\n", (int)getpid(), own_start_time());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write_all(fd, body, (size_t)n) < 0 || close(fd) < 0 || rename(tmp, plan.monitor_file) < 0)
    die_hint("list them with `sandbox ps -a`", "cannot record the sandbox's monitor in %s: %s", dir, strerror(errno));
  struct stat by_fd, by_name;
  if (fstat(monitor_lock_fd, &by_fd) < 0 || stat(dir, &by_name) < 0 || by_fd.st_ino != by_name.st_ino || by_fd.st_dev != by_name.st_dev)
    die_hint("list them with `sandbox ps -a`", "the sandbox was removed");
}

/* The monitor's last act: it is not to be found any more (a `--rm` sandbox whose
 * directory is gone also gives back its name, so that a killed `run --rm --name x`
 * leaves x free). */
static void release_monitor(void) {
  if (plan.monitor_file) unlink(plan.monitor_file);
  if (plan.release_name && plan.cleanup && access(plan.cleanup, F_OK) < 0 && errno == ENOENT)
    release_reservation(AT_FDCWD, plan.release_name);
}

static int stop_requested = 0;
static struct timespec terminal_sig_at[_NSIG];

/* Was `t` less than half a second ago? */
static int recent(const struct timespec *t) {
  if (!t->tv_sec && !t->tv_nsec) return 0;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long ms = (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
  return ms < 500;
}

/* ---------- exec (E) ---------- */

/* Joins every namespace of the sandbox's command `target`: with one setns() on a pidfd
 * (Linux >= 5.8), else one open and setns() per namespace. All or nothing either way:
 * the files are all opened first, since the host's /proc is gone once in the sandbox's
 * mount namespace. The network namespace of a --network host sandbox is the host's,
 * which is not ours to enter (it belongs to the host's user namespace), nor needed. */
static void join_sandbox(pid_t target) {
  static const struct { const char *name; int type; } nss[] = {
    { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID }, { "uts", CLONE_NEWUTS },
    { "ipc", CLONE_NEWIPC }, { "net", CLONE_NEWNET }, { "cgroup", CLONE_NEWCGROUP },
  };
  const char *ended = "the sandbox may have just ended; `sandbox ps -a` shows it";
  int n = (int)(sizeof nss / sizeof nss[0]), flags = 0;
  for (int i = 0; i < n; i++) if (!(plan.exec_host_net && nss[i].type == CLONE_NEWNET)) flags |= nss[i].type;
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
static int run_exec(int sfd) {
  join_sandbox(plan.exec_target);
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("cannot become root in the sandbox: %s", strerror(errno));
  setgroups(0, NULL);
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
  status("{\"pid\":%d}", (int)child);
  if (why[0]) write_all(2, why, strlen(why));
  else status("{\"started\":true}");
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
    } else if (sig == SIG_PARENT_GONE) {
      /* The CLI is gone: so is the command, with its whole session. */
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

/* `--args-fd N`: the plan as NUL-separated words on a descriptor, so that a long plan
 * neither hits argument limits nor fills every `ps` listing. */
static char **read_args_fd(int fd, int *argc_out) {
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len == cap) { cap *= 2; buf = realloc(buf, cap); }
    if (!buf) die("out of memory");
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0) { if (errno == EINTR) continue; die("cannot read the launch plan: %s", strerror(errno)); }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  int count = 1;
  for (size_t i = 0; i < len; i++) if (buf[i] == 0) count++;
  char **av = calloc((size_t)count + 2, sizeof *av);
  int k = 0;
  av[k++] = "sandbox-launch";
  for (size_t i = 0; i < len;) {
    av[k++] = buf + i;
    i += strlen(buf + i) + 1;
  }
  av[k] = NULL;
  *argc_out = k;
  return av;
}

/* `--args-env`: the plan in the environment variable SANDBOX_LAUNCH_ARGS, each word as
 * its length in bytes, a colon and the word, so that a short plan needs neither a pipe
 * nor arguments that every `ps` listing shows (an environment is its owner's only). */
static char **read_args_env(int *argc_out) {
  const char *v = getenv("SANDBOX_LAUNCH_ARGS");
  if (!v) die("internal: SANDBOX_LAUNCH_ARGS is not set");
  size_t len = strlen(v);
  char **av = calloc(len / 2 + 3, sizeof *av);
  if (!av) die("out of memory");
  int k = 0;
  av[k++] = "sandbox-launch";
  for (const char *p = v; *p;) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(p, &end, 10);
    if (end == p || *end != ':' || errno || n > (size_t)(v + len - end - 1)) die("internal: bad SANDBOX_LAUNCH_ARGS");
    char *w = malloc(n + 1);
    if (!w) die("out of memory");
    memcpy(w, end + 1, n);
    w[n] = 0;
    av[k++] = w;
    p = end + 1 + n;
  }
  av[k] = NULL;
  *argc_out = k;
  return av;
}

static int run_once(int sfd);

int main(int argc, char **argv) {
  /* Before any namespace: run from a sealed copy of ourselves (helpers/sealed.h). */
  const char *failed = sealed_self_exec(argv, "sandbox-launch");
  if (failed && !strcmp(failed, "memfd_create") && errno == EACCES)
    die_hint("the sysctl vm.memfd_noexec=2 forbids it; 1 or 0 allows it", "cannot make an executable memory file for the helper's sealed copy");
  if (failed) die("cannot run the helper from a sealed copy of itself (%s): %s", failed, strerror(errno));
  if (argc == 3 && !strcmp(argv[1], "--args-fd")) argv = read_args_fd(atoi(argv[2]), &argc);
  else if (argc == 2 && !strcmp(argv[1], "--args-env")) argv = read_args_env(&argc);
  parse_args(argc, argv);
  if (plan.status_fd >= 0) fcntl(plan.status_fd, F_SETFD, FD_CLOEXEC);

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
    status("{\"exit_code\":%d}", code);
    return code;
  }
  claim_monitor();
  if (plan.log_path) log_open();

  /* Runs the sandbox, and again while its restart policy says so (Docker's rules: never
   * after a stop or kill request; on-failure only for a non-zero exit, at most N
   * times; a delay doubling from 100 ms, reset after 10 s of running). */
  int restarts = 0;
  long delay_ms = 100;
  for (;;) {
    struct timespec began, ended;
    clock_gettime(CLOCK_MONOTONIC, &began);
    int code = run_once(sfd);
    clock_gettime(CLOCK_MONOTONIC, &ended);
    append_event("die", code);
    int again = !stop_requested && !plan.userns_only &&
      (plan.restart == 2 || (plan.restart == 1 && code != 0 && (plan.restart_max == 0 || restarts < plan.restart_max)));
    if (!again) {
      write_exit_file(code);
      release_monitor();
      status("{\"exit_code\":%d}", code);
      return code;
    }
    if (ended.tv_sec - began.tv_sec >= 10) delay_ms = 100;
    /* Wait, but a stop request ends the wait (and the restarts). */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long left = delay_ms;
    while (left > 0 && !stop_requested) {
      struct pollfd p = { sfd, POLLIN, 0 };
      if (poll(&p, 1, (int)left) > 0) {
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof si) == sizeof si &&
            ((int)si.ssi_signo == SIG_STOP_REQUEST || (int)si.ssi_signo == SIG_KILL_REQUEST || (int)si.ssi_signo == SIGTERM))
          stop_requested = 1;
      }
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      left = delay_ms - ((now.tv_sec - until.tv_sec) * 1000 + (now.tv_nsec - until.tv_nsec) / 1000000);
    }
    if (stop_requested) {
      write_exit_file(code);
      release_monitor();
      status("{\"exit_code\":%d}", code);
      return code;
    }
    restarts++;
    if (delay_ms < 10000) delay_ms *= 2;
    append_event("restart", -1);
  }
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
static int run_once(int sfd) {
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
  unsigned long flags = CLONE_NEWUSER | SIGCHLD;
  if (!plan.userns_only) {
    flags |= CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    if (plan.unshare_net) flags |= CLONE_NEWNET;
  } else {
    flags |= CLONE_NEWNS;
  }
  pid_t init = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (init < 0) {
    int e = errno;
    die_hint("run `sandbox doctor`: user namespaces may be disabled (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, or the AppArmor restriction on Ubuntu)",
             "cannot create the sandbox's namespaces: %s", strerror(e));
  }
  if (init == 0) {
    close(sv[0]);
    if (monitor_lock_fd >= 0) close(monitor_lock_fd); /* no handle on a host directory inside */
    if (out.fd >= 0) { close(out.fd); close(err.fd); }
    if (log_fd >= 0) close(log_fd);
    run_init(sv[1]);
  }
  close(sv[1]);
  if (log_out_w >= 0) { close(log_out_w); close(log_err_w); log_out_w = log_err_w = -1; }
  int sock = sv[0];
  status("{\"pid\":%d}", (int)init);
  write_pid_file(init);
  write_id_maps(init);
  if (write(sock, "G", 1) != 1) init_died_in_setup(init);
  if (plan.slirp4netns) {
    /* init builds the root meanwhile; it waits for 'N' before starting the command. */
    start_slirp4netns(init);
    if (write(sock, "N", 1) != 1) init_died_in_setup(init);
  }

  int master = -1, stdin_done = !plan.stdin_open, master_done = 0, exited = 0, code = EXIT_SETUP;
  for (;;) {
    struct pollfd p[6];
    int n = 0, i_sig = n++, i_sock = -1, i_in = -1, i_master = -1, i_out = -1, i_err = -1;
    p[i_sig] = (struct pollfd){ sfd, POLLIN, 0 };
    if (sock >= 0) { i_sock = n++; p[i_sock] = (struct pollfd){ sock, POLLIN, 0 }; }
    if (master >= 0 && !stdin_done) { i_in = n++; p[i_in] = (struct pollfd){ 0, POLLIN, 0 }; }
    if (master >= 0 && !master_done) { i_master = n++; p[i_master] = (struct pollfd){ master, POLLIN, 0 }; }
    if (out.fd >= 0) { i_out = n++; p[i_out] = (struct pollfd){ out.fd, POLLIN, 0 }; }
    if (err.fd >= 0) { i_err = n++; p[i_err] = (struct pollfd){ err.fd, POLLIN, 0 }; }
    if (exited && (master < 0 || master_done) && out.fd < 0 && err.fd < 0) break;
    int ready = poll(p, n, exited ? 200 : -1);
    if (ready < 0) { if (errno == EINTR) continue; break; }
    if (ready == 0 && exited) break; /* the terminal went quiet after the end */
    if (i_sock >= 0 && p[i_sock].revents) {
      char tag = 0, text[4097];
      int fd = recv_msg(sock, &tag, text, sizeof text);
      if (fd >= 0 && tag == 'T') {
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
      } else if (fd == -3 && tag == 'S') {
        status("{\"started\":true}");
      } else if (fd == -3 && tag == 'E') {
        write_all(2, text, strlen(text)); /* the command could not be started: why */
      } else if (fd == -3 && tag == 'F') {
        fuse_pid = start_fuse_root(init);
        if (fuse_pid < 0 || write(sock, "f", 1) != 1) kill(init, SIGKILL);
      } else if (fd == -2 || fd == -1) {
        close(sock);
        sock = -1;
      }
    }
    if (i_in >= 0 && p[i_in].revents) {
      if (!pump(0, master)) { stdin_done = 1; char eof = 4; ssize_t unused = write(master, &eof, 1); (void)unused; }
    }
    if (i_master >= 0 && p[i_master].revents) {
      if (log_fd >= 0) { out.fd = master; if (!log_pump(&out)) master_done = 1; out.fd = -1; }
      else if (!pump(master, 1)) master_done = 1;
    }
    if (i_out >= 0 && p[i_out].revents && !log_pump(&out)) { close(out.fd); out.fd = -1; }
    if (i_err >= 0 && p[i_err].revents && !log_pump(&err)) { close(err.fd); err.fd = -1; }
    if (p[i_sig].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
          int st;
          if (waitpid(init, &st, WNOHANG) == init) { code = exit_code_of(st); exited = 1; }
        } else if (sig == SIGWINCH) {
          if (master >= 0) copy_winsize(master);
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
          kill(init, SIGKILL); /* from outside its pid namespace: ends everything inside */
        } else if (forwardable(sig)) {
          kill(init, sig);
        }
      }
    }
  }
  restore_terminal();
  if (fuse_pid > 0) { kill(fuse_pid, SIGKILL); waitpid(fuse_pid, NULL, 0); fuse_pid = 0; }
  if (sock >= 0) close(sock);
  if (master >= 0) close(master);
  if (slirp_exit_fd >= 0) { close(slirp_exit_fd); slirp_exit_fd = -1; }
  if (slirp_pid > 0) { waitpid(slirp_pid, NULL, 0); slirp_pid = 0; }
  return code;
}
