/*
 * A helper that creates or enters a sandbox's namespaces runs from a sealed copy of
 * itself in memory, never from its file (runc's answer to CVE-2019-5736).
 *
 * Our binaries belong to the user, and root inside a sandbox is the user: a process
 * inside that got a handle on one (`#!/proc/self/exe` runs the interpreter that exec'd
 * the script, i.e. us; /proc/PID/exe of any process of ours that it can see) could
 * write it once it stops running, and the next `sandbox run` would run its code on the
 * host. So the first thing main() does is sealed_self_exec(): copy /proc/self/exe into
 * a memfd, seal it against writes, shrinking and growing (and against new seals), and
 * exec that with the same arguments and environment (inherited descriptors stay open:
 * --args-fd still reads its plan afterwards). Every process of ours that a sandbox can
 * reach then names the memfd in /proc/PID/exe ("/memfd:NAME (deleted)"), which no one
 * can change. The sealed copy finds itself sealed and goes on: one copy per start.
 *
 * Nothing after it may use /proc/self/exe or argv[0] to find files of ours: they name
 * the memfd, not the installation.
 */
#ifndef SANDBOX_SEALED_H
#define SANDBOX_SEALED_H

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux >= 6.3: executable even under vm.memfd_noexec=1 */
#endif

#define SEALED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* How much of the ELF file `fd` exec needs: up to the end of its last segment. What
 * follows (symbols, debug information: a fifth of a static sandbox-launch) is left out,
 * since every byte copied costs page allocations on every start. `size` when the file
 * is not a 64-bit ELF we can read. */
static off_t sealed_exec_size(int fd, off_t size) {
  Elf64_Ehdr eh;
  if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
    return size;
  Elf64_Phdr ph[64];
  size_t len = eh.e_phnum * sizeof(Elf64_Phdr);
  if (pread(fd, ph, len, (off_t)eh.e_phoff) != (ssize_t)len) return size;
  uint64_t end = eh.e_phoff + len;
  for (int i = 0; i < eh.e_phnum; i++)
    if (ph[i].p_offset + ph[i].p_filesz > end) end = ph[i].p_offset + ph[i].p_filesz;
  return end < (uint64_t)size ? (off_t)end : size;
}

extern char **environ;

/* Re-executes this program from a sealed memfd copy, unless it already runs from one.
 * `name` names the memfd and, afterwards, the process (its comm: execveat() would name
 * it after the descriptor). Returns NULL when already sealed; does not return when the
 * re-exec worked; otherwise returns the step that failed, with errno set. */
static const char *sealed_self_exec(char **argv, const char *name) {
  int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) return "open /proc/self/exe";
  int seals = fcntl(exe, F_GET_SEALS);
  if (seals >= 0 && (seals & SEALED_SEALS) == SEALED_SEALS) {
    close(exe);
    prctl(PR_SET_NAME, name);
    return NULL;
  }
  const char *step = "fstat";
  int e = 0, mfd = -1;
  struct stat st;
  if (fstat(exe, &st) < 0) goto fail;
  step = "memfd_create";
  mfd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC | MFD_EXEC);
  if (mfd < 0 && errno == EINVAL) mfd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC); /* before 6.3 */
  if (mfd < 0) goto fail;
  step = "copy";
  for (off_t left = sealed_exec_size(exe, st.st_size); left > 0;) {
    ssize_t n = sendfile(mfd, exe, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) goto fail;
    if (n == 0) { errno = EIO; goto fail; } /* the file shrank under us */
    left -= n;
  }
  step = "seal";
  if (fcntl(mfd, F_ADD_SEALS, SEALED_SEALS) < 0) goto fail;
  close(exe);
  exe = -1;
  step = "execveat";
  syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
fail:
  e = errno;
  if (exe >= 0) close(exe);
  if (mfd >= 0) close(mfd);
  errno = e;
  return step;
}

#endif
