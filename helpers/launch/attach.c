/* sandbox-launch: attaching to a running sandbox (`sandbox attach`, `start -ai`).
 *
 * Monitor side (--attach-socket PATH): while a run of the sandbox lasts, the monitor
 * listens on a unix socket (SOCK_SEQPACKET) in the sandbox's private directory. Every
 * attacher gets a copy of the output as it comes (what also goes to the log), and gives
 * input when the sandbox keeps its stdin (-i): to the terminal (-t), or to a pipe that
 * is the command's stdin (--keep-stdin without --tty; the monitor holds its write end,
 * so the command sees the end of its input only when an attacher ends it). Several
 * attachers at once, as Podman allows; one that stops reading for 5 s is let go rather
 * than stalling the sandbox.
 *
 * Attacher side (--attach-to PATH): our stdin to the sandbox, its output to our stdout
 * and stderr, our terminal (raw, with its size) when the sandbox has one, signals passed
 * on (--sig-proxy), the detach keys (--detach-keys, hex) to leave it running. Exits with
 * the sandbox's status when it ends, 0 when detached.
 *
 * Messages (one byte of tag, then data), described in helpers/README.md:
 *   monitor -> attacher  ATTACH_STDOUT data, ATTACH_STDERR data, ATTACH_EXIT "N" (last)
 *   attacher -> monitor  ATTACH_INPUT data, ATTACH_EOF, ATTACH_RESIZE struct winsize,
 *                        ATTACH_SIGNAL "N"
 *
 * A socket path can be longer than sun_path holds (a store deep in a home directory):
 * both sides then reach it through /proc/self/fd/N/NAME, N their descriptor of its
 * directory.
 */
#include "launch.h"

#define MAX_ATTACHERS 16
#define ATTACH_MSG_MAX 16385

static int listen_fd = -1;
static int clients[MAX_ATTACHERS];
static int n_clients = 0;
static int poll_base = -1; /* where our descriptors start in the monitor's poll set */
static int stdin_w = -1;   /* --keep-stdin without --tty: the write end of the command's stdin */
int attach_stdin_r = -1;   /* ... and its read end, for the command (command.c) */

/* Fills `addr` for `path`; *dirfd is a descriptor to close afterwards (or -1). */
static socklen_t socket_address(const char *path, struct sockaddr_un *addr, int *dirfd) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  *dirfd = -1;
  if (strlen(path) < sizeof addr->sun_path) {
    snprintf(addr->sun_path, sizeof addr->sun_path, "%s", path);
  } else {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || strlen(slash + 1) > 64) { errno = ENAMETOOLONG; return 0; }
    *slash = 0;
    *dirfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0) return 0;
    snprintf(addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/%s", *dirfd, slash + 1);
  }
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(addr->sun_path) + 1);
}

/* ---------- monitor side ---------- */

/* Before the init is cloned: the pipe of a kept stdin without a terminal. */
void attach_before_clone(void) {
  if (!plan.attach_socket || !plan.keep_stdin || plan.tty) return;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  attach_stdin_r = p[0];
  stdin_w = p[1];
}

/* In the init, right after the clone: nothing of the attach side stays there but the
 * read end of the command's stdin. */
void attach_in_init(void) {
  if (stdin_w >= 0) close(stdin_w);
}

/* In the monitor, right after the clone: listen (before the command is reported started,
 * so that `run -d` then `attach` always finds the socket). */
void attach_after_clone(void) {
  if (attach_stdin_r >= 0) { close(attach_stdin_r); attach_stdin_r = -1; }
  if (!plan.attach_socket) return;
  struct sockaddr_un addr;
  int dirfd;
  socklen_t len = socket_address(plan.attach_socket, &addr, &dirfd);
  int fd = len ? socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) : -1;
  if (fd >= 0) {
    unlink(addr.sun_path); /* a socket a killed monitor left */
    if (bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, 8) < 0) { close(fd); fd = -1; }
  }
  if (fd < 0) msg("sandbox: warning: `sandbox attach` will not work for this run: cannot listen on %s: %s", plan.attach_socket, strerror(errno));
  if (dirfd >= 0) close(dirfd);
  listen_fd = fd;
}

/* Adds our descriptors to the monitor's poll set (room for attach_poll_size()). */
int attach_poll_size(void) { return 1 + MAX_ATTACHERS; }

