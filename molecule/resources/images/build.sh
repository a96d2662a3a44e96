#!/usr/bin/env bash
# Build the lab's systemd base images locally, without any container registry.
#
#   build.sh [--rebuild] [12|13 ...]     (default: 12 13)
#
# Each image is a minimal Debian made by debootstrap, with python3, systemd,
# sshd and sudo, as a fresh server comes: Ansible reaches the lab over SSH. It is
# imported into Docker as alx-webstack/debian:<version> and labelled with the
# recipe below; an image of this recipe is kept unless --rebuild is given, an
# image of an older recipe is built again. Needs root (debootstrap) and a
# running Docker engine. DEBIAN_MIRROR selects the package mirror.
set -euo pipefail

mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
repo="${ALX_IMAGE_REPO:-alx-webstack/debian}"
rebuild=0
versions=()
for arg in "$@"; do
  case "$arg" in
    --rebuild) rebuild=1 ;;
    12|13) versions+=("$arg") ;;
    *) echo "usage: $0 [--rebuild] [12|13 ...]" >&2; exit 2 ;;
  esac
done
[ "${#versions[@]}" -gt 0 ] || versions=(12 13)

codename() {
  case "$1" in 12) echo bookworm ;; 13) echo trixie ;; esac
}

packages="python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,procps,ca-certificates,gnupg,curl,less,openssh-server,sudo"
# Change this whenever what goes into an image changes: older images are rebuilt.
recipe=2

# Remove a build root, first unmounting anything debootstrap left mounted in it.
cleanup_root() {
  local root="$1"
  [ -n "$root" ] && [ -d "$root" ] || return 0
  { grep -o " $root/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mnt; do
    umount -l "$mnt" || true
  done
  rm -rf --one-file-system "$root"
}

# The recipe an image was built with (empty when there is no such image).
image_recipe() {
  docker image inspect -f '{{ index .Config.Labels "alx-webstack.recipe" }}' "$1" 2>/dev/null || true
}

build_one() {
  local version="$1" suite tag root
  suite="$(codename "$version")"
  tag="${repo}:${version}"
  if [ "$rebuild" -eq 0 ] && [ "$(image_recipe "$tag")" = "$recipe" ]; then
    echo "image $tag exists (use --rebuild to make it again)"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "building $tag needs root (debootstrap); run: sudo $0 $version" >&2
    return 1
  fi
  command -v debootstrap >/dev/null 2>&1 || {
    echo "installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
  }
  root="$(mktemp -d "/var/tmp/alx-rootfs-${suite}.XXXXXX")"
  current_root="$root"
  echo "debootstrap $suite into $root"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" \
    >"$root.log" 2>&1 || { tail -30 "$root.log" >&2; rm -f "$root.log"; return 1; }
  rm -f "$root.log"

  # A container has no consoles, udev or kernel to manage.
  for unit in getty.target console-getty.service systemd-udevd.service \
      systemd-udev-trigger.service systemd-modules-load.service \
      sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
      systemd-remount-fs.service systemd-firstboot.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  : >"$root/etc/machine-id"
  # Every container gets host keys of its own at first boot, as a new server
  # does, instead of sharing the ones made while the image was built.
  rm -f "$root"/etc/ssh/ssh_host_*
  mkdir -p "$root/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$root/etc/systemd/system/ssh.service.d/host-keys.conf"
  chroot "$root" systemctl enable ssh.service >/dev/null 2>&1 || true
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" \
    >"$root/etc/apt/sources.list"
  rm -f "$root/etc/apt/sources.list.d/debian.sources"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  # No package lists in the image: make them look old, so that the first
  # "apt update if older than N" in a container really updates.
  touch -d "2000-01-01" "$root/var/lib/apt/lists"

  tar -C "$root" --one-file-system -c . | docker import \
    --change 'ENV container=docker' \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change "LABEL alx-webstack.recipe=$recipe" \
    --message "alx.webstack lab base, Debian $version ($suite)" \
    - "$tag" >/dev/null
  cleanup_root "$root"
  current_root=""
  echo "built $tag"
}

current_root=""
trap 'cleanup_root "$current_root"' EXIT

for v in "${versions[@]}"; do
  build_one "$v"
done
