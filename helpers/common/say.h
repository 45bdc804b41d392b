/*
 * Messages and failures, one way for every helper: one line on stderr per message,
 * `PROG: MESSAGE`, where PROG is the helper's `say_prog` ("sandbox" for sandbox-launch,
 * whose lines the CLI prints as its own; "sandbox-cp", "sandbox-layer"). die() is the
 * only way a helper gives up: that line, a `hint: ...` line with die_hint(), and exit
 * status `die_status`. The TypeScript side reads these lines back as the reason of a
 * failure (or, after "warning: ", as a warning): see helpers/README.md.
 */
#ifndef SANDBOX_SAY_H
#define SANDBOX_SAY_H

#include <stdarg.h>
#include <stddef.h>

/* Each helper defines these two: its name in messages, and the status die() exits with. */
extern const char say_prog[];
extern int die_status;

/* Where messages go: stderr, except where a helper says otherwise (sandbox-launch's
 * command, before exec, writes them to the exec pipe). */
extern int say_fd;

/* One line, as it is (no prefix), in one write. */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `PROG: KIND MESSAGE`, in one write. */
void vsay(const char *kind, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* A helper's options (helpers/protocol.h), one line each, as its usage text shows them. */
struct protocol_flag;
void msg_flags(const struct protocol_flag *flags, size_t n);

/* `PROG: warning: MESSAGE`. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `PROG: MESSAGE`, then `hint: HINT` when there is one, then exit status die_status. */
void die_hint(const char *hint, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
#define die(...) die_hint(NULL, __VA_ARGS__)

/*
 * A write at DIR/NAME failed (a file, a directory, a link, ...; `err` is its errno): one
 * line, then die_status. A full file system (ENOSPC, or EDQUOT: the user's disk quota) is
 * always "no space left on DIR/NAME", whatever was being written, so that it is never
 * taken for a bad archive: the TypeScript side turns that line into its own "no space
 * left on" error (errors.ts helperNoSpace). Anything else is "FMT...: strerror(err)".
 */
void die_write_failed(int err, const char *dir, const char *name, const char *fmt, ...) __attribute__((noreturn, format(printf, 4, 5)));

#endif
