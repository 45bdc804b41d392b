/*
 * sandbox-layer: image layers in and out of the store (libc only).
 *
 * Run as root of the user's user namespace (sandbox-launch --userns-only ... --), so
 * files keep owners from the subordinate id range:
 *   unpack DIR   reads one uncompressed OCI layer tar on stdin and extracts it into DIR
 *                (existing, empty). OCI whiteouts become what overlayfs and
 *                fuse-overlayfs read: `.wh.NAME` a character device 0:0 at NAME,
 *                `.wh..wh..opq` the xattr user.overlay.opaque=y on its directory (both
 *                read it: overlay mounted with userxattr, fuse-overlayfs >= 1.x).
 *   diff UPPER   writes an uncompressed tar (PAX) of an overlay upper directory to
 *                stdout: whiteouts (device 0:0, or fuse-overlayfs's `.wh.NAME` files) as
 *                `.wh.NAME`, opaque directories (user./trusted.overlay.opaque,
 *                user.fuseoverlayfs.opaque, a `.wh..wh..opq` file) as the directory plus
 *                `DIR/.wh..wh..opq`; entries sorted by name, so the same tree gives the
 *                same bytes.
 *   list UPPER   the archive of diff without the files' contents (every regular file
 *                an empty entry): what changed, for `sandbox diff`, at the cost of a walk.
 * Safety of unpack: nothing a layer says can create or change anything outside DIR.
 * Names that are absolute or have a `..` component are refused; parent directories are
 * opened beneath DIR without following any symlink (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS); an existing entry is removed before a new one is made (never
 * written through); hard links must name an earlier non-directory entry of the layer,
 * reached the same way. A symlink itself may point anywhere: it is only created.
 *
 * Exit status: 0 done; 1 refused or failed (one line on stderr); 2 bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include "common/say.h"
#include "common/tar.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Every failure of the layer tool is one line and exit status 1 (EXIT_FAIL). */
const char say_prog[] = "sandbox-layer";
int die_status = EXIT_FAIL;

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OPAQUE_XATTR "user.overlay.opaque"

