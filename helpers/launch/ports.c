/* sandbox-launch: published ports (ports.h says what and when).
 *
 * The forwarder is one process, forked by the monitor for each run of the sandbox: the
 * host sockets were bound by the monitor (in the host's network namespace: a socket keeps
 * the namespace it was made in), the forwarder joins the sandbox's user namespace (as
 * its owner we may) and then its network namespace, so that every socket it makes from
 * then on is the sandbox's. One epoll loop: a TCP connection is accepted on the host,
 * connected to 127.0.0.1:PORT inside (::1 when nothing listens on 127.0.0.1), and its two
 * directions are spliced through a pipe each (no copy through user space), a half-close
 * passed on as a shutdown; a UDP datagram goes out of a socket inside per source address
 * (its replies come back to that address), dropped after a minute without traffic. It
 * dies with the monitor (PR_SET_PDEATHSIG, and the end of a pipe only the monitor holds)
 * and is killed when the run ends; a restart binds and forks afresh. */
#include "launch.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>

static struct port_map *maps;
static int n_maps;

void ports_add(const char *proto, const char *host_ip, const char *host_port, const char *container_port) {
  int hp = atoi(host_port), cp = atoi(container_port);
  if ((strcmp(proto, "tcp") && strcmp(proto, "udp")) || hp < 1 || hp > 65535 || cp < 1 || cp > 65535)
    die("internal: bad %s %s %s %s %s", FLAG_PUBLISH, proto, host_ip, host_port, container_port);
  struct port_map *more = realloc(maps, sizeof *maps * (size_t)(n_maps + 1));
  if (!more) die("out of memory");
  maps = more;
  maps[n_maps++] = (struct port_map){ .udp = !strcmp(proto, "udp"), .host_ip = host_ip, .host_port = hp, .container_port = cp };
}

/* ---------- the bind check ---------- */

/* The inode of the socket in the host's /proc/net tables bound to `port` (listening, for
 * tcp), and the uid it belongs to; 0 when there is none. */
static unsigned long socket_on_port(int udp, int port, unsigned *uid) {
  static const char *const tables[2][2] = { { "/proc/net/tcp", "/proc/net/tcp6" }, { "/proc/net/udp", "/proc/net/udp6" } };
  for (int t = 0; t < 2; t++) {
    FILE *f = fopen(tables[udp][t], "re");
    if (!f) continue;
    char line[512];
    unsigned long found = 0;
    while (!found && fgets(line, sizeof line, f)) {
      unsigned lport, state, u;
      unsigned long inode;
      if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %u %*d %lu", &lport, &state, &u, &inode) != 4) continue;
      /* tcp: LISTEN (0A); udp: an unconnected socket shows as 07. */
      if ((int)lport == port && state == (udp ? 0x07u : 0x0Au) && inode) { found = inode; *uid = u; }
    }
    fclose(f);
    if (found) return found;
  }
  return 0;
}

/* The process (among those we may look into: our own) holding socket `inode`: its pid
 * and command name, or 0. */
static pid_t socket_holder(unsigned long inode, char *comm, size_t size) {
  char want[64];
  snprintf(want, sizeof want, "socket:[%lu]", inode);
  DIR *proc = opendir("/proc");
  if (!proc) return 0;
  pid_t found = 0;
  struct dirent *e;
  while (!found && (e = readdir(proc))) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%s/fd", e->d_name);
    DIR *fds = opendir(path);
    if (!fds) continue; /* another user's, or gone */
    struct dirent *d;
    while (!found && (d = readdir(fds))) {
      char link[PATH_MAX], target[64];
      snprintf(link, sizeof link, "/proc/%s/fd/%s", e->d_name, d->d_name);
      ssize_t n = readlink(link, target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = 0;
      if (!strcmp(target, want)) found = (pid_t)atoi(e->d_name);
    }
    closedir(fds);
  }
  closedir(proc);
  if (found) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)found);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, comm, size - 1) : -1;
    if (fd >= 0) close(fd);
    if (n <= 0) snprintf(comm, size, "?");
    else { comm[n] = 0; comm[strcspn(comm, "\n")] = 0; }
  }
  return found;
}

static const char *proto_name(const struct port_map *m) { return m->udp ? "udp" : "tcp"; }

