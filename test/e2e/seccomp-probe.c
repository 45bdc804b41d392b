/*
 * The seccomp e2e tests' probe (test/e2e/seccomp.test.ts builds it with gcc -static and
 * binds it into sandboxes): `seccomp-probe NAME...` makes each named system call, with
 * arguments chosen so that the kernel itself answers with something other than EPERM
 * where it can (a bad descriptor, a missing path, a success), and prints `NAME ERRNO`
 * (0: it worked). Calls that would change the probe itself (unshare, personality) run in a
 * child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static long call(const char *name) {
  if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -2 /* process keyring */, 1);
  if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "user", "probe", "x", 1, -2);
  if (!strcmp(name, "request_key")) return syscall(SYS_request_key, "user", "probe-none", NULL, 0);
  if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 0xffff, NULL, 0);
  if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */);
  if (!strcmp(name, "perf_event_open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
  if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0);
  if (!strcmp(name, "kexec_file_load")) return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0);
  if (!strcmp(name, "open_by_handle_at")) return syscall(SYS_open_by_handle_at, -1, NULL, 0);
  if (!strcmp(name, "init_module")) return syscall(SYS_init_module, NULL, 0, "");
  if (!strcmp(name, "finit_module")) return syscall(SYS_finit_module, -1, "", 0);
  if (!strcmp(name, "delete_module")) return syscall(SYS_delete_module, "probe_none", 0);
  if (!strcmp(name, "mount")) return syscall(SYS_mount, "none", "/probe-none", "tmpfs", 0, NULL);
  if (!strcmp(name, "umount2")) return syscall(SYS_umount2, "/probe-none", 0);
  if (!strcmp(name, "open_tree")) return syscall(SYS_open_tree, -1, "/probe-none", 0);
  if (!strcmp(name, "setns")) return syscall(SYS_setns, -1, 0);
  if (!strcmp(name, "clone3")) return syscall(SYS_clone3, NULL, 0);
  if (!strcmp(name, "socket_vsock")) return syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0);
  if (!strcmp(name, "socket_vsock_high")) return syscall(SYS_socket, 0x100000000L | AF_VSOCK, SOCK_STREAM, 0);
  if (!strcmp(name, "socket_inet")) return syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
  if (!strcmp(name, "ioctl_tiocsti")) { char c = 'x'; return syscall(SYS_ioctl, 0, TIOCSTI, &c); }
  if (!strcmp(name, "ioctl_tiocsti_high")) { char c = 'x'; return syscall(SYS_ioctl, 0, 0x100000000L | TIOCSTI, &c); }
  if (!strcmp(name, "ioctl_tioclinux")) { char c = 0; return syscall(SYS_ioctl, 0, TIOCLINUX, &c); }
  if (!strcmp(name, "ioctl_fionread")) { int n; return syscall(SYS_ioctl, 0, FIONREAD, &n); }
  if (!strcmp(name, "mkdir")) return syscall(SYS_mkdir, "/tmp/probe-dir", 0700);
  if (!strcmp(name, "getpid")) return syscall(SYS_getpid);
  /* In a child: these change the caller. */
  int child = !strcmp(name, "unshare_user") || !strcmp(name, "unshare_files") || !strcmp(name, "clone_newuser") ||
    !strcmp(name, "personality_exec") || !strcmp(name, "personality_linux");
  if (!child) { fprintf(stderr, "seccomp-probe: unknown probe %s\n", name); exit(2); }
  int p[2];
  if (pipe(p) < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    long r;
    if (!strcmp(name, "unshare_user")) r = syscall(SYS_unshare, CLONE_NEWUSER);
    else if (!strcmp(name, "unshare_files")) r = syscall(SYS_unshare, CLONE_FILES);
    else if (!strcmp(name, "personality_exec")) r = syscall(SYS_personality, 0x0400000 /* READ_IMPLIES_EXEC */);
    else if (!strcmp(name, "personality_linux")) r = syscall(SYS_personality, 0);
    else {
      r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
      if (r == 0) _exit(0);
      if (r > 0) waitpid((pid_t)r, NULL, 0);
    }
    int e = r < 0 ? errno : 0;
    if (write(p[1], &e, sizeof e) < 0) _exit(1);
    _exit(0);
  }
  close(p[1]);
  int e = -1;
  if (read(p[0], &e, sizeof e) != sizeof e) e = -1;
  waitpid(pid, NULL, 0);
  errno = e;
  return e ? -1 : 0;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    errno = 0;
    long r = call(argv[i]);
    printf("%s %d\n", argv[i], r < 0 ? errno : 0);
  }
  return 0;
}