void attach_poll_add(struct pollfd *p, int *n) {
  poll_base = *n;
  if (listen_fd >= 0) p[(*n)++] = (struct pollfd){ listen_fd, POLLIN, 0 };
  for (int i = 0; i < n_clients; i++) p[(*n)++] = (struct pollfd){ clients[i], POLLIN, 0 };
}

static void drop_client(int i) {
  close(clients[i]);
  clients[i] = clients[--n_clients];
}

/* Sends one message to every attacher; one that cannot take it in 5 s is let go. */
static void broadcast(char tag, const void *data, size_t len) {
  char buf[ATTACH_MSG_MAX];
  while (len > 0 || tag == ATTACH_EXIT) {
    size_t part = len < sizeof buf - 1 ? len : sizeof buf - 1;
    buf[0] = tag;
    memcpy(buf + 1, data, part);
    for (int i = n_clients - 1; i >= 0; i--) {
      ssize_t w;
      do w = send(clients[i], buf, part + 1, MSG_NOSIGNAL); while (w < 0 && errno == EINTR);
      if (w < 0) drop_client(i);
    }
    data = (const char *)data + part;
    len -= part;
    if (tag == ATTACH_EXIT) break;
  }
}

/* Output of the sandbox (`stream` 1 or 2), as it goes to the log or the terminal. */
void attach_output(int stream, const char *buf, size_t len) {
  if (n_clients && len) broadcast(stream == 2 ? ATTACH_STDERR : ATTACH_STDOUT, buf, len);
}

/* pump() from the terminal to `to`, with a copy to every attacher. */
int attach_pump(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  attach_output(1, buf, (size_t)n);
  return write_all(to, buf, (size_t)n) == 0;
}

static void accept_client(void) {
  int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) return;
  if (n_clients == MAX_ATTACHERS) { close(fd); return; }
  struct timeval five = { 5, 0 };
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &five, sizeof five);
  clients[n_clients++] = fd;
}

/* One message from attacher i. `master`: the terminal (or -1); `init`: where signals go. */
static void client_message(int i, int master, pid_t init) {
  char buf[ATTACH_MSG_MAX];
  ssize_t n = recv(clients[i], buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) { drop_client(i); return; }
  const char *data = buf + 1;
  size_t len = (size_t)n - 1;
  int in_fd = plan.tty ? (plan.keep_stdin || plan.stdin_open ? master : -1) : stdin_w;
  switch (buf[0]) {
  case ATTACH_INPUT:
    if (in_fd >= 0 && write_all(in_fd, data, len) < 0 && in_fd == stdin_w) { close(stdin_w); stdin_w = -1; }
    break;
  case ATTACH_EOF:
    /* The end of the input is the command's only without a terminal (Podman's way). */
    if (!plan.tty && stdin_w >= 0) { close(stdin_w); stdin_w = -1; }
    break;
  case ATTACH_RESIZE:
    if (master >= 0 && len == sizeof(struct winsize)) ioctl(master, TIOCSWINSZ, data);
    break;
  case ATTACH_SIGNAL: {
    buf[n < (ssize_t)sizeof buf ? n : (ssize_t)sizeof buf - 1] = 0;
    int sig = atoi(data);
    if (sig > 0 && sig < _NSIG && forwardable(sig)) kill(init, sig);
    break;
  }
  }
}

/* Handles what poll() found on our descriptors. */
void attach_poll_handle(const struct pollfd *p, int master, pid_t init) {
  if (poll_base < 0) return;
  int k = poll_base, had = n_clients;
  int fds[MAX_ATTACHERS];
  memcpy(fds, clients, sizeof fds);
  int listening = listen_fd >= 0 && p[k].fd == listen_fd;
  if (listening && p[k++].revents) accept_client();
  for (int j = 0; j < had; j++, k++) {
    if (!p[k].revents) continue;
    for (int i = 0; i < n_clients; i++) if (clients[i] == fds[j]) { client_message(i, master, init); break; }
  }
  poll_base = -1;
}

/* The end of this run: every attacher hears the status, then nothing more. */
void attach_end(int code) {
  char text[16];
  int n = snprintf(text, sizeof text, "%d", code);
  broadcast(ATTACH_EXIT, text, (size_t)n);
  while (n_clients) drop_client(n_clients - 1);
  if (listen_fd >= 0) {
    close(listen_fd);
    listen_fd = -1;
    struct sockaddr_un addr;
    int dirfd;
    if (socket_address(plan.attach_socket, &addr, &dirfd)) unlink(addr.sun_path);
    if (dirfd >= 0) close(dirfd);
  }
  if (stdin_w >= 0) { close(stdin_w); stdin_w = -1; }
}

