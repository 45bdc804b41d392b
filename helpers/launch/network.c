/* sandbox-launch: the network drivers, one per `--network` word of the plan.
 *
 * A driver is set up in the parent and finished in the child, in three hooks around the
 * init's clone (each may be NULL):
 *   start   monitor, once the init's id maps are written: what connects the namespace
 *           from outside (a user-mode network program); the monitor then sends
 *           MSG_NETWORK, and the init waits for it before it starts the command;
 *   finish  init, as root of the sandbox's namespaces, when it mounts the sandbox's
 *           /proc (a directory fd; /proc/sys is still writable): what the namespace
 *           needs from inside;
 *   stop    monitor, when this run of the sandbox has ended: undo what start began.
 * A new mode (a namespace to join) is a new row of the table below, named by
 * src/network/ (its launchDriver); its options come as plan words of its own. */
#include "launch.h"

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

/* The inside of a namespace of our own, whoever connects it. */
static void finish_own_namespace(int proc) {
  loopback_up();
  allow_ping(proc);
}

/* ---------- what slirp4netns and pasta share ---------- */

/* The program's argv: NAME, then `head`, then the plan's --network-arg words, then
 * `tail` (NULL-ended lists). Static: the child that uses it only execs. */
static char **program_argv(const char *name, const char *const *head, const char *const *tail) {
  static const char *argv[MAX_NETWORK_ARGS + 16];
  int n = 0;
  argv[n++] = name;
  for (; *head; head++) argv[n++] = *head;
  for (int i = 0; i < plan.n_network_args; i++) argv[n++] = plan.network_args[i];
  for (; *tail; tail++) argv[n++] = *tail;
  argv[n] = NULL;
  return (char **)argv;
}

/* In the program's child, before exec: its own session (the terminal's Ctrl-C is for the
 * sandbox, not for its network), no terminal, and its messages in --net-log. */
static void program_stdio(void) {
  reset_signals();
  setsid();
  int devnull = open("/dev/null", O_RDWR);
  int log = plan.net_log ? open(plan.net_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
  dup2(devnull, 0); dup2(devnull, 1); dup2(log >= 0 ? log : devnull, 2);
}

/* How long --net-log is now: what the program writes from here on is this run's. */
static off_t net_log_size(void) {
  struct stat st;
  return plan.net_log && stat(plan.net_log, &st) == 0 ? st.st_size : 0;
}

/* The program's first message of this run (from `from` in --net-log), for the error. */
static void first_message(off_t from, char *buf, size_t size) {
  buf[0] = 0;
  int fd = plan.net_log ? open(plan.net_log, O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0) return;
  ssize_t n = pread(fd, buf, size - 1, from);
  close(fd);
  if (n <= 0) { buf[0] = 0; return; }
  buf[n] = 0;
  char *nl = strchr(buf, '\n');
  if (nl) *nl = 0;
}

/* The program gave up before the network was up. If the init failed first (and said
 * why), that is the error, not the network; it may still be on its way out when the
 * program gives up on its namespaces: half a second. */
static void network_failed(pid_t init, const char *program, off_t log_from) {
  int st;
  for (int i = 0; i < 100; i++) {
    if (waitpid(init, &st, WNOHANG) == init) _exit(exit_code_of(st));
    usleep(5000);
  }
  kill(init, SIGKILL);
  char said[512];
  first_message(log_from, said, sizeof said);
  if (strstr(said, "tun") || !said[0])
    die_hint("it needs read-write access to /dev/net/tun (`sandbox doctor` checks it; a distribution sets it 0666); or use --network none|host",
             "%s could not set up the network of the sandbox%s%s", program, said[0] ? ": " : "", said);
  die_hint("check the --network options (its messages are in network.log of the sandbox's directory); or use --network none|host",
           "%s could not set up the network of the sandbox: %s", program, said);
}

/* ---------- slirp4netns ---------- */

/* Runs slirp4netns (--network-cmd) for the sandbox's network namespace and waits until
 * it is up. It exits when we do, twice over: its --exit-fd is a pipe whose write end only
 * we hold (the orderly way: it ends when the pipe closes), and as every network helper
 * (net-helpers.c) it gets SIGKILL when we die, whatever kills us. */
static pid_t slirp_pid = 0;
static int slirp_exit_fd = -1; /* closing it ends slirp4netns */
static void stop_slirp4netns(void);
static void start_slirp4netns(pid_t init) {
  int ready[2], ex[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  off_t log_from = net_log_size();
  pid_t child = net_helper_fork("slirp4netns");
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    int rfd = dup(ready[1]), efd = dup(ex[0]); /* without O_CLOEXEC */
    char pidbuf[32], rbuf[32], ebuf[32], userns[64];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)init);
    snprintf(rbuf, sizeof rbuf, "--ready-fd=%d", rfd);
    snprintf(ebuf, sizeof ebuf, "--exit-fd=%d", efd);
    snprintf(userns, sizeof userns, "--userns-path=/proc/%d/ns/user", (int)init);
    program_stdio();
    /* The plan's words are its options (src/network/slirp4netns.ts: mtu, host loopback, cidr...). */
    const char *head[] = { "--configure", rbuf, ebuf, userns, NULL }, *tail[] = { pidbuf, "tap0", NULL };
    execv(plan.network_cmd, program_argv("slirp4netns", head, tail));
    msg("sandbox: cannot run %s: %s", plan.network_cmd, strerror(errno));
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
    /* It gave up (or never ran): gone before we go, with its pid file. */
    kill(child, SIGKILL);
    stop_slirp4netns();
    network_failed(init, "slirp4netns", log_from);
  }
}

