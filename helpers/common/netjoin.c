/* Joining a sandbox to a user-defined network, and leaving it (netjoin.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netjoin.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

int net_sockaddr(const char *dir, int dirfd, const char *name, struct sockaddr_un *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  int n = snprintf(sa->sun_path, sizeof sa->sun_path, "%s/%s", dir, name);
  if (n > 0 && (size_t)n < sizeof sa->sun_path) return 0;
  n = snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  return n > 0 && (size_t)n < sizeof sa->sun_path ? 0 : -1;
}

/* "a.b.c.d/len" into an address and a netmask (network byte order). */
static int parse_cidr(const char *s, struct in_addr *addr, struct in_addr *mask) {
  char buf[32];
  const char *slash = strchr(s, '/');
  if (!slash || (size_t)(slash - s) >= sizeof buf) return -1;
  memcpy(buf, s, (size_t)(slash - s));
  buf[slash - s] = 0;
  int len = atoi(slash + 1);
  if (len < 1 || len > 30 || inet_pton(AF_INET, buf, addr) != 1) return -1;
  mask->s_addr = htonl(0xffffffffu << (32 - len));
  return 0;
}

/* In the child, inside the sandbox's namespaces: the tap device, its address, up. */
static int make_tap(const char *dev, const char *cidr, char *err, size_t errlen) {
  struct in_addr addr, mask;
  if (parse_cidr(cidr, &addr, &mask) < 0) return fail(err, errlen, "internal: bad network address %s", cidr);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) return fail(err, errlen, "cannot create the network device %s: %s", dev, strerror(errno));
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail(err, errlen, "socket: %s", strerror(errno));
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  memset(&ifr.ifr_addr, 0, sizeof ifr.ifr_addr);
  sin->sin_family = AF_INET;
  sin->sin_addr = addr;
  if (ioctl(s, SIOCSIFADDR, &ifr) < 0) return fail(err, errlen, "cannot set the address of %s: %s", dev, strerror(errno));
  sin->sin_addr = mask;
  if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) return fail(err, errlen, "cannot set the netmask of %s: %s", dev, strerror(errno));
  /* A MAC made of the address (0a:58:IP, Kubernetes' convention), the same at every
   * start: the other members' neighbour caches stay right across a restart. */
  memset(&ifr.ifr_hwaddr, 0, sizeof ifr.ifr_hwaddr);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  unsigned char *mac = (unsigned char *)ifr.ifr_hwaddr.sa_data;
  mac[0] = 0x0a; mac[1] = 0x58;
  memcpy(mac + 2, &addr.s_addr, 4);
  if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0) return fail(err, errlen, "cannot set the MAC address of %s: %s", dev, strerror(errno));
  /* slirp4netns' MTU: a frame is one read and one write per member it goes to, so
   * large frames make the switch cheap (iperf3 between two members here: ~6 Gbit/s, against
   * ~0.4 Gbit/s with an MTU of 1500). */
  ifr.ifr_mtu = NET_MTU;
  if (ioctl(s, SIOCSIFMTU, &ifr) < 0) return fail(err, errlen, "cannot set the MTU of %s: %s", dev, strerror(errno));
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return fail(err, errlen, "cannot read %s: %s", dev, strerror(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) return fail(err, errlen, "cannot bring up %s: %s", dev, strerror(errno));
  close(s);
  return fd;
}

static int send_fds(int sock, const char *text, const int *fds, int nfds) {
  struct iovec iov = { (void *)text, strlen(text) };
  char cbuf[CMSG_SPACE(sizeof(int) * 2)];
  memset(cbuf, 0, sizeof cbuf);
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (nfds > 0) {
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
  }
  return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* The tap device, made in a child that enters NS_PID's user then network namespace (as
 * slirp4netns does) and sends it back over a socket pair. */
