/*
 * Id maps of a new user namespace, shared by sandbox-launch and sandbox-cp: the whole
 * subordinate range through newuidmap/newgidmap, or, for a user without one, only the
 * caller's own ids, written directly. Header-only (each helper is one program).
 */
#ifndef SANDBOX_IDMAP_H
#define SANDBOX_IDMAP_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDMAP_MAX 64

struct idmap_spec {
  const char *uidmap_cmd, *gidmap_cmd; /* both NULL: a single mapping, written directly */
  const char *const *uid_maps, *const *gid_maps; /* "INSIDE OUTSIDE COUNT" each */
  int n_uid, n_gid;
};

enum idmap_result {
  IDMAP_OK = 0,
  IDMAP_BAD_SPEC,   /* a map is not three numbers */
  IDMAP_NEWUIDMAP,  /* newuidmap failed */
  IDMAP_NEWGIDMAP,  /* newgidmap failed */
  IDMAP_UID_MAP,    /* writing /proc/PID/uid_map failed (errno) */
  IDMAP_SETGROUPS,  /* writing /proc/PID/setgroups failed (errno) */
  IDMAP_GID_MAP,    /* writing /proc/PID/gid_map failed (errno) */
};

static int idmap_write_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, s, strlen(s));
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* newuidmap PID inner outer count [...]; returns the child's pid, -2 for a bad map, -1 on fork failure. */
static pid_t idmap_run_tool(const char *tool, pid_t pid, const char *const *maps, int n) {
  if (n > IDMAP_MAX) return -2;
  char pidbuf[32], words[IDMAP_MAX * 3][24];
  const char *args[2 + IDMAP_MAX * 3 + 1];
  int k = 0, w = 0;
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
  args[k++] = tool;
  args[k++] = pidbuf;
  for (int i = 0; i < n; i++) {
    unsigned long a, b, c;
    if (sscanf(maps[i], "%lu %lu %lu", &a, &b, &c) != 3) return -2;
    snprintf(words[w], sizeof words[w], "%lu", a); args[k++] = words[w++];
    snprintf(words[w], sizeof words[w], "%lu", b); args[k++] = words[w++];
    snprintf(words[w], sizeof words[w], "%lu", c); args[k++] = words[w++];
  }
  args[k] = NULL;
  pid_t child = fork();
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(tool, (char **)args);
    dprintf(2, "sandbox: cannot run %s: %s\n", tool, strerror(errno));
    _exit(127);
  }
  return child;
}

static int idmap_wait(pid_t child) {
  int st;
  if (child <= 0) return -1;
  while (waitpid(child, &st, 0) < 0) if (errno != EINTR) return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Writes the maps of `pid` (newuidmap and newgidmap run at the same time). */
static enum idmap_result idmap_write(pid_t pid, const struct idmap_spec *spec) {
  if (spec->uidmap_cmd && spec->gidmap_cmd) {
    pid_t u = idmap_run_tool(spec->uidmap_cmd, pid, spec->uid_maps, spec->n_uid);
    pid_t g = idmap_run_tool(spec->gidmap_cmd, pid, spec->gid_maps, spec->n_gid);
    int ru = idmap_wait(u), rg = idmap_wait(g);
    if (u == -2 || g == -2) return IDMAP_BAD_SPEC;
    if (ru < 0) return IDMAP_NEWUIDMAP;
    if (rg < 0) return IDMAP_NEWGIDMAP;
    return IDMAP_OK;
  }
  char path[64], line[64];
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  snprintf(line, sizeof line, "0 %u 1\n", (unsigned)getuid());
  if (idmap_write_file(path, line) < 0) return IDMAP_UID_MAP;
  snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
  if (idmap_write_file(path, "deny") < 0 && errno != ENOENT) return IDMAP_SETGROUPS;
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  snprintf(line, sizeof line, "0 %u 1\n", (unsigned)getgid());
  if (idmap_write_file(path, line) < 0) return IDMAP_GID_MAP;
  return IDMAP_OK;
}

#endif
