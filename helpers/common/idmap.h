/*
 * Id maps of a new user namespace, shared by sandbox-launch and sandbox-cp: the whole
 * subordinate range through newuidmap/newgidmap, or, for a user without one, only the
 * caller's own ids, written directly (idmap.c).
 */
#ifndef SANDBOX_IDMAP_H
#define SANDBOX_IDMAP_H

#include <sys/types.h>

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

/* Writes the maps of `pid` (newuidmap and newgidmap run at the same time); gives up
 * (die) with the reason and what to do about it when that fails. */
void write_id_maps(pid_t pid, const struct idmap_spec *spec);

/* Writes the maps of `pid` ourselves, all lines at once (no newuidmap): for a user
 * namespace nested in one where we are root (the id modes' sandboxes). 0, or -1 and
 * errno; `what` names the file that failed ("uid_map", "gid_map", ...). */
int write_id_maps_direct(pid_t pid, const char *const *uid_maps, int n_uid, const char *const *gid_maps, int n_gid, const char **what);

#endif
