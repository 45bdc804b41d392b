/* sandbox-launch: the mount operations of the plan (init side, after the first pivot). */
#include "launch.h"

char *fd_path(int fd) {
  static char buf[64];
  /* The host's /proc, under the old root until the final pivot. */
  snprintf(buf, sizeof buf, OLDROOT "/proc/self/fd/%d", fd);
  return buf;
}

/* ---------- mount operations (init side, after the first pivot) ---------- */

static int mount_at(int rootfd, const char *dest, enum make_kind kind, const char *src, const char *fstype,
                    unsigned long flags, const char *data) {
  int fd = ensure_in(rootfd, dest, kind);
  if (fd < 0) return -1;
  int r = mount(src, fd_path(fd), fstype, flags, data);
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

static void op_bind(int rootfd, const char *src, const char *dest, int ro, int recursive) {
  char *hsrc = host_path(src);
  struct stat st;
  if (stat(hsrc, &st) < 0) die_hint("create it first, or fix the path of the -v option", "bind source %s: %s", src, strerror(errno));
  if (mount_at(rootfd, dest, S_ISDIR(st.st_mode) ? MAKE_DIR : MAKE_FILE, hsrc, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0) {
    if (errno == EACCES || errno == EPERM || errno == EOVERFLOW)
      die_hint("the root filesystem has directories owned by ids outside your user namespace (the real root, say): use a copy you own, or `sandbox import` a tarball of it",
               "cannot create the mount point %s in the sandbox's root: %s", dest, strerror(errno));
    if (errno == EINVAL && !recursive)
      die_hint("leave out bind-nonrecursive, or bind a directory that has no mounts below it",
               "cannot bind %s to %s without the mounts below it: in a user namespace the kernel refuses to uncover what they hide", src, dest);
    die("cannot bind %s to %s: %s", src, dest, strerror(errno));
  }
  if (ro) make_readonly(rootfd, dest, recursive);
  free(hsrc);
}

/* `--propagation DEST TYPE` (--mount's bind-propagation): shared, slave, private or
 * unbindable, for the mount at DEST alone or, with an r, for the mounts below it too. */
static void op_propagation(int rootfd, const char *dest, const char *type) {
  static const struct { const char *name; unsigned long flag; } types[] = {
    { "shared", MS_SHARED }, { "slave", MS_SLAVE }, { "private", MS_PRIVATE }, { "unbindable", MS_UNBINDABLE },
  };
  int rec = type[0] == 'r';
  const char *name = rec ? type + 1 : type;
  unsigned long flag = 0;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) if (!strcmp(types[i].name, name)) flag = types[i].flag;
  if (!flag) die("internal: bad propagation %s", type);
  int fd = resolve_in(rootfd, dest, 0);
  if (fd < 0) die("cannot open %s to set its propagation: %s", dest, strerror(errno));
  if (mount(NULL, fd_path(fd), NULL, flag | (rec ? MS_REC : 0), NULL) < 0)
    die("cannot make %s %s: %s", dest, type, strerror(errno));
  close(fd);
}

/* Copies one regular file's bytes (read/write: copy_file_range does not cross file systems). */
static int copy_bytes(int in, int out) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return (int)n;
    if (write_all(out, buf, (size_t)n) < 0) return -1;
  }
}

/* tmpcopyup: what the image has at a tmpfs's mount point, copied into it (as Podman's
 * default), owners, modes and times kept. Symlinks are copied, never followed. Within the
 * directory's own file system only, but for single files bound there (the sandbox's
 * /etc/hosts and the like): /proc or /dev below a tmpfs on / are not copied. */
static void copy_tree(int from, int to, dev_t dev, const char *dest) {
  int dup_from = dup(from);
  DIR *d = dup_from >= 0 ? fdopendir(dup_from) : NULL;
  if (!d) die("cannot read %s in the image to copy it into the tmpfs: %s", dest, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *name = e->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    struct stat st;
    if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (st.st_dev != dev && !S_ISREG(st.st_mode)) continue;
    int r = 0;
    if (S_ISDIR(st.st_mode)) {
      int sf = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sf < 0 || mkdirat(to, name, 0700) < 0) r = -1;
      int tf = r < 0 ? -1 : openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (tf >= 0) {
        copy_tree(sf, tf, dev, dest);
        if (fchown(tf, st.st_uid, st.st_gid) < 0 || fchmod(tf, st.st_mode & 07777) < 0) r = -1;
        close(tf);
      } else r = -1;
      if (sf >= 0) close(sf);
    } else if (S_ISREG(st.st_mode)) {
      int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int out = in < 0 ? -1 : openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out < 0 || copy_bytes(in, out) < 0 || fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, st.st_mode & 07777) < 0) r = -1;
      if (in >= 0) close(in);
      if (out >= 0) close(out);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(from, name, target, sizeof target - 1);
      if (n < 0) r = -1;
      else {
        target[n] = 0;
        if (symlinkat(target, to, name) < 0 || fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) r = -1;
      }
    } else {
      /* Device nodes cannot be made in a user namespace: left out, as the kernel wants. */
      if (mknodat(to, name, st.st_mode, st.st_rdev) == 0 && fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) r = -1;
    }
    if (r < 0) {
      if (errno == ENOSPC) die_hint("give it more room (tmpfs-size=, or size= of --tmpfs), or leave the image's files out (notmpcopyup)",
                                    "the tmpfs at %s is too small for what the image has there", dest);
      die("cannot copy %s/%s into its tmpfs: %s", dest, name, strerror(errno));
    }
    struct timespec times[2] = { st.st_atim, st.st_mtim };
    utimensat(to, name, times, AT_SYMLINK_NOFOLLOW);
  }
  closedir(d);
}

