#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Build the collectd-kepler OCI image without any container registry: a
# Debian 12 root file system made from Debian's packages (mmdebstrap, or
# debootstrap), collectd and the plugin's run-time libraries installed in it
# with apt, the plugin added from a `make install` tree (or a .deb), and the
# tree imported as an image with podman (or buildah). docs/fleet.md.
#
#   deploy/image/build-image.sh [options]
#     --build-dir DIR  install from this configured and built tree (make
#                      install prefix=/usr); default: scripts/build.sh into
#                      WORK/build, configured --prefix=/usr
#     --deb FILE       install this collectd-kepler .deb instead of a tree
#     --work DIR       scratch space (default /var/tmp/collectd-kepler-image)
#     --rootfs DIR     keep the finished root file system in DIR (for chroot)
#     --no-import      make the root file system only (with --rootfs)
#     --name IMAGE     image name (default: the one --print-name prints)
#     --print-name     print the default image name and exit
# Environment: KEPLER_IMAGE_SOURCES, apt source lines ("deb URI SUITE
# COMPONENT", one a line) for the root; default: this host's bookworm
# sources. KEPLER_IMAGE_BOOTSTRAP=debootstrap forces debootstrap.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
here="$src/deploy/image"
suite=bookworm
version=$(sed -n 's/^AC_INIT(\[collectd-kepler\], *\[\([^]]*\)\].*/\1/p' "$src/configure.ac")
# The manifests name this image (tests/e2e/test_fleet_manifests.py checks
# they agree): localhost/ is what podman calls an image no registry holds.
image="localhost/collectd-kepler:$version"
build_dir=""
deb=""
work=/var/tmp/collectd-kepler-image
rootfs_out=""
import=yes
# Run time only: collectd, the libraries kepler.so links (libbpf, libelf,
# zlib, libyaml, json-c, libcurl), CA certificates for ModelServer over
# HTTPS, and what collectd's network (libgcrypt: signing, encryption) and
# write_prometheus (protobuf-c, microhttpd) plugins load; collectd-core
# only suggests those.
packages="collectd-core libbpf1 libelf1 zlib1g libyaml-0-2 libjson-c5 libcurl4
  ca-certificates libgcrypt20 libprotobuf-c1 libmicrohttpd12"

die() { echo "build-image.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$(cd "$2" && pwd); shift 2 ;;
    --deb) deb=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --work) work=$2; shift 2 ;;
    --rootfs) rootfs_out=$2; shift 2 ;;
    --no-import) import=no; shift ;;
    --name) image=$2; shift 2 ;;
    --print-name) echo "$image"; exit 0 ;;
    *) die "unknown option $1 (see the comment at the top of this script)" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "run as root (the root file system is made with chroot)"
[ -z "$deb" ] || [ -f "$deb" ] || die "no such .deb: $deb"
[ "$import" = yes ] || [ -n "$rootfs_out" ] || die "--no-import without --rootfs makes nothing"
# --rootfs replaces DIR: only an empty folder or a root this script made.
if [ -n "$rootfs_out" ] && [ -e "$rootfs_out" ] && [ -n "$(ls -A "$rootfs_out")" ] &&
  [ ! -f "$rootfs_out/usr/lib/collectd/kepler.so" ]; then
  die "--rootfs $rootfs_out is not empty and not a collectd-kepler root: not replacing it"
fi
if [ "$import" = yes ] && ! command -v podman >/dev/null && ! command -v buildah >/dev/null; then
  die "neither podman nor buildah: apt-get install podman (or use --no-import --rootfs DIR)"
fi

# This host's Debian sources for the suite (the mirror it already reaches),
# as apt-get sees them, whatever the file format.
if [ -z "${KEPLER_IMAGE_SOURCES:-}" ]; then
  KEPLER_IMAGE_SOURCES=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
    'Identifier: Packages' | awk -v s="$suite" '$2 ~ "^" s "(-updates|-security)?$" { print "deb " $0 }' | sort -u)
fi
[ -n "$KEPLER_IMAGE_SOURCES" ] || die "no $suite apt source on this host: set KEPLER_IMAGE_SOURCES"
main_mirror=$(echo "$KEPLER_IMAGE_SOURCES" | awk -v s="$suite" '$3 == s { print $2; exit }')

start=$(date +%s)
mkdir -p "$work"
root="$work/rootfs"
# Everything under WORK is ours; a root left by an interrupted run may
# still have chroot mounts (debootstrap path): never delete through them.
unmount_under() {
  awk -v r="$1" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo |
    sort -r | while read -r m; do umount -l "$m"; done
}
unmount_under "$root"
rm -rf "$root"
trap 'unmount_under "$root"' EXIT INT TERM

# --- 1. Debian root with the run-time packages -----------------------------
# Documentation and translations are left out of the image (copyright files
# stay): it only runs collectd.
bootstrap=${KEPLER_IMAGE_BOOTSTRAP:-}
[ -n "$bootstrap" ] || { command -v mmdebstrap >/dev/null && bootstrap=mmdebstrap; } ||
  { command -v debootstrap >/dev/null && bootstrap=debootstrap; } ||
  die "neither mmdebstrap nor debootstrap: apt-get install mmdebstrap"
