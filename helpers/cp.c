/*
 * sandbox-cp: the in-sandbox half of `sandbox cp` (libc only).
 *
 * Started as the user. It enters the sandbox first, then does its one job there:
 *   - running sandbox (--target PID): setns into the user and mount namespaces of the
 *     sandbox's command. The mount namespace's root becomes our root, so every path we
 *     resolve (symlinks and `..` included) stays inside the sandbox.
 *   - stopped sandbox (--root-overlay / --host-dir ...): a new user+mount namespace with
 *     the sandbox's id maps (newuidmap/newgidmap, as sandbox-launch does), the sandbox's
 *     root mounted on --mountpoint (an overlay of its layers and writable layer), chroot.
 *     These options are sandbox-launch's, with the same meaning (helpers/protocol.h),
 *     and the root is mounted by the same code (helpers/common/rootfs.c).
 * Then, as root of the sandbox's user namespace (so owners, modes and setuid bits are
 * kept as they are inside):
 *   stat PATH            prints "<type of PATH> <type following a final symlink>", each
 *                        one of dir, file, symlink, other, missing, notdir
 *   copy-out PATH NAME   writes a tar of PATH to stdout, its top entry named NAME
 *                        ("." = the contents of the directory PATH, no top entry)
 *   copy-in DIR [FROM TO] reads a tar from stdin and extracts it into DIR; an entry whose
 *                        first component is FROM gets TO instead
 * Paths given to us are resolved inside the root with RESOLVE_IN_ROOT and no magic
 * links; below them nothing is ever followed (O_NOFOLLOW on every step), and archive
 * entries with an absolute path or a `..` component are refused.
 *
 * Exit status: 0 done; 1 the copy failed (one line on stderr); 2 bad usage;
 * 3 a path given to us does not exist inside; 125 the sandbox could not be entered.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "protocol.h"
#include "common/idmap.h"
#include "common/rootfs.h"
#include "common/say.h"
#include "common/sealed.h"
#include "common/tar.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_MISSING 3
#define MAX_MAPS IDMAP_MAX
#define MAX_HOST 256

/* die(): "sandbox-cp: ..." and the status of the phase we are in: EXIT_USAGE while the
 * arguments are read, EXIT_SETUP until we are in the sandbox, then EXIT_FAIL. */
const char say_prog[] = "sandbox-cp";
int die_status = EXIT_SETUP;

static struct {
  pid_t target;
  const char *lowers, *upper, *work;
  const char *base; /* --root-base: the lowers are relative to this directory */
  const char *mountpoint;
  const char *uidmap_cmd, *gidmap_cmd;
  const char *uid_maps[MAX_MAPS], *gid_maps[MAX_MAPS];
  int n_uid_maps, n_gid_maps;
  struct { const char *lower, *upper, *work, *dest; } host[MAX_HOST];
  int n_host;
  struct { const char *target, *dest; } links[MAX_HOST];
  int n_links;
} opt;

/* ---------- entering the sandbox ---------- */

static void become_root(void) {
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("cannot become root in the sandbox: %s", strerror(errno));
  setgroups(0, NULL); /* fails harmlessly when setgroups is denied */
}

/* Running sandbox: its user and mount namespaces, by the host pid of its command. */
static void enter_running(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)opt.target);
  int user = open(path, O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)opt.target);
  int mnt = open(path, O_RDONLY | O_CLOEXEC);
  if (user < 0 || mnt < 0) die("cannot enter the sandbox (it may have just ended): %s", strerror(errno));
  if (setns(user, CLONE_NEWUSER) < 0) die("cannot enter the sandbox's user namespace: %s", strerror(errno));
  if (setns(mnt, CLONE_NEWNS) < 0) die("cannot enter the sandbox's mount namespace: %s", strerror(errno));
  close(user);
  close(mnt);
  become_root();
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
}

/* Stopped sandbox: a user+mount namespace of our own with the sandbox's id maps, its
 * root mounted on the mount point, chroot there. The parent writes the maps and waits. */
