/*
 * The protocol between the TypeScript side and the helpers, in one place: each item
 * here has its twin in src/runtime/protocol.ts and its description in helpers/README.md
 * (test/unit/protocol.test.ts holds the three together).
 *
 *   the plan vocabulary   the options of sandbox-launch and sandbox-cp: one table, so
 *                         that an option both take means the same in both;
 *   the status lines      JSON, one per line, on sandbox-launch's --status-fd;
 *   the monitor's signals what `sandbox stop` / `kill` send to a sandbox's monitor;
 *   the exit statuses     of sandbox-launch (the command's own otherwise);
 *   the message tags      one byte at the head of each message between the init and
 *                         the monitor (a socket pair; both ends are C).
 */
#ifndef SANDBOX_PROTOCOL_H
#define SANDBOX_PROTOCOL_H

/* ---------- exit statuses (docker's) ---------- */
#define EXIT_SETUP 125       /* the sandbox could not be set up */
#define EXIT_TIMED_OUT 255   /* --timeout ended the sandbox (Podman's status for it) */
#define EXIT_CANNOT_EXEC 126 /* the command cannot be executed */
#define EXIT_NOT_FOUND 127   /* the command was not found */

/* ---------- the monitor's signals ----------
 * Sent to the monitor by `sandbox stop` / `kill`: no more restarts; then the stop
 * signal, or SIGKILL, to the current init. Never forwarded into the sandbox. */
#define SIG_STOP_REQUEST 40
#define SIG_KILL_REQUEST 41
/* SIG_KILL_REQUEST sent to an exec (--target) helper: kill the command and its session. */

/* ---------- status lines (--status-fd) ----------
 * The init's pid first (again at each restart), `started` once the command runs (never
 * when setup failed), the exit status last: "setup failed" and "the command exited N"
 * never blur. */
#define STATUS_PID "{\"pid\":%d}"
#define STATUS_STARTED "{\"started\":true}"
#define STATUS_EXIT_CODE "{\"exit_code\":%d}"
#define STATUS_DETACHED "{\"detached\":true}" /* a foreground run goes on in the background: nothing more on this fd */

/* ---------- the plan's transport ----------
 * `sandbox-launch --args-fd FD`: the plan as NUL-terminated words on FD.
 * `sandbox-launch --args-env`: the plan in PLAN_ENV, each word as LENGTH:WORD. */
#define ARGS_FD "--args-fd"
#define ARGS_ENV "--args-env"
#define PLAN_ENV "SANDBOX_LAUNCH_ARGS"

/* ---------- init <-> monitor message tags ---------- */
#define MSG_GO 'G'           /* M->I: the id maps are written: become root, build the root */
#define MSG_NETWORK 'N'      /* M->I: the network driver's program is up (the command may start) */
#define MSG_CGROUP 'C'       /* M->I: the init was moved into the sandbox's cgroups (the command may start) */
#define MSG_FUSE 'F'         /* I->M: the mount point is ready: start fuse-overlayfs */
#define MSG_FUSE_STARTED 'f' /* M->I: fuse-overlayfs started (the init waits for its mount) */
#define MSG_TERMINAL 'T'     /* I->M: the terminal's master side, as SCM_RIGHTS */
#define MSG_STARTED 'S'      /* I->M: the command runs */
#define MSG_EXEC_FAILED 'E'  /* I->M: the command could not be started; the text says why */

/* ---------- attach messages (--attach-socket, --attach-to) ----------
 * One byte at the head of each message on a sandbox's attach socket (SOCK_SEQPACKET);
 * both ends are sandbox-launch (launch/attach.c). */
#define ATTACH_STDOUT '1'    /* M->A: output of the sandbox (its terminal, or its stdout) */
#define ATTACH_STDERR '2'    /* M->A: its stderr */
#define ATTACH_EXIT 'x'      /* M->A: the run ended with the status in the text; the last message */
#define ATTACH_INPUT 'i'     /* A->M: input for the sandbox (-i) */
#define ATTACH_EOF 'e'       /* A->M: the attacher's input ended (without a terminal: so does the command's) */
#define ATTACH_RESIZE 'w'    /* A->M: the attacher's terminal size, a struct winsize */
#define ATTACH_SIGNAL 's'    /* A->M: deliver the signal numbered in the text (--sig-proxy) */