/* A name from the archive as it may be printed on one line: no control characters. */
static const char *shown(const char *name) {
  static char buf[2][256];
  static int which;
  char *b = buf[which ^= 1];
  size_t i = 0;
  for (; name[i] && i < sizeof buf[0] - 4; i++) b[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
  if (name[i]) { memcpy(b + i, "...", 3); i += 3; }
  b[i] = 0;
  return b;
}

/* The directory being unpacked into, for "no space left on DIR/ENTRY". */
static const char *layer_dir = "";

/* A write for an entry failed (errno says why): "layer entry "NAME": WHAT: why", or, on a
 * full file system, "no space left on DIR/NAME" (die_write_failed): never a bad layer. */
static void __attribute__((noreturn, format(printf, 2, 3))) write_failed(const char *entry, const char *fmt, ...) {
  int err = errno;
  char what[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  const char *name = shown(entry);
  die_write_failed(err, layer_dir, name, "layer entry \"%s\": %s", name, what);
}

#define refuse(name, ...) refuse_(name, __VA_ARGS__)
static void __attribute__((noreturn, format(printf, 2, 3))) refuse_(const char *name, const char *fmt, ...) {
  char why[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  die("layer entry \"%s\": %s", shown(name), why);
}

/* ---------- paths in the layer ---------- */

/* An archive name as components: `.` and empty ones dropped, absolute and `..` refused. */
struct path { char **c; int n; char *buf; };

static void split_path(const char *entry, const char *name, struct path *p, const char *what) {
  if (name[0] == '/') refuse(entry, "%s is absolute (it would leave the layer)", what);
  p->buf = strdup(name);
  p->c = malloc((strlen(name) / 2 + 2) * sizeof *p->c);
  if (!p->buf || !p->c) die("out of memory");
  p->n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(p->buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
    if (!strcmp(tok, ".")) continue;
    if (!strcmp(tok, "..")) refuse(entry, "%s has a `..` component (it would leave the layer)", what);
    p->c[p->n++] = tok;
  }
}

static void free_path(struct path *p) { free(p->buf); free(p->c); }

/* Components [0, n) joined with '/'; "" for none. */
static char *joined(const struct path *p, int n) {
  size_t len = 1;
  for (int i = 0; i < n; i++) len += strlen(p->c[i]) + 1;
  char *s = malloc(len), *q = s;
  if (!s) die("out of memory");
  for (int i = 0; i < n; i++) q += sprintf(q, "%s%s", i ? "/" : "", p->c[i]);
  *q = 0;
  return s;
}

static int rootfd = -1;

static int beneath(int dirfd, const char *path, int flags) {
  struct open_how how = {
    .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  return (int)syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof how);
}

/* Why a path of directories could not be opened: ENOTDIR from a symlink as its last
 * component is a symlink all the same. */
static int why_not_dir(const struct path *p, int n, int err) {
  if (err != ENOTDIR) return err;
  for (int i = 1; i <= n; i++) {
    char *prefix = joined(p, i);
    struct stat st;
    int r = fstatat(rootfd, prefix, &st, AT_SYMLINK_NOFOLLOW);
    free(prefix);
    if (r < 0) break;
    if (S_ISLNK(st.st_mode)) return ELOOP;
    if (!S_ISDIR(st.st_mode)) break;
  }
  return err;
}

static void __attribute__((noreturn)) refuse_open(const char *entry, const char *what, int err) {
  if (err == ELOOP) refuse(entry, "%s goes through a symlink (it could leave the layer)", what);
  if (err == ENOTDIR) refuse(entry, "%s goes through something that is not a directory", what);
  if (err == EXDEV) refuse(entry, "%s crosses a mount point", what);
  if (err == ENOENT) refuse(entry, "%s does not exist in this layer", what);
  refuse(entry, "%s: %s", what, strerror(err));
}

/* The directory holding the last component. Missing directories are made (0755, owner
 * root of the namespace), as tar does. The last one opened is kept: layers list many
 * files of one directory in a row. */
static char *cached_parent;
static int cached_fd = -1;

static void forget_parent(void) {
  if (cached_fd >= 0) close(cached_fd);
  cached_fd = -1;
  free(cached_parent);
  cached_parent = NULL;
}

static int open_parent(const char *entry, const struct path *p) {
  if (p->n <= 1) return rootfd;
  char *parent = joined(p, p->n - 1);
  if (cached_parent && !strcmp(parent, cached_parent)) { free(parent); return cached_fd; }
  forget_parent();
  int fd = beneath(rootfd, parent, O_RDONLY | O_DIRECTORY);
  if (fd < 0 && errno == ENOENT) {
    /* Walk and make what is missing, one component at a time, never following. */
    fd = dup(rootfd);
    for (int i = 0; fd >= 0 && i < p->n - 1; i++) {
      int next = beneath(fd, p->c[i], O_RDONLY | O_DIRECTORY);
      if (next < 0 && errno == ENOENT) {
        if (mkdirat(fd, p->c[i], 0755) < 0 && errno != EEXIST) write_failed(entry, "cannot make its directory");
        next = beneath(fd, p->c[i], O_RDONLY | O_DIRECTORY);
      }
      int e = errno;
      close(fd);
      fd = next;
      errno = e;
    }
  }
  if (fd < 0) refuse_open(entry, "its path", why_not_dir(p, p->n - 1, errno));
  cached_parent = parent;
  cached_fd = fd;
  return fd;
}

/* Removes a directory tree below pfd, never following a symlink. */
static void remove_tree(int pfd, const char *name, const char *entry) {
  int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die("layer entry \"%s\": cannot replace a directory: %s", shown(entry), strerror(errno));
  DIR *d = fdopendir(fd);
  if (!d) die("out of memory");
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    struct stat st;
    if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) remove_tree(fd, de->d_name, entry);
    else if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT) die("layer entry \"%s\": cannot replace a directory: %s", shown(entry), strerror(errno));
  }
  closedir(d);
  if (unlinkat(pfd, name, AT_REMOVEDIR) < 0) die("layer entry \"%s\": cannot replace a directory: %s", shown(entry), strerror(errno));
}