static void stop_slirp4netns(void) {
  if (slirp_exit_fd >= 0) { close(slirp_exit_fd); slirp_exit_fd = -1; }
  /* It ends within milliseconds once its exit fd closes; one that hangs is killed. */
  if (slirp_pid > 0) { net_helper_end(slirp_pid, "slirp4netns", 2000); slirp_pid = 0; }
}

/* ---------- pasta ---------- */

/* Runs pasta (--network-cmd) in the foreground on the init's user and network namespaces
 * (`pasta [OPTIONS] PID`, --config-net among the plan's words: src/network/pasta.ts) and
 * waits until the interface is configured. This pasta (Debian's 2023-03 one) has no
 * ready or exit fd, and with a PID target it does not end when the namespace goes away:
 *   - ready: its --pid file is a FIFO we read; pasta writes its pid there only after it
 *     has configured the namespace (it opens the file early, writes it at the end);
 *   - end: the stop hook sends it SIGTERM; if the monitor dies first, the kernel sends it
 *     SIGKILL (net_helper_fork's PR_SET_PDEATHSIG, kept across its exec and its joining
 *     of the sandbox's user namespace, a child of ours: the credentials do not change).
 * -f keeps it our child (no daemon to lose track of); -l /dev/null keeps it from
 * writing each message to a missing syslog too (its messages go to --net-log). */
static pid_t pasta_pid = 0;
static void stop_pasta(void);
static void start_pasta(pid_t init) {
  if (!plan.net_log) die("internal: pasta needs --net-log");
  char fifo[PATH_MAX];
  const char *slash = strrchr(plan.net_log, '/');
  snprintf(fifo, sizeof fifo, "%.*s/pasta.ready", slash ? (int)(slash - plan.net_log) : 1, slash ? plan.net_log : ".");
  unlink(fifo);
  if (mkfifo(fifo, 0600) < 0) die("cannot make %s: %s", fifo, strerror(errno));
  /* Ours open first (non-blocking), so that pasta's open for writing does not wait. */
  int rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (rd < 0) die("cannot open %s: %s", fifo, strerror(errno));
  off_t log_from = net_log_size();
  pid_t child = net_helper_fork("pasta");
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    char pidbuf[32];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)init);
    program_stdio();
    const char *head[] = { "-f", "-l", "/dev/null", "-P", fifo, NULL }, *tail[] = { pidbuf, NULL };
    execv(plan.network_cmd, program_argv("pasta", head, tail));
    msg("sandbox: cannot run %s: %s", plan.network_cmd, strerror(errno));
    _exit(127);
  }
  pasta_pid = child;
  /* Wait for its pid line; it failing (it exits) or the init failing ends the wait, and
   * so does a pasta that neither gets there nor gives up in 30 s. */
  char buf[32];
  size_t got = 0;
  int ready = 0;
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec >= 30) { stop_pasta(); break; }
    struct pollfd p = { rd, POLLIN, 0 };
    if (poll(&p, 1, 20) < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    ssize_t n = read(rd, buf + got, sizeof buf - 1 - got);
    if (n > 0) got += (size_t)n;
    if (got > 0 && (memchr(buf, '\n', got) || n == 0 || got == sizeof buf - 1)) { ready = 1; break; }
    if (waitpid(child, NULL, WNOHANG) == child) { net_helper_reaped("pasta"); pasta_pid = 0; break; }
    int st;
    if (waitpid(init, &st, WNOHANG) == init) { kill(child, SIGKILL); stop_pasta(); unlink(fifo); _exit(exit_code_of(st)); }
  }
  close(rd);
  unlink(fifo);
  if (!ready) network_failed(init, "pasta", log_from);
}

static void stop_pasta(void) {
  /* SIGTERM is its orderly end; one that hangs is killed (net-helpers.c). */
  if (pasta_pid > 0) { kill(pasta_pid, SIGTERM); net_helper_end(pasta_pid, "pasta", 2000); pasta_pid = 0; }
}

/* ---------- bridge: user-defined networks ---------- */

/* The sandbox's own namespace, connected to the outside as the default mode does
 * (slirp4netns, when the plan names it: not for --internal networks), plus one tap
 * device per user-defined network, handed to that network's switch (common/netjoin.c).
 * The switch drops the member when the init ends: nothing to stop here but slirp4netns. */
