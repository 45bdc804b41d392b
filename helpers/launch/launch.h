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
 *                a clean environment, the seccomp filter, exec.
 *
 * An exec (`--target PID`) is one process fewer: no monitor and no init of its own.
 * The helper itself joins the namespaces of the sandbox's command (pid PID), forks the
 * new command into its pid namespace, passes signals on, proxies the terminal for -t
 * and exits with the command's status (see run_exec()).
 *
 * Exit status: the command's own; 128+N when it was killed by signal N; 125 when the
 * sandbox could not be set up; 126 when the command cannot be executed; 127 when it
 * was not found. Every failure prints one line `sandbox: ...` (and a `hint: ...`).
 *
 * The launch plan comes as arguments (helpers/README.md lists them; protocol.h defines
 * them), built by src/runtime/plan.ts.
 * Host paths are absolute; destinations are paths inside the sandbox, resolved with
 * RESOLVE_IN_ROOT so that a symlink in an image can never point a mount outside.
 */

/*
 * One file per role (this header declares what they share):
 *   plan.c     the plan: parse_args(), --args-fd / --args-env, usage()
 *   monitor.c  the monitor: run_once() clones the init, id maps, network, the loop
 *              that passes signals, the terminal and the log; monitor file, events
 *   init.c     the init: run_init() builds the root and pivots, run_and_wait()
 *   mounts.c   the init's mount operations (run_ops())
 *   network.c  the network drivers (none, host, slirp4netns, pasta): start, finish, stop
 *   ports.c    published ports: the host sockets, the forwarder into the sandbox (ports.h)
 *   command.c  the command: start_command() / run_command(), user, capabilities, exec
 *   rlimits.c  the command's resource limits (--rlimit): parsed with the plan, set before the exec
 *   seccomp.c  the command's seccomp filter: compiled once (libseccomp), applied last
 *   logs.c     the log of a detached sandbox (CRI format, rotation)
 *   health.c   the periodic health check: the monitor starts its runner every interval
 *   cgroup.c   limits: the sandbox's cgroups (--cgroup) joined by the init and by exec, OOM kills, removal
 *   exec.c     `sandbox exec`: run_exec() joins a running sandbox
 *   attach.c   `sandbox attach`: the monitor's attach socket, and run_attach()
 *   util.c     signals, the status fd, terminals
 *   main.c     main(): the sealed copy, the plan, then exec or the monitor's restarts
 * Shared with sandbox-cp: ../common/ (messages and die(), id maps, overlay and host-dir
 * mounts, the sealed copy).
 */
#ifndef SANDBOX_LAUNCH_H
#define SANDBOX_LAUNCH_H

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
#include <sys/inotify.h>
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
#include <sys/un.h>
#include <stddef.h>
#include <sys/wait.h>

#include "../protocol.h"
#include "../common/idmap.h"
#include "../common/netjoin.h"
#include "../common/rootfs.h"
#include "../common/say.h"
#include "ports.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* Sent by the monitor to init: kill everything, clean up, exit. Never forwarded. */
#define SIG_ABORT (SIGRTMAX)
/* Delivered to the monitor when the CLI that started it dies (--die-with-parent). */
#define SIG_PARENT_GONE (SIGRTMAX - 1)

/* Where a host path is seen once the host root has been moved to /oldroot. */
#define OLDROOT "/oldroot"

/* Descriptor of the exec pipe in the command's process: its end means exec worked. */
#define EXEC_REPORT_FD 1023

/* ---------- the plan (plan.c) ---------- */

enum op_type {
  OP_BIND, OP_RO_BIND, OP_TMPFS, OP_PROC, OP_DEV, OP_SYS, OP_SYMLINK,
  OP_HOST_DIR, OP_REMOUNT_RO, OP_MASK, OP_RO_SELF, OP_BIND_NONREC, OP_PROPAGATION,
};

struct op {
  enum op_type type;
  const char *a, *b, *c, *d;
};

#define MAX_OPS 1024
#define MAX_MAPS IDMAP_MAX
#define MAX_ENV 4096
#define MAX_GROUPS 64
#define MAX_NETWORK_ARGS 256
#define MAX_NET_JOINS 32
#define MAX_CGROUPS 8

