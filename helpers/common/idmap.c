/* Id maps of a new user namespace: see idmap.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "idmap.h"
#include "say.h"

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


/* Writes the maps of `pid`. With newuidmap/newgidmap: the whole subordinate range.
 * Without: only the caller's own ids (one mapping), written directly. */
void write_id_maps(pid_t pid, const struct idmap_spec *spec) {
  enum idmap_result r = idmap_write(pid, spec);
  switch (r) {
  case IDMAP_OK: return;
  case IDMAP_BAD_SPEC: die("internal: bad id map");
  case IDMAP_NEWUIDMAP:
  case IDMAP_NEWGIDMAP:
    die_hint("check /etc/subuid and /etc/subgid for your user and that newuidmap/newgidmap are setuid root; `sandbox doctor` explains",
             "%s failed to write the id map of the sandbox", r == IDMAP_NEWUIDMAP ? "newuidmap" : "newgidmap");
  case IDMAP_UID_MAP: die_hint("`sandbox doctor` checks user namespace support", "cannot write uid_map: %s", strerror(errno));
  case IDMAP_SETGROUPS: die("cannot write setgroups: %s", strerror(errno));
  case IDMAP_GID_MAP: die("cannot write gid_map: %s", strerror(errno));
  }
}

static int idmap_write_lines(pid_t pid, const char *file, const char *const *maps, int n) {
  char path[64], buf[IDMAP_MAX * 40 + 1];
  size_t len = 0;
  for (int i = 0; i < n && i < IDMAP_MAX; i++) {
    unsigned long a, b, c;
    if (sscanf(maps[i], "%lu %lu %lu", &a, &b, &c) != 3) { errno = EINVAL; return -1; }
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%lu %lu %lu\n", a, b, c);
  }
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  return idmap_write_file(path, buf);
}

int write_id_maps_direct(pid_t pid, const char *const *uid_maps, int n_uid, const char *const *gid_maps, int n_gid, const char **what) {
  if (idmap_write_lines(pid, "uid_map", uid_maps, n_uid) < 0) { *what = "uid_map"; return -1; }
  if (idmap_write_lines(pid, "gid_map", gid_maps, n_gid) < 0) { *what = "gid_map"; return -1; }
  return 0;
}