static void enter_stopped(void) {
  int go[2], ready[2];
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child > 0) {
    close(go[0]);
    close(ready[1]);
    /* stdin/stdout belong to the child now: the parent must not hold the pipe open. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) { dup2(devnull, 0); dup2(devnull, 1); }
    char c;
    if (read(ready[0], &c, 1) != 1) {
      int st;
      waitpid(child, &st, 0);
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_SETUP);
    }
    /* The same maps sandbox-launch gives a sandbox. */
    struct idmap_spec spec = { opt.uidmap_cmd, opt.gidmap_cmd, opt.uid_maps, opt.gid_maps, opt.n_uid_maps, opt.n_gid_maps };
    write_id_maps(child, &spec);
    if (write(go[1], &(char){ MSG_GO }, 1) != 1) die("the copy process died during setup");
    close(go[1]);
    int st;
    while (waitpid(child, &st, 0) < 0) if (errno != EINTR) die("waitpid: %s", strerror(errno));
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
  close(go[1]);
  close(ready[0]);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) die("cannot create a user namespace: %s", strerror(errno));
  if (write(ready[1], "R", 1) != 1) _exit(EXIT_SETUP);
  char c;
  if (read(go[0], &c, 1) != 1 || c != MSG_GO) _exit(EXIT_SETUP);
  close(go[0]);
  close(ready[1]);
  become_root();
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("cannot make mounts private: %s", strerror(errno));
  const char *mp = opt.mountpoint;
  if (opt.lowers) {
    /* Short lower names (image layers) are relative to the layer directory (--root-base). */
    if (mount_overlay(mp, "", opt.base, opt.lowers, opt.upper, opt.work) < 0)
      die("cannot mount the sandbox's root (overlayfs): %s", strerror(errno));
  } else {
    /* The `host` image: a tmpfs with one overlay per top-level directory, and links. */
    if (mount("tmpfs", mp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) die("cannot mount a tmpfs: %s", strerror(errno));
    int mfd = open(mp, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (mfd < 0) die("%s: %s", mp, strerror(errno));
    for (int i = 0; i < opt.n_host; i++) mount_host_dir(mfd, "", opt.host[i].lower, opt.host[i].upper, opt.host[i].work, opt.host[i].dest);
    for (int i = 0; i < opt.n_links; i++) make_symlink(mfd, opt.links[i].target, opt.links[i].dest);
    close(mfd);
  }
  if (chdir(mp) < 0 || chroot(".") < 0 || chdir("/") < 0) die("cannot enter the sandbox's root: %s", strerror(errno));
}

/* ---------- paths inside ---------- */

static int rootfd = -1;

static int resolve(const char *path, int flags) {
  struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  while (*path == '/') path++;
  if (!*path) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

static const char *type_of(const struct stat *st) {
  if (S_ISDIR(st->st_mode)) return "dir";
  if (S_ISREG(st->st_mode)) return "file";
  if (S_ISLNK(st->st_mode)) return "symlink";
  return "other";
}

static const char *stat_word(const char *path, int flags) {
  int fd = resolve(path, O_PATH | flags);
  if (fd < 0) {
    if (errno == ENOENT) return "missing";
    if (errno == ENOTDIR) return "notdir";
    die("%s: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) < 0) die("%s: %s", path, strerror(errno));
  close(fd);
  return type_of(&st);
}

static int cmd_stat(const char *path) {
  const char *l = stat_word(path, O_NOFOLLOW);
  const char *f = strcmp(l, "symlink") ? l : stat_word(path, 0);
  printf("%s %s\n", l, f);
  return fflush(stdout) == 0 ? 0 : EXIT_FAIL;
}

/* ---------- tar output ---------- */

static struct tar_writer tw = { .fd = 1, .format = TAR_FORMAT_GNU };

static void header(const char *name, char type, uint64_t size, const struct stat *st, const char *link) {
  struct tar_meta m = {
    .name = name, .type = type, .size = size, .link = link,
    .mode = st ? st->st_mode & 07777 : 0644,
    .uid = st ? st->st_uid : 0,
    .gid = st ? st->st_gid : 0,
    .mtime = st && st->st_mtime > 0 ? st->st_mtime : 0,
  };
  if (st && (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))) { m.devmajor = major(st->st_rdev); m.devminor = minor(st->st_rdev); }
  tar_put_header(&tw, &m);
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *s = malloc(n);
  if (!s) die("out of memory");
  if (*a) snprintf(s, n, "%s/%s", a, b);
  else snprintf(s, n, "%s", b);
  return s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void emit(int pfd, const char *name, const char *arch);

/* The entries of a directory, sorted and each name once (a directory changed while we
 * read it may list a name twice: an archive must never hold a path twice). */
static void emit_children(int dfd, const char *arch) {
  struct statfs sfs;
  if (fstatfs(dfd, &sfs) == 0 && (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC)) return;
  int dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (!d) { warn("%s: %s", *arch ? arch : ".", strerror(errno)); return; }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (n == cap) { cap = cap ? cap * 2 : 32; names = realloc(names, cap * sizeof *names); if (!names) die("out of memory"); }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && !strcmp(names[i], names[i - 1])) continue;
    char *child = join(arch, names[i]);
    emit(dfd, names[i], child);
    free(child);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* One entry (and what is below it): `name` relative to `pfd`, never followed.
 * `arch` is its name in the archive; "" for the contents of a directory only. */
static void emit(int pfd, const char *name, const char *arch) {
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT && *arch) { warn("%s vanished while it was copied", arch); return; }
    die("%s: %s", *arch ? arch : name, strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) { warn("%s: %s", arch, strerror(errno)); return; }
    if (fstat(fd, &st) < 0) die("%s: %s", arch, strerror(errno));
    if (*arch) {
      char *dn = malloc(strlen(arch) + 2);
      sprintf(dn, "%s/", arch);
      header(dn, '5', 0, &st, NULL);
      free(dn);
    }
    emit_children(fd, arch);
    close(fd);
  } else if (S_ISREG(st.st_mode)) {
    int fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) { warn("%s: %s", arch, strerror(errno)); return; }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) { close(fd); warn("%s changed while it was copied", arch); return; }
    const char *first = st.st_nlink > 1 ? tar_first_name(&st) : NULL;
    if (first) { header(arch, '1', 0, &st, first); close(fd); return; }
    if (st.st_nlink > 1) tar_remember_name(&st, arch);
    uint64_t size = (uint64_t)st.st_size, done = 0;
    header(arch, '0', size, &st, NULL);
    static char buf[1 << 16];
    while (done < size) {
      size_t want = size - done < sizeof buf ? (size_t)(size - done) : sizeof buf;
      ssize_t r = read(fd, buf, want);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) { /* shrank meanwhile: the header promised `size` bytes */
        memset(buf, 0, want);
        r = (ssize_t)want;
      }
      tar_put(&tw, buf, (size_t)r);
      done += (uint64_t)r;
    }
    tar_put_pad(&tw, size);
    close(fd);
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX + 1];
    ssize_t n = readlinkat(pfd, name, target, PATH_MAX);
    if (n < 0) { warn("%s: %s", arch, strerror(errno)); return; }
    target[n] = 0;
    header(arch, '2', 0, &st, target);
  } else if (S_ISFIFO(st.st_mode)) {
    header(arch, '6', 0, &st, NULL);
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    header(arch, S_ISCHR(st.st_mode) ? '3' : '4', 0, &st, NULL);
  } /* sockets: not archived, as GNU tar */
}

