#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# make fuzz: run each libFuzzer target for FUZZ_SECONDS on its seed corpus
# and dictionary, new corpus entries and crash inputs going to the build
# directory (never the source tree), and print per target what it did.
# Usage: run.sh FUZZ_DIR SRCDIR SECONDS TARGET...
set -u
dir=$1 src=$2 seconds=$3
shift 3
status=0
summary=""
for t in "$@"; do
  mkdir -p "$dir/corpus/$t" "$dir/crashes"
  rm -f "$dir/crashes/$t-"*
  echo "fuzz_$t: ${seconds}s"
  # One worker, one job: the fuzzer takes one CPU. The new corpus
  # directory comes first: libFuzzer writes what it finds to the first.
  "$dir/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$src/tests/fuzz/$t.dict" \
    -artifact_prefix="$dir/crashes/$t-" \
    "$dir/corpus/$t" "$src/tests/fuzz/corpus/$t" >"$dir/$t.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$t.log")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$dir/$t.log" | tail -n 1)
  crashes=$(find "$dir/crashes" -name "$t-*" | wc -l)
  line=$(printf '%-22s executions %-10s %-22s crashes %s' "fuzz_$t" \
    "${execs:-?}" "${cov:-cov: ? ft: ?}" "$crashes")
  echo "$line"
  summary="$summary$line
"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    echo "fuzz_$t failed (exit $rc): see $dir/$t.log and $dir/crashes/" >&2
    status=1
  fi
done
printf '\n%s' "$summary"
exit $status
