/* What the kernel charges for putting a process into a new cgroup v2 directory, three
 * ways, N times each (a child that exits at once, waited for): a plain fork (no cgroup),
 * mkdir + clone3 with CLONE_INTO_CGROUP + rmdir (what every sandbox now pays on a
 * delegated v2, for its init and each exec), and mkdir + fork + a write of the child to
 * cgroup.procs + rmdir (a migration, as v1 and older kernels do: it waits for an RCU
 * grace period). Run as the user inside its delegated subtree, DIR a cgroup of it with
 * the controllers enabled for its children (sandbox.slice after a first sandbox ran):
 *   cc -O2 -o /tmp/cgroup-birth bench/cgroup-birth.c && /tmp/cgroup-birth DIR [N] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void reap(pid_t p) {
  if (p < 0) { perror("fork"); exit(1); }
  if (p == 0) _exit(0);
  waitpid(p, NULL, 0);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: cgroup-birth DIR [N]\n"); return 2; }
  int n = argc > 2 ? atoi(argv[2]) : 200;
  char dir[4096], procs[4200];
  snprintf(dir, sizeof dir, "%s/birth-bench-%d", argv[1], (int)getpid());
  snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
  double t0 = now_us();
  for (int i = 0; i < n; i++) reap(fork());
  double t1 = now_us();
  for (int i = 0; i < n; i++) {
    if (mkdir(dir, 0755) < 0) { perror("mkdir"); return 1; }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup; } a = { 0 };
    a.flags = CLONE_INTO_CGROUP; a.exit_signal = SIGCHLD; a.cgroup = (uint64_t)fd;
    reap((pid_t)syscall(SYS_clone3, &a, sizeof a));
    close(fd);
    while (rmdir(dir) < 0) usleep(100);
  }
  double t2 = now_us();
  for (int i = 0; i < n; i++) {
    if (mkdir(dir, 0755) < 0) { perror("mkdir"); return 1; }
    pid_t p = fork();
    if (p == 0) {
      int fd = open(procs, O_WRONLY);
      if (fd < 0 || write(fd, "0", 1) != 1) _exit(1);
      _exit(0);
    }
    waitpid(p, NULL, 0);
    while (rmdir(dir) < 0) usleep(100);
  }
  double t3 = now_us();
  printf("per process (%d each): fork %.0f us; mkdir + clone3 CLONE_INTO_CGROUP + rmdir %.0f us; mkdir + fork + migration + rmdir %.0f us\n",
         n, (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n);
  return 0;
}
