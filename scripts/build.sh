#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Configure (once) and build collectd-kepler in DIR (default: build/).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-"$src/build"}
shift 2>/dev/null || true
[ -x "$src/configure" ] || (cd "$src" && autoreconf -fi >/dev/null 2>&1)
mkdir -p "$dir"
cd "$dir"
[ -f Makefile ] || "$src/configure" --quiet "$@"
make -j"$(nproc)" >/dev/null