/* "0.0.0.0:8080", "[::1]:8080": the host side of `m`, as Podman prints it. */
static void host_side(const struct port_map *m, char *out, size_t size) {
  if (!*m->host_ip) snprintf(out, size, "0.0.0.0:%d", m->host_port);
  else if (strchr(m->host_ip, ':')) snprintf(out, size, "[%s]:%d", m->host_ip, m->host_port);
  else snprintf(out, size, "%s:%d", m->host_ip, m->host_port);
}

static void __attribute__((noreturn)) port_taken(const struct port_map *m) {
  char where[80], holder[160] = "";
  host_side(m, where, sizeof where);
  unsigned uid = 0;
  unsigned long inode = socket_on_port(m->udp, m->host_port, &uid);
  if (inode) {
    char comm[32];
    pid_t pid = socket_holder(inode, comm, sizeof comm);
    if (pid) snprintf(holder, sizeof holder, ": %s (pid %d) holds it", comm, (int)pid);
    else if (uid != getuid()) snprintf(holder, sizeof holder, ": a process of uid %u holds it", uid);
    else snprintf(holder, sizeof holder, ": a process of yours in another namespace holds it");
  }
  die_hint("publish it on another host port (-p OTHERPORT:CONTAINERPORT, or -p CONTAINERPORT for a free one), or stop what holds it",
           "port %d/%s is already in use on the host (%s)%s", m->host_port, proto_name(m), where, holder);
}

