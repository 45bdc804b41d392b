/* sandbox-launch: the log of the command's output (monitor side). */
#include "launch.h"

/* ---------- the log (monitor side) ----------
 * One line per line of output, in the CRI format Podman's k8s-file driver and
 * Kubernetes use: `<RFC 3339 UTC time with ns> <stdout|stderr> <F|P> <text>`, where P
 * marks a part of a longer line. Past --log-max-size the file moves to PATH.1 (one
 * old file is kept; with --log-drop-old none), so a chatty sandbox cannot fill the disk. */

int log_fd = -1;
static long log_size = 0;

void log_open(void) {
  log_fd = open(plan.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) die("cannot open the log %s: %s", plan.log_path, strerror(errno));
  struct stat st;
  log_size = fstat(log_fd, &st) == 0 ? (long)st.st_size : 0;
}

static void log_rotate(void) {
  char old[PATH_MAX];
  snprintf(old, sizeof old, "%s.1", plan.log_path);
  close(log_fd);
  if (plan.log_drop_old) unlink(plan.log_path);
  else rename(plan.log_path, old);
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
int log_pump(struct log_stream *s) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) {
    /* The stream ended: what is left is a whole line, not a part of the next run's first. */
    if (s->len) log_record(s->name, 'F', s->buf, s->len);
    s->len = 0;
    return 0;
  }
  if (plan.log_tee) write_all(s->tee_fd, s->buf + s->len, (size_t)n);
  attach_output(s->tee_fd, s->buf + s->len, (size_t)n);
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
