#!/bin/bash
# The whole test suite, from a fresh Debian 12 machine (as root):
#   1. build, unit tests (check) and end-to-end tests against the real
#      collectd daemon with real eBPF and real cgroups (make check);
#   2. the unit tests again under ASan + UBSan (--enable-sanitizers);
#   3. the unit tests under valgrind (make check-valgrind).
# Prints each step's automake summary and one closing line
# "N passed, N failed, N skipped".
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/scripts/install-deps.sh" || exit 1

passed=0 failed=0 skipped=0
count() { # automake's test-suite.log of a build dir
  local log=$1/test-suite.log n
  if [ ! -f "$log" ]; then failed=$((failed + 1)); return; fi
  sed -n '1,12p' "$log"
  n=$(sed -n 's/^# PASS: *//p' "$log"); passed=$((passed + ${n:-0}))
  n=$(sed -n 's/^# SKIP: *//p' "$log"); skipped=$((skipped + ${n:-0}))
  for k in FAIL XPASS ERROR; do
    n=$(sed -n "s/^# $k: *//p" "$log"); failed=$((failed + ${n:-0}))
  done
}
step() { echo; echo "=== $*"; }

step "build and make check (unit + end-to-end)"
if "$src/scripts/build.sh" "$src/build"; then
  make -C "$src/build" -j"$(nproc)" check >/dev/null 2>&1 ||
    cat "$src/build/test-suite.log"
  count "$src/build"
else
  failed=$((failed + 1))
fi

step "unit tests under ASan + UBSan"
if "$src/scripts/build.sh" "$src/build-asan" --enable-sanitizers; then
  make -C "$src/build-asan" -j"$(nproc)" check >/dev/null 2>&1 ||
    cat "$src/build-asan/test-suite.log"
  count "$src/build-asan"
else
  failed=$((failed + 1))
fi

step "unit tests under valgrind"
if make -C "$src/build" check-valgrind 2>&1 | tail -20; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