struct launch_plan {
  const char *uidmap_cmd, *gidmap_cmd;
  const char *uid_maps[MAX_MAPS], *gid_maps[MAX_MAPS];
  int n_uid_maps, n_gid_maps;
  /* --inner-uid-map, --inner-gid-map: the sandbox's user namespace nests below the one
   * of the maps above (id modes: keep-id, auto, --uidmap; monitor.c clone_nested). */
  const char *inner_uid_maps[MAX_MAPS], *inner_gid_maps[MAX_MAPS];
  int n_inner_uid_maps, n_inner_gid_maps;
  int userns_only;
  const struct network_driver *network; /* --network: how the sandbox gets its network (network.c) */
  const char *network_cmd; /* --network-cmd: the program the network driver runs (slirp4netns, pasta) */
  pid_t network_join;     /* --network-join: share the user and network namespaces of this process */
  int join_ns;            /* --join-ns: CLONE_NEWUTS, CLONE_NEWIPC: share those of network_join's process too */
  const char *net_log;
  const char *network_args[MAX_NETWORK_ARGS]; /* --network-arg: the program's options, in order */
  int n_network_args;
  struct net_join_plan { const char *dir, *addr, *dev; } net_joins[MAX_NET_JOINS]; /* --net-join: user-defined networks */
  int n_net_joins;
  const char *net_switch_cmd; /* --net-switch-cmd: the networks' switch program */
  const char *net_helpers_dir, *net_owner; /* --net-helpers: where network helpers' pid files go, and whose they are (net-helpers.c) */
  int status_fd;
  pid_t die_with_parent;
  int tty, stdin_open;
  const char *cleanup;
  const char *hostname;
  const char *root_lowers, *root_upper, *root_work; /* overlay root */
  const char *root_base; /* --root-base: the root's lowers are relative to this directory */
  const char *fuse_overlayfs, *fuse_merged; /* --root-fuse: fuse-overlayfs instead of the kernel's overlay */
  struct op ops[MAX_OPS];
  int n_ops;
  const char *cwd;
  int create_cwd;
  const char *user;
  const char *group_add[MAX_GROUPS]; /* --group-add: numbers or names of the sandbox's /etc/group */
  int n_group_add;
  int keep_groups;        /* --keep-groups: nobody calls setgroups: the caller's groups stay */
  const char *env[MAX_ENV];
  int n_env;
  const char *caps;
  int no_new_privs;
  const char *seccomp_rules, *seccomp_bpf, *seccomp_cache; /* --seccomp: the command's filter (seccomp.c) */
  const char *log_path;   /* the command's output goes here (CRI log format) */
  int log_tee;            /* foreground: to our stdout/stderr as well as to the log */
  long log_max_size;      /* rotate to PATH.1 past this many bytes; 0: no limit */
  int log_drop_old;       /* past log_max_size: start afresh, no PATH.1 */
  const char *exit_file;  /* written at the end: {"exitCode":N,"finishedAt":"..."} */
  const char *pid_file;   /* the current init's pid, rewritten at every (re)start */
  const char *monitor_file; /* "PID STARTTIME": written (and its directory locked) before anything is cloned */
  const char *release_name, *release_id; /* --rm: the name reservation to remove once the directory is gone */
  pid_t exec_target;      /* exec: join the namespaces of this process (the sandbox's command) */
  const char *events_file, *event_id, *event_name; /* where `die` (and restart `start`) events go */
  int restart;            /* 0 no, 1 on-failure, 2 always */
  int restart_max;        /* on-failure:N; 0 = no limit */
  int stop_signal;        /* what `sandbox stop` sends first (default SIGTERM) */
  long timeout_s;         /* --timeout: killed this many seconds after each start (0: never) */
  int preserve_base, preserve_n; /* --preserve-fds: our fds BASE.. become the command's 3.. */
  long health_interval_ms; /* --health-check: start health_runner this often while the command runs */
  char **health_runner;
  const char *attach_socket; /* where attachers connect while the sandbox runs (attach.c) */
  int keep_stdin;         /* the command's stdin stays open for attachers (run -d -i) */
  const char *attach_to;  /* attach: the socket of the sandbox to attach to */
  int no_stdin, sig_proxy; /* attach: output only; pass our signals on */
  const char *detach_keys; /* attach, or a foreground -it run: the bytes that detach, in hex */
  int detach_on_signal;   /* run --sig-proxy=false: SIGINT, SIGTERM, SIGHUP detach a foreground run */
  const char *cgroups[MAX_CGROUPS]; /* --cgroup: the sandbox's cgroups (cgroup.c) */
  int n_cgroups;
  const char *oom_file;   /* --oom-file: created when the OOM killer struck in a run */
  int owner_lifeline;     /* --owner-lifeline: the starter's lifeline (lifeline.c); -1 without */
  const char *owner_marker; /* created when the starter is gone, before the sandbox is ended */
  char **argv;
};

extern struct launch_plan plan;

void parse_args(int argc, char **argv);
char **read_args_fd(int fd, int *argc_out);
char **read_args_env(int *argc_out);
char **decode_words(const char *v, const char *first, int *count_out);

/* ---------- the network (network.c) ----------
 * One driver per `--network` word; each hook may be NULL (network.c says when each runs). */
struct network_driver {
  const char *name;
  int clone_flags;            /* CLONE_NEWNET: the init gets a network namespace of its own */
  int exec_enters;            /* exec joins the sandbox's network namespace */
  void (*start)(pid_t init);  /* monitor, after the id maps; the init waits for MSG_NETWORK */
  void (*finish)(int proc);   /* init, inside, with the sandbox's /proc still writable */
  void (*stop)(void);         /* monitor, when this run of the sandbox has ended */
  int own_ports;              /* it forwards the plan's --publish ports itself (pasta: the monitor only checks them, ports_check_free(), before the clone); else launch/ports.c does */
};