static int tap_in_sandbox(pid_t ns_pid, const char *dev, const char *cidr, char *err, size_t errlen) {
  int nsfd[2] = { -1, -1 };
  const char *names[2] = { "user", "net" };
  for (int i = 0; i < 2; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)ns_pid, names[i]);
    nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd[i] < 0) {
      int e = errno;
      if (i) close(nsfd[0]);
      return fail(err, errlen, "cannot reach the sandbox's namespaces (%s): %s", path, strerror(e));
    }
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return fail(err, errlen, "socketpair: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) return fail(err, errlen, "fork: %s", strerror(errno));
  if (child == 0) {
    close(sv[0]);
    char why[512] = "";
    int fd = -1;
    if (setns(nsfd[0], CLONE_NEWUSER) < 0) snprintf(why, sizeof why, "cannot enter the sandbox's user namespace: %s", strerror(errno));
    else if (setns(nsfd[1], CLONE_NEWNET) < 0) snprintf(why, sizeof why, "cannot enter the sandbox's network namespace: %s", strerror(errno));
    else fd = make_tap(dev, cidr, why, sizeof why);
    if (fd >= 0) send_fds(sv[1], "ok", &fd, 1);
    else send_fds(sv[1], why, NULL, 0);
    _exit(0);
  }
  close(sv[1]);
  close(nsfd[0]);
  close(nsfd[1]);
  char text[512];
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = { text, sizeof text - 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  ssize_t n;
  while ((n = recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  close(sv[0]);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
  if (n <= 0) return fail(err, errlen, "the network device could not be made in the sandbox");
  text[n] = 0;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  if (!c || c->cmsg_type != SCM_RIGHTS) return fail(err, errlen, "%s", text);
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* A request to the switch of DIR and its reply (into reply). -2: no switch listens. */
static int ask_switch(const char *dir, int dirfd, const char *text, const int *fds, int nfds, char *reply, size_t replylen) {
  struct sockaddr_un sa;
  if (net_sockaddr(dir, dirfd, "sock", &sa) < 0) { errno = ENAMETOOLONG; return -1; }
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(s);
    errno = e;
    return e == ENOENT || e == ECONNREFUSED ? -2 : -1;
  }
  struct timeval tv = { 10, 0 };
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (send_fds(s, text, fds, nfds) < 0) { int e = errno; close(s); errno = e; return -1; }
  ssize_t n;
  while ((n = recv(s, reply, replylen - 1, 0)) < 0 && errno == EINTR) {}
  int e = errno;
  close(s);
  if (n <= 0) { errno = n == 0 ? EPIPE : e; return -1; }
  reply[n] = 0;
  return 0;
}

/* Starts `SWITCH_CMD serve DIR READY-FD` in a session of its own, reparented away from
 * us (a double fork), and waits until it listens. */
static int start_switch(const char *switch_cmd, const char *dir, char *err, size_t errlen) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) return fail(err, errlen, "pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) return fail(err, errlen, "fork: %s", strerror(errno));
  if (child == 0) {
    setsid();
    if (fork() != 0) _exit(0);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    int rfd = dup(ready[1]); /* without O_CLOEXEC */
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2);
    char fdbuf[16];
    snprintf(fdbuf, sizeof fdbuf, "%d", rfd);
    execl(switch_cmd, "sandbox-netswitch", "serve", dir, fdbuf, (char *)NULL);
    _exit(127);
  }
  close(ready[1]);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
  char c;
  ssize_t n;
  while ((n = read(ready[0], &c, 1)) < 0 && errno == EINTR) {}
  close(ready[0]);
  if (n != 1) return fail(err, errlen, "the network's switch (%s) did not start", switch_cmd);
  return 0;
}

/* DIR and its parent (the runtime directory's networks/), private. */
static int make_dir(const char *dir, char *err, size_t errlen) {
  char parent[4096];
  snprintf(parent, sizeof parent, "%s", dir);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    if (mkdir(parent, 0700) < 0 && errno != EEXIST) return fail(err, errlen, "cannot create %s: %s", parent, strerror(errno));
  }
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) return fail(err, errlen, "cannot create %s: %s", dir, strerror(errno));
  return 0;
}

/* DIR/lock, locked. A switch that goes away removes the file (and DIR) while it holds
 * it: a lock taken on a file no longer at that path is let go and taken afresh. */
static int lock_dir(const char *dir, char *err, size_t errlen) {
  char path[4200];
  snprintf(path, sizeof path, "%s/lock", dir);
  for (int attempt = 0; attempt < 100; attempt++) {
    if (make_dir(dir, err, errlen) < 0) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == ENOENT) continue; /* DIR went meanwhile */
      return fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
    }
    while (flock(fd, LOCK_EX) < 0 && errno == EINTR) {}
    struct stat held, now;
    if (fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_ino == now.st_ino && held.st_dev == now.st_dev) return fd;
    close(fd);
  }
  return fail(err, errlen, "cannot lock %s", path);
}

int net_join(const char *dir, const char *switch_cmd, pid_t ns_pid, pid_t life_pid,
             const char *addr, const char *dev, char *err, size_t errlen) {
  int pidfd = (int)syscall(SYS_pidfd_open, life_pid, 0);
  if (pidfd < 0) return fail(err, errlen, "cannot watch the sandbox's process %d: %s", (int)life_pid, strerror(errno));
  int tap = tap_in_sandbox(ns_pid, dev, addr, err, errlen);
  if (tap < 0) { close(pidfd); return -1; }
  int rc = -1, dirfd = -1;
  int lock = lock_dir(dir, err, errlen);
  if (lock < 0) goto out;
  dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) { fail(err, errlen, "cannot open %s: %s", dir, strerror(errno)); goto out; }
  char text[64], reply[256];
  snprintf(text, sizeof text, "%c %s", NETSW_JOIN, addr);
  int fds[2] = { tap, pidfd };
  int r = ask_switch(dir, dirfd, text, fds, 2, reply, sizeof reply);
  if (r == -2) {
    if (start_switch(switch_cmd, dir, err, errlen) < 0) goto out;
    r = ask_switch(dir, dirfd, text, fds, 2, reply, sizeof reply);
  }
  if (r < 0) { fail(err, errlen, "cannot reach the network's switch in %s: %s", dir, strerror(errno)); goto out; }
  if (strcmp(reply, "ok")) { fail(err, errlen, "the network's switch refused: %s", reply); goto out; }
  rc = 0;
out:
  if (lock >= 0) close(lock); /* releases the lock */
  if (dirfd >= 0) close(dirfd);
  close(tap); /* the switch holds it now: the device lives as long as the member */
  close(pidfd);
  return rc;
}

int net_leave(const char *dir, const char *addr, char *err, size_t errlen) {
  int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return errno == ENOENT ? 0 : fail(err, errlen, "cannot open %s: %s", dir, strerror(errno));
  char text[64], reply[256];
  snprintf(text, sizeof text, "%c %s", NETSW_LEAVE, addr);
  int r = ask_switch(dir, dirfd, text, NULL, 0, reply, sizeof reply);
  close(dirfd);
  if (r == -2) return 0;
  if (r < 0) return fail(err, errlen, "cannot reach the network's switch in %s: %s", dir, strerror(errno));
  return 0;
}
