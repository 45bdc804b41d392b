/* Messages and failures of every helper: see say.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../protocol.h"
#include "say.h"

int say_fd = 2;

static void line(const char *text, size_t n) {
  ssize_t unused = write(say_fd, text, n);
  (void)unused;
}

void msg(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  line(buf, (size_t)n);
}

void vsay(const char *kind, const char *fmt, va_list ap) {
  char buf[4096];
  int h = snprintf(buf, sizeof buf, "%s: %s", say_prog, kind);
  if (h < 0 || h >= (int)sizeof buf - 2) return;
  int n = vsnprintf(buf + h, sizeof buf - 1 - (size_t)h, fmt, ap);
  if (n < 0) return;
  n += h;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  line(buf, (size_t)n);
}

void msg_flags(const struct protocol_flag *flags, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char head[64];
    snprintf(head, sizeof head, "%s%s%s", flags[i].option, *flags[i].args ? " " : "", flags[i].args);
    msg("  %-36s %s", head, flags[i].meaning);
  }
}

void warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay("warning: ", fmt, ap);
  va_end(ap);
}

void die_hint(const char *hint, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay("", fmt, ap);
  va_end(ap);
  if (hint) msg("hint: %s", hint);
  _exit(die_status);
}

void die_write_failed(int err, const char *dir, const char *name, const char *fmt, ...) {
  if (err == ENOSPC || err == EDQUOT) {
    size_t d = strlen(dir);
    const char *sep = d && *name && dir[d - 1] != '/' ? "/" : "";
    die("no space left on %s%s%s", dir, sep, name);
  }
  char what[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  die("%s: %s", what, strerror(err));
}