const struct network_driver *network_driver(const char *name);
/* nested.c: the id modes' nested user namespace */
int nested_userns(void);
pid_t clone_nested(unsigned long flags, void (*write_outer_maps)(pid_t));
int enter_intermediate_namespaces(void);
void nested_cleanup(void (*write_outer_maps)(pid_t));
void nested_init_paths(void);
void rm_rf_at(int parent, const char *name); /* init.c */
void fuse_mapping_options(char *opts, size_t cap);
pid_t clone_joined(unsigned long flags); /* --network-join: the init in another sandbox's user and network namespaces */

/* ---------- network helpers: die with the monitor, found by their pid files (net-helpers.c) ---------- */
pid_t net_helper_fork(const char *name);
void net_helper_die_with_monitor(void);
void net_helper_reaped(const char *name);
void net_helper_end(pid_t pid, const char *name, int grace_ms);

/* ---------- small utilities: signals, the status fd, terminals (util.c) ---------- */

int write_all(int fd, const void *buf, size_t len);
void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *host_path(const char *p);
void block_all_signals(sigset_t *old);
void install_noop_handlers(void);
void reset_signals(void);
int exit_code_of(int wstatus);
unsigned long long process_start_time(pid_t pid);
int read_signal(int sfd, struct signalfd_siginfo *si);
void reap(pid_t child, int *code, int *done);
int open_pty_master(void);
extern struct termios saved_termios;
extern int termios_saved;
void restore_terminal(void);
void copy_winsize(int master);
int pump(int from, int to);
int forwardable(int sig);
extern struct timespec terminal_sig_at[_NSIG];
int recent(const struct timespec *t);

/* ---------- mount operations, init side (mounts.c) ---------- */

char *fd_path(int fd);
void run_ops(int rootfd);

/* ---------- init (init.c) ---------- */

void __attribute__((noreturn)) run_init(int sock);
void new_session_keyring(void);
void release_reservation(int dirfd, const char *name, int parent, const char *sandbox);

/* ---------- the command (command.c) ---------- */

extern int log_out_w, log_err_w;
pid_t start_command(int pty_master, char *why, size_t size);

/* ---------- resource limits of the command, --rlimit (rlimits.c) ---------- */

void rlimit_add(const char *name, const char *soft, const char *hard);
void apply_rlimits(void);
/* --oom-score-adj: kept with the plan, written to /proc/self/oom_score_adj by the init and the exec helper (their commands inherit it) */
void oom_score_adj_set(const char *value);
void apply_oom_score_adj(void);
/* ---------- the command's seccomp filter (seccomp.c) ---------- */

void seccomp_prepare(void);
void seccomp_apply(void);

/* ---------- the log (logs.c) ---------- */

struct log_stream {
  int fd;
  int tee_fd; /* with --log-tee: where the output goes as it comes, before the log */
  const char *name;
  char buf[16384];
  size_t len;
};

extern int log_fd;
void log_open(void);
int log_pump(struct log_stream *s);

/* ---------- monitor (monitor.c) ---------- */

extern int stop_requested;
extern int restart_count;
int run_once(int sfd);
void write_exit_file(int code);
void append_event(const char *action, int exit_code);
void claim_monitor(void);
void release_monitor(void);

/* ---------- the periodic health check, monitor side (health.c) ---------- */

void health_arm(void);
int health_poll_timeout(int timeout_ms);
void health_tick(void);
void health_reap(void);
void health_disarm(void);
/* ---------- attach (attach.c) ---------- */

extern int attach_stdin_r;
void attach_before_clone(void);
void attach_in_init(void);
void attach_after_clone(void);
int attach_poll_size(void);
void attach_poll_add(struct pollfd *p, int *n);
void attach_poll_handle(const struct pollfd *p, int master, pid_t init);
void attach_output(int stream, const char *buf, size_t len);
int attach_pump(int from, int to);
void attach_end(int code);
int run_attach(int sfd);
void detach_foreground(void);
int foreground_input(int master);

/* ---------- the sandbox's cgroups (cgroup.c) ---------- */

int cgroup_join_self(void);
void cgroup_join_or_die(void);
pid_t clone_in_cgroups(unsigned long flags);
long cgroup_clone(unsigned long flags);
int cgroup_exec_prepare(pid_t target);
pid_t cgroup_fork(void);
int cgroup_frozen(void);
extern int cgroup_move_pending; /* clone_in_cgroups moves the init after its clone */
void cgroup_move_done(int sock);
void cgroup_init_moved(void);
pid_t clone_from_child(unsigned long flags, int (*prepare)(void *), void *arg); /* util.c */
void cgroup_run_begins(void);
void cgroup_run_ended(void);
void cgroup_remove_all(void);

/* ---------- exec (exec.c) ---------- */

int run_exec(int sfd);

#endif

/* ---------- the starter's lifeline, monitor side (lifeline.c) ---------- */

void lifeline_prepare(void);
void lifeline_poll_add(struct pollfd *p, int *n, int *index);
int lifeline_check(const struct pollfd *p, int index);
void lifeline_close(void);
