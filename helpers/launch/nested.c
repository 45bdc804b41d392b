/* The id modes (--userns=keep-id, auto, --uidmap): the sandbox's user namespace nests
 * below an intermediate one that has the default maps (the caller as 0, the subordinate
 * range as 1..N: where the files of the image store are what they are in the image), as
 * rootless Podman's containers nest below its rootless namespace. fuse-overlayfs runs
 * in the intermediate namespace and shows the image's ids through the inner maps. */
#include "launch.h"
#include "../common/idmap.h"
#include <linux/nsfs.h>

int nested_userns(void) {
  return plan.n_inner_uid_maps > 0;
}

/* The length of the sandbox's directory in plan.fuse_merged (DIR/merged). */
static size_t sandbox_dir_length(void) {
  const char *slash = plan.fuse_merged ? strrchr(plan.fuse_merged, '/') : NULL;
  return slash && slash != plan.fuse_merged ? (size_t)(slash - plan.fuse_merged) : 0;
}

/* Forks a child that makes a fresh user namespace with the default maps (we write them:
 * plan.uid_maps through newuidmap) and becomes root there, with the caller's access to
 * the store. 0 in the child, its pid here; `up` is the child's pipe for its report. */
/* The intermediate user and mount namespaces of the current run (clone_nested): the
 * fuse-overlayfs daemon joins them. The mount namespace holds the mount point of the root,
 * shared, of which the init's is a slave: what is mounted there reaches the init (a copy
 * into a namespace of a less privileged user namespace turns shared mounts into slaves,
 * so the other way round, the init's own mount point, would not). */
static int outer_userns_fd = -1, outer_mntns_fd = -1;

static int open_ns(pid_t pid, const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, name);
  return open(path, O_RDONLY | O_CLOEXEC);
}

static pid_t fork_in_default_userns(void (*write_outer_maps)(pid_t), int up[2], int keep) {
  int down[2];
  if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    close(up[0]); close(down[1]);
    char go = 0;
    if (unshare(CLONE_NEWUSER | (keep ? CLONE_NEWNS : 0)) < 0 || write(up[1], "u", 1) != 1 || read(down[0], &go, 1) != 1 || go != 'g') _exit(EXIT_SETUP);
    close(down[0]);
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) _exit(EXIT_SETUP);
    return 0;
  }
  close(up[1]); close(down[0]);
  char u = 0;
  if (read(up[0], &u, 1) == 1 && u == 'u') {
    if (keep) {
      if (outer_userns_fd >= 0) close(outer_userns_fd);
      if (outer_mntns_fd >= 0) close(outer_mntns_fd);
      outer_userns_fd = open_ns(child, "user");
      outer_mntns_fd = open_ns(child, "mnt");
    }
    write_outer_maps(child);
    if (write(down[1], "g", 1) != 1) {} /* its end shows in its status */
  }
  close(down[1]);
  return child;
}

/* Clones the init (flags) in a user namespace nested below a fresh intermediate one: a
 * short-lived child makes the intermediate namespace (fork_in_default_userns), clones
 * the init with CLONE_PARENT (so the init is our child) and writes the init's maps itself
 * (as root of the intermediate namespace). Returns 0 in the init, its pid here. */
pid_t clone_nested(unsigned long flags, void (*write_outer_maps)(pid_t)) {
  int up[2];
  pid_t child = fork_in_default_userns(write_outer_maps, up, 1);
  if (child == 0) {
    int msg[2] = { -1, 0 };
    size_t len = sandbox_dir_length();
    char *dir = len ? strndup(plan.fuse_merged, len) : NULL;
    if (dir && chdir(dir) < 0) { dprintf(2, "sandbox: cannot enter %s: %s\n", dir, strerror(errno)); _exit(EXIT_SETUP); }
    if (dir && (mount("merged", "merged", NULL, MS_BIND, NULL) < 0 || mount(NULL, "merged", NULL, MS_SHARED, NULL) < 0)) {
      dprintf(2, "sandbox: cannot prepare the mount point for fuse-overlayfs: %s\n", strerror(errno));
      _exit(EXIT_SETUP);
    }
    /* The init starts inside the sandbox's cgroups (so its cgroup namespace is rooted there). */
    long r = cgroup_clone(flags | CLONE_PARENT);
    if (r == 0) { close(up[1]); return 0; }
    if (r < 0) msg[1] = errno;
    else {
      const char *what = "uid_map";
      if (write_id_maps_direct((pid_t)r, plan.inner_uid_maps, plan.n_inner_uid_maps, plan.inner_gid_maps, plan.n_inner_gid_maps, &what) < 0) {
        int e = errno;
        kill((pid_t)r, SIGKILL);
        dprintf(2, "sandbox: cannot write the sandbox's %s (--uidmap/--gidmap or --userns): %s\nhint: each id must be one of the default namespace's (0 to the size of your /etc/subuid range)\n", what, strerror(e));
        _exit(EXIT_SETUP);
      }
      msg[0] = (int)r;
    }
    if (write(up[1], msg, sizeof msg) != (ssize_t)sizeof msg) _exit(EXIT_SETUP);
    _exit(0);
  }
  int msg[2] = { -1, EIO };
  ssize_t n;
  while ((n = read(up[0], msg, sizeof msg)) < 0 && errno == EINTR) {}
  close(up[0]);
  int st = 0;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_SETUP) _exit(EXIT_SETUP); /* it said why */
  if (n != (ssize_t)sizeof msg || msg[0] <= 0) {
    errno = msg[1] ? msg[1] : EIO;
    return -1;
  }
  return (pid_t)msg[0];
}

