/* sandbox-launch: published ports (`-p`), launch/ports.c.
 *
 * For every network mode but pasta (whose own forwarding keeps the source address), a
 * port forwarder serves the plan's `--publish` mappings: the monitor binds the host
 * sockets before it clones anything (a taken port is one line naming it and its holder,
 * exit 125), and a forked forwarder joins the user and network namespaces of the
 * sandbox (keyed on a pid, so a pod's sandboxes can share one) and carries each TCP
 * connection and each UDP flow to the sandbox's loopback. */
#ifndef SANDBOX_PORTS_H
#define SANDBOX_PORTS_H

#include <sys/types.h>

/* One `--publish PROTO HOSTIP HOSTPORT CONTAINERPORT` of the plan. */
struct port_map {
  int udp;               /* 0: tcp, 1: udp */
  const char *host_ip;   /* "" = every address of the host (IPv6 and IPv4) */
  int host_port, container_port;
};

/* Parses the four words of one --publish (plan.c); dies on a malformed one. */
void ports_add(const char *proto, const char *host_ip, const char *host_port, const char *container_port);

/* A host socket bound (and, for tcp, listening) for `m`, close-on-exec; on failure one
 * line naming the port and, when it can be known, what holds it (its command and pid,
 * or the user it belongs to), a hint, and exit 125. */
int port_bind(const struct port_map *m);

/* The bind check on its own, for a driver that forwards ports itself (pasta; the monitor
 * runs it before the clone when the driver has own_ports): binds each of the plan's
 * mappings and lets go at once; dies as port_bind does on the first taken. */
void ports_check_free(void);

/* Monitor, before the init is cloned: binds every host socket of the plan. */
void ports_bind_all(void);
/* The cloned init: lets go of the host sockets it inherited. */
void ports_close_inherited(void);
/* Monitor, once the init (`pid`) exists and before the command may start: the forwarder
 * joins pid's user and network namespaces and serves the bound sockets. */
void ports_start(pid_t pid);
/* Monitor, when this run has ended: the forwarder ends (it also dies with the monitor). */
void ports_stop(void);

#endif
