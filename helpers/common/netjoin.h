/*
 * User-defined networks (`sandbox network create`): each sandbox keeps its own user and
 * network namespaces; a network is one switch process (sandbox-netswitch, ../netswitch.c)
 * that passes Ethernet frames between its members' tap devices. Both the monitor (at
 * every start of a member) and `sandbox network connect` (a running sandbox) join a
 * sandbox to a network through net_join(); `network disconnect` uses net_leave().
 *
 * A network's runtime directory DIR holds `sock` (the switch listens there while the
 * network has members) and `lock` (held while a member joins, and by a switch that
 * finds itself without members as it goes away, so that a joiner never meets a switch
 * on its way out). See helpers/README.md, "User-defined networks".
 */
#ifndef SANDBOX_NETJOIN_H
#define SANDBOX_NETJOIN_H

#include <stddef.h>
#include <sys/types.h>

/* The members' MTU (the switch reads frames of up to NET_MTU + 14 bytes). */
#define NET_MTU 65520

/* Messages to the switch (SOCK_SEQPACKET, one per connection; the reply is "ok" or why not). */
#define NETSW_JOIN 'J'   /* "J ADDR" with two SCM_RIGHTS descriptors: the tap, a pidfd of the member's init */
#define NETSW_LEAVE 'L'  /* "L ADDR": drop the member with this address (its device goes with it) */
#define NETSW_LIST 'Q'   /* "Q": the reply lists the members' addresses, one a line */

/*
 * Creates the tap device DEV with ADDR (a.b.c.d/len) in the network namespace of NS_PID
 * (entering its user namespace first, in a short child: the monitor stays outside),
 * then hands it to the switch of DIR, started with SWITCH_CMD when none runs. The switch
 * keeps the member until LIFE_PID (the sandbox's init) ends. Returns 0, or -1 with why
 * in err.
 */
int net_join(const char *dir, const char *switch_cmd, pid_t ns_pid, pid_t life_pid,
             const char *addr, const char *dev, char *err, size_t errlen);

/* Asks the switch of DIR to drop the member ADDR. 0 when done (or no switch runs: then
 * the network has no running member), -1 with why in err. */
int net_leave(const char *dir, const char *addr, char *err, size_t errlen);

/* The unix socket address of DIR/NAME, reached through `dirfd` (/proc/self/fd/N/NAME)
 * when DIR is too long for sun_path. */
struct sockaddr_un;
int net_sockaddr(const char *dir, int dirfd, const char *name, struct sockaddr_un *sa);

#endif