/* ---------- the detach keys (attacher, and a foreground sandbox's monitor) ---------- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct detach_match {
  unsigned char keys[64];
  size_t n, matched; /* how many of the keys the input ended with so far */
};

static void detach_keys_init(struct detach_match *d) {
  memset(d, 0, sizeof *d);
  if (!plan.detach_keys) return;
  for (const char *h = plan.detach_keys; h[0] && h[1] && d->n < sizeof d->keys; h += 2) {
    int hi = hexval(h[0]), lo = hexval(h[1]);
    if (hi < 0 || lo < 0) die("internal: bad --detach-keys %s", plan.detach_keys);
    d->keys[d->n++] = (unsigned char)(hi * 16 + lo);
  }
}

/* Copies the input `in` to `out` (room for n + 64 bytes) but the detach keys: held back
 * while they may be coming, passed on when they were not. Returns 1 when they all came
 * (what came before them is in `out`). */
static int detach_filter(struct detach_match *d, const unsigned char *in, size_t n, unsigned char *out, size_t *o) {
  *o = 0;
  for (size_t i = 0; i < n; i++) {
    if (d->n && in[i] == d->keys[d->matched]) {
      if (++d->matched == d->n) { d->matched = 0; return 1; }
      continue;
    }
    if (d->matched) { memcpy(out + *o, d->keys, d->matched); *o += d->matched; d->matched = 0; }
    if (d->n && in[i] == d->keys[0]) { d->matched = 1; continue; }
    out[(*o)++] = in[i];
  }
  return 0;
}

/* ---------- a foreground sandbox goes on in the background (run -it's detach keys, --detach-on-signal) ---------- */

static struct detach_match foreground_keys;
static int foreground_keys_ready = 0;

/* The monitor of a foreground run lets go of the terminal and of the CLI: the CLI hears
 * {"detached":true} and returns; we go on as a detached sandbox's monitor would (our own
 * session, no parent-death signal, stdio on /dev/null: the output goes on to the log and
 * to attachers). */
void detach_foreground(void) {
  restore_terminal();
  /* Out of the CLI's session before it hears of it: when it ends, the terminal's hangup
   * (the end of its controlling process) must not reach us. */
  (void)setsid();
  prctl(PR_SET_PDEATHSIG, 0);
  plan.die_with_parent = 0;
  plan.log_tee = 0;
  if (plan.stdin_open) plan.keep_stdin = 1; /* attachers type into the terminal now */
  plan.stdin_open = 0;
  status(STATUS_DETACHED);
  if (plan.status_fd >= 0) { close(plan.status_fd); plan.status_fd = -1; }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) { dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2); close(devnull); }
}

/* The monitor's stdin to the terminal (foreground -it); returns 0 at its end, 2 when the
 * detach keys came (the caller stops reading it: we are detached), 1 otherwise. */
int foreground_input(int master) {
  if (!foreground_keys_ready) { detach_keys_init(&foreground_keys); foreground_keys_ready = 1; }
  unsigned char buf[16384], out[16384 + 64];
  ssize_t n = read(0, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  size_t o;
  int detach = detach_filter(&foreground_keys, buf, (size_t)n, out, &o);
  if (o) write_all(master, out, o);
  if (detach) { detach_foreground(); return 2; }
  return 1;
}

/* ---------- attacher side ---------- */

static int send_msg(int sock, char tag, const void *data, size_t len) {
  char buf[ATTACH_MSG_MAX];
  if (len > sizeof buf - 1) len = sizeof buf - 1;
  buf[0] = tag;
  if (len) memcpy(buf + 1, data, len);
  ssize_t w;
  do w = send(sock, buf, len + 1, MSG_NOSIGNAL); while (w < 0 && errno == EINTR);
  return w < 0 ? -1 : 0;
}

static void send_winsize(int sock) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0) send_msg(sock, ATTACH_RESIZE, &ws, sizeof ws);
}