/* Makes room for a new entry: what is there is removed (a directory with its contents),
 * except a directory when one is wanted (merged). Returns 1 when that directory stays. */
static int clear_for(int pfd, const char *leaf, const char *entry, int want_dir) {
  struct stat st;
  if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return 0;
    die("layer entry \"%s\": %s", shown(entry), strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    if (want_dir) return 1;
    /* pfd is the cached parent (or the root): what goes is below it, the cache stays good. */
    remove_tree(pfd, leaf, entry);
    return 0;
  }
  if (unlinkat(pfd, leaf, 0) < 0) die("layer entry \"%s\": cannot replace it: %s", shown(entry), strerror(errno));
  return 0;
}

/* ---------- metadata ---------- */

static int n_devices, n_xattrs_lost, n_xattrs_skipped;

static void __attribute__((noreturn)) owner_error(const char *entry, uint64_t uid, uint64_t gid, int err) {
  if (err == EINVAL || err == EOVERFLOW)
    die("layer entry \"%s\": owner %llu:%llu is outside your subordinate id range (hint: give the user a range of 65536 ids in /etc/subuid and /etc/subgid)",
        shown(entry), (unsigned long long)uid, (unsigned long long)gid);
  die("layer entry \"%s\": cannot set its owner: %s", shown(entry), strerror(err));
}

static void set_owner(int fd, const char *leaf, const struct tar_entry *e) {
  if (e->uid > UINT32_MAX - 1 || e->gid > UINT32_MAX - 1) owner_error(e->name, e->uid, e->gid, EINVAL);
  int r = leaf ? fchownat(fd, leaf, (uid_t)e->uid, (gid_t)e->gid, AT_SYMLINK_NOFOLLOW) : fchown(fd, (uid_t)e->uid, (gid_t)e->gid);
  if (r < 0) owner_error(e->name, e->uid, e->gid, errno);
}

static void set_times(int fd, const char *leaf, int64_t mtime, long nsec) {
  struct timespec ts[2] = { { (time_t)mtime, nsec }, { (time_t)mtime, nsec } };
  if (leaf) utimensat(fd, leaf, ts, AT_SYMLINK_NOFOLLOW);
  else futimens(fd, ts);
}

/* Kept: user.* (but not overlay's or fuse-overlayfs's own: a layer must not forge
 * whiteouts, opaque directories or fuse-overlayfs's stat overrides) and file capabilities. */
static int xattr_kept(const char *name) {
  if (!strcmp(name, "security.capability")) return 1;
  if (strncmp(name, "user.", 5)) return 0;
  return strncmp(name, "user.overlay.", 13) && strncmp(name, "user.fuseoverlayfs.", 19) && strncmp(name, "user.containers.", 16);
}

static void set_xattrs(int fd, const struct tar_xattr *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!xattr_kept(x[i].name)) { n_xattrs_skipped++; continue; }
    if (fsetxattr(fd, x[i].name, x[i].value, x[i].len, 0) < 0) n_xattrs_lost++;
  }
}

/* Directories get owner, mode, xattrs and times at the end, after what went into them. */
struct dirmeta {
  char *path;
  uint64_t uid, gid;
  unsigned mode;
  int64_t mtime;
  long nsec;
  struct tar_xattr *xattrs;
  size_t n_xattrs;
  char *entry;
};
static struct dirmeta *dirs;
static size_t n_dirs, cap_dirs;

static void remember_dir(char *path, struct tar_entry *e) {
  if (n_dirs == cap_dirs) {
    cap_dirs = cap_dirs ? cap_dirs * 2 : 256;
    dirs = realloc(dirs, cap_dirs * sizeof *dirs);
    if (!dirs) die("out of memory");
  }
  /* The entry owns its xattrs until the next tar_next: take them. */
  dirs[n_dirs++] = (struct dirmeta){ path, e->uid, e->gid, e->mode, e->mtime, e->mtime_nsec, e->xattrs, e->n_xattrs, strdup(e->name) };
  e->xattrs = NULL;
  e->n_xattrs = 0;
}