static void start_bridge(pid_t init) {
  if (plan.network_cmd) start_slirp4netns(init);
  for (int i = 0; i < plan.n_net_joins; i++) {
    const struct net_join_plan *j = &plan.net_joins[i];
    char err[1024];
    if (net_join(j->dir, plan.net_switch_cmd, init, init, j->addr, j->dev, err, sizeof err) < 0) {
      kill(init, SIGKILL);
      die_hint("`sandbox doctor` checks /dev/net/tun; `sandbox network inspect` shows the network",
               "cannot join the sandbox to its network: %s", err);
    }
  }
}

/* ---------- container: another sandbox's network namespace ---------- */

static const struct { const char *name; int type; } joined_nss[] = {
  { "user", CLONE_NEWUSER }, { "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
};
enum { N_JOINED = sizeof joined_nss / sizeof joined_nss[0] };

/* clone_from_child()'s preparation: the namespaces opened in fds[] (-1: not joined); the
 * init is then cloned in the sandbox's cgroups (cgroup.c cgroup_clone). */
static int join_namespaces(void *arg) {
  const int *fds = arg;
  for (int i = 0; i < N_JOINED; i++) if (fds[i] >= 0 && setns(fds[i], joined_nss[i].type) < 0) return -1;
  return 0;
}

/* `--network container:ID` and pod members (--network-join PID): the init is cloned
 * into the user and network namespaces of another sandbox's command PID, with no user
 * or network namespace of its own. A network namespace can only be joined with
 * CAP_SYS_ADMIN in the user namespace that owns it, so the sandbox shares that user
 * namespace (as Podman's containers share its one rootless namespace): its root keeps
 * CAP_NET_BIND_SERVICE and CAP_NET_RAW there (port 80, ping), the id maps are the
 * target's (already written), and a sysfs of the network can be mounted. A nested user
 * namespace below it would isolate more, but its root would hold no capability over the
 * shared network (ports below 1024 refused, no sysfs).
 *
 * The monitor itself stays in the host's namespaces (it later runs fuse-overlayfs,
 * health checks and the network's stop as the user): a short-lived child joins and
 * clones the init with CLONE_PARENT, so the init is still the monitor's child. Returns
 * 0 in the init, its pid in the monitor; dies (exit 125) when the target is gone.
 * A pod's members share the infra's uts and ipc namespaces too (--join-ns), as
 * Podman's pods share ipc, net and uts by default. */
pid_t clone_joined(unsigned long flags) {
  int fds[N_JOINED];
  unsigned long joined = 0;
  for (int i = 0; i < N_JOINED; i++) {
    fds[i] = -1;
    if (i >= 2 && !(plan.join_ns & joined_nss[i].type)) continue; /* user and net always; uts, ipc for --join-ns */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)plan.network_join, joined_nss[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0)
      die_hint("start it first (`sandbox start`), or see `sandbox ps -a`",
               "the sandbox whose network this one joins is not running (%s: %s)", path, strerror(errno));
    joined |= (unsigned long)joined_nss[i].type;
  }
  pid_t init = clone_from_child(flags & ~joined, join_namespaces, fds);
  int e = errno;
  for (int i = 0; i < N_JOINED; i++) if (fds[i] >= 0) close(fds[i]); /* here and in the init */
  if (init < 0)
    die_hint("the sandbox it joins may have just ended; `sandbox ps -a` shows it",
             "cannot join the network of the sandbox (process %d): %s", (int)plan.network_join, strerror(e));
  return init;
}

/* ---------- the table ---------- */

static const struct network_driver drivers[] = {
  /* The host's network namespace, shared; exec does not enter it (it belongs to the
   * host's user namespace, which is not ours to enter, nor needed). */
  { .name = "host", .clone_flags = 0, .exec_enters = 0 },
  /* A namespace of its own with only the loopback. */
  { .name = "none", .clone_flags = CLONE_NEWNET, .exec_enters = 1, .finish = finish_own_namespace },
  /* A namespace of its own, connected to the host's by slirp4netns. */
  { .name = "slirp4netns", .clone_flags = CLONE_NEWNET, .exec_enters = 1,
    .start = start_slirp4netns, .finish = finish_own_namespace, .stop = stop_slirp4netns },
  /* A namespace of its own, connected to the host's by pasta (which keeps the source
   * addresses of connections from the host, and forwards published ports itself). */
  { .name = "pasta", .clone_flags = CLONE_NEWNET, .exec_enters = 1, .own_ports = 1,
    .start = start_pasta, .finish = finish_own_namespace, .stop = stop_pasta },
  /* A namespace of its own on user-defined networks (and the outside unless internal). */
  { .name = "bridge", .clone_flags = CLONE_NEWNET, .exec_enters = 1,
    .start = start_bridge, .finish = finish_own_namespace, .stop = stop_slirp4netns },
  /* Another sandbox's namespace, joined (--network-join, clone_joined): its owner set it
   * up and keeps it connected; exec joins it too. */
  { .name = "container", .clone_flags = 0, .exec_enters = 1 },
};

/* The driver of `name` (`--network`); the host's network when the plan names none
 * (--userns-only, which clones no network namespace anyway). */
const struct network_driver *network_driver(const char *name) {
  if (!name) return &drivers[0];
  for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
    if (!strcmp(drivers[i].name, name)) return &drivers[i];
  die("internal: unknown network driver %s", name);
}
