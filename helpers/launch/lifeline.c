/* sandbox-launch: the starter's lifeline (--owner-lifeline FD MARKER), monitor side.
 *
 * A sandbox started by a library process (not detached) lives only as long as that
 * process. The starter keeps one end of a socket pair; the monitor gets the other as FD
 * and polls it. When the starter ends, however it ends (SIGKILL included), the kernel
 * closes its end and we read EOF: we create MARKER (so that the next command finds what
 * to remove, even should we be killed half-way) and then act on it as on a kill request
 * (`rm -f`'s): the init is SIGKILLed, so everything in its pid namespace dies at once,
 * then fuse-overlayfs, the network's program (slirp4netns, pasta) and the published
 * ports' sockets go as at every end of a run.
 *
 * Why not PR_SET_PDEATHSIG: it fires when the *thread* that forked us ends, and Node
 * spawns from whichever thread it likes (and may end threads of its pool); it also needs
 * us to be the starter's child, which a systemd-run scope prefix breaks. A descriptor's
 * end is per process, race-free (no pid to reuse), and needs no polling of /proc. */
#include "launch.h"

/* Set close-on-exec: nothing we start (init's command, slirp4netns, ...) holds it. */
void lifeline_prepare(void) {
  if (plan.owner_lifeline >= 0) fcntl(plan.owner_lifeline, F_SETFD, FD_CLOEXEC);
}

/* Adds the lifeline to a poll set; *index is -1 when there is none (any more). */
void lifeline_poll_add(struct pollfd *p, int *n, int *index) {
  *index = -1;
  if (plan.owner_lifeline < 0) return;
  *index = (*n)++;
  p[*index] = (struct pollfd){ plan.owner_lifeline, POLLIN, 0 };
}

/* In the init (not exec'd, so close-on-exec does not reach it): no handle of ours inside. */
void lifeline_close(void) {
  if (plan.owner_lifeline >= 0) close(plan.owner_lifeline);
  plan.owner_lifeline = -1;
}

/* After a poll: whether the starter is gone. Then the marker exists, the lifeline is
 * closed, and a kill request is pending on our signalfd (handled where the others are). */
int lifeline_check(const struct pollfd *p, int index) {
  if (index < 0 || !p[index].revents) return 0;
  char buf[64];
  ssize_t n = read(plan.owner_lifeline, buf, sizeof buf);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return 0; /* the starter said something: nothing is asked of us */
  if (plan.owner_marker) {
    int fd = open(plan.owner_marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  }
  lifeline_close();
  stop_requested = 1;
  kill(getpid(), SIG_KILL_REQUEST);
  return 1;
}