/* --cleanup of a nested sandbox: its root (an id of the sandbox's namespace) may lack the
 * rights on the store's directories and files, so the monitor removes the sandbox's
 * directory, as root of a fresh default namespace, once the init has ended. */
void nested_cleanup(void (*write_outer_maps)(pid_t)) {
  if (!nested_userns() || !plan.cleanup) return;
  int up[2];
  pid_t child = fork_in_default_userns(write_outer_maps, up, 0);
  if (child == 0) {
    rm_rf_at(AT_FDCWD, plan.cleanup);
    _exit(0);
  }
  close(up[0]);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
}

/* The sandbox's directory, as the init finds it: its working directory at the clone
 * (clone_nested), so that its ids, which may not reach it through the store's private
 * directories, need only search it; opened as a descriptor of the init's own mounts. */
static int sandbox_dir_fd = -1;
static size_t sandbox_dir_len;
static const char *sandbox_dir_path; /* plan.fuse_merged as given: DIR/merged */

static const char *through_fd(const char *p) {
  if (sandbox_dir_fd < 0 || !p || strncmp(p, sandbox_dir_path, sandbox_dir_len) || p[sandbox_dir_len] != '/') return p;
  char *out = malloc(strlen(p) + 32);
  sprintf(out, "/proc/self/fd/%d%s", sandbox_dir_fd, p + sandbox_dir_len);
  return out;
}

/* Init side: the plan's paths in the sandbox's directory go through the descriptor; the
 * cleanup is the monitor's (nested_cleanup). */
void nested_init_paths(void) {
  if (!nested_userns()) return;
  plan.cleanup = NULL;
  sandbox_dir_len = sandbox_dir_length();
  sandbox_dir_path = plan.fuse_merged;
  if (sandbox_dir_len) {
    sandbox_dir_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (sandbox_dir_fd < 0) die("cannot open the sandbox's directory: %s", strerror(errno));
  }
  plan.fuse_merged = through_fd(plan.fuse_merged);
  for (int i = 0; i < plan.n_ops; i++)
    if (plan.ops[i].type == OP_BIND || plan.ops[i].type == OP_RO_BIND || plan.ops[i].type == OP_BIND_NONREC)
      plan.ops[i].a = through_fd(plan.ops[i].a);
}

/* For fuse-overlayfs: enter the intermediate user and mount namespaces (see
 * outer_mntns_fd). 0, or -1 with errno. */
int enter_intermediate_namespaces(void) {
  if (outer_userns_fd < 0 || outer_mntns_fd < 0) { errno = ESRCH; return -1; }
  return setns(outer_userns_fd, CLONE_NEWUSER) < 0 || setns(outer_mntns_fd, CLONE_NEWNS) < 0 ? -1 : 0;
}

/* fuse-overlayfs' options that show the image's ids through the inner maps
 * (uidmapping=INSIDE:OUTSIDE:COUNT:..., the same for gids), appended to `opts`. */
void fuse_mapping_options(char *opts, size_t cap) {
  const char *const *sets[2] = { plan.inner_uid_maps, plan.inner_gid_maps };
  int counts[2] = { plan.n_inner_uid_maps, plan.n_inner_gid_maps };
  const char *names[2] = { ",uidmapping=", ",gidmapping=" };
  for (int k = 0; k < 2; k++) {
    size_t len = strlen(opts);
    snprintf(opts + len, cap - len, "%s", names[k]);
    for (int i = 0; i < counts[k]; i++) {
      unsigned long a, b, c;
      if (sscanf(sets[k][i], "%lu %lu %lu", &a, &b, &c) != 3) continue;
      len = strlen(opts);
      snprintf(opts + len, cap - len, "%s%lu:%lu:%lu", i ? ":" : "", a, b, c);
    }
  }
  size_t len = strlen(opts);
  /* The sandbox's processes are not the mounter (root of the intermediate namespace). */
  snprintf(opts + len, cap - len, ",allow_other");
}
