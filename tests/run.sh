#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The whole test suite, from a fresh Debian 12 machine (as root):
#   1. build, unit tests (check) and end-to-end tests against the real
#      collectd daemon with real eBPF and real cgroups (make check);
#   1b. the end-to-end tests again beside a load generator (two CPU burners
#      and 100 fork + exec per second), as on a user's busy CI machine;
#   2. the unit tests again under ASan + UBSan (--enable-sanitizers);
#   2b. every fuzz target for 60 s (make fuzz, docs/fuzzing.md);
#   3. the unit tests under valgrind (make check-valgrind);
#   4. make distcheck (the release tarball builds and passes make check);
#   5. the .debs of the release tarball, installed in a debootstrapped
#      Debian 12 with Debian's collectd (tests/e2e/test_package.py).
# Prints each step's automake summary and one closing line
# "N passed, N failed, N skipped".
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/scripts/install-deps.sh" || exit 1

passed=0 failed=0 skipped=0
# Count test cases, not files: check prints "Checks: N, Failures: F, Errors:
# E", unittest "Ran N tests" then "OK (skipped=S)" or "FAILED (failures=F,
# errors=E, skipped=S)". A log with neither (a crash) counts by its result.
# count DIR [FIND-TESTS...]: the tests under DIR/tests (those find's tests
# select, e.g. -path '*/e2e/*').
count() {
  local dir=$1 trs log p f s
  shift
  if [ ! -f "$dir/test-suite.log" ]; then failed=$((failed + 1)); return; fi
  sed -n '1,12p' "$dir/test-suite.log"
  while IFS= read -r trs; do
    log=${trs%.trs}.log
    read -r p f s < <(awk '
      /Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
        gsub(/[,%:]/, " "); for (i = 1; i < NF; i++) {
          if ($i == "Checks") n = $(i + 1); if ($i == "Failures") fl += $(i + 1)
          if ($i == "Errors") fl += $(i + 1) }
        print n - fl, fl, 0; found = 1; exit }
      /^Ran [0-9]+ tests? / { ran = $2 }
      ran != "" && /^(OK|FAILED)/ {
        fl = 0; sk = 0; line = $0; gsub(/[(),=]/, " ", line); k = split(line, w, " ")
        for (i = 1; i < k; i++) {
          if (w[i] == "failures" || w[i] == "errors") fl += w[i + 1]
          if (w[i] == "skipped") sk += w[i + 1] }
        print ran - fl - sk, fl, sk; found = 1; exit }
      END { if (!found) print "-", "-", "-" }' "$log")
    if [ "$p" = "-" ]; then
      case $(sed -n 's/^:test-result: //p' "$trs") in
        PASS | XFAIL) p=1 f=0 s=0 ;; SKIP) p=0 f=0 s=1 ;; *) p=0 f=1 s=0 ;;
      esac
    fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  done < <(find "$dir/tests" -name '*.trs' "$@" | sort)
}
step() { echo; echo "=== $*"; }

# build_and_check DIR [configure options]
build_and_check() {
  local dir=$1
  shift
  if ! "$src/scripts/build.sh" "$dir" "$@"; then
    failed=$((failed + 1))
    return
  fi
  make -C "$dir" -j"$(nproc)" check >/dev/null 2>&1 || cat "$dir/test-suite.log"
  # Not a package test of an earlier run: make check did not run it.
  count "$dir" ! -name test_package.trs
}

step "build and make check (unit + end-to-end)"
build_and_check "$src/build"

step "end-to-end tests beside two CPU burners and 100 fork + exec/s"
if make -C "$src/build" bench/kepler-bench-load >/dev/null 2>&1; then
  "$src/build/bench/kepler-bench-load" busy 2 100 &
  load=$!
  # Not the packaging tests: what they check does not change under load.
  e2e=$(cd "$src" && ls tests/e2e/test_*.py |
    grep -v -e '/test_install\.py$' -e '/test_package\.py$' | tr '\n' ' ')
  make -C "$src/build" -j"$(nproc)" check TESTS="$e2e" >/dev/null 2>&1 ||
    cat "$src/build/test-suite.log"
  kill "$load"
  wait "$load" 2>/dev/null
  count "$src/build" -path '*/e2e/*' ! -name test_install.trs ! -name test_package.trs
else
  echo "no load generator (bench/kepler-bench-load) in $src/build"
  failed=$((failed + 1))
fi

step "unit tests under ASan + UBSan"
build_and_check "$src/build-asan" --enable-sanitizers

step "fuzz targets, 60 s each (make fuzz)"
# Each target that ran its time without a crash counts as one test.
fuzz_log=$(mktemp)
make -C "$src/build" fuzz FUZZ_SECONDS=60 >"$fuzz_log" 2>&1
fuzz_status=$?
grep -E '^fuzz_[a-z_]+ +executions' "$fuzz_log" | sort -u
fuzz_ok=$(grep -E '^fuzz_[a-z_]+ +executions .* crashes 0$' "$fuzz_log" | sort -u | wc -l)
passed=$((passed + fuzz_ok))
[ "$fuzz_status" -eq 0 ] || { tail -30 "$fuzz_log"; failed=$((failed + 1)); }
rm -f "$fuzz_log"

step "unit tests under valgrind"
# Each unit test binary clean under memcheck counts as one test.
vg_log=$(mktemp)
make -C "$src/build" check-valgrind >"$vg_log" 2>&1
vg_status=$?
grep -E '^(valgrind|100%|[0-9]+%:)' "$vg_log"
vg_ok=$(grep -c '^100%: Checks' "$vg_log")
passed=$((passed + vg_ok))
[ "$vg_status" -eq 0 ] || { tail -30 "$vg_log"; failed=$((failed + 1)); }
rm -f "$vg_log"

step "make distcheck (release tarball builds, installs and passes make check)"
if make -C "$src/build" distcheck >"$src/build/distcheck.log" 2>&1; then
  grep -E '^(PASS|FAIL|SKIP|ERROR):|archives ready' "$src/build/distcheck.log"
  passed=$((passed + 1))
else
  tail -40 "$src/build/distcheck.log"
  failed=$((failed + 1))
fi

step "packages: the .debs in a debootstrapped Debian 12 (tests/e2e/test_package.py)"
# Not in make check: minutes, and a mirror; the tarball is make dist's.
make -C "$src/build" check TESTS=tests/e2e/test_package.py >/dev/null 2>&1 ||
  cat "$src/build/test-suite.log"
count "$src/build" -name test_package.trs

echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