int port_bind(const struct port_map *m) {
  union { struct sockaddr_in v4; struct sockaddr_in6 v6; } a;
  memset(&a, 0, sizeof a);
  int family, v6only = 1;
  if (!*m->host_ip) { family = AF_INET6; v6only = 0; a.v6.sin6_addr = in6addr_any; }
  else if (strchr(m->host_ip, ':')) { family = AF_INET6; if (inet_pton(AF_INET6, m->host_ip, &a.v6.sin6_addr) != 1) die("invalid host address %s", m->host_ip); }
  else { family = AF_INET; if (inet_pton(AF_INET, m->host_ip, &a.v4.sin_addr) != 1) die("invalid host address %s", m->host_ip); }
  int type = (m->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  int fd = socket(family, type, 0);
  if (fd < 0 && !*m->host_ip && errno == EAFNOSUPPORT) {
    /* A host without IPv6: every IPv4 address. */
    family = AF_INET;
    a.v4.sin_addr.s_addr = htonl(INADDR_ANY);
    fd = socket(family, type, 0);
  }
  if (fd < 0) die("cannot make a socket for port %d/%s: %s", m->host_port, proto_name(m), strerror(errno));
  int one = 1;
  if (!m->udp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* a restart rebinds over TIME_WAIT */
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  socklen_t len;
  if (family == AF_INET6) { a.v6.sin6_family = AF_INET6; a.v6.sin6_port = htons((uint16_t)m->host_port); len = sizeof a.v6; }
  else { a.v4.sin_family = AF_INET; a.v4.sin_port = htons((uint16_t)m->host_port); len = sizeof a.v4; }
  if (bind(fd, (struct sockaddr *)&a, len) < 0) {
    int e = errno;
    close(fd);
    if (e == EADDRINUSE) port_taken(m);
    if (e == EACCES) {
      /* Below net.ipv4.ip_unprivileged_port_start (1024 unless lowered) only root may bind. */
      char start[16] = "1024";
      int fd = open("/proc/sys/net/ipv4/ip_unprivileged_port_start", O_RDONLY | O_CLOEXEC);
      ssize_t n = fd >= 0 ? read(fd, start, sizeof start - 1) : -1;
      if (fd >= 0) close(fd);
      if (n > 0) { start[n] = 0; start[strcspn(start, "\n")] = 0; }
      char hint[200];
      snprintf(hint, sizeof hint, "publish on a host port from %s up (-p %d:%d), or let users bind it: sysctl -w net.ipv4.ip_unprivileged_port_start=%d (as root)",
               start, m->host_port + 8000, m->container_port, m->host_port);
      die_hint(hint, "cannot publish port %d/%s: host ports below %s are for root only here (net.ipv4.ip_unprivileged_port_start)", m->host_port, proto_name(m), start);
    }
    if (e == EADDRNOTAVAIL)
      die_hint("give an address of one of the host's interfaces, or none for every one", "cannot publish port %d/%s on %s: not an address of this host", m->host_port, proto_name(m), m->host_ip);
    die("cannot publish port %d/%s: %s", m->host_port, proto_name(m), strerror(e));
  }
  if (!m->udp && listen(fd, SOMAXCONN) < 0) {
    int e = errno;
    close(fd);
    if (e == EADDRINUSE) port_taken(m);
    die("cannot listen on port %d/%s: %s", m->host_port, proto_name(m), strerror(e));
  }
  return fd;
}

void ports_check_free(void) {
  for (int i = 0; i < n_maps; i++) close(port_bind(&maps[i]));
}

/* ---------- the monitor's side ---------- */

static int *host_fds;       /* one per map, bound by ports_bind_all */
static pid_t forwarder = 0;
static int forwarder_alive = -1; /* the monitor's end of a pipe: its end ends the forwarder */

void ports_bind_all(void) {
  if (!n_maps) return;
  if (!host_fds && !(host_fds = malloc(sizeof *host_fds * (size_t)n_maps))) die("out of memory");
  /* Every socket a range needs: the soft limit of open files may be too low for them. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
  for (int i = 0; i < n_maps; i++) host_fds[i] = port_bind(&maps[i]);
}

static void close_host_fds(void) {
  for (int i = 0; host_fds && i < n_maps; i++) if (host_fds[i] >= 0) { close(host_fds[i]); host_fds[i] = -1; }
}

void ports_close_inherited(void) { close_host_fds(); }

static void __attribute__((noreturn)) forward(int userns, int netns, int ready, int alive);

void ports_start(pid_t pid) {
  if (!n_maps) return;
  /* Opened here, by the monitor, while the init still waits for its id maps: once it is
   * root inside it is no longer dumpable, and only root could open them. */
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
  int userns = open(path, O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
  int netns = open(path, O_RDONLY | O_CLOEXEC);
  if (userns < 0 || netns < 0) { kill(pid, SIGKILL); die("cannot open the namespaces of the sandbox for its published ports: %s", strerror(errno)); }
  int ready[2], alive[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(alive, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t child = net_helper_fork("ports"); /* dies with the monitor, recorded (net-helpers.c) */
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    close(ready[0]);
    close(alive[1]);
    forward(userns, netns, ready[1], alive[0]);
  }
  forwarder = child;
  close(userns);
  close(netns);
  close(ready[1]);
  close(alive[0]);
  forwarder_alive = alive[1];
  close_host_fds(); /* the forwarder's now */
  /* Ready, or why not (one line, from the forwarder). */
  char why[512];
  size_t got = 0;
  ssize_t n;
  while (got < sizeof why - 1 && ((n = read(ready[0], why + got, sizeof why - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0) got += (size_t)n;
  close(ready[0]);
  why[got] = 0;
  if (got == 1 && why[0] == 'R') return;
  kill(pid, SIGKILL);
  ports_stop();
  die("cannot forward the published ports into the sandbox: %s", got ? why : "the forwarder ended");
}

void ports_stop(void) {
  if (forwarder_alive >= 0) { close(forwarder_alive); forwarder_alive = -1; }
  if (forwarder > 0) { kill(forwarder, SIGKILL); while (waitpid(forwarder, NULL, 0) < 0 && errno == EINTR) {} net_helper_reaped("ports"); forwarder = 0; }
  close_host_fds();
}

/* ---------- the forwarder ---------- */

#define PIPE_SIZE (1 << 20)       /* each direction's pipe: fewer, larger splices (iperf3 went from 3-5 to 5-7 Gbit/s here) */
#define BIG_PIPE_CONNS 8          /* only this many connections at once get them: pipes count against the
                                   * user's pipe-user-pages-soft (64 MiB), past which every new pipe of the
                                   * user, ours or not, is cut to two pages */
#define UDP_IDLE_MS 60000         /* a UDP flow without traffic this long is dropped */
#define MAX_UDP_FLOWS 4096

enum kind { K_LISTEN, K_UDP_HOST, K_CONN, K_FLOW, K_ALIVE };

struct conn;
struct end { enum kind kind; struct conn *c; int side; }; /* epoll's data: what an event is about */

/* A TCP connection: side 0 the host's client, side 1 the socket inside. Direction d
 * carries what side d reads to side 1-d, through pipe[d]. */
struct conn {
  int fd[2];
  int pipe[2][2];
  size_t queued[2];
  int eof[2];            /* side d has nothing more to read */
  int shut[2];           /* direction d is over: side 1-d was shut for writing */
  size_t cap;            /* what each pipe holds (F_SETPIPE_SZ may have been refused) */
  int connecting;        /* side 1 is connecting */
  int tried_v6;
  const struct port_map *map;
  struct end ends[2];
  int dead;              /* ended: its descriptors are closed, it is freed after this batch of events */
  struct conn *next_dead;
};

struct flow {
  int fd;                /* inside, connected to the container port */
  int host;              /* the host socket its datagrams came to */
  union { struct sockaddr_in6 v6; struct sockaddr_in v4; struct sockaddr sa; } peer;
  socklen_t peer_len;
  struct timespec last;
  struct end end;
  struct flow *next;
};

static int ep;
static struct flow *flows;
static int n_flows;
static size_t pipe_size = 65536;
static int n_conns;

static long ms_since(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void watch(int fd, uint32_t events, struct end *e, int op) {
  struct epoll_event ev = { .events = events, .data.ptr = e };
  epoll_ctl(ep, op, fd, &ev);
}

/* A socket inside, connecting to 127.0.0.1 (or ::1) at the map's container port. */
static int connect_inside(const struct port_map *m, int v6, int type) {
  int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int r;
  if (v6) {
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)m->container_port), .sin6_addr = in6addr_loopback };
    r = connect(fd, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)m->container_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    r = connect(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (r < 0 && errno != EINPROGRESS) { close(fd); return -1; }
  return fd;
}

static struct conn *dead;

static void conn_free(struct conn *c, int reset) {
  for (int s = 0; s < 2; s++) {
    if (c->fd[s] >= 0) {
      if (reset) { struct linger l = { 1, 0 }; setsockopt(c->fd[s], SOL_SOCKET, SO_LINGER, &l, sizeof l); }
      close(c->fd[s]);
    }
    for (int k = 0; k < 2; k++) if (c->pipe[s][k] >= 0) close(c->pipe[s][k]);
  }
  n_conns--;
  c->dead = 1;
  c->next_dead = dead;
  dead = c;
}

/* Moves what it can in direction d; returns -1 when the connection is to be reset. */
static int pump_dir(struct conn *c, int d) {
  int from = c->fd[d], to = c->fd[1 - d];
  for (;;) {
    int moved = 0;
    if (!c->eof[d] && c->queued[d] < c->cap) {
      ssize_t n = splice(from, NULL, c->pipe[d][1], NULL, c->cap - c->queued[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) { c->queued[d] += (size_t)n; moved = 1; }
      else if (n == 0) c->eof[d] = 1;
      else if (errno != EAGAIN && errno != EINTR) return -1;
    }
    if (c->queued[d] > 0) {
      ssize_t n = splice(c->pipe[d][0], NULL, to, NULL, c->queued[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) { c->queued[d] -= (size_t)n; moved = 1; }
      else if (n < 0 && errno != EAGAIN && errno != EINTR) return -1;
    }
    if (!moved) break;
  }
  if (c->eof[d] && !c->queued[d] && !c->shut[d]) { shutdown(to, SHUT_WR); c->shut[d] = 1; }
  return 0;
}

/* Both sides of a connection are watched edge-triggered for both directions, once: any
 * event pumps both directions as far as they go (until EAGAIN, or a full pipe that only
 * an edge of the writing side can empty), so no event is lost and no epoll_ctl is paid
 * per event. The client's data that comes while the inside connects waits in its socket. */
#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

static void conn_event(struct conn *c, int side, uint32_t events) {
  if (side == 0 && c->connecting) {
    if (events & (EPOLLHUP | EPOLLERR)) conn_free(c, 1); /* the client gave up first */
    return;
  }
  if (side == 1 && c->connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == ECONNREFUSED && !c->tried_v6) {
      /* Nothing on 127.0.0.1: a service listening on ::1 only. */
      int fd = connect_inside(c->map, 1, SOCK_STREAM);
      if (fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd[1], NULL);
        close(c->fd[1]);
        c->fd[1] = fd;
        c->tried_v6 = 1;
        watch(fd, CONN_EVENTS, &c->ends[1], EPOLL_CTL_ADD);
        return;
      }
    }
    if (err) { conn_free(c, 1); return; } /* the client sees a reset, as from a closed port */
    c->connecting = 0;
    int one = 1;
    setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (pump_dir(c, 0) < 0 || pump_dir(c, 1) < 0) { conn_free(c, 1); return; }
  if (c->shut[0] && c->shut[1]) conn_free(c, 0);
}

static void tcp_accept(int lfd, const struct port_map *m) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN, or a client gone already */
    struct conn *c = calloc(1, sizeof *c);
    if (!c) { close(fd); return; }
    n_conns++;
    c->fd[0] = fd;
    c->fd[1] = connect_inside(m, 0, SOCK_STREAM);
    c->map = m;
    c->connecting = 1;
    c->pipe[0][0] = c->pipe[0][1] = c->pipe[1][0] = c->pipe[1][1] = -1;
    if (c->fd[1] < 0 || pipe2(c->pipe[0], O_NONBLOCK | O_CLOEXEC) < 0 || pipe2(c->pipe[1], O_NONBLOCK | O_CLOEXEC) < 0) { conn_free(c, 1); continue; }
    size_t want = n_conns <= BIG_PIPE_CONNS ? pipe_size : 65536;
    c->cap = want;
    for (int d = 0; d < 2; d++) {
      int got = want > 65536 ? fcntl(c->pipe[d][1], F_SETPIPE_SZ, (int)want) : 65536;
      if (got <= 0) got = fcntl(c->pipe[d][1], F_GETPIPE_SZ);
      if (got > 0 && (size_t)got < c->cap) c->cap = (size_t)got;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int s = 0; s < 2; s++) c->ends[s] = (struct end){ K_CONN, c, s };
    watch(c->fd[0], CONN_EVENTS, &c->ends[0], EPOLL_CTL_ADD);
    watch(c->fd[1], CONN_EVENTS, &c->ends[1], EPOLL_CTL_ADD);
  }
}

static void flow_free(struct flow *f) {
  struct flow **p = &flows;
  while (*p && *p != f) p = &(*p)->next;
  if (*p) *p = f->next;
  close(f->fd);
  free(f);
  n_flows--;
}

/* Datagrams to a published UDP port: each source address has its socket inside. */
static void udp_from_host(int hfd, const struct port_map *m) {
  static char buf[65536];
  for (;;) {
    union { struct sockaddr_in6 v6; struct sockaddr_in v4; struct sockaddr sa; } peer;
    socklen_t plen = sizeof peer;
    ssize_t n = recvfrom(hfd, buf, sizeof buf, 0, &peer.sa, &plen);
    if (n < 0) return;
    struct flow *f = flows;
    while (f && !(f->host == hfd && f->peer_len == plen && !memcmp(&f->peer, &peer, plen))) f = f->next;
    if (!f) {
      if (n_flows >= MAX_UDP_FLOWS) continue;
      int fd = connect_inside(m, 0, SOCK_DGRAM);
      if (fd < 0 || !(f = calloc(1, sizeof *f))) { if (fd >= 0) close(fd); continue; }
      f->fd = fd;
      f->host = hfd;
      memcpy(&f->peer, &peer, plen);
      f->peer_len = plen;
      f->end = (struct end){ K_FLOW, NULL, 0 };
      f->next = flows;
      flows = f;
      n_flows++;
      watch(fd, EPOLLIN, &f->end, EPOLL_CTL_ADD);
    }
    clock_gettime(CLOCK_MONOTONIC, &f->last);
    if (send(f->fd, buf, (size_t)n, 0) < 0) { /* nothing listens inside (yet): dropped, as by the network */ }
  }
}

static void udp_from_inside(struct flow *f) {
  static char buf[65536];
  for (;;) {
    ssize_t n = recv(f->fd, buf, sizeof buf, 0);
    if (n < 0) return;
    clock_gettime(CLOCK_MONOTONIC, &f->last);
    sendto(f->host, buf, (size_t)n, 0, &f->peer.sa, f->peer_len);
  }
}

static void udp_expire(void) {
  for (struct flow *f = flows, *next; f; f = next) {
    next = f->next;
    if (ms_since(&f->last) >= UDP_IDLE_MS) flow_free(f);
  }
}

/* Closes every descriptor but these (the monitor's: its lock, the init's socket, the status pipe, logs). */
static void close_all_but(const int *keep, int n) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int self = dirfd(d);
  struct dirent *e;
  int *doomed = NULL, n_doomed = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = atoi(e->d_name), kept = fd < 3 || fd == self;
    for (int i = 0; !kept && i < n; i++) kept = keep[i] == fd;
    if (kept) continue;
    int *more = realloc(doomed, sizeof *doomed * (size_t)(n_doomed + 1));
    if (!more) break;
    doomed = more;
    doomed[n_doomed++] = fd;
  }
  closedir(d);
  for (int i = 0; i < n_doomed; i++) close(doomed[i]);
  free(doomed);
}

static void __attribute__((noreturn)) forward_failed(int ready, const char *what) {
  char buf[256];
  int n = snprintf(buf, sizeof buf, "%s: %s", what, strerror(errno));
  write_all(ready, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1));
  _exit(EXIT_SETUP);
}

static void __attribute__((noreturn)) forward(int userns, int netns, int ready, int alive) {
  reset_signals();
  signal(SIGPIPE, SIG_IGN); /* a peer gone mid-splice is EPIPE for that connection, not the end of us */
  setsid(); /* the terminal's Ctrl-C is for the sandbox */
  prctl(PR_SET_NAME, "sandbox-ports");
  {
    int keep[4 + n_maps];
    int k = 0;
    keep[k++] = userns; keep[k++] = netns; keep[k++] = ready; keep[k++] = alive;
    for (int i = 0; i < n_maps; i++) keep[k++] = host_fds[i];
    close_all_but(keep, k);
  }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) { dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2); close(devnull); }
  if (setns(userns, CLONE_NEWUSER) < 0) forward_failed(ready, "cannot join the sandbox's user namespace");
  if (setns(netns, CLONE_NEWNET) < 0) forward_failed(ready, "cannot join the sandbox's network namespace");
  close(userns);
  close(netns);
  net_helper_die_with_monitor(); /* again, in case joining cleared it */
  /* Larger pipes where the per-user pipe budget allows them (fcntl fails otherwise: 64 KiB stay). */
  int probe[2];
  if (pipe2(probe, O_CLOEXEC) == 0) {
    if (fcntl(probe[1], F_SETPIPE_SZ, PIPE_SIZE) >= PIPE_SIZE) pipe_size = PIPE_SIZE;
    close(probe[0]);
    close(probe[1]);
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) forward_failed(ready, "epoll");
  struct end *ends = calloc((size_t)n_maps + 1, sizeof *ends);
  if (!ends) forward_failed(ready, "out of memory");
  for (int i = 0; i < n_maps; i++) {
    ends[i] = (struct end){ maps[i].udp ? K_UDP_HOST : K_LISTEN, NULL, i };
    watch(host_fds[i], EPOLLIN, &ends[i], EPOLL_CTL_ADD);
  }
  ends[n_maps] = (struct end){ K_ALIVE, NULL, 0 };
  watch(alive, EPOLLIN, &ends[n_maps], EPOLL_CTL_ADD);
  if (write(ready, "R", 1) != 1) _exit(0);
  close(ready);
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(ep, evs, 64, n_flows ? 10000 : -1);
    if (n < 0 && errno != EINTR) _exit(1);
    for (int i = 0; i < n; i++) {
      struct end *e = evs[i].data.ptr;
      if (!e) continue;
      switch (e->kind) {
      case K_ALIVE: _exit(0); /* the monitor is gone */
      case K_LISTEN: tcp_accept(host_fds[e->side], &maps[e->side]); break;
      case K_UDP_HOST: udp_from_host(host_fds[e->side], &maps[e->side]); break;
      case K_FLOW: udp_from_inside((struct flow *)((char *)e - offsetof(struct flow, end))); break;
      case K_CONN: {
        struct conn *c = e->c;
        if (!c->dead) conn_event(c, e->side, evs[i].events);
        break;
      }
      }
    }
    /* Connections ended in this batch are freed once no event of it can name them. */
    while (dead) { struct conn *c = dead; dead = c->next_dead; free(c); }
    if (n_flows) udp_expire();
  }
}
