/* sandbox-pause: the command of a pod's infra sandbox (api/pods.ts). It holds the pod's
 * namespaces open and does nothing else: no shell, nothing of an image. Copied (static,
 * so it needs no library) into a root of its own in the store, which the infra
 * sandbox runs on; never bound from the host (a process inside must hold no handle on a
 * binary of ours). SIGTERM, SIGINT and SIGHUP end it with status 0, as Podman's
 * catatonit -P; the sandbox's init is PID 1 and passes the stop signal on to it. */
#include <signal.h>
#include <unistd.h>

static void done(int sig) { (void)sig; _exit(0); }

int main(void) {
  struct sigaction sa = { .sa_handler = done };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  for (;;) pause();
}
