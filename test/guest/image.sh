# shellcheck shell=bash
# The guest's root filesystem: Debian 12 from mmdebstrap, as an ext4 image for
# user-mode-linux. Sourced by test/guest/run; the image is cached under a name made from
# a hash of THIS file and the UML kernel's version, so editing the recipe (the package
# list, the hooks) or upgrading user-mode-linux builds a new image, and nothing else does.
#
# What is in it:
# - systemd as init, with logind and the user manager (libpam-systemd,
#   dbus-user-session): the cgroup v2 host with systemd's user delegation the product
#   meets on Fedora, Debian 12, Ubuntu.
# - what `bin/sandbox` runs: uidmap (newuidmap), fuse-overlayfs, slirp4netns, passt,
#   busybox-static (the tests' image), zstd, kmod (the overlay, fuse and tun modules of the
#   UML kernel are copied in and loaded at boot). libstdc++6: the host's node binary is
#   shared in through hostfs (Debian 12's nodejs is 18; the product needs 20).
# - the test user GUEST_USER (uid GUEST_UID) with a subuid/subgid range and lingering on,
#   so its user@UID.service starts at boot.
# - guest-job.service: runs the job the host put in the shared run directory, as that
#   user, inside its user session, then powers the guest off (test/guest/job.sh).

GUEST_USER=sandbox-test
GUEST_UID=1001
GUEST_PACKAGES=(
  systemd systemd-sysv libpam-systemd dbus-user-session
  uidmap fuse-overlayfs fuse3 slirp4netns passt busybox-static zstd kmod
  iproute2 procps libstdc++6 ca-certificates
)

# Units that only slow a test guest's boot down, or would open a console login.
GUEST_MASKED_UNITS=(
  getty@tty1.service serial-getty@ttyS0.service console-getty.service getty.target
  systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer
  e2scrub_reap.service fstrim.timer man-db.timer dpkg-db-backup.timer
)

# The script guest-job.service runs (inside the guest, as root): it mounts the host's run
# directory, named on the kernel command line (sandbox_guest.run=DIR), and hands over to
# the job script there (test/guest/job.sh, copied in by test/guest/run each time, so
# changing it needs no new image). Without one it powers off.
guest_job_script() {
  cat <<'EOF'
#!/bin/bash
run=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^sandbox_guest\.run=//p')
mkdir -p /run/guest-job
if [ -n "$run" ] && mount -t hostfs -o "$run" none /run/guest-job; then
  exec bash /run/guest-job/job.sh
fi
echo "guest: cannot mount the run directory (sandbox_guest.run=$run)" >/dev/console
systemctl --no-block poweroff --force --force
EOF
}

guest_job_unit() {
  cat <<'EOF'
[Unit]
Description=Run the host's job as the test user, then power off
After=multi-user.target user@GUEST_UID.service systemd-modules-load.service
Wants=user@GUEST_UID.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/guest-job
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console

[Install]
WantedBy=multi-user.target
EOF
}

# build_guest_image IMAGE: builds the image into IMAGE (via a temporary name beside it).
build_guest_image() {
  local image=$1 root tmp kver
  kver=$(linux --version 2>/dev/null | head -1)
  root=$(mktemp -d "$(dirname "$image")/rootfs-XXXXXX")
  tmp="$image.tmp.$$"
  local units=${GUEST_MASKED_UNITS[*]}
  # shellcheck disable=SC2064
  trap "rm -rf --one-file-system '$root' '$tmp'" RETURN
  mmdebstrap --mode=root --variant=minbase --format=directory \
    --include="$(IFS=,; echo "${GUEST_PACKAGES[*]}")" \
    --aptopt='Acquire::Retries "3"' --dpkgopt=force-unsafe-io \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='echo sandbox-guest >"$1/etc/hostname"' \
    --customize-hook='echo 5eb0c0a5c0ffee0ddba5eba11c0de016 >"$1/etc/machine-id"' \
    --customize-hook='echo "/dev/ubda / ext4 defaults 0 1" >"$1/etc/fstab"' \
    --customize-hook="chroot \"\$1\" useradd --create-home --uid $GUEST_UID --user-group --shell /bin/bash $GUEST_USER" \
    --customize-hook="grep -q '^$GUEST_USER:' \"\$1/etc/subuid\" || echo $GUEST_USER:100000:65536 >>\"\$1/etc/subuid\"" \
    --customize-hook="grep -q '^$GUEST_USER:' \"\$1/etc/subgid\" || echo $GUEST_USER:100000:65536 >>\"\$1/etc/subgid\"" \
    --customize-hook="mkdir -p \"\$1/var/lib/systemd/linger\" && touch \"\$1/var/lib/systemd/linger/$GUEST_USER\"" \
    --customize-hook="chroot \"\$1\" systemctl mask $units" \
    --customize-hook="mkdir -p \"\$1/lib/modules\" && cp -a /usr/lib/uml/modules/$kver \"\$1/lib/modules/\"" \
    --customize-hook='printf "overlay\nfuse\ntun\n" >"$1/etc/modules-load.d/sandbox-guest.conf"' \
    bookworm "$root" http://deb.debian.org/debian || return 1
  # (Called as `build_guest_image ... || ...`, where set -e does not hold: each step checks.)
  guest_job_script >"$root/usr/local/sbin/guest-job" || return 1
  chmod 0755 "$root/usr/local/sbin/guest-job" || return 1
  guest_job_unit | sed "s/GUEST_UID/$GUEST_UID/g" >"$root/etc/systemd/system/guest-job.service" || return 1
  chroot "$root" systemctl enable guest-job.service || return 1
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  mkfs.ext4 -q -F -L sandbox-guest -d "$root" "$tmp" 3G || return 1
  mv "$tmp" "$image"
}