static int cmd_copy_out(const char *path, const char *name) {
  signal(SIGPIPE, SIG_IGN);
  size_t len = strlen(path);
  int follow = len > 0 && path[len - 1] == '/';
  if (len >= 2 && !strcmp(path + len - 2, "/.")) follow = 1;
  if (!strcmp(path, ".")) follow = 1;
  char *copy = strdup(path);
  while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/') copy[strlen(copy) - 1] = 0;
  char *slash = strrchr(copy, '/');
  const char *base = slash ? slash + 1 : copy;
  int pfd;
  const char *entry;
  if (follow || !strcmp(base, "..") || !strcmp(base, ".") || !strcmp(copy, "/") || !*base) {
    pfd = resolve(path, O_PATH);
    entry = ".";
  } else {
    if (slash) { *slash = 0; pfd = resolve(*copy ? copy : "/", O_PATH | O_DIRECTORY); }
    else pfd = resolve(".", O_PATH | O_DIRECTORY);
    entry = base;
  }
  if (pfd < 0) { die_status = errno == ENOENT ? EXIT_MISSING : EXIT_FAIL; die("%s: %s", path, strerror(errno)); }
  struct stat st;
  if (fstatat(pfd, entry, &st, AT_SYMLINK_NOFOLLOW) < 0) { die_status = errno == ENOENT ? EXIT_MISSING : EXIT_FAIL; die("%s: %s", path, strerror(errno)); }
  if (!strcmp(name, ".")) {
    if (!S_ISDIR(st.st_mode)) die("%s: not a directory", path);
    emit(pfd, entry, "");
  } else {
    emit(pfd, entry, name);
  }
  tar_put_end(&tw);
  return 0;
}