/* Runs the attacher; returns its exit status. */
int run_attach(int sfd) {
  struct detach_match keys;
  detach_keys_init(&keys);
  struct sockaddr_un addr;
  int dirfd;
  socklen_t len = socket_address(plan.attach_to, &addr, &dirfd);
  int sock = len ? socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0) : -1;
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, len) < 0) {
    int e = errno;
    if (e == ENOENT || e == ECONNREFUSED)
      die_hint("a sandbox started before `attach` existed, or one run in the foreground with --rm, has no attach socket: `sandbox logs -f` shows its output",
               "cannot attach: the sandbox does not listen for attachers (%s)", strerror(e));
    die("cannot attach to the sandbox: %s", strerror(e));
  }
  if (dirfd >= 0) close(dirfd);

  if (plan.tty && isatty(0) && !plan.no_stdin && tcgetattr(0, &saved_termios) == 0) {
    termios_saved = 1;
    struct termios raw = saved_termios;
    cfmakeraw(&raw);
    tcsetattr(0, TCSADRAIN, &raw);
  }
  if (plan.tty) send_winsize(sock);

  int stdin_done = plan.no_stdin;
  for (;;) {
    struct pollfd p[3];
    int n = 0, i_in = -1;
    p[n++] = (struct pollfd){ sfd, POLLIN, 0 };
    p[n++] = (struct pollfd){ sock, POLLIN, 0 };
    if (!stdin_done) { i_in = n++; p[i_in] = (struct pollfd){ 0, POLLIN, 0 }; }
    if (poll(p, n, -1) < 0) { if (errno == EINTR) continue; break; }
    if (p[1].revents) {
      char buf[ATTACH_MSG_MAX + 1];
      ssize_t r = recv(sock, buf, ATTACH_MSG_MAX, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        restore_terminal();
        die_hint("see `sandbox ps -a` and `sandbox logs`", "the sandbox's monitor went away");
      }
      if (buf[0] == ATTACH_STDOUT || buf[0] == ATTACH_STDERR) {
        if (write_all(buf[0] == ATTACH_STDERR ? 2 : 1, buf + 1, (size_t)r - 1) < 0 && errno == EPIPE) { restore_terminal(); return 0; }
      } else if (buf[0] == ATTACH_EXIT) {
        buf[r] = 0;
        restore_terminal();
        return atoi(buf + 1);
      }
    }
    if (i_in >= 0 && p[i_in].revents) {
      unsigned char buf[16384];
      ssize_t r = read(0, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        stdin_done = 1;
        if (keys.matched) send_msg(sock, ATTACH_INPUT, keys.keys, keys.matched);
        send_msg(sock, ATTACH_EOF, NULL, 0);
        continue;
      }
      unsigned char out[sizeof keys.keys + sizeof buf];
      size_t o;
      if (detach_filter(&keys, buf, (size_t)r, out, &o)) {
        if (o) send_msg(sock, ATTACH_INPUT, out, o);
        restore_terminal();
        return 0; /* detached: the sandbox goes on */
      }
      for (size_t s = 0; s < o; s += ATTACH_MSG_MAX - 1)
        send_msg(sock, ATTACH_INPUT, out + s, o - s < ATTACH_MSG_MAX - 1 ? o - s : ATTACH_MSG_MAX - 1);
    }
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      int sig = read_signal(sfd, &si);
      if ((sig == SIGINT || sig == SIGQUIT) && si.ssi_code == SI_KERNEL) clock_gettime(CLOCK_MONOTONIC, &terminal_sig_at[sig]);
      if (sig == SIGWINCH) {
        if (plan.tty) send_winsize(sock);
      } else if ((sig == SIGINT || sig == SIGQUIT) && si.ssi_code != SI_KERNEL && (pid_t)si.ssi_pid == getppid() && recent(&terminal_sig_at[sig])) {
        /* the CLI's copy of a terminal signal we already had */
      } else if (sig && plan.sig_proxy && !plan.tty && forwardable(sig)) {
        /* As Podman's: only without a terminal (with one, ^C and the rest are keys typed in). */
        char text[16];
        int len2 = snprintf(text, sizeof text, "%d", sig);
        send_msg(sock, ATTACH_SIGNAL, text, (size_t)len2);
      } else if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
        restore_terminal();
        return 128 + sig; /* without --sig-proxy the signal is ours: we end, the sandbox goes on */
      }
    }
  }
  restore_terminal();
  return EXIT_SETUP;
}
