#!/bin/bash
# Runs INSIDE the guest, as root, from guest-job.service (test/guest/image.sh), with the
# host's run directory mounted at /run/guest-job. It holds `env` (GUEST_USER, the host
# paths of the checkout and of node's directory) and `job` (the command, a bash script);
# this writes `status` there and powers the guest off. The checkout is mounted read-only
# at its host path, so the paths a test prints are the ones on the host.
set -uo pipefail
out=/dev/console
dir=/run/guest-job
say() { echo "guest: $*" >"$out"; }
status() { echo "$1" >"$dir/status"; sync; }
finish() { sync; systemctl --no-block poweroff --force --force; exit 0; }

# shellcheck disable=SC1091
. "$dir/env" # GUEST_USER, REPO, NODE_DIR, OUTSIDE (test/guest/run --outside)
mkdir -p "$REPO" /run/host-node
mount -t hostfs -o "ro,$REPO" none "$REPO" || { say "cannot mount the checkout $REPO"; status 125; finish; }
mount -t hostfs -o "ro,$NODE_DIR" none /run/host-node || { say "cannot mount $NODE_DIR"; status 125; finish; }
ln -sf /run/host-node/node /usr/local/bin/node
# A distribution's udev makes these 0666; the image has no udev (a faster boot).
chmod 0666 /dev/fuse /dev/net/tun

uid=$(id -u "$GUEST_USER")
home=$(getent passwd "$GUEST_USER" | cut -d: -f6)
# Lingering starts user@UID.service at boot; wait until its manager answers on its bus.
for _ in $(seq 1 150); do
  systemctl is-active --quiet "user@$uid.service" && [ -S "/run/user/$uid/bus" ] && break
  sleep 0.2
done
# --outside: as the user, but in this system service's cgroup (outside user@UID.service,
# not delegated, as an ssh login's session-N.scope), its manager reachable all the same.
if [ "${OUTSIDE:-false}" = true ]; then
  cd "$REPO" || { status 125; finish; }
  setpriv --reuid="$uid" --regid="$(id -g "$GUEST_USER")" --init-groups \
    env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$home" USER="$GUEST_USER" \
    LOGNAME="$GUEST_USER" XDG_RUNTIME_DIR="/run/user/$uid" LANG=C.UTF-8 \
    DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" \
    bash "$dir/job" </dev/null >"$out" 2>&1
  status $?
  finish
fi
# Only a unit of the user's own manager sits in the delegated cgroup (user@UID.service):
# runuser alone would leave the job in this system service's cgroup.
runuser -u "$GUEST_USER" -- env XDG_RUNTIME_DIR="/run/user/$uid" \
  DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" \
  systemd-run --user --wait --pipe --quiet --working-directory="$REPO" \
  --setenv=PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin --setenv=HOME="$home" \
  --setenv=USER="$GUEST_USER" --setenv=LOGNAME="$GUEST_USER" \
  --setenv=XDG_RUNTIME_DIR="/run/user/$uid" --setenv=LANG=C.UTF-8 \
  -- bash "$dir/job" </dev/null >"$out" 2>&1
status $?
finish