static void finish_dirs(void) {
  forget_parent();
  for (size_t i = 0; i < n_dirs; i++) {
    struct dirmeta *d = &dirs[i];
    int fd = *d->path ? beneath(rootfd, d->path, O_RDONLY | O_DIRECTORY) : dup(rootfd);
    if (fd < 0) continue; /* replaced by a later entry */
    struct tar_entry e = { .name = d->entry, .uid = d->uid, .gid = d->gid };
    set_owner(fd, NULL, &e);
    if (fchmod(fd, d->mode) < 0) die("layer entry \"%s\": chmod: %s", shown(d->entry), strerror(errno));
    set_xattrs(fd, d->xattrs, d->n_xattrs);
    set_times(fd, NULL, d->mtime, d->nsec);
    close(fd);
  }
}

/* ---------- unpack ---------- */

static void make_whiteout(int pfd, const char *leaf, const char *entry) {
  if (mknodat(pfd, leaf, S_IFCHR, makedev(0, 0)) < 0)
    write_failed(entry, "cannot make the whiteout (overlay whiteouts need Linux >= 5.8)");
}

/* `dir/.wh.NAME` and `dir/.wh..wh..opq`. */
static void whiteout(const char *entry, const struct path *p) {
  const char *leaf = p->c[p->n - 1];
  int pfd = open_parent(entry, p);
  if (!strcmp(leaf, WH_OPAQUE)) {
    if (fsetxattr(pfd, OPAQUE_XATTR, "y", 1, 0) == 0) return;
    if (errno != ENOTSUP) write_failed(entry, "cannot mark the directory opaque");
    /* No user xattrs on this filesystem: fuse-overlayfs also reads the marker file. */
    int fd = openat(pfd, WH_OPAQUE, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) write_failed(entry, "cannot mark the directory opaque");
    close(fd);
    return;
  }
  if (!strncmp(leaf, WH_META_PREFIX, strlen(WH_META_PREFIX))) return; /* aufs's own (.wh..wh.plnk ...) */
  const char *name = leaf + strlen(WH_PREFIX);
  if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) refuse(entry, "not a valid whiteout");
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    /* A whiteout hides lower layers only: what this layer has under that name stays. */
    return;
  }
  make_whiteout(pfd, name, entry);
}

