/* sandbox-launch: the plan, from the arguments (see helpers/README.md). */
#include "launch.h"

/* ---------- the plan ---------- */

struct launch_plan plan = { .status_fd = -1, .stop_signal = SIGTERM, .owner_lifeline = -1 };


/* What helpers/README.md shows (test/unit/protocol.test.ts compares them). */
static void usage(void) {
  static const struct protocol_flag flags[] = { LAUNCH_FLAGS(PROTOCOL_FLAG_ENTRY) };
  msg("usage: sandbox-launch [PLAN OPTIONS] -- COMMAND [ARG...]\n"
      "       sandbox-launch " ARGS_FD " FD | " ARGS_ENV "\n"
      "This is an internal helper of `sandbox`; its options are a launch plan made by\n"
      "src/runtime/plan.ts and may change between versions. Run `sandbox run` instead.\n"
      "Plan options:");
  msg_flags(flags, sizeof flags / sizeof flags[0]);
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

void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
#define ARG() next_arg(&i, argc, argv)
    if (!strcmp(o, "--")) { plan.argv = &argv[i + 1]; break; }
    else if (!strcmp(o, FLAG_UIDMAP_CMD)) plan.uidmap_cmd = ARG();
    else if (!strcmp(o, FLAG_GIDMAP_CMD)) plan.gidmap_cmd = ARG();
    else if (!strcmp(o, FLAG_UID_MAP)) { if (plan.n_uid_maps >= MAX_MAPS) die("internal: too many maps"); plan.uid_maps[plan.n_uid_maps++] = ARG(); }
    else if (!strcmp(o, FLAG_GID_MAP)) { if (plan.n_gid_maps >= MAX_MAPS) die("internal: too many maps"); plan.gid_maps[plan.n_gid_maps++] = ARG(); }
    else if (!strcmp(o, FLAG_USERNS_ONLY)) plan.userns_only = 1;
    else if (!strcmp(o, FLAG_INNER_UID_MAP)) { if (plan.n_inner_uid_maps >= MAX_MAPS) die("internal: too many maps"); plan.inner_uid_maps[plan.n_inner_uid_maps++] = ARG(); }
    else if (!strcmp(o, FLAG_INNER_GID_MAP)) { if (plan.n_inner_gid_maps >= MAX_MAPS) die("internal: too many maps"); plan.inner_gid_maps[plan.n_inner_gid_maps++] = ARG(); }
    else if (!strcmp(o, FLAG_NETWORK)) plan.network = network_driver(ARG());
    else if (!strcmp(o, FLAG_NETWORK_CMD)) plan.network_cmd = ARG();
    else if (!strcmp(o, FLAG_NETWORK_JOIN)) plan.network_join = atoi(ARG());
    else if (!strcmp(o, FLAG_JOIN_NS)) {
      const char *ns = ARG();
      if (!strcmp(ns, "uts")) plan.join_ns |= CLONE_NEWUTS;
      else if (!strcmp(ns, "ipc")) plan.join_ns |= CLONE_NEWIPC;
      else die("internal: --join-ns %s: uts or ipc", ns);
    }
    else if (!strcmp(o, FLAG_NET_LOG)) plan.net_log = ARG();
    else if (!strcmp(o, FLAG_NETWORK_ARG)) { if (plan.n_network_args >= MAX_NETWORK_ARGS) die("internal: too many --network-arg"); plan.network_args[plan.n_network_args++] = ARG(); }
    else if (!strcmp(o, FLAG_NET_JOIN)) {
      if (plan.n_net_joins >= MAX_NET_JOINS) die("too many networks (at most %d)", MAX_NET_JOINS);
      const char *d = ARG(), *a = ARG();
      plan.net_joins[plan.n_net_joins++] = (struct net_join_plan){ d, a, ARG() };
    }
    else if (!strcmp(o, FLAG_NET_SWITCH_CMD)) plan.net_switch_cmd = ARG();
    else if (!strcmp(o, FLAG_CGROUP)) { if (plan.n_cgroups >= MAX_CGROUPS) die("internal: too many --cgroup"); plan.cgroups[plan.n_cgroups++] = ARG(); }
    else if (!strcmp(o, FLAG_OOM_FILE)) plan.oom_file = ARG();
    else if (!strcmp(o, FLAG_NET_HELPERS)) { plan.net_helpers_dir = ARG(); plan.net_owner = ARG(); }
    else if (!strcmp(o, FLAG_PUBLISH)) { const char *p = ARG(), *ip = ARG(), *hp = ARG(); ports_add(p, ip, hp, ARG()); }
    else if (!strcmp(o, FLAG_STATUS_FD)) plan.status_fd = atoi(ARG());
    else if (!strcmp(o, FLAG_DIE_WITH_PARENT)) plan.die_with_parent = atoi(ARG());
    else if (!strcmp(o, FLAG_OWNER_LIFELINE)) { plan.owner_lifeline = atoi(ARG()); plan.owner_marker = ARG(); }
    else if (!strcmp(o, FLAG_TTY)) plan.tty = 1;
    else if (!strcmp(o, FLAG_STDIN)) plan.stdin_open = 1;
    else if (!strcmp(o, FLAG_CLEANUP)) plan.cleanup = ARG();
    else if (!strcmp(o, FLAG_HOSTNAME)) plan.hostname = ARG();
    else if (!strcmp(o, FLAG_ROOT_OVERLAY)) { plan.root_lowers = ARG(); plan.root_upper = ARG(); plan.root_work = ARG(); }
    else if (!strcmp(o, FLAG_ROOT_BASE)) plan.root_base = ARG();
    else if (!strcmp(o, FLAG_ROOT_FUSE)) { plan.fuse_overlayfs = ARG(); plan.fuse_merged = ARG(); }
    else if (!strcmp(o, FLAG_BIND)) { const char *s = ARG(); add_op(OP_BIND, s, ARG(), NULL, NULL); }
    else if (!strcmp(o, FLAG_RO_BIND)) { const char *s = ARG(); add_op(OP_RO_BIND, s, ARG(), NULL, NULL); }
    else if (!strcmp(o, FLAG_BIND_NONREC)) { const char *s = ARG(); add_op(OP_BIND_NONREC, s, ARG(), NULL, NULL); }
    else if (!strcmp(o, FLAG_PROPAGATION)) { const char *d = ARG(); add_op(OP_PROPAGATION, d, ARG(), NULL, NULL); }
    else if (!strcmp(o, FLAG_TMPFS)) { const char *d = ARG(); add_op(OP_TMPFS, d, ARG(), NULL, NULL); }
    else if (!strcmp(o, FLAG_PROC)) add_op(OP_PROC, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, FLAG_DEV)) add_op(OP_DEV, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, FLAG_SYS)) add_op(OP_SYS, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, FLAG_SYS_RW)) add_op(OP_SYS, ARG(), "rw", NULL, NULL);
    else if (!strcmp(o, FLAG_SYMLINK)) { const char *t = ARG(); add_op(OP_SYMLINK, t, ARG(), NULL, NULL); }
    else if (!strcmp(o, FLAG_HOST_DIR)) { const char *l = ARG(), *u = ARG(), *w = ARG(); add_op(OP_HOST_DIR, l, u, w, ARG()); }
    else if (!strcmp(o, FLAG_REMOUNT_RO)) add_op(OP_REMOUNT_RO, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, FLAG_MASK)) add_op(OP_MASK, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, FLAG_RO_SELF)) add_op(OP_RO_SELF, ARG(), NULL, NULL, NULL);
    else if (!strcmp(o, FLAG_CHDIR)) plan.cwd = ARG();
    else if (!strcmp(o, FLAG_CREATE_CWD)) plan.create_cwd = 1;
    else if (!strcmp(o, FLAG_USER)) plan.user = ARG();
    else if (!strcmp(o, FLAG_GROUP_ADD)) { if (plan.n_group_add >= MAX_GROUPS) die("too many --group-add groups (at most %d)", MAX_GROUPS); plan.group_add[plan.n_group_add++] = ARG(); }
    else if (!strcmp(o, FLAG_KEEP_GROUPS)) plan.keep_groups = 1;
    else if (!strcmp(o, FLAG_ENV)) { if (plan.n_env >= MAX_ENV - 2) die("too many environment variables"); plan.env[plan.n_env++] = ARG(); }
    else if (!strcmp(o, FLAG_CAPS)) plan.caps = ARG();
    else if (!strcmp(o, FLAG_NO_NEW_PRIVS)) plan.no_new_privs = 1;
    else if (!strcmp(o, FLAG_RLIMIT)) { const char *n = ARG(), *s = ARG(); rlimit_add(n, s, ARG()); }
    else if (!strcmp(o, FLAG_OOM_SCORE_ADJ)) oom_score_adj_set(ARG());
    else if (!strcmp(o, FLAG_SECCOMP)) { plan.seccomp_rules = ARG(); plan.seccomp_bpf = ARG(); plan.seccomp_cache = ARG(); }
    else if (!strcmp(o, FLAG_LOG)) plan.log_path = ARG();
    else if (!strcmp(o, FLAG_LOG_TEE)) plan.log_tee = 1;
    else if (!strcmp(o, FLAG_LOG_MAX_SIZE)) plan.log_max_size = atol(ARG());
    else if (!strcmp(o, FLAG_LOG_DROP_OLD)) plan.log_drop_old = 1;
    else if (!strcmp(o, FLAG_EXIT_FILE)) plan.exit_file = ARG();
    else if (!strcmp(o, FLAG_PID_FILE)) plan.pid_file = ARG();
    else if (!strcmp(o, FLAG_MONITOR_FILE)) plan.monitor_file = ARG();
    else if (!strcmp(o, FLAG_RELEASE_NAME)) { plan.release_name = ARG(); plan.release_id = ARG(); }
    else if (!strcmp(o, FLAG_TARGET)) plan.exec_target = atoi(ARG());
    else if (!strcmp(o, FLAG_EVENTS)) { plan.events_file = ARG(); plan.event_id = ARG(); plan.event_name = ARG(); }
    else if (!strcmp(o, FLAG_RESTART)) {
      const char *v = ARG();
      if (!strcmp(v, "no")) plan.restart = 0;
      else if (!strcmp(v, "always")) plan.restart = 2;
      else if (!strncmp(v, "on-failure", 10)) { plan.restart = 1; plan.restart_max = v[10] == ':' ? atoi(v + 11) : 0; }
      else die("internal: bad restart policy %s", v);
    }
    else if (!strcmp(o, FLAG_STOP_SIGNAL)) plan.stop_signal = atoi(ARG());
    else if (!strcmp(o, FLAG_TIMEOUT)) plan.timeout_s = atol(ARG());
    else if (!strcmp(o, FLAG_PRESERVE_FDS)) { plan.preserve_base = atoi(ARG()); plan.preserve_n = atoi(ARG()); }
    else if (!strcmp(o, FLAG_HEALTH_CHECK)) {
      plan.health_interval_ms = atol(ARG());
      int n;
      plan.health_runner = decode_words(ARG(), NULL, &n);
      if (n < 1 || plan.health_interval_ms <= 0) die("internal: bad %s", FLAG_HEALTH_CHECK);
    }
    else if (!strcmp(o, FLAG_ATTACH_SOCKET)) plan.attach_socket = ARG();
    else if (!strcmp(o, FLAG_KEEP_STDIN)) plan.keep_stdin = 1;
    else if (!strcmp(o, FLAG_ATTACH_TO)) plan.attach_to = ARG();
    else if (!strcmp(o, FLAG_NO_STDIN)) plan.no_stdin = 1;
    else if (!strcmp(o, FLAG_DETACH_KEYS)) plan.detach_keys = ARG();
    else if (!strcmp(o, FLAG_SIG_PROXY)) plan.sig_proxy = 1;
    else if (!strcmp(o, FLAG_DETACH_ON_SIGNAL)) plan.detach_on_signal = 1;
    else if (!strcmp(o, FLAG_HELP)) usage();
    else die("internal: unknown launch option %s", o);