/* tmpfs options: the flag words become mount flags, `tmpcopyup` copies the image's files
 * in (notmpcopyup: not), the rest is passed as data. */
static void op_tmpfs(int rootfd, const char *dest, const char *opts) {
  unsigned long flags = 0;
  int copyup = 0;
  char data[512] = "";
  char *copy = strdup(opts ? opts : "");
  for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
    if (!strcmp(tok, "ro")) flags |= MS_RDONLY;
    else if (!strcmp(tok, "rw")) flags &= ~MS_RDONLY;
    else if (!strcmp(tok, "noexec")) flags |= MS_NOEXEC;
    else if (!strcmp(tok, "exec")) flags &= ~MS_NOEXEC;
    else if (!strcmp(tok, "nosuid")) flags |= MS_NOSUID;
    else if (!strcmp(tok, "suid")) flags &= ~MS_NOSUID;
    else if (!strcmp(tok, "nodev")) flags |= MS_NODEV;
    else if (!strcmp(tok, "dev")) flags &= ~MS_NODEV;
    else if (!strcmp(tok, "tmpcopyup")) copyup = 1;
    else if (!strcmp(tok, "notmpcopyup")) copyup = 0;
    else {
      if (strlen(data) + strlen(tok) + 2 >= sizeof data) die("tmpfs options too long");
      if (*data) strcat(data, ",");
      strcat(data, tok);
    }
  }
  free(copy);
  /* The image's directory, held open across the mount that hides it. */
  int below = -1;
  struct stat below_st;
  if (copyup) {
    int p = resolve_in(rootfd, dest, 0);
    below = p < 0 ? -1 : openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p >= 0) close(p);
    if (below >= 0 && fstat(below, &below_st) < 0) { close(below); below = -1; }
    /* Kernel file systems (a tmpfs over /proc, /sys, /dev/pts) have nothing to copy:
     * their files are the kernel's (/proc/kcore!), not the image's. */
    struct statfs sf;
    if (below >= 0 && fstatfs(below, &sf) == 0 &&
        (sf.f_type == 0x9fa0 /* proc */ || sf.f_type == 0x62656572 /* sysfs */ || sf.f_type == 0x1cd1 /* devpts */ ||
         sf.f_type == 0x27e0eb /* cgroup */ || sf.f_type == 0x63677270 /* cgroup2 */)) {
      close(below);
      below = -1;
    }
  }
  /* Copied into read-write; made read-only after, when asked. */
  if (mount_at(rootfd, dest, MAKE_DIR, "tmpfs", "tmpfs", below >= 0 ? flags & ~MS_RDONLY : flags, data) < 0)
    die("cannot mount tmpfs on %s (%s): %s", dest, data, strerror(errno));
  if (below >= 0) {
    int p = resolve_in(rootfd, dest, 0);
    int top = p < 0 ? -1 : openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p >= 0) close(p);
    if (top < 0) die("cannot open the tmpfs at %s: %s", dest, strerror(errno));
    copy_tree(below, top, below_st.st_dev, dest);
    close(top);
    close(below);
    if (flags & MS_RDONLY) make_readonly(rootfd, dest, 0);
  }
}

