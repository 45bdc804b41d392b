/*
 * sandbox-netswitch: the switch of one user-defined network (helpers/README.md, "User-
 * defined networks"). Each member sandbox keeps its own user and network namespaces and
 * has one tap device on the network; the switch holds the taps and passes Ethernet
 * frames between them as a learning switch does (a frame goes to the port its
 * destination was last seen on, else to every other port). It runs as the user, outside
 * every namespace, holds nothing of the host's, and lives exactly as long as its
 * members: it drops a member when that member's init ends (a pidfd per member; the tap
 * goes with it, and with the tap the device inside), and exits, removing its socket,
 * once the last member is gone.
 *
 *   sandbox-netswitch serve DIR READY-FD      (started by net_join, common/netjoin.c)
 *   sandbox-netswitch join DIR SWITCH ADDR DEV NS-PID LIFE-PID
 *   sandbox-netswitch leave DIR ADDR
 *   sandbox-netswitch list DIR
 * join, leave and list are for `sandbox network connect|disconnect|inspect` (a running
 * sandbox); a start of a member joins from its monitor (launch/network.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/netjoin.h"
#include "common/say.h"

const char say_prog[] = "sandbox";
int die_status = 125;

#define MAX_MEMBERS 512
#define FRAME_MAX (NET_MTU + 64)
#define MACS 1024

struct member {
  int tap, pidfd;
  char addr[40];
};

static struct member members[MAX_MEMBERS];
static int n_members;
static int ever_joined;

/* Where each source address was last seen: a small table, oldest entry overwritten. */
static struct { unsigned char mac[6]; int tap; } macs[MACS];
static int n_macs, next_mac;

static void forget_tap(int tap) {
  for (int i = 0; i < n_macs; i++) if (macs[i].tap == tap) macs[i].tap = -1;
}

static void learn(const unsigned char *mac, int tap) {
  if (mac[0] & 1) return;
  for (int i = 0; i < n_macs; i++) if (!memcmp(macs[i].mac, mac, 6)) { macs[i].tap = tap; return; }
  int i = n_macs < MACS ? n_macs++ : (next_mac++ % MACS);
  memcpy(macs[i].mac, mac, 6);
  macs[i].tap = tap;
}

static int port_of(const unsigned char *mac) {
  for (int i = 0; i < n_macs; i++) if (!memcmp(macs[i].mac, mac, 6)) return macs[i].tap;
  return -1;
}

static void drop_member(int i) {
  forget_tap(members[i].tap);
  close(members[i].tap);
  close(members[i].pidfd);
  members[i] = members[--n_members];
}

static int find_member(const char *addr) {
  for (int i = 0; i < n_members; i++) if (!strcmp(members[i].addr, addr)) return i;
  return -1;
}

/* One frame from `from`: to the port its destination was seen on, else flooded. */
static void forward(int from, unsigned char *buf, ssize_t len) {
  if (len < 14) return;
  learn(buf + 6, from);
  int to = (buf[0] & 1) ? -1 : port_of(buf);
  for (int i = 0; i < n_members; i++) {
    int t = members[i].tap;
    if (t == from || (to >= 0 && t != to)) continue;
    if (write(t, buf, (size_t)len) < 0) { /* full or gone: a dropped frame, as on a wire */ }
  }
}

/* One request on a new connection (netjoin.h: NETSW_*), answered on it. */
static void serve_request(int s) {
  char text[128];
  char cbuf[CMSG_SPACE(sizeof(int) * 2)];
  struct iovec iov = { text, sizeof text - 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  struct pollfd p = { s, POLLIN, 0 };
  if (poll(&p, 1, 2000) != 1) return;
  ssize_t n = recvmsg(s, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n <= 0) return;
  text[n] = 0;
  int fds[2] = { -1, -1 }, nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    if (nfds > 2) nfds = 2;
    memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)nfds);
  }
  const char *reply = "ok";
  char list[MAX_MEMBERS * 20 + 1];
  char *addr = n > 2 ? text + 2 : text + n;
  char *slash = strchr(addr, '/');
  if (slash) *slash = 0; /* members are known by their address alone */
  if (text[0] == NETSW_JOIN && nfds == 2 && *addr && strlen(addr) < sizeof members[0].addr) {
    int old = find_member(addr);
    if (old >= 0) drop_member(old); /* the same address again: a restart's new namespace */
    if (n_members >= MAX_MEMBERS) reply = "too many members";
    else {
      fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
      members[n_members] = (struct member){ fds[0], fds[1], "" };
      snprintf(members[n_members].addr, sizeof members[0].addr, "%s", addr);
      n_members++;
      ever_joined = 1;
      fds[0] = fds[1] = -1;
    }
  } else if (text[0] == NETSW_LEAVE && *addr) {
    int i = find_member(addr);
    if (i >= 0) drop_member(i); else reply = "no such member";
  } else if (text[0] == NETSW_LIST) {
    size_t used = 0;
    list[0] = 0;
    for (int i = 0; i < n_members; i++) used += (size_t)snprintf(list + used, sizeof list - used, "%s\n", members[i].addr);
    reply = list;
  } else {
    reply = "bad request";
  }
  for (int i = 0; i < nfds; i++) if (fds[i] >= 0) close(fds[i]);
  if (send(s, reply, strlen(reply) ? strlen(reply) : 1, MSG_NOSIGNAL) < 0) { /* the asker is gone */ }
}