static void unpack_entry(struct tar_reader *rd, struct tar_entry *e) {
  struct path p;
  split_path(e->name, e->name, &p, "the path");
  if (p.n == 0) {
    if (e->type != '5') refuse(e->name, "names the layer's root but is not a directory");
    remember_dir(strdup(""), e);
    free_path(&p);
    return;
  }
  const char *leaf = p.c[p.n - 1];
  if (!strncmp(leaf, WH_PREFIX, strlen(WH_PREFIX))) {
    whiteout(e->name, &p);
    free_path(&p);
    return;
  }
  int pfd = open_parent(e->name, &p);
  switch (e->type) {
  case '5':
    if (!clear_for(pfd, leaf, e->name, 1) && mkdirat(pfd, leaf, 0700) < 0)
      write_failed(e->name, "mkdir");
    remember_dir(joined(&p, p.n), e);
    break;
  case '0': case '7': {
    clear_for(pfd, leaf, e->name, 0);
    int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) write_failed(e->name, "cannot create it");
    const void *chunk;
    size_t n;
    while ((n = tar_data(rd, &chunk)))
      if (tar_write_all(fd, chunk, n) < 0) write_failed(e->name, "cannot write it");
    set_owner(fd, NULL, e); /* before the mode: chown clears setuid bits */
    if (fchmod(fd, e->mode) < 0) die("layer entry \"%s\": chmod: %s", shown(e->name), strerror(errno));
    set_xattrs(fd, e->xattrs, e->n_xattrs); /* after chown, which drops security.capability */
    set_times(fd, NULL, e->mtime, e->mtime_nsec);
    if (close(fd) < 0) write_failed(e->name, "cannot write it");
    break;
  }
  case '2':
    if (!*e->link) refuse(e->name, "a symlink without a target");
    clear_for(pfd, leaf, e->name, 0);
    if (symlinkat(e->link, pfd, leaf) < 0) write_failed(e->name, "cannot create the symlink");
    set_owner(pfd, leaf, e);
    set_times(pfd, leaf, e->mtime, e->mtime_nsec);
    break;
  case '1': {
    if (!*e->link) refuse(e->name, "a hard link without a target");
    struct path lp;
    split_path(e->name, e->link, &lp, "its hard link target");
    if (lp.n == 0) refuse(e->name, "its hard link target is the layer's root, a directory");
    char *target = joined(&lp, lp.n), *self = joined(&p, p.n);
    if (!strcmp(target, self)) refuse(e->name, "a hard link to itself");
    char *tparent = joined(&lp, lp.n - 1);
    int lpfd = beneath(rootfd, tparent, O_PATH | O_DIRECTORY);
    if (lpfd < 0) refuse_open(e->name, "its hard link target", why_not_dir(&lp, lp.n - 1, errno));
    const char *lleaf = lp.c[lp.n - 1];
    struct stat st;
    if (fstatat(lpfd, lleaf, &st, AT_SYMLINK_NOFOLLOW) < 0) refuse_open(e->name, "its hard link target", errno);
    if (S_ISDIR(st.st_mode)) refuse(e->name, "its hard link target is a directory");
    clear_for(pfd, leaf, e->name, 0);
    pfd = open_parent(e->name, &p); /* clearing a directory may have closed it */
    if (linkat(lpfd, lleaf, pfd, leaf, 0) < 0) write_failed(e->name, "cannot link it to \"%s\"", shown(e->link));
    close(lpfd);
    free(target); free(self); free(tparent);
    free_path(&lp);
    break;
  }
  case '3': case '4':
    if (e->type == '3' && e->devmajor == 0 && e->devminor == 0) { /* an overlay-style whiteout */
      clear_for(pfd, leaf, e->name, 0);
      make_whiteout(open_parent(e->name, &p), leaf, e->name);
    } else {
      n_devices++; /* needs real root; sandboxes get their own /dev */
    }
    break;
  case '6':
    clear_for(pfd, leaf, e->name, 0);
    pfd = open_parent(e->name, &p);
    if (mknodat(pfd, leaf, S_IFIFO | 0600, 0) < 0) write_failed(e->name, "mkfifo");
    set_owner(pfd, leaf, e);
    if (fchmodat(pfd, leaf, e->mode, 0) < 0) die("layer entry \"%s\": chmod: %s", shown(e->name), strerror(errno));
    set_times(pfd, leaf, e->mtime, e->mtime_nsec);
    break;
  case 'S':
    refuse(e->name, "GNU sparse files are not supported");
  default:
    refuse(e->name, "entry type '%c' is not supported", e->type);
  }
  free_path(&p);
}

static int cmd_unpack(const char *dir) {
  layer_dir = dir;
  rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die("%s: %s", dir, strerror(errno));
  umask(0);
  struct tar_reader rd;
  struct tar_entry *e;
  tar_reader_init(&rd, 0);
  while (tar_next(&rd, &e)) unpack_entry(&rd, e);
  if (!rd.ended) die("the layer ends early (no end-of-archive marker): is it truncated?");
  finish_dirs();
  tar_drain(&rd);
  if (n_devices) warn("skipped %d device node%s (they cannot be made in a user namespace; sandboxes get their own /dev)", n_devices, n_devices == 1 ? "" : "s");
  if (n_xattrs_lost) warn("%d extended attribute%s could not be kept (not supported here)", n_xattrs_lost, n_xattrs_lost == 1 ? "" : "s");
  return 0;
}

/* ---------- diff ---------- */

static struct tar_writer tw = { .fd = 1, .format = TAR_FORMAT_PAX };
static int names_only; /* `list`: regular files without their contents */

static int cmp_xattr(const void *a, const void *b) {
  return strcmp(((const struct tar_xattr *)a)->name, ((const struct tar_xattr *)b)->name);
}