/* ---------- tar input ---------- */

/* A path of the archive as components: no absolute paths, no `..`. */
struct parts { char **c; int n; char *buf; };

/* The directory copy-in extracts into (a path in the sandbox), for "no space left on DIR/NAME". */
static const char *copy_dir = "";
#define write_failed(name, ...) die_write_failed(errno, copy_dir, name, __VA_ARGS__)

static void split(const char *name, struct parts *p, const char *from, const char *to) {
  if (name[0] == '/') die("refusing an absolute path in the archive: %s", name);
  p->buf = strdup(name);
  p->c = malloc((strlen(name) / 2 + 2) * sizeof *p->c);
  p->n = 0;
  for (char *tok = strtok(p->buf, "/"); tok; tok = strtok(NULL, "/")) {
    if (!strcmp(tok, ".")) continue;
    if (!strcmp(tok, "..")) die("refusing a path with `..` in the archive: %s", name);
    p->c[p->n++] = tok;
  }
  if (from && p->n > 0 && !strcmp(p->c[0], from)) p->c[0] = (char *)to;
}

static void free_parts(struct parts *p) { free(p->buf); free(p->c); }

/* The directory holding the last component, walked from `dir` one component at a time,
 * never through a symlink; missing directories are created when `create`. */
static int open_parent(int dir, struct parts *p, int create, const char *name) {
  int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (int i = 0; fd >= 0 && i < p->n - 1; i++) {
    int next = openat(fd, p->c[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (mkdirat(fd, p->c[i], 0755) < 0 && errno != EEXIST) write_failed(name, "cannot create a directory for %s", name);
      next = openat(fd, p->c[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      if (errno == ELOOP || errno == ENOTDIR) die("refusing to write %s: %s is not a directory (a symlink is never followed)", name, p->c[i]);
      die("%s: %s", name, strerror(errno));
    }
    close(fd);
    fd = next;
  }
  if (fd < 0) die("%s: %s", name, strerror(errno));
  return fd;
}

/* Makes room for a new entry: anything but a directory is removed. */
static int clear_for(int pfd, const char *leaf, const char *name, int want_dir) {
  struct stat st;
  if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) return 0;
  if (S_ISDIR(st.st_mode)) {
    if (want_dir) return 1;
    if (unlinkat(pfd, leaf, AT_REMOVEDIR) < 0) die("cannot replace the directory %s: %s", name, strerror(errno));
    return 0;
  }
  if (unlinkat(pfd, leaf, 0) < 0) die("cannot replace %s: %s", name, strerror(errno));
  return 0;
}

static void set_owner(int fd, const char *leaf, uid_t uid, gid_t gid, int flags) {
  int r = leaf ? fchownat(fd, leaf, uid, gid, flags) : fchown(fd, uid, gid);
  if (r < 0 && errno != EINVAL && errno != EPERM) warn("chown: %s", strerror(errno));
}

struct dirmeta { char *name; mode_t mode; uid_t uid; gid_t gid; time_t mtime; };

static int cmd_copy_in(const char *dirpath, const char *from, const char *to) {
  copy_dir = dirpath;
  int dir = resolve(dirpath, O_RDONLY | O_DIRECTORY);
  if (dir < 0) { die_status = errno == ENOENT ? EXIT_MISSING : EXIT_FAIL; die("%s: %s", dirpath, strerror(errno)); }
  umask(0);
  struct dirmeta *dirs = NULL;
  size_t n_dirs = 0, cap_dirs = 0;
  int entries = 0;
  struct tar_reader rd;
  struct tar_entry *e;
  tar_reader_init(&rd, 0);
  while (tar_next(&rd, &e)) {
    char type = e->type;
    const char *name = e->name, *link = e->link;
    mode_t mode = (mode_t)e->mode;
    uid_t uid = (uid_t)e->uid;
    gid_t gid = (gid_t)e->gid;
    time_t mtime = (time_t)e->mtime;
    struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
    struct parts p;
    split(name, &p, from, to);
    entries++;
    if (p.n == 0) {
      /* "." itself: DIR is not changed. */
    } else {
      const char *leaf = p.c[p.n - 1];
      int pfd = open_parent(dir, &p, 1, name);
      if (type == '5') {
        if (!clear_for(pfd, leaf, name, 1) && mkdirat(pfd, leaf, 0700) < 0) write_failed(name, "mkdir %s", name);
        int fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) die("%s: %s", name, strerror(errno));
        fchmod(fd, 0700 | mode); /* we must be able to write into it; the real mode comes last */
        close(fd);
        if (n_dirs == cap_dirs) { cap_dirs = cap_dirs ? cap_dirs * 2 : 32; dirs = realloc(dirs, cap_dirs * sizeof *dirs); if (!dirs) die("out of memory"); }
        /* Recorded as its rebuilt path (renamed, no `.`), walked again at the end. */
        size_t len = 1;
        for (int i = 0; i < p.n; i++) len += strlen(p.c[i]) + 1;
        char *rebuilt = calloc(1, len);
        for (int i = 0; i < p.n; i++) { if (i) strcat(rebuilt, "/"); strcat(rebuilt, p.c[i]); }
        dirs[n_dirs++] = (struct dirmeta){ rebuilt, mode, uid, gid, mtime };
      } else if (type == '0' || type == '7') {
        clear_for(pfd, leaf, name, 0);
        int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) write_failed(name, "cannot create %s", name);
        const void *chunk;
        size_t n;
        while ((n = tar_data(&rd, &chunk)))
          if (tar_write_all(fd, chunk, n) < 0) write_failed(name, "cannot write %s", name);
        set_owner(fd, NULL, uid, gid, 0); /* before the mode: chown clears setuid */
        if (fchmod(fd, mode) < 0) warn("chmod %s: %s", name, strerror(errno));
        futimens(fd, ts);
        if (close(fd) < 0) write_failed(name, "cannot write %s", name);
      } else if (type == '2') {
        clear_for(pfd, leaf, name, 0);
        if (symlinkat(link, pfd, leaf) < 0) write_failed(name, "cannot create the symlink %s", name);
        set_owner(pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW);
        utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW);
      } else if (type == '1') {
        struct parts lp;
        split(link, &lp, from, to);
        if (lp.n == 0) die("bad hard link %s -> %s", name, link);
        int lpfd = open_parent(dir, &lp, 0, link);
        clear_for(pfd, leaf, name, 0);
        if (linkat(lpfd, lp.c[lp.n - 1], pfd, leaf, 0) < 0) write_failed(name, "cannot link %s to %s", name, link);
        close(lpfd);
        free_parts(&lp);
      } else if (type == '6' || type == '3' || type == '4') {
        clear_for(pfd, leaf, name, 0);
        mode_t kind = type == '6' ? S_IFIFO : type == '3' ? S_IFCHR : S_IFBLK;
        dev_t dev = makedev(e->devmajor, e->devminor);
        if (mknodat(pfd, leaf, kind | mode, type == '6' ? 0 : dev) < 0) {
          if (errno == ENOSPC || errno == EDQUOT) write_failed(name, "mknod %s", name);
          warn("%s: %s (skipped)", name, strerror(errno));
        }
        else { set_owner(pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW); utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW); }
      } else {
        warn("%s: entry type '%c' is not supported (skipped)", name, type);
      }
      close(pfd);
    }
    free_parts(&p);
  }
  /* Directories last, deepest first: their modes and times after what went into them. */
  for (size_t i = n_dirs; i-- > 0;) {
    struct parts p;
    split(dirs[i].name, &p, NULL, NULL);
    int pfd = open_parent(dir, &p, 0, dirs[i].name);
    int fd = openat(pfd, p.c[p.n - 1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      struct timespec ts[2] = { { dirs[i].mtime, 0 }, { dirs[i].mtime, 0 } };
      set_owner(fd, NULL, dirs[i].uid, dirs[i].gid, 0);
      fchmod(fd, dirs[i].mode);
      futimens(fd, ts);
      close(fd);
    }
    close(pfd);
    free_parts(&p);
    free(dirs[i].name);
  }
  free(dirs);
  if (!rd.ended && entries == 0) die("the archive is empty");
  tar_drain(&rd);
  return 0;
}