static int serve(const char *dir, int ready) {
  signal(SIGPIPE, SIG_IGN);
  if (chdir("/") < 0) { /* harmless */ }
  int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("cannot open %s: %s", dir, strerror(errno));
  char lockpath[4200];
  snprintf(lockpath, sizeof lockpath, "%s/lock", dir);
  int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) die("cannot open %s: %s", lockpath, strerror(errno));
  struct sockaddr_un sa;
  if (net_sockaddr(dir, dirfd, "sock", &sa) < 0) die("%s: path too long", dir);
  unlinkat(dirfd, "sock", 0); /* a switch that was killed left it */
  int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 64) < 0)
    die("cannot listen in %s: %s", dir, strerror(errno));
  if (write(ready, "r", 1) != 1) die("cannot report ready");
  close(ready);
  struct timespec born;
  clock_gettime(CLOCK_MONOTONIC, &born);
  static unsigned char buf[FRAME_MAX];
  for (;;) {
    if (n_members == 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      /* Empty, and not just started (its first member is on its way): go, unless a
       * joiner holds the lock (it is about to connect; we come back to it). */
      if ((ever_joined || now.tv_sec - born.tv_sec >= 10) && flock(lock, LOCK_EX | LOCK_NB) == 0) {
        /* Nothing stays behind: the socket, the lock (a joiner that waited on it sees it
         * is no longer there and makes a new one) and the directory. */
        unlinkat(dirfd, "sock", 0);
        unlinkat(dirfd, "lock", 0);
        rmdir(dir);
        return 0;
      }
    }
    struct pollfd p[1 + 2 * MAX_MEMBERS];
    int n = 0;
    p[n++] = (struct pollfd){ ls, POLLIN, 0 };
    for (int i = 0; i < n_members; i++) {
      p[n++] = (struct pollfd){ members[i].tap, POLLIN, 0 };
      p[n++] = (struct pollfd){ members[i].pidfd, POLLIN, 0 };
    }
    int count = n_members;
    if (poll(p, (nfds_t)n, n_members ? -1 : 100) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    /* Members first (by their descriptors: a request may reorder the table). */
    for (int k = 0; k < count; k++) {
      int tap = p[1 + 2 * k].fd;
      if (p[1 + 2 * k].revents & POLLIN) {
        for (int burst = 0; burst < 64; burst++) {
          ssize_t len = read(tap, buf, sizeof buf);
          if (len <= 0) break;
          forward(tap, buf, len);
        }
      }
    }
    for (int k = 0; k < count; k++) {
      if (!p[2 + 2 * k].revents && !(p[1 + 2 * k].revents & (POLLERR | POLLHUP))) continue;
      /* Its init ended (or its device went): drop it. */
      for (int i = 0; i < n_members; i++) if (members[i].tap == p[1 + 2 * k].fd) { drop_member(i); break; }
    }
    if (p[0].revents & POLLIN) {
      int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
      if (s >= 0) { serve_request(s); close(s); }
    }
  }
}

int main(int argc, char **argv) {
  char err[1024];
  if (argc == 4 && !strcmp(argv[1], "serve")) return serve(argv[2], atoi(argv[3]));
  if (argc == 8 && !strcmp(argv[1], "join")) {
    if (net_join(argv[2], argv[3], (pid_t)atoi(argv[6]), (pid_t)atoi(argv[7]), argv[4], argv[5], err, sizeof err) < 0) die("%s", err);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "leave")) {
    if (net_leave(argv[2], argv[3], err, sizeof err) < 0) die("%s", err);
    return 0;
  }
  msg("usage: sandbox-netswitch serve DIR READY-FD | join DIR SWITCH ADDR DEV NS-PID LIFE-PID | leave DIR ADDR");
  return 2;
}