#undef ARG
  }
  if (!plan.attach_to && (!plan.argv || !plan.argv[0])) die("no command to run");
  if (!plan.network) plan.network = network_driver(NULL);
}

/* `--args-fd N`: the plan as NUL-separated words on a descriptor, so that a long plan
 * neither hits argument limits nor fills every `ps` listing. */
char **read_args_fd(int fd, int *argc_out) {
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

/* Words encoded as LENGTH:WORD... (their length in bytes), as a NULL-terminated
 * vector, after `first` when it is not NULL; *count_out says how many. */
char **decode_words(const char *v, const char *first, int *count_out) {
  size_t len = strlen(v);
  char **av = calloc(len / 2 + 3, sizeof *av);
  if (!av) die("out of memory");
  int k = 0;
  if (first) av[k++] = (char *)first;
  for (const char *p = v; *p;) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(p, &end, 10);
    if (end == p || *end != ':' || errno || n > (size_t)(v + len - end - 1)) die("internal: bad LENGTH:WORD list");
    char *w = malloc(n + 1);
    if (!w) die("out of memory");
    memcpy(w, end + 1, n);
    w[n] = 0;
    av[k++] = w;
    p = end + 1 + n;
  }
  av[k] = NULL;
  *count_out = k;
  return av;
}

/* `--args-env`: the plan in the environment variable SANDBOX_LAUNCH_ARGS (PLAN_ENV), each word as
 * its length in bytes, a colon and the word, so that a short plan needs neither a pipe
 * nor arguments that every `ps` listing shows (an environment is its owner's only). */
char **read_args_env(int *argc_out) {
  const char *v = getenv(PLAN_ENV);
  if (!v) die("internal: " PLAN_ENV " is not set");
  char **av = decode_words(v, "sandbox-launch", argc_out);
  /* Read and copied: the plan is not for the processes we start (slirp4netns, fuse-overlayfs). */
  unsetenv(PLAN_ENV);
  return av;
}