/* ---------- the plan vocabulary ----------
 * X(ID, OPTION, ARGUMENTS, MEANING): FLAG_ID is the option's name; ARGUMENTS name the
 * words that follow it, in order (their count is its arity). Groups taken by both
 * helpers come first; LAUNCH_FLAGS and CP_FLAGS are what each accepts. */
#define IDMAP_FLAGS(X) \
  X(UIDMAP_CMD, "--uidmap-cmd", "PATH", "newuidmap, to write the uid map (with --gidmap-cmd; without both: your own ids only)") \
  X(GIDMAP_CMD, "--gidmap-cmd", "PATH", "newgidmap, to write the gid map") \
  X(UID_MAP, "--uid-map", "'INSIDE OUTSIDE COUNT'", "one line of the uid map (repeated)") \
  X(GID_MAP, "--gid-map", "'INSIDE OUTSIDE COUNT'", "one line of the gid map (repeated)")

#define TARGET_FLAGS(X) \
  X(TARGET, "--target", "PID", "enter the running sandbox whose command is PID instead of making one")

#define ROOT_FLAGS(X) \
  X(ROOT_OVERLAY, "--root-overlay", "LOWERS UPPER WORK", "the root: an overlay of LOWERS (colon-separated, topmost first) with UPPER and WORK") \
  X(ROOT_BASE, "--root-base", "DIR", "LOWERS that are not absolute are relative to DIR") \
  X(HOST_DIR, "--host-dir", "LOWER UPPER WORK DEST", "the host directory LOWER at DEST: an overlay with UPPER and WORK, else read-only") \
  X(SYMLINK, "--symlink", "TARGET DEST", "a symlink at DEST pointing to TARGET")

