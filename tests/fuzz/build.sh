#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# make fuzz: build the libFuzzer targets with clang, the plugin's sources
# they exercise instrumented for coverage and ASan+UBSan like the targets.
# Usage: [FUZZ_CFLAGS=...] build.sh FUZZ_DIR FUZZ_CC "CPPFLAGS" "LIBS" "SOURCES" TARGET...
# FUZZ_CFLAGS reaches the targets only (e.g. -DFUZZ_CHECK_YAML_EMPTY_NAME), which
# are compiled every time.
set -eu
dir=$1 cc=$2 cppflags=$3 libs=$4 sources=$5
shift 5
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cflags="-std=gnu11 -g -O1 -Wall -Wextra -Werror $sanitize"
mkdir -p "$dir/obj"
objs=""
for s in $sources; do
  o="$dir/obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
  if [ ! -e "$o" ] || [ "$s" -nt "$o" ]; then
    echo "  CC(fuzz) $s"
    # shellcheck disable=SC2086
    $cc $cflags -fsanitize=fuzzer-no-link $cppflags -c "$s" -o "$o"
  fi
  objs="$objs $o"
done
rm -f "$dir/libfuzzcore.a"
# shellcheck disable=SC2086
ar rcs "$dir/libfuzzcore.a" $objs
for t in "$@"; do
  echo "  CCLD(fuzz) fuzz_$t"
  # shellcheck disable=SC2086
  $cc $cflags ${FUZZ_CFLAGS:-} -fsanitize=fuzzer $cppflags "$(dirname "$0")/fuzz_$t.c" \
    "$dir/libfuzzcore.a" $libs -o "$dir/fuzz_$t"
done
