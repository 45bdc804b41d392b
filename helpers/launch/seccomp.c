/*
 * sandbox-launch: the command's seccomp filter (`--seccomp RULES BPF CACHE`).
 *
 * The TypeScript side (src/runtime/seccomp/) turns a profile (the default, or a Docker/OCI
 * JSON file) into RULES, a line-oriented file in the sandbox's directory (format below).
 * Here, once per sandbox, libseccomp compiles RULES into classic BPF, kept as BPF in the
 * sandbox's directory; `exec` and every restart read that very file again, with no
 * libseccomp work. Compiling takes 10-30 ms (measured: ~370 rules, three ABIs on x86_64),
 * far more than a start may cost, so the compiled filter is also kept in the store's cache
 * under a name made of the rules' hash (CACHE) and libseccomp's version: a new sandbox with
 * rules seen before gets a hard link to it (a copy across file systems) and compiles
 * nothing.
 *
 * seccomp_prepare() runs in the monitor (or exec) before anything is cloned or joined,
 * while host paths are reachable; the command inherits the program in memory and applies it
 * with seccomp_apply(), as late as the kernel lets it (launch/command.c says when).
 *
 * RULES, one item a line, words separated by one space:
 *   default ACTION               what a system call no rule matches gets
 *   arch NAME                    one more ABI to filter (libseccomp's names: x86, x32, ...)
 *   rule ACTION SYSCALL [INDEX OP VALUE VALUE2]...
 *                                ACTION for SYSCALL (libseccomp's name; unknown names are
 *                                skipped, as runc does) when every argument comparison holds
 * ACTION: allow, log, trap, kill_process, kill_thread, errno:N, trace:N.
 * OP: ne lt le eq ge gt masked_eq (VALUE2 is the mask's operand for masked_eq; else 0).
 */
#include "launch.h"
#include <seccomp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static struct sock_fprog filter; /* the compiled program, loaded by seccomp_apply() */

static char *read_whole(const char *path, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 16384, len = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (len == cap) { cap *= 2; buf = realloc(buf, cap + 1); }
    if (!buf) die("out of memory");
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { int e = errno; close(fd); free(buf); errno = e; return NULL; }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = 0;
  *len_out = len;
  return buf;
}

static int parse_action(const char *w, uint32_t *out) {
  char *end;
  if (!strcmp(w, "allow")) *out = SCMP_ACT_ALLOW;
  else if (!strcmp(w, "log")) *out = SCMP_ACT_LOG;
  else if (!strcmp(w, "trap")) *out = SCMP_ACT_TRAP;
  else if (!strcmp(w, "kill_process")) *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(w, "kill_thread")) *out = SCMP_ACT_KILL_THREAD;
  else if (!strncmp(w, "errno:", 6)) *out = SCMP_ACT_ERRNO((uint16_t)strtoul(w + 6, &end, 10));
  else if (!strncmp(w, "trace:", 6)) *out = SCMP_ACT_TRACE((uint16_t)strtoul(w + 6, &end, 10));
  else return -1;
  return 0;
}

static int parse_op(const char *w, enum scmp_compare *out) {
  static const struct { const char *name; enum scmp_compare op; } ops[] = {
    { "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT }, { "le", SCMP_CMP_LE }, { "eq", SCMP_CMP_EQ },
    { "ge", SCMP_CMP_GE }, { "gt", SCMP_CMP_GT }, { "masked_eq", SCMP_CMP_MASKED_EQ },
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) if (!strcmp(w, ops[i].name)) { *out = ops[i].op; return 0; }
  return -1;
}

/* Compiles the rules text into a libseccomp context; dies naming RULES on anything wrong. */
static scmp_filter_ctx compile(const char *rules_path, char *text) {
  scmp_filter_ctx ctx = NULL;
  int lineno = 0;
  for (char *save_line, *line = strtok_r(text, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
    lineno++;
    char *w[3 + 4 * 6], *save;
    int n = 0;
    for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
      if (n == (int)(sizeof w / sizeof w[0])) die("%s:%d: too many words", rules_path, lineno);
      w[n++] = t;
    }
    if (!n) continue;
    uint32_t action;
    if (!strcmp(w[0], "default")) {
      if (n != 2 || parse_action(w[1], &action) < 0 || ctx) die("%s:%d: bad default", rules_path, lineno);
      ctx = seccomp_init(action);
      if (!ctx) die("seccomp_init failed");
      /* An ABI the profile does not name never gets a system call through. */
      seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
      /* A binary tree of system call numbers instead of a chain of ~400 tests: the kernel
       * walks the filter once per system call number and ABI when it is loaded (to cache
       * what is always allowed), and once per call afterwards. Measured: loading the
       * default filter took 1.3-10 ms as a chain (see README, Seccomp). */
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
      continue;
    }
    if (!ctx) die("%s:%d: the first line must be `default ACTION`", rules_path, lineno);
    if (!strcmp(w[0], "arch")) {
      uint32_t arch = n == 2 ? seccomp_arch_resolve_name(w[1]) : 0;
      if (!arch) die("%s:%d: unknown architecture %s", rules_path, lineno, n == 2 ? w[1] : "");
      int r = seccomp_arch_add(ctx, arch);
      if (r < 0 && r != -EEXIST) die("%s:%d: architecture %s: %s", rules_path, lineno, w[1], strerror(-r));
      continue;
    }
    if (strcmp(w[0], "rule") || n < 3 || (n - 3) % 4 || parse_action(w[1], &action) < 0) die("%s:%d: bad rule", rules_path, lineno);
    int nr = seccomp_syscall_resolve_name(w[2]);
    if (nr == __NR_SCMP_ERROR) continue; /* a name this libseccomp does not know, on any ABI */
    struct scmp_arg_cmp cmp[6];
    unsigned ncmp = 0;
    for (int i = 3; i < n; i += 4) {
      enum scmp_compare op;
      if (parse_op(w[i + 1], &op) < 0) die("%s:%d: bad operator %s", rules_path, lineno, w[i + 1]);
      cmp[ncmp++] = (struct scmp_arg_cmp){ (unsigned)atoi(w[i]), op, strtoull(w[i + 2], NULL, 10), strtoull(w[i + 3], NULL, 10) };
    }
    int r = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);
    /* -EACCES: the rule's action is the default one: it changes nothing (as runc, skipped). */
    if (r < 0 && r != -EACCES) die("%s:%d: the rule for %s: %s", rules_path, lineno, w[2], strerror(-r));
  }
  if (!ctx) die("%s: no rules", rules_path);
  return ctx;
}