/* The xattrs a layer carries (sorted), and whether overlay marks the directory opaque. */
static size_t read_xattrs(int fd, const char *arch, struct tar_xattr **out, int *opaque) {
  *out = NULL;
  if (opaque) *opaque = 0;
  ssize_t n = flistxattr(fd, NULL, 0);
  if (n <= 0) return 0;
  char *names = malloc((size_t)n + 1);
  if (!names) die("out of memory");
  n = flistxattr(fd, names, (size_t)n);
  if (n < 0) { free(names); return 0; }
  size_t count = 0;
  for (char *k = names; k < names + n; k += strlen(k) + 1) {
    int is_opaque = !strcmp(k, "user.overlay.opaque") || !strcmp(k, "trusted.overlay.opaque") || !strcmp(k, "user.fuseoverlayfs.opaque");
    if (!is_opaque && !xattr_kept(k)) continue;
    ssize_t len = fgetxattr(fd, k, NULL, 0);
    if (len < 0) continue;
    char *v = malloc((size_t)len + 1);
    if (!v) die("out of memory");
    len = fgetxattr(fd, k, v, (size_t)len);
    if (len < 0) { free(v); continue; }
    if (is_opaque) {
      if (opaque && len >= 1 && v[0] == 'y') *opaque = 1;
      free(v);
      continue;
    }
    *out = realloc(*out, (count + 1) * sizeof **out);
    if (!*out) die("out of memory");
    (*out)[count++] = (struct tar_xattr){ strdup(k), v, (size_t)len };
  }
  free(names);
  if (count) qsort(*out, count, sizeof **out, cmp_xattr);
  (void)arch;
  return count;
}

static void free_xattrs(struct tar_xattr *x, size_t n) {
  for (size_t i = 0; i < n; i++) { free(x[i].name); free(x[i].value); }
  free(x);
}

static struct tar_meta meta_of(const char *arch, char type, const struct stat *st) {
  return (struct tar_meta){ .name = arch, .type = type, .mode = st->st_mode & 07777, .uid = st->st_uid, .gid = st->st_gid, .mtime = st->st_mtime };
}

static void put_whiteout(const char *arch, const struct stat *st) {
  struct tar_meta m = { .name = arch, .type = '0', .mode = 0644, .mtime = st ? st->st_mtime : 0 };
  tar_put_header(&tw, &m);
}

struct item { char *name; char *arch; int whiteout; };

static int cmp_item(const void *a, const void *b) {
  return strcmp(((const struct item *)a)->arch, ((const struct item *)b)->arch);
}

static char *concat(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *s = malloc(n);
  if (!s) die("out of memory");
  snprintf(s, n, "%s%s%s", a, b, c);
  return s;
}

static void diff_dir(int dfd, const char *prefix);

