#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install what collectd-kepler needs to build, run and test, from Debian's
# packages. Does nothing when everything is already there.
set -eu
packages="build-essential autoconf automake libtool pkgconf clang bpftool
  libbpf-dev libelf-dev zlib1g-dev libyaml-dev libjson-c-dev check collectd
  collectd-dev libyajl2 python3 libcap2-bin valgrind libcurl4-openssl-dev
  python3-sklearn openssl clang-format libclang-rt-14-dev
  linux-perf python3-numpy libprotobuf-c1 libmicrohttpd12
  graphite-carbon graphite-web influxdb prometheus
  debhelper systemd perl lintian rpm debootstrap man-db librrd8
  rrdtool librrds-perl libconfig-general-perl libregexp-common-perl
  libhtml-parser-perl liburi-perl libcgi-pm-perl
  podman runc mmdebstrap python3-kubernetes"
# collectd, not only collectd-core: its /etc/collectd/collectd.conf includes
# collectd.conf.d/, where the README's install and the package put
# kepler.conf, and collectd.service needs that file to start.
# libclang-rt-14-dev: libFuzzer for clang 14 (make fuzz); linux-perf: make bench; python3-numpy: make accuracy; libprotobuf-c1 and
# libmicrohttpd12: collectd-core's write_prometheus (only Suggested); the three databases:
# the end-to-end writer and dashboard tests, which start their own instances
# on 127.0.0.1 (graphite-web: the dashboards' Graphite queries).
# debhelper, systemd (systemd.pc), perl (pod2man): the .debs' build
# dependencies beyond the build's; lintian, rpm, debootstrap, man-db: the
# package test (tests/e2e/test_package.py) and make rpm. librrd8:
# collectd-core's rrdtool plugin (test_rrdtool); rrdtool and the Perl
# modules of collectd's collection3: the dashboards' test (test_rrd_graphs);
# podman, runc (podman's
# default crun fails here), mmdebstrap, python3-kubernetes: the fleet tests
# (the image built and run, the manifests checked against the API types).
missing=""
for p in $packages; do
  dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root, or: sudo apt-get install$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The databases' packages would start system-wide services; the tests run
# their own. policy-rc.d tells invoke-rc.d not to start anything.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