static void take_program(char *buf, size_t len, const char *path) {
  if (!len || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
    die_hint("remove it: the next start compiles it again", "%s is not a seccomp filter", path);
  filter.len = (unsigned short)(len / sizeof(struct sock_filter));
  filter.filter = (struct sock_filter *)buf;
}

/* How compile() makes a filter: one more with every change there that changes the BPF. */
#define COMPILE_REVISION 1

/* The store's copy of a filter: CACHE, then libseccomp's version and ours (the BPF of the
 * same rules may differ between them). */
static char *cache_name(const char *cache) {
  const struct scmp_version *v = seccomp_version();
  char *name;
  if (asprintf(&name, "%s-%u.%u.%u-%d.bpf", cache, v->major, v->minor, v->micro, COMPILE_REVISION) < 0) die("out of memory");
  return name;
}

/* Links (or copies) `from` to `to` through a temporary name beside `to`: all or nothing. */
static int link_atomically(const char *from, const char *to) {
  char *tmp;
  if (asprintf(&tmp, "%s.%d.tmp", to, (int)getpid()) < 0) die("out of memory");
  int ok = link(from, tmp) == 0;
  if (!ok && errno == EXDEV) {
    size_t len;
    char *buf = read_whole(from, &len);
    int fd = buf ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400) : -1;
    ok = fd >= 0 && write_all(fd, buf, len) == 0;
    if (fd >= 0) close(fd);
    free(buf);
  }
  if (ok) ok = rename(tmp, to) == 0;
  if (!ok) unlink(tmp);
  free(tmp);
  return ok ? 0 : -1;
}

void seccomp_prepare(void) {
  if (!plan.seccomp_bpf) return;
  size_t len;
  char *buf = read_whole(plan.seccomp_bpf, &len);
  if (!buf && errno != ENOENT) die("cannot read %s: %s", plan.seccomp_bpf, strerror(errno));
  if (buf) { take_program(buf, len, plan.seccomp_bpf); return; }
  /* exec gives no CACHE (""): the sandbox's own BPF is there unless it was removed. */
  char *cached = *plan.seccomp_cache ? cache_name(plan.seccomp_cache) : NULL;
  if (!cached || link_atomically(cached, plan.seccomp_bpf) < 0) {
    char *text = read_whole(plan.seccomp_rules, &len);
    if (!text) die("cannot read the sandbox's seccomp rules %s: %s", plan.seccomp_rules, strerror(errno));
    scmp_filter_ctx ctx = compile(plan.seccomp_rules, text);
    free(text);
    char *tmp;
    if (asprintf(&tmp, "%s.%d.tmp", plan.seccomp_bpf, (int)getpid()) < 0) die("out of memory");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0400);
    if (fd < 0) die("cannot write %s: %s", tmp, strerror(errno));
    int r = seccomp_export_bpf(ctx, fd);
    if (r < 0) { unlink(tmp); die("cannot compile the seccomp filter: %s", strerror(-r)); }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, plan.seccomp_bpf) < 0) die("cannot write %s: %s", plan.seccomp_bpf, strerror(errno));
    free(tmp);
    seccomp_release(ctx);
    /* Into the cache for the next sandbox with these rules (best effort: a read-only or
     * missing cache only costs the next one a compile). */
    if (cached) {
      char *dir = strdup(cached);
      for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) { *p = 0; mkdir(dir, 0700); *p = '/'; }
      free(dir);
      link_atomically(plan.seccomp_bpf, cached);
    }
  }
  free(cached);
  buf = read_whole(plan.seccomp_bpf, &len);
  if (!buf) die("cannot read %s: %s", plan.seccomp_bpf, strerror(errno));
  take_program(buf, len, plan.seccomp_bpf);
}

/* The filter on this process, for good (the kernel wants no_new_privs or CAP_SYS_ADMIN
 * in our user namespace for it: command.c calls this where one of them holds). */
void seccomp_apply(void) {
  if (!filter.filter) return;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) < 0)
    die_hint("run with --security-opt seccomp=unconfined to do without it", "cannot apply the seccomp filter: %s", strerror(errno));
}