static void diff_entry(int dfd, const struct item *it, const char *prefix) {
  char *arch = concat(prefix, it->arch, "");
  struct stat st;
  if (fstatat(dfd, it->name, &st, AT_SYMLINK_NOFOLLOW) < 0) die("%s: %s", shown(arch), strerror(errno));
  if (it->whiteout) {
    put_whiteout(arch, &st);
  } else if (S_ISDIR(st.st_mode)) {
    int fd = openat(dfd, it->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) die("%s: %s", shown(arch), strerror(errno));
    int opaque;
    struct tar_xattr *x;
    size_t nx = read_xattrs(fd, arch, &x, &opaque);
    struct stat marker;
    if (fstatat(fd, WH_OPAQUE, &marker, AT_SYMLINK_NOFOLLOW) == 0) opaque = 1;
    char *dn = concat(arch, "/", "");
    struct tar_meta m = meta_of(dn, '5', &st);
    m.xattrs = x;
    m.n_xattrs = nx;
    tar_put_header(&tw, &m);
    if (opaque) {
      char *opq = concat(dn, WH_OPAQUE, "");
      put_whiteout(opq, &st);
      free(opq);
    }
    diff_dir(fd, dn);
    free(dn);
    free_xattrs(x, nx);
    close(fd);
  } else if (S_ISREG(st.st_mode) && names_only) {
    struct tar_meta m = meta_of(arch, '0', &st);
    tar_put_header(&tw, &m);
  } else if (S_ISREG(st.st_mode)) {
    int fd = openat(dfd, it->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) die("%s: %s", shown(arch), strerror(errno));
    const char *first = st.st_nlink > 1 ? tar_first_name(&st) : NULL;
    if (first) {
      struct tar_meta m = meta_of(arch, '1', &st);
      m.link = first;
      tar_put_header(&tw, &m);
    } else {
      if (st.st_nlink > 1) tar_remember_name(&st, arch);
      struct tar_xattr *x;
      size_t nx = read_xattrs(fd, arch, &x, NULL);
      struct tar_meta m = meta_of(arch, '0', &st);
      m.size = (uint64_t)st.st_size;
      m.xattrs = x;
      m.n_xattrs = nx;
      tar_put_header(&tw, &m);
      static char buf[1 << 17];
      uint64_t done = 0;
      while (done < m.size) {
        size_t want = m.size - done < sizeof buf ? (size_t)(m.size - done) : sizeof buf;
        ssize_t r = read(fd, buf, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die("%s: %s", shown(arch), strerror(errno));
        if (r == 0) die("%s changed while it was archived", shown(arch));
        tar_put(&tw, buf, (size_t)r);
        done += (uint64_t)r;
      }
      tar_put_pad(&tw, m.size);
      free_xattrs(x, nx);
    }
    close(fd);
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX + 1];
    ssize_t n = readlinkat(dfd, it->name, target, PATH_MAX);
    if (n < 0) die("%s: %s", shown(arch), strerror(errno));
    target[n] = 0;
    struct tar_meta m = meta_of(arch, '2', &st);
    m.link = target;
    tar_put_header(&tw, &m);
  } else if (S_ISFIFO(st.st_mode)) {
    struct tar_meta m = meta_of(arch, '6', &st);
    tar_put_header(&tw, &m);
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    struct tar_meta m = meta_of(arch, S_ISCHR(st.st_mode) ? '3' : '4', &st);
    m.devmajor = major(st.st_rdev);
    m.devminor = minor(st.st_rdev);
    tar_put_header(&tw, &m);
  } /* sockets: not archived */
  free(arch);
}

/* The entries of one directory, sorted by their names in the archive. */
static void diff_dir(int dfd, const char *prefix) {
  int dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (!d) die("%s: %s", *prefix ? shown(prefix) : ".", strerror(errno));
  struct item *items = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *name = de->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    if (!strncmp(name, WH_META_PREFIX, strlen(WH_META_PREFIX))) continue; /* the opaque marker: see the directory */
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die("%s%s: %s", prefix, shown(name), strerror(errno));
    if (S_ISSOCK(st.st_mode)) continue;
    struct item it = { strdup(name), NULL, 0 };
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) { it.arch = concat(WH_PREFIX, name, ""); it.whiteout = 1; }
    else if (!strncmp(name, WH_PREFIX, strlen(WH_PREFIX))) { it.arch = strdup(name); it.whiteout = 1; } /* fuse-overlayfs's */
    else it.arch = strdup(name);
    if (n == cap) { cap = cap ? cap * 2 : 32; items = realloc(items, cap * sizeof *items); if (!items) die("out of memory"); }
    items[n++] = it;
  }
  closedir(d);
  if (n) qsort(items, n, sizeof *items, cmp_item);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && !strcmp(items[i].arch, items[i - 1].arch)) continue; /* both kinds of whiteout */
    diff_entry(dfd, &items[i], prefix);
  }
  for (size_t i = 0; i < n; i++) { free(items[i].name); free(items[i].arch); }
  free(items);
}

static int cmd_diff(const char *upper) {
  signal(SIGPIPE, SIG_IGN);
  int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("%s: %s", upper, strerror(errno));
  diff_dir(fd, "");
  tar_put_end(&tw);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "unpack") && strcmp(argv[1], "diff") && strcmp(argv[1], "list"))) {
    dprintf(2, "usage: sandbox-layer (unpack DIR < LAYER.tar | diff UPPER > LAYER.tar | list UPPER > NAMES.tar)\n");
    return EXIT_USAGE;
  }
  syscall(SYS_close_range, 3, ~0U, 0);
  if (!strcmp(argv[1], "unpack")) return cmd_unpack(argv[2]);
  names_only = !strcmp(argv[1], "list");
  return cmd_diff(argv[2]);
}
