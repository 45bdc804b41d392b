/* sandbox-launch: the command (X), from fork to exec. */
#include "launch.h"

/* Write ends of the pipes that carry the command's stdout and stderr to the monitor's
 * log (detached sandboxes without a terminal); -1 otherwise. */
int log_out_w = -1, log_err_w = -1;

/* ---------- the command (X) ---------- */

static const char *env_get(const char *name) {
  size_t n = strlen(name);
  for (int i = 0; i < plan.n_env; i++)
    if (!strncmp(plan.env[i], name, n) && plan.env[i][n] == '=') return plan.env[i] + n + 1;
  return NULL;
}

static int parse_id(const char *s, unsigned long *out) {
  if (!*s) return -1;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*end || errno) return -1;
  *out = v;
  return 0;
}

struct user_info {
  uid_t uid;
  gid_t gid;
  const char *home;
  gid_t groups[64];
  int n_groups;
};

/* `--group-add`: each group (a number, or a name of the sandbox's /etc/group) joins the
 * supplementary groups, after those of a named user, once each. A user given by --user
 * (or the image's USER) has its primary group among them too, as under Podman. */
static void add_groups(struct user_info *u) {
  for (int i = plan.user ? -1 : 0; i < plan.n_group_add; i++) {
    const char *g = i < 0 ? NULL : plan.group_add[i];
    unsigned long id;
    gid_t gid;
    if (!g) gid = u->gid;
    else if (parse_id(g, &id) == 0) gid = (gid_t)id;
    else {
      int found = 0;
      FILE *f = fopen("/etc/group", "re");
      struct group *gr;
      if (f) { while ((gr = fgetgrent(f))) if (!strcmp(gr->gr_name, g)) { gid = gr->gr_gid; found = 1; break; } fclose(f); }
      if (!found) die_hint("use a numeric GID, or a group the image defines", "unable to find group %s: no matching entries in the sandbox's /etc/group", g);
    }
    int dup = 0;
    for (int k = 0; k < u->n_groups; k++) if (u->groups[k] == gid) dup = 1;
    if (dup) continue;
    if (u->n_groups >= (int)(sizeof u->groups / sizeof u->groups[0])) die("too many supplementary groups");
    u->groups[u->n_groups++] = gid;
  }
}

/* Resolves `--user` against the sandbox's own /etc/passwd and /etc/group. */
static void resolve_user(struct user_info *u) {
  memset(u, 0, sizeof *u);
  u->home = "/root";
  const char *spec = plan.user ? plan.user : "0";
  char *copy = strdup(spec);
  char *colon = strchr(copy, ':');
  char *grp = NULL;
  if (colon) { *colon = 0; grp = colon + 1; }
  unsigned long id;
  const char *name = NULL;
  int have_passwd = 0;
  FILE *f = fopen("/etc/passwd", "re");
  struct passwd *pw;
  if (parse_id(copy, &id) == 0) {
    u->uid = (uid_t)id;
    u->gid = (gid_t)(grp ? u->gid : 0);
    if (f) while ((pw = fgetpwent(f))) if (pw->pw_uid == u->uid) {
      u->gid = pw->pw_gid; u->home = strdup(pw->pw_dir); name = strdup(pw->pw_name); have_passwd = 1; break;
    }
    if (!have_passwd) { u->gid = u->uid == 0 ? 0 : u->gid; u->home = u->uid == 0 ? "/root" : "/"; }
  } else {
    if (f) while ((pw = fgetpwent(f))) if (!strcmp(pw->pw_name, copy)) {
      u->uid = pw->pw_uid; u->gid = pw->pw_gid; u->home = strdup(pw->pw_dir); name = strdup(pw->pw_name); have_passwd = 1; break;
    }
    if (!have_passwd) die_hint("use a numeric UID[:GID], or a user the image defines", "unable to find user %s: no matching entries in the sandbox's /etc/passwd", copy);
  }
  if (f) fclose(f);
  struct group *gr;
  if (grp) {
    if (parse_id(grp, &id) == 0) u->gid = (gid_t)id;
    else {
      int found = 0;
      FILE *g = fopen("/etc/group", "re");
      if (g) { while ((gr = fgetgrent(g))) if (!strcmp(gr->gr_name, grp)) { u->gid = gr->gr_gid; found = 1; break; } fclose(g); }
      if (!found) die_hint("use a numeric GID, or a group the image defines", "unable to find group %s: no matching entries in the sandbox's /etc/group", grp);
    }
  }
  /* Supplementary groups of a named user, as Docker does. */
  if (name && !grp) {
    FILE *g = fopen("/etc/group", "re");
    if (g) {
      while ((gr = fgetgrent(g)) && u->n_groups < 64)
        for (char **m = gr->gr_mem; m && *m; m++)
          if (!strcmp(*m, name) && gr->gr_gid != u->gid) { u->groups[u->n_groups++] = gr->gr_gid; break; }
      fclose(g);
    }
  }
  free(copy);
  add_groups(u);
}

