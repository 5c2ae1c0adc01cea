#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Build collectd-kepler and run the real collectd in the foreground with the
# plugin on its embedded default model. Every interval prints node,
# per-container and per-process power. Ctrl-C stops it.
#   KEPLER_DEMO_INTERVAL  seconds between samples (default 5)
#   KEPLER_DEMO_TOP       processes shown per interval (default 10)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/scripts/install-deps.sh"
"$src/scripts/build.sh" "$src/build"

run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT INT TERM
mkdir "$run/plugins"
# collectd refuses symlinks in PluginDir: copy the plugins it needs.
cp "$src/build/.libs/kepler.so" /usr/lib/collectd/logfile.so \
  /usr/lib/collectd/write_log.so "$run/plugins/"
cat >"$run/collectd.conf" <<CONF
Hostname "demo"
FQDNLookup false
BaseDir "$run"
PIDFile "$run/collectd.pid"
PluginDir "$run/plugins"
TypesDB "/usr/share/collectd/types.db"
Interval ${KEPLER_DEMO_INTERVAL:-5}
LoadPlugin logfile
<Plugin logfile>
  LogLevel "info"
  File STDOUT
</Plugin>
LoadPlugin write_log
<Plugin write_log>
  Format "Graphite"
</Plugin>
LoadPlugin kepler
<Plugin kepler>
  IdlePower "split"
  TopProcesses ${KEPLER_DEMO_TOP:-10}
</Plugin>
CONF

echo "collectd with collectd-kepler; Ctrl-C to stop"
/usr/sbin/collectd -f -C "$run/collectd.conf" 2>&1 | awk -v top="${KEPLER_DEMO_TOP:-10}" '
  function flush(   i, j, best) {
    if (node == "") return
    printf "\n%s  node %s W (dynamic %s W, idle %s W)\n", strftime("%H:%M:%S", ts), node, dyn, idle
    for (i = 1; i <= nc; i++) print c[i]
    for (i = 1; i <= np && i <= top; i++) {  # the top processes by power
      best = i
      for (j = i + 1; j <= np; j++) if (pw[j] > pw[best]) best = j
      t = p[i]; p[i] = p[best]; p[best] = t; t = pw[i]; pw[i] = pw[best]; pw[best] = t
      print p[i]
    }
    if (np > top) printf "  ... %d more active processes\n", np - top
    node = ""; nc = 0; np = 0
  }
  / kepler: / && !/libbpf/ { print; next }
  $1 !~ /^demo\.kepler_/ { next }
  {
    split($1, part, ".")
    series = part[2]; metric = part[3]; value = sprintf("%.2f", $2)
    if (ts != "" && $3 != ts) flush()
    ts = $3
  }
  series == "kepler_node" && metric == "power-total" { node = value }
  series == "kepler_node" && metric == "power-dynamic" { dyn = value }
  series == "kepler_node" && metric == "power-idle" { idle = value }
  series ~ /^kepler_container-/ && metric == "power-total" {
    sub(/^kepler_container-/, "", series)
    c[++nc] = sprintf("  container %-66s %8s W", series, value)
  }
  series ~ /^kepler_process-/ && metric == "power-total" {
    sub(/^kepler_process-/, "", series)
    p[++np] = sprintf("  process   %-66s %8s W", series, value); pw[np] = $2 + 0
  }
  { fflush() }'