#define LAUNCH_ONLY_FLAGS(X) \
  X(USERNS_ONLY, "--userns-only", "", "only a user (and mount) namespace with the id maps: run COMMAND there as root") \
  X(INNER_UID_MAP, "--inner-uid-map", "'INSIDE OUTSIDE COUNT'", "the sandbox's own uid map, nested below the one of --uid-map (OUTSIDE: an id there; repeated)") \
  X(INNER_GID_MAP, "--inner-gid-map", "'INSIDE OUTSIDE COUNT'", "the sandbox's own gid map, the same way") \
  X(STATUS_FD, "--status-fd", "FD", "write the status lines on FD") \
  X(DIE_WITH_PARENT, "--die-with-parent", "PID", "end the sandbox when PID (the CLI, our parent) dies") \
  X(OWNER_LIFELINE, "--owner-lifeline", "FD MARKER", "end the sandbox when the other end of FD (a pipe or socket its starter holds) closes; first create MARKER (the next command removes it)") \
  X(NETWORK, "--network", "DRIVER", "the network (launch/network.c): none (loopback only), host (the host's; the default), slirp4netns, pasta, bridge (user-defined networks) or container (another's, joined)") \
  X(NETWORK_CMD, "--network-cmd", "PATH", "the program the network driver runs (slirp4netns, pasta)") \
  X(NETWORK_JOIN, "--network-join", "PID", "with --network container: share the user and network namespaces of PID (another sandbox's command)") \
  X(JOIN_NS, "--join-ns", "NS", "with --network-join: share its NS namespace too (uts or ipc; repeated): a pod's members") \
  X(NET_LOG, "--net-log", "FILE", "where the network's program and fuse-overlayfs write their messages") \
  X(NETWORK_ARG, "--network-arg", "ARG", "one more argument for the --network-cmd program (its options, in order)") \
  X(NET_JOIN, "--net-join", "DIR ADDR DEV", "bridge: join the user-defined network whose runtime directory is DIR as device DEV with ADDR (a.b.c.d/len; repeated)") \
  X(NET_SWITCH_CMD, "--net-switch-cmd", "PATH", "bridge: sandbox-netswitch, started for a network none of whose members runs") \
  X(NET_HELPERS, "--net-helpers", "DIR OWNER", "network helpers get SANDBOX_NET_OWNER=OWNER and, while they run, DIR/OWNER.NAME.pid") \
  X(PUBLISH, "--publish", "PROTO HOSTIP HOSTPORT PORT", "publish PORT (tcp or udp) of the sandbox on the host's HOSTIP ('': all) at HOSTPORT (repeated; launch/ports.c)") \
  X(TTY, "--tty", "", "a terminal for the command") \
  X(STDIN, "--stdin", "", "with --tty: pass our stdin to the terminal") \
  X(CLEANUP, "--cleanup", "DIR", "remove DIR (the sandbox's directory) when the sandbox ends") \
  X(RELEASE_NAME, "--release-name", "FILE ID", "with --cleanup: then remove the name reservation FILE if it holds ID") \
  X(HOSTNAME, "--hostname", "NAME", "the sandbox's hostname") \
  X(ROOT_FUSE, "--root-fuse", "PATH MERGED", "mount the --root-overlay with fuse-overlayfs at PATH on MERGED") \
  X(BIND, "--bind", "SRC DEST", "bind the host path SRC at DEST") \
  X(RO_BIND, "--ro-bind", "SRC DEST", "the same, read-only") \
  X(BIND_NONREC, "--bind-nonrec", "SRC DEST", "bind SRC at DEST without the mounts below SRC") \
  X(PROPAGATION, "--propagation", "DEST TYPE", "the propagation of the mount at DEST: [r]shared, [r]slave, [r]private, [r]unbindable") \
  X(TMPFS, "--tmpfs", "DEST OPTIONS", "a tmpfs at DEST (mount options, comma-separated; tmpcopyup: what DEST held is copied in)") \
  X(PROC, "--proc", "DEST", "a new /proc at DEST") \
  X(DEV, "--dev", "DEST", "a minimal /dev at DEST (null, zero, full, random, urandom, tty, pts, shm, mqueue)") \
  X(SYS, "--sys", "DEST", "/sys at DEST (read-only)") \
  X(SYS_RW, "--sys-rw", "DEST", "/sys at DEST, writable where the sandbox's own namespaces allow (--privileged)") \
  X(REMOUNT_RO, "--remount-ro", "DEST", "make the mount at DEST read-only") \
  X(MASK, "--mask", "DEST", "hide DEST (an empty read-only tmpfs, or /dev/null)") \
  X(RO_SELF, "--ro-self", "DEST", "make DEST a read-only view of itself") \
  X(CHDIR, "--chdir", "DIR", "the command's working directory") \
  X(CREATE_CWD, "--create-cwd", "", "create the working directory when missing") \
  X(USER, "--user", "USER[:GROUP]", "run the command as USER (a name of the image's /etc/passwd, or a number)") \
  X(GROUP_ADD, "--group-add", "GROUP", "a supplementary group of the command (a number, or a name of the image's /etc/group; repeated)") \
  X(KEEP_GROUPS, "--keep-groups", "", "the command keeps the caller's supplementary groups (no setgroups)") \
  X(ENV, "--env", "NAME=VALUE", "the command's environment, one variable (repeated)") \
  X(CAPS, "--caps", "N,N,...", "the capabilities the command keeps, by number") \
  X(NO_NEW_PRIVS, "--no-new-privs", "", "no_new_privs for the command") \
  X(RLIMIT, "--rlimit", "NAME SOFT HARD", "setrlimit for the command (and exec'd ones): NAME as --ulimit spells it (nofile, nproc...); -1: the caller's hard limit (repeated)") \
  X(OOM_SCORE_ADJ, "--oom-score-adj", "N", "the command's (and exec'd ones') /proc/self/oom_score_adj, -1000..1000") \
  X(SECCOMP, "--seccomp", "RULES BPF CACHE", "filter the command's system calls with BPF (the sandbox's; when missing: compiled from the RULES file, or linked from CACHE-VERSIONS.bpf, launch/seccomp.c)") \
  X(LOG, "--log", "FILE", "write the command's output to FILE (CRI log format)") \
  X(LOG_TEE, "--log-tee", "", "with --log: pass the output on to our stdout and stderr too") \
  X(LOG_MAX_SIZE, "--log-max-size", "BYTES", "with --log: move the log to FILE.1 past BYTES (0: no limit)") \
  X(LOG_DROP_OLD, "--log-drop-old", "", "with --log-max-size: past BYTES start the log afresh, keeping no FILE.1") \
  X(EXIT_FILE, "--exit-file", "FILE", "write {\"exitCode\":N,\"finishedAt\":TIME} to FILE at the end (with --die-with-parent: only once detached)") \
  X(PID_FILE, "--pid-file", "FILE", "write the current init's pid to FILE at every (re)start") \
  X(CGROUP, "--cgroup", "DIR", "join the cgroup DIR before anything runs (the init; exec: the command); the monitor removes DIR at the end (repeated: one per v1 controller)") \
  X(OOM_FILE, "--oom-file", "FILE", "with --cgroup: create FILE when the OOM killer killed in the sandbox's cgroup during a run (removed at each start)") \
  X(MONITOR_FILE, "--monitor-file", "FILE", "lock FILE's directory and write 'PID STARTTIME' to FILE before anything else") \
  X(EVENTS, "--events", "FILE ID NAME", "append die and restart events of sandbox ID (NAME) to FILE") \
  X(RESTART, "--restart", "POLICY", "no, always, on-failure or on-failure:N") \
  X(STOP_SIGNAL, "--stop-signal", "N", "what a stop request sends first (default 15)") \
  X(PRESERVE_FDS, "--preserve-fds", "BASE N", "the command gets our fds BASE..BASE+N-1 as its fds 3..3+N-1 (run --preserve-fds)") \
  X(TIMEOUT, "--timeout", "S", "kill the sandbox S seconds after each start (as a kill request); it then ends with 255, as Podman's --timeout") \
  X(HEALTH_CHECK, "--health-check", "MS RUNNER", "while the command runs, start RUNNER (words as LENGTH:WORD) every MS ms, one at a time") \
  X(ATTACH_SOCKET, "--attach-socket", "PATH", "listen on the unix socket PATH for attachers (`sandbox attach`) while the sandbox runs") \
  X(KEEP_STDIN, "--keep-stdin", "", "the command's stdin stays open for attachers: the terminal's (with --tty), else a pipe we hold") \
  X(ATTACH_TO, "--attach-to", "PATH", "instead of a sandbox: attach our stdin, stdout and stderr to the one listening on PATH") \
  X(NO_STDIN, "--no-stdin", "", "with --attach-to: output only (our stdin is not passed on)") \
  X(DETACH_KEYS, "--detach-keys", "HEX", "these bytes (hex) typed in a row detach: the attacher (--attach-to), or a foreground sandbox (--stdin) goes on in the background") \
  X(SIG_PROXY, "--sig-proxy", "", "with --attach-to, without --tty: pass the signals we get on to the sandbox") \
  X(DETACH_ON_SIGNAL, "--detach-on-signal", "", "with --die-with-parent: SIGINT, SIGTERM and SIGHUP detach the sandbox instead of reaching it") \
  X(HELP, "--help", "", "print this and exit")

#define CP_ONLY_FLAGS(X) \
  X(MOUNTPOINT, "--mountpoint", "DIR", "a stopped sandbox: mount its root (--root-overlay, or --host-dir and --symlink) on DIR")

#define LAUNCH_FLAGS(X) IDMAP_FLAGS(X) TARGET_FLAGS(X) ROOT_FLAGS(X) LAUNCH_ONLY_FLAGS(X)
#define CP_FLAGS(X) TARGET_FLAGS(X) CP_ONLY_FLAGS(X) ROOT_FLAGS(X) IDMAP_FLAGS(X)

#define PROTOCOL_FLAG_NAME(id, option, args, meaning) static const char FLAG_##id[] __attribute__((unused)) = option;
LAUNCH_FLAGS(PROTOCOL_FLAG_NAME)
CP_ONLY_FLAGS(PROTOCOL_FLAG_NAME)
#undef PROTOCOL_FLAG_NAME

/* One option as --help prints it. */
struct protocol_flag { const char *option, *args, *meaning; };
#define PROTOCOL_FLAG_ENTRY(id, option, args, meaning) { option, args, meaning },

#endif