static uint64_t kept_caps(void) {
  uint64_t keep = 0;
  if (plan.caps) {
    char *copy = strdup(plan.caps);
    for (char *t = strtok(copy, ","); t; t = strtok(NULL, ",")) if (*t) keep |= 1ULL << atoi(t);
    free(copy);
  }
  return keep;
}

/* Step one, while still root with every capability: the bounding set (needs CAP_SETPCAP). */
static void drop_bounding_caps(uint64_t keep) {
  for (int c = 0; c <= 63; c++) {
    if (keep & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) die("cannot drop capability %d: %s", c, strerror(errno));
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

/* Step two, after the switch of user (which a dropped CAP_SETUID must not prevent): the
 * sets of a root command. A non-root command has none left, as under Docker. The
 * inheritable set stays empty, as Podman's and Docker's since CVE-2022-24769 (with it, a
 * file's inheritable capabilities would be granted to a non-root program it runs). */
static void set_caps(uint64_t keep) {
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (uint32_t)keep;
  data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) die("cannot set capabilities: %s", strerror(errno));
}

/* Finds the program like execvp, but with the sandbox's PATH, not ours. */
static void exec_command(char **envp) {
  const char *cmd = plan.argv[0];
  if (strchr(cmd, '/')) {
    execve(cmd, plan.argv, envp);
  } else {
    const char *path = env_get("PATH");
    if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    int saw_eacces = 0;
    char *copy = strdup(path);
    for (char *dir = strtok(copy, ":"); dir; dir = strtok(NULL, ":")) {
      char *full = join2(*dir ? dir : ".", cmd);
      execve(full, plan.argv, envp);
      if (errno == EACCES) saw_eacces = 1;
      free(full);
    }
    free(copy);
    errno = saw_eacces ? EACCES : ENOENT;
  }
  int e = errno;
  if (e == ENOENT) {
    if (strchr(cmd, '/')) msg("sandbox: %s: no such file or directory in the sandbox", cmd);
    else msg("sandbox: %s: command not found in the sandbox's PATH", cmd);
    /* `run IMAGE --rm ...`: everything after the image (exec: the name) is the command. */
    if (cmd[0] == '-') msg("hint: options go before the image (exec: before the sandbox's name); after it, %s is the command", cmd);
    else msg("hint: check the command name, or run a shell in the image to look around");
    _exit(EXIT_NOT_FOUND);
  }
  msg("sandbox: cannot execute %s: %s", cmd, strerror(e));
  _exit(EXIT_CANNOT_EXEC);
}

/* Descriptor of the exec pipe in the command's process: its end means exec worked. */
#define EXEC_REPORT_FD 1023

static void __attribute__((noreturn)) run_command(int pty_master) {
  reset_signals();
  /* Messages (die()) go to the exec pipe from here on, so that the monitor prints them on
   * its own stderr (the command's stderr may be a log or a terminal by then). */
  say_fd = EXEC_REPORT_FD;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (setsid() < 0) die("setsid: %s", strerror(errno));
  if (pty_master >= 0) {
    int slave = ioctl(pty_master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) die("cannot open the terminal: %s", strerror(errno));
    if (ioctl(slave, TIOCSCTTY, 0) < 0) die("cannot set the controlling terminal: %s", strerror(errno));
    dup2(slave, 0); dup2(slave, 1); dup2(slave, 2);
    if (slave > 2) close(slave);
    close(pty_master);
  } else if (log_out_w >= 0) {
    dup2(log_out_w, 1);
    dup2(log_err_w, 2);
  }
  if (pty_master < 0 && attach_stdin_r >= 0) dup2(attach_stdin_r, 0); /* run -d -i: the stdin attachers write to */
  struct user_info u;
  resolve_user(&u);
  /* The environment: the plan's, plus HOME from the user when the plan has none. */
  char **envp = calloc(plan.n_env + 2, sizeof *envp);
  int k = 0;
  for (int i = 0; i < plan.n_env; i++) envp[k++] = (char *)plan.env[i];
  if (!env_get("HOME")) { char *h = malloc(strlen(u.home) + 6); sprintf(h, "HOME=%s", u.home); envp[k++] = h; }
  envp[k] = NULL;

  if (plan.cwd && plan.create_cwd) {
    int rootfd = open("/", O_PATH | O_CLOEXEC);
    int fd = ensure_in(rootfd, plan.cwd, MAKE_DIR);
    if (fd >= 0) close(fd);
    close(rootfd);
  }
  /* Before the switch of user: setresuid checks RLIMIT_NPROC as the new user. */
  apply_rlimits();
  uint64_t keep = kept_caps();
  drop_bounding_caps(keep);
  /* keep-groups: the caller's groups stay (they show as the overflow gid inside). */
  if (!plan.keep_groups && setgroups(u.n_groups, u.groups) < 0) {
    /* EPERM: setgroups is denied in a user namespace with only the caller's own id mapped;
     * without --group-add the command then keeps no group it could use anyway. */
    if (errno == EPERM && !plan.n_group_add) { /* nothing asked for */ }
    else if (errno == EINVAL) die_hint("supplementary groups must be mapped: 0 and your /etc/subgid range (1..65536 inside)", "cannot set the supplementary groups: a group is outside the sandbox's id map");
    else if (errno == EPERM) die_hint("--group-add needs a subgid range for you (see `sandbox doctor`)", "cannot set the supplementary groups: only your own id is mapped into the sandbox");
    else die("setgroups: %s", strerror(errno));
  }
  if (setresgid(u.gid, u.gid, u.gid) < 0)
    die_hint("the sandbox maps only the ids of your /etc/subgid range (see `sandbox doctor`)", "cannot switch to group %u: %s", (unsigned)u.gid, strerror(errno));
  /* The seccomp filter goes on last, right before exec, where the kernel allows it then:
   * with no_new_privs, or when the command keeps CAP_SYS_ADMIN. Otherwise (the usual
   * root without CAP_SYS_ADMIN, or another user) it goes on here, while we still hold
   * every capability, as runc does: what follows (setresuid, capset, chdir, close_range,
   * execve) must then be allowed by the profile, as under runc. */
  int filter_late = plan.no_new_privs || (u.uid == 0 && (keep & (1ULL << CAP_SYS_ADMIN)));
  if (!filter_late) seccomp_apply();
  if (setresuid(u.uid, u.uid, u.uid) < 0)
    die_hint("the sandbox maps only the ids of your /etc/subuid range (see `sandbox doctor`)", "cannot switch to user %u: %s", (unsigned)u.uid, strerror(errno));
  if (u.uid == 0) set_caps(keep);
  if (plan.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs: %s", strerror(errno));
  const char *cwd = plan.cwd ? plan.cwd : "/";
  if (chdir(cwd) < 0) {
    if (plan.cwd) die_hint("the working directory (-w) must exist in the sandbox", "cannot change to working directory %s: %s", cwd, strerror(errno));
    if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
  }
  /* Nothing of ours may leak into the command: every descriptor past stdio closes at
   * exec (the exec pipe included, which tells init that exec worked). */
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  /* --preserve-fds: the caller's fds, passed to us above the ones we use, go to 3.. (dup2
   * leaves the copy open at exec). Ascending: a target below BASE+i is never a source still needed. */
  for (int i = 0; i < plan.preserve_n; i++)
    if (dup2(plan.preserve_base + i, 3 + i) < 0) die("--preserve-fds: fd %d: %s", 3 + i, strerror(errno));
  if (filter_late) seccomp_apply();
  exec_command(envp);
  _exit(EXIT_SETUP);
}

/* Forks the command (run_command) and waits until it has been exec'd: the exec pipe
 * ends at once when it was; text comes first when it could not be, and why. Returns its
 * pid; `why` gets that text, NUL-terminated (empty: it runs). */
pid_t start_command(int pty_master, char *why, size_t size) {
  int execpipe[2];
  if (pipe2(execpipe, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t child = cgroup_fork(); /* exec: born in the sandbox's cgroup (cgroup.c) */
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    close(execpipe[0]);
    dup2(execpipe[1], EXEC_REPORT_FD);
    run_command(pty_master);
  }
  close(execpipe[1]);
  size_t got = 0;
  for (;;) {
    ssize_t n = read(execpipe[0], why + got, size - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
    if (got == size - 1) break;
  }
  close(execpipe[0]);
  why[got] = 0;
  return child;
}