static void op_dev(int rootfd, const char *dest, int gid5_mapped) {
  if (mount_at(rootfd, dest, MAKE_DIR, "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536k") < 0)
    die("cannot mount /dev: %s", strerror(errno));
  static const char *nodes[] = { "null", "zero", "full", "random", "urandom", "tty", NULL };
  char path[PATH_MAX], src[PATH_MAX];
  for (int i = 0; nodes[i]; i++) {
    snprintf(path, sizeof path, "%s/%s", dest, nodes[i]);
    snprintf(src, sizeof src, OLDROOT "/dev/%s", nodes[i]);
    if (mount_at(rootfd, path, MAKE_FILE, src, NULL, MS_BIND, NULL) < 0)
      die("cannot bind /dev/%s: %s", nodes[i], strerror(errno));
  }
  static const char *links[][2] = {
    { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" }, { "/proc/kcore", "core" }, { NULL, NULL },
  };
  int dfd = resolve_in(rootfd, dest, 0);
  for (int i = 0; links[i][0]; i++)
    if (symlinkat(links[i][0], dfd, links[i][1]) < 0 && errno != EEXIST) die("cannot create /dev/%s: %s", links[i][1], strerror(errno));
  close(dfd);
  snprintf(path, sizeof path, "%s/pts", dest);
  const char *ptsopts = gid5_mapped ? "newinstance,ptmxmode=0666,mode=0620,gid=5" : "newinstance,ptmxmode=0666,mode=0620";
  if (mount_at(rootfd, path, MAKE_DIR, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, ptsopts) < 0)
    die("cannot mount devpts: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/shm", dest);
  if (mount_at(rootfd, path, MAKE_DIR, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
    die("cannot mount /dev/shm: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/mqueue", dest);
  if (mount_at(rootfd, path, MAKE_DIR, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    msg("sandbox: warning: no /dev/mqueue: %s", strerror(errno));
}

/* `rw` (--sys-rw, --privileged): a fresh sysfs is writable, as Podman's privileged one
 * (what the kernel lets the sandbox's root write there: its own network devices). */
static void op_sys(int rootfd, const char *dest, int rw) {
  /* A fresh sysfs needs a network namespace of our own; otherwise a read-only view. */
  if (mount_at(rootfd, dest, MAKE_DIR, "sysfs", "sysfs", (rw ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) return;
  if (mount_at(rootfd, dest, MAKE_DIR, OLDROOT "/sys", NULL, MS_BIND | MS_REC, NULL) < 0)
    die("cannot mount /sys: %s", strerror(errno));
  make_readonly(rootfd, dest, 1);
}

/* Hides a file or directory under /proc or /sys the way Podman does. */
static void op_mask(int rootfd, const char *dest) {
  int fd = resolve_in(rootfd, dest, 0);
  if (fd < 0) return; /* nothing to hide */
  struct stat st;
  fstat(fd, &st);
  int r = S_ISDIR(st.st_mode)
    ? mount("tmpfs", fd_path(fd), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555")
    : mount(OLDROOT "/dev/null", fd_path(fd), NULL, MS_BIND, NULL);
  if (r < 0) die("cannot mask %s: %s", dest, strerror(errno));
  close(fd);
}

static int gid_is_mapped(gid_t g) {
  FILE *f = fopen("/proc/self/gid_map", "re");
  if (!f) return 0;
  unsigned long in, out, count;
  int found = 0;
  while (fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3)
    if (g >= in && g < in + count) found = 1;
  fclose(f);
  return found;
}

void run_ops(int rootfd) {
  int gid5 = gid_is_mapped(5);
  for (int i = 0; i < plan.n_ops; i++) {
    struct op *op = &plan.ops[i];
    switch (op->type) {
    case OP_BIND: op_bind(rootfd, op->a, op->b, 0, 1); break;
    case OP_RO_BIND: op_bind(rootfd, op->a, op->b, 1, 1); break;
    case OP_BIND_NONREC: op_bind(rootfd, op->a, op->b, 0, 0); break;
    case OP_PROPAGATION: op_propagation(rootfd, op->a, op->b); break;
    case OP_TMPFS: op_tmpfs(rootfd, op->a, op->b); break;
    case OP_PROC:
      if (mount_at(rootfd, op->a, MAKE_DIR, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("cannot mount /proc: %s", strerror(errno));
      /* The moment the network driver finishes its namespace from inside: /proc is the
       * sandbox's and its /proc/sys still writable (the plan makes it read-only later). */
      if (plan.network->finish) {
        int proc = ensure_in(rootfd, op->a, MAKE_DIR);
        if (proc >= 0) { plan.network->finish(proc); close(proc); }
      }
      break;
    case OP_DEV: op_dev(rootfd, op->a, gid5); break;
    case OP_SYS: op_sys(rootfd, op->a, op->b != NULL); break;
    case OP_SYMLINK: make_symlink(rootfd, op->a, op->b); break;
    case OP_HOST_DIR: mount_host_dir(rootfd, OLDROOT, op->a, op->b, op->c, op->d); break;
    case OP_REMOUNT_RO: make_readonly(rootfd, op->a, 0); break;
    case OP_MASK: op_mask(rootfd, op->a); break;
    case OP_RO_SELF: {
      /* A read-only view of a path inside the sandbox (/proc/sys and the like). */
      int fd = resolve_in(rootfd, op->a, 0);
      if (fd < 0) break;
      if (mount(fd_path(fd), fd_path(fd), NULL, MS_BIND | MS_REC, NULL) < 0) die("cannot bind %s read-only: %s", op->a, strerror(errno));
      close(fd);
      make_readonly(rootfd, op->a, 1);
      break;
    }
    }
  }
}
