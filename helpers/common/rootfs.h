/*
 * Building a sandbox's root, shared by sandbox-launch (its init, after the first pivot,
 * sees host paths under /oldroot) and sandbox-cp (which mounts a stopped sandbox's root
 * and sees host paths as they are): path resolution inside a root, the overlay (with
 * its userxattr fallback), one host directory of the `host` image, a symlink.
 * `host` below is the prefix under which host paths are seen: "/oldroot" or "".
 */
#ifndef SANDBOX_ROOTFS_H
#define SANDBOX_ROOTFS_H

/* A + "/" + B (one slash between them, whatever either has); never NULL. */
char *join2(const char *a, const char *b);

/* Opens `path` inside the root `rootfd` (O_PATH | extra_flags), resolved as if rootfd
 * were `/`: no symlink or `..` leads out of it, and no magic link is followed. */
int resolve_in(int rootfd, const char *path, int extra_flags);

enum make_kind { MAKE_NONE, MAKE_DIR, MAKE_FILE };

/* Opens `path` inside the root (O_PATH), creating it (and its parents, as
 * directories) when missing. A dangling symlink where a file must go is replaced:
 * images commonly ship /etc/resolv.conf as a link into /run. */
int ensure_in(int rootfd, const char *path, enum make_kind kind);

/* Makes the mount at `path` inside root read-only (recursively with `recursive`). */
void make_readonly(int rootfd, const char *path, int recursive);

/* Mounts an overlay on `target`: `lowers` colon-separated host paths (topmost first);
 * or, with `base`, short names relative to that host directory (image layers: the
 * options must fit in one page), read from there as our working directory while the
 * mount is made. `upper` and `work` (host paths) may be NULL: a read-only overlay.
 * With userxattr where the kernel knows it, else without. Returns mount()'s result. */
int mount_overlay(const char *target, const char *host, const char *base, const char *lowers, const char *upper, const char *work);

/* One top-level directory of the host for the `host` image at `dest` inside the root:
 * copy-on-write overlay of `lower` when the kernel allows it there, else a read-only
 * recursive bind; a directory we cannot even read (lost+found) is left empty. */
void mount_host_dir(int rootfd, const char *host, const char *lower, const char *upper, const char *work, const char *dest);

/* A symlink at `dest` inside the root pointing to `target` (parents created). */
void make_symlink(int rootfd, const char *target, const char *dest);

#endif
