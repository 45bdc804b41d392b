/*
 * One-line messages on stderr, each prefixed with the helper's name: define SAY_PROG
 * ("sandbox-cp", ...) before including. The TypeScript side reads these lines back as
 * the reason of a failure (or, after "warning: ", as a warning).
 */
#ifndef SANDBOX_SAY_H
#define SANDBOX_SAY_H

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static void __attribute__((format(printf, 2, 0))) vsay(const char *kind, const char *fmt, va_list ap) {
  char buf[2048];
  vsnprintf(buf, sizeof buf, fmt, ap);
  dprintf(2, "%s: %s%s\n", SAY_PROG, kind, buf);
}

/* One line, then exit status 1: the helpers' "failed" (and every tar read or write error). */
static void __attribute__((noreturn, format(printf, 1, 2))) say_fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay("", fmt, ap);
  va_end(ap);
  _exit(1);
}

#endif