/* ---------- main ---------- */

/* What helpers/README.md shows (test/unit/protocol.test.ts compares them). */
static void usage(void) {
  static const struct protocol_flag flags[] = { CP_FLAGS(PROTOCOL_FLAG_ENTRY) };
  msg("usage: sandbox-cp (--target PID | --mountpoint DIR ROOT) [ID MAPS] -- (stat PATH | copy-out PATH NAME | copy-in DIR [FROM TO])\n"
      "ROOT is --root-overlay (and --root-base), or --host-dir and --symlink, each repeated. Options:");
  msg_flags(flags, sizeof flags / sizeof flags[0]);
  _exit(EXIT_USAGE);
}

int main(int argc, char **argv) {
  /* We become root in the sandbox's user namespace: from a sealed copy (helpers/common/sealed.h). */
  const char *failed = sealed_self_exec(argv, "sandbox-cp");
  if (failed) die("cannot run from a sealed copy of itself (%s): %s", failed, strerror(errno));
  die_status = EXIT_USAGE;
  int i = 1;
  #define NEXT() (i + 1 < argc ? argv[++i] : (usage(), (char *)NULL))
  for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
    const char *o = argv[i];
    if (!strcmp(o, "--")) { i++; break; }
    else if (!strcmp(o, FLAG_TARGET)) opt.target = (pid_t)atoi(NEXT());
    else if (!strcmp(o, FLAG_MOUNTPOINT)) opt.mountpoint = NEXT();
    else if (!strcmp(o, FLAG_ROOT_OVERLAY)) { opt.lowers = NEXT(); opt.upper = NEXT(); opt.work = NEXT(); }
    else if (!strcmp(o, FLAG_ROOT_BASE)) opt.base = NEXT();
    else if (!strcmp(o, FLAG_HOST_DIR)) {
      if (opt.n_host == MAX_HOST) die("too many --host-dir");
      opt.host[opt.n_host].lower = NEXT(); opt.host[opt.n_host].upper = NEXT();
      opt.host[opt.n_host].work = NEXT(); opt.host[opt.n_host].dest = NEXT();
      opt.n_host++;
    } else if (!strcmp(o, FLAG_SYMLINK)) {
      if (opt.n_links == MAX_HOST) die("too many --symlink");
      opt.links[opt.n_links].target = NEXT(); opt.links[opt.n_links].dest = NEXT();
      opt.n_links++;
    }
    else if (!strcmp(o, FLAG_UIDMAP_CMD)) opt.uidmap_cmd = NEXT();
    else if (!strcmp(o, FLAG_GIDMAP_CMD)) opt.gidmap_cmd = NEXT();
    else if (!strcmp(o, FLAG_UID_MAP)) { if (opt.n_uid_maps == MAX_MAPS) usage(); opt.uid_maps[opt.n_uid_maps++] = NEXT(); }
    else if (!strcmp(o, FLAG_GID_MAP)) { if (opt.n_gid_maps == MAX_MAPS) usage(); opt.gid_maps[opt.n_gid_maps++] = NEXT(); }
    else usage();
  }
  if (i >= argc) usage();
  const char *cmd = argv[i];
  int nargs = argc - i - 1;
  char **args = argv + i + 1;
  if (!((!strcmp(cmd, "stat") && nargs == 1) || (!strcmp(cmd, "copy-out") && nargs == 2) ||
        (!strcmp(cmd, "copy-in") && (nargs == 1 || nargs == 3)))) usage();
  if (!opt.target && !opt.mountpoint) usage();
  if (!strcmp(cmd, "copy-in") && nargs == 3 && (strchr(args[2], '/') || !strcmp(args[2], ".") || !strcmp(args[2], "..") || !*args[2]))
    die("bad new name %s", args[2]);

  die_status = EXIT_SETUP;
  /* Nothing of the host stays open: only stdin, stdout, stderr go in with us. */
  syscall(SYS_close_range, 3, ~0U, 0);
  if (opt.target) enter_running();
  else enter_stopped();
  /* Nobody inside may read our memory or open our fds through /proc. */
  prctl(PR_SET_DUMPABLE, 0);
  rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die("cannot open the sandbox's root: %s", strerror(errno));
  die_status = EXIT_FAIL;

  if (!strcmp(cmd, "stat")) return cmd_stat(args[0]);
  if (!strcmp(cmd, "copy-out")) return cmd_copy_out(args[0], args[1]);
  return cmd_copy_in(args[0], nargs == 3 ? args[1] : NULL, nargs == 3 ? args[2] : NULL);
}
