/* Building a sandbox's root: see rootfs.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "rootfs.h"
#include "say.h"

char *join2(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *r = malloc(la + lb + 2);
  if (!r) die("out of memory");
  memcpy(r, a, la);
  if (la == 0 || a[la - 1] != '/') r[la++] = '/';
  while (*b == '/') { b++; lb--; }
  memcpy(r + la, b, lb + 1);
  return r;
}

int resolve_in(int rootfd, const char *path, int extra_flags) {
  struct open_how how = {
    .flags = O_PATH | O_CLOEXEC | extra_flags,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  while (*path == '/') path++;
  if (!*path) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

int ensure_in(int rootfd, const char *path, enum make_kind kind) {
  int fd = resolve_in(rootfd, path, 0);
  if (fd >= 0 || errno != ENOENT || kind == MAKE_NONE) return fd;
  char *copy = strdup(path);
  if (!copy) die("out of memory");
  while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/') copy[strlen(copy) - 1] = 0;
  char *slash = strrchr(copy, '/');
  const char *name = slash ? slash + 1 : copy;
  int pfd;
  if (slash && slash != copy) { *slash = 0; pfd = ensure_in(rootfd, copy, MAKE_DIR); }
  else pfd = resolve_in(rootfd, "/", 0);
  if (pfd < 0) { int e = errno; free(copy); errno = e; return -1; }
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) unlinkat(pfd, name, 0);
  int r;
  if (kind == MAKE_DIR) r = mkdirat(pfd, name, 0755);
  else {
    r = openat(pfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (r >= 0) { close(r); r = 0; }
  }
  if (r < 0 && errno != EEXIST) { int e = errno; close(pfd); free(copy); errno = e; return -1; }
  close(pfd);
  free(copy);
  return resolve_in(rootfd, path, 0);
}

static int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr) {
  return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr);
}

void make_readonly(int rootfd, const char *path, int recursive) {
  int fd = resolve_in(rootfd, path, 0);
  if (fd < 0) die("cannot open %s to make it read-only: %s", path, strerror(errno));
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
    die("cannot make %s read-only: %s", path, strerror(errno));
  close(fd);
}

int mount_overlay(const char *target, const char *host, const char *base, const char *lowers, const char *upper, const char *work) {
  int here = -1;
  if (base) {
    char *dir = join2(host, base);
    here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (here < 0 || chdir(dir) < 0) die("cannot enter the layer directory %s: %s", base, strerror(errno));
    free(dir);
  }
  size_t words = 1;
  for (const char *p = lowers; *p; p++) if (*p == ':') words++;
  size_t cap = strlen(lowers) + (words + 2) * strlen(host) + (upper ? strlen(upper) : 0) + (work ? strlen(work) : 0) + 256;
  char *data = malloc(cap);
  if (!data) die("out of memory");
  strcpy(data, "lowerdir=");
  char *copy = strdup(lowers);
  int first = 1;
  for (char *tok = strtok(copy, ":"); tok; tok = strtok(NULL, ":")) {
    if (!first) strcat(data, ":");
    if (!base || tok[0] == '/') strcat(data, host);
    strcat(data, tok);
    first = 0;
  }
  free(copy);
  size_t len = strlen(data);
  if (upper) {
    snprintf(data + len, cap - len, ",upperdir=%s%s,workdir=%s%s", host, upper, host, work);
    len = strlen(data);
  }
  /* userxattr: whiteouts and opaque directories as user.overlay.* xattrs, the only
   * kind an unprivileged user can set (needed for image layers and for commit). */
  snprintf(data + len, cap - len, ",userxattr");
  int r = mount("overlay", target, "overlay", 0, data);
  if (r < 0 && errno == EINVAL) {
    data[len] = 0; /* older kernels: no userxattr */
    r = mount("overlay", target, "overlay", 0, data);
  }
  int e = errno;
  free(data);
  if (here >= 0) {
    if (fchdir(here) < 0) die("cannot return from the layer directory: %s", strerror(errno));
    close(here);
  }
  errno = e;
  return r;
}

void mount_host_dir(int rootfd, const char *host, const char *lower, const char *upper, const char *work, const char *dest) {
  int fd = ensure_in(rootfd, dest, MAKE_DIR);
  if (fd < 0) die("cannot create %s: %s", dest, strerror(errno));
  /* The host's /proc: the one mounted where this process sees host paths. */
  char target[64];
  snprintf(target, sizeof target, "%s/proc/self/fd/%d", host, fd);
  if (mount_overlay(target, host, NULL, lower, upper, work) == 0) { close(fd); return; }
  char *h = join2(host, lower);
  if (mount(h, target, NULL, MS_BIND | MS_REC, NULL) < 0) {
    /* A directory we cannot even read (lost+found, a private mount) is left empty. */
    close(fd);
    free(h);
    return;
  }
  free(h);
  close(fd);
  make_readonly(rootfd, dest, 1);
}

void make_symlink(int rootfd, const char *target, const char *dest) {
  char *copy = strdup(dest);
  if (!copy) die("out of memory");
  char *slash = strrchr(copy, '/');
  const char *name = slash ? slash + 1 : copy;
  if (slash) *slash = 0;
  int pfd = ensure_in(rootfd, slash && *copy ? copy : "/", MAKE_DIR);
  if (pfd < 0 || (symlinkat(target, pfd, name) < 0 && errno != EEXIST))
    die("cannot create symlink %s: %s", dest, strerror(errno));
  close(pfd);
  free(copy);
}