echo "build-image.sh: $bootstrap $suite from $main_mirror"
if [ "$bootstrap" = mmdebstrap ]; then
  set -- --quiet --variant=apt --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --include="$(echo $packages | tr ' ' ,)"
  # A .deb given with --include is installed by apt inside the root; the
  # hook makes its path visible there.
  [ -z "$deb" ] || set -- "$@" --include="$deb" \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount
  mmdebstrap "$@" "$suite" "$root" "$KEPLER_IMAGE_SOURCES"
else
  # debootstrap takes one mirror: the base from it, then apt inside the root
  # with every source installs the packages (and the .deb).
  debootstrap --variant=minbase "$suite" "$root" "$main_mirror" >/dev/null
  echo "$KEPLER_IMAGE_SOURCES" > "$root/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"  # start no service
  chmod +x "$root/usr/sbin/policy-rc.d"
  mount -t proc proc "$root/proc"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  [ -z "$deb" ] || cp "$deb" "$root/tmp/"
  chroot "$root" apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq \
    --no-install-recommends $packages ${deb:+"/tmp/$(basename "$deb")"} >/dev/null
  umount "$root/proc"
  rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf" ${deb:+"$root/tmp/$(basename "$deb")"}
  rm -rf "$root/usr/share/man" "$root/usr/share/locale"
fi

# --- 2. The plugin: a make install tree, unless a .deb brought it ----------
if [ -z "$deb" ]; then
  if [ -z "$build_dir" ]; then
    build_dir="$work/build"
    "$src/scripts/build.sh" "$build_dir" --prefix=/usr --sysconfdir=/etc --localstatedir=/var
  fi
  dest="$work/destdir"
  rm -rf "$dest"
  # prefix=/usr on the command line: a tree configured for /usr/local (make
  # check's) installs as a package would. Nothing the plugin runs with is
  # compiled in from prefix.
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$build_dir" install DESTDIR="$dest" \
    prefix=/usr sysconfdir=/etc localstatedir=/var collectd_plugindir=/usr/lib/collectd \
    systemdsystemunitdir=/usr/lib/systemd/system >/dev/null
  # The estimator sidecar is Python with numpy, a container of its own in
  # Kepler's deployments; this image runs collectd only.
  rm -f "$dest/usr/bin/kepler-estimator" "$dest/usr/share/man/man1/kepler-estimator.1"
  rm -rf "$dest/usr/lib/systemd" "$dest/usr/share/collectd-kepler/estimator" "$dest/usr/share/man"
  # tar, not cp: the root's /lib is usrmerge's symlink to usr/lib, which cp
  # refuses to replace by a directory and tar follows.
  tar -C "$dest" -cf - . | tar -C "$root" -xf - --keep-directory-symlink
fi
test -f "$root/usr/lib/collectd/kepler.so" || die "no /usr/lib/collectd/kepler.so in the root"
test -f "$root/usr/share/collectd/kepler-types.db" || die "no kepler-types.db in the root"
# Every library the plugin links is in the root (the package list is
# right): the dynamic linker inside the root says so.
missing=$(chroot "$root" /usr/bin/ldd /usr/lib/collectd/kepler.so | grep 'not found' || true)
[ -z "$missing" ] || die "kepler.so misses libraries in the image: $missing"

# --- 3. Configuration and mount points --------------------------------------
install -m 644 "$here/collectd.conf" "$root/etc/collectd/collectd.conf"
mkdir -p "$root/etc/collectd/collectd.conf.d" "$root/host/sys" "$root/host/proc" \
  "$root/host/root" "$root/var/lib/collectd"
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"* "$root/var/log/"*.log
echo "build-image.sh: root file system $(du -sm "$root" | cut -f1) MiB"

# --- 4. Import ---------------------------------------------------------------
if [ "$import" = yes ]; then
  entrypoint='["/usr/sbin/collectd", "-f"]'
  cmd='["-C", "/etc/collectd/collectd.conf"]'
  label="org.opencontainers.image.title=collectd-kepler"
  if command -v podman >/dev/null; then
    # The image this one replaces would stay behind untagged: removed
    # after the import (unless a container still uses it).
    old=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    tar -C "$root" --numeric-owner -cf - . | podman import -q \
      --change "ENTRYPOINT $entrypoint" --change "CMD $cmd" \
      --change "LABEL $label" --change "LABEL org.opencontainers.image.version=$version" \
      - "$image" >/dev/null
    if [ -n "$old" ] && [ "$old" != "$(podman image inspect --format '{{.Id}}' "$image")" ]; then
      podman rmi "$old" >/dev/null 2>&1 || true
    fi
  else
    ctr=$(buildah from scratch)
    mnt=$(buildah mount "$ctr")
    cp -a "$root/." "$mnt/"
    buildah umount "$ctr" >/dev/null
    buildah config --entrypoint "$entrypoint" --cmd "$cmd" --label "$label" \
      --label "org.opencontainers.image.version=$version" "$ctr"
    buildah commit -q "$ctr" "$image" >/dev/null
    buildah rm "$ctr" >/dev/null
  fi
  echo "build-image.sh: image $image"
fi
if [ -n "$rootfs_out" ]; then
  unmount_under "$rootfs_out"
  rm -rf "$rootfs_out"
  mv "$root" "$rootfs_out"
  echo "build-image.sh: root file system in $rootfs_out"
else
  rm -rf "$root"
fi
echo "build-image.sh: done in $(($(date +%s) - start)) s"
