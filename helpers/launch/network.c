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
 * A new mode (pasta, a namespace to join) is a new row of the table below, named by
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

/* ---------- slirp4netns ---------- */

/* Runs slirp4netns (--network-cmd) for the sandbox's network namespace and waits until
 * it is up. It exits when we do: its --exit-fd is a pipe whose write end only we hold. */
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
    execl(plan.network_cmd, "slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
          rbuf, ebuf, userns, pidbuf, "tap0", (char *)NULL);
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

static void stop_slirp4netns(void) {
  if (slirp_exit_fd >= 0) { close(slirp_exit_fd); slirp_exit_fd = -1; }
  if (slirp_pid > 0) { waitpid(slirp_pid, NULL, 0); slirp_pid = 0; }
}

/* ---------- container: another sandbox's network namespace ---------- */

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
  static const struct { const char *name; int type; } nss[] = {
    { "user", CLONE_NEWUSER }, { "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
  };
  enum { N = sizeof nss / sizeof nss[0] };
  int fds[N];
  unsigned long joined = 0;
  for (int i = 0; i < N; i++) {
    fds[i] = -1;
    if (i >= 2 && !(plan.join_ns & nss[i].type)) continue; /* user and net always; uts, ipc for --join-ns */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)plan.network_join, nss[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0)
      die_hint("start it first (`sandbox start`), or see `sandbox ps -a`",
               "the sandbox whose network this one joins is not running (%s: %s)", path, strerror(errno));
    joined |= (unsigned long)nss[i].type;
  }
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    close(pfd[0]);
    long r = 0;
    for (int i = 0; i < N && r == 0; i++) if (fds[i] >= 0 && setns(fds[i], nss[i].type) < 0) r = -1;
    if (r == 0) r = syscall(SYS_clone, (flags & ~joined) | CLONE_PARENT, NULL, NULL, NULL, NULL);
    if (r == 0) { /* the init */
      close(pfd[1]);
      for (int i = 0; i < N; i++) if (fds[i] >= 0) close(fds[i]);
      return 0;
    }
    int msg[2] = { (int)r, r < 0 ? errno : 0 };
    ssize_t unused = write(pfd[1], msg, sizeof msg);
    (void)unused;
    _exit(0);
  }
  close(pfd[1]);
  for (int i = 0; i < N; i++) if (fds[i] >= 0) close(fds[i]);
  int msg[2] = { -1, EIO };
  ssize_t n;
  while ((n = read(pfd[0], msg, sizeof msg)) < 0 && errno == EINTR) {}
  close(pfd[0]);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
  if (n != (ssize_t)sizeof msg || msg[0] <= 0)
    die_hint("the sandbox it joins may have just ended; `sandbox ps -a` shows it",
             "cannot join the network of the sandbox (process %d): %s", (int)plan.network_join, strerror(msg[1] ? msg[1] : EIO));
  return (pid_t)msg[0];
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
