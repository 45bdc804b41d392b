/*
 * One-line messages on stderr, each prefixed with the helper's name: define SAY_PROG
 * ("sandbox-cp", ...) before including. The TypeScript side reads these lines back as
 * the reason of a failure (or, after "warning: ", as a warning).
 */
#ifndef SANDBOX_SAY_H
#define SANDBOX_SAY_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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

/*
 * A write at DIR/NAME failed (a file, a directory, a link, ...; `err` is its errno): one
 * line, exit status 1. A full file system (ENOSPC, or EDQUOT: the user's disk quota) is
 * always "no space left on DIR/NAME", whatever was being written, so that it is never
 * taken for a bad archive: the TypeScript side turns that line into its own "no space
 * left on" error (errors.ts helperNoSpace). Anything else is "FMT...: strerror(err)".
 */
static void __attribute__((noreturn, format(printf, 4, 5))) say_write_failed(int err, const char *dir, const char *name, const char *fmt, ...) {
  if (err == ENOSPC || err == EDQUOT) {
    size_t d = strlen(dir);
    const char *sep = d && *name && dir[d - 1] != '/' ? "/" : "";
    dprintf(2, "%s: no space left on %s%s%s\n", SAY_PROG, dir, sep, name);
    _exit(1);
  }
  char what[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  say_fatal("%s: %s", what, strerror(err));
}

#endif
