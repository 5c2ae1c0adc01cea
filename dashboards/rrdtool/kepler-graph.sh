#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Draw collectd-kepler's power from the files collectd's rrdtool writer keeps
# (<DataDir>/<host>/kepler_<level>[-<instance>]/power-<what>.rrd) with
# `rrdtool graph`:
#   node          node-power.png: the node's idle and dynamic power stacked,
#                 its total as a line over them;
#   <level>       <level>-stacked.png: the power-total of each member of the
#                 level (container, pod, service, vm, command, process) and
#                 of its system, kernel and other buckets stacked, the node's
#                 total as a line over them. They sum to it (IdlePower split,
#                 the default).
# Usage: kepler-graph.sh [-o DIR] [-s START] [-e END] [-w WIDTH] [-h HEIGHT]
#                        [-n TOP] [-x] DATADIR HOST [node|LEVEL]...
#   -o DIR    where the PNGs go (default: .)
#   -s, -e    rrdtool's --start and --end (default: end-3600, now)
#   -w, -h    size of the graph area in pixels (default: 800 x 300)
#   -n TOP    an area for each of the TOP members with the most power in the
#             window (default 8); the others in one area, "N more"
#   -x        print `rrdtool xport` XML of what each graph draws instead
#             (the node: total, idle, dynamic; a level: the node's total,
#             then each stacked area, "stack <name>", then the raw value of
#             each member with an area of its own, "raw <name>")
# Default graphs: node command.
set -eu

out=. start='' end=now width=800 height=300 xport='' top=8
usage() {
  echo "usage: $0 [-o DIR] [-s START] [-e END] [-w WIDTH] [-h HEIGHT] [-n TOP] [-x] DATADIR HOST [node|LEVEL]..." >&2
  exit 2
}
while getopts o:s:e:w:h:n:x opt; do
  case $opt in
    o) out=$OPTARG ;;
    s) start=$OPTARG ;;
    e) end=$OPTARG ;;
    w) width=$OPTARG ;;
    h) height=$OPTARG ;;
    n) top=$OPTARG ;;
    x) xport=1 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
datadir=$1 host=$2
shift 2
[ $# -gt 0 ] || set -- node command
[ -n "$start" ] || start='end-3600'
case $top in "" | *[!0-9]* | 0) usage ;; esac
command -v rrdtool >/dev/null 2>&1 || { echo "$0: rrdtool is not installed" >&2; exit 1; }
hostdir=$datadir/$host
[ -d "$hostdir" ] || { echo "$0: no directory $hostdir" >&2; exit 1; }

# A path in a DEF: ':' separates the fields, so it is escaped.
rrdpath() { printf '%s\n' "$1" | sed 's/:/\\:/g'; }
# A legend: at most 40 characters, padded to $2; ':' escaped, '\' (rrdtool's
# \l, \n...) shown as '/'.
legend() { printf "%-${2:-0}s\n" "$1" | cut -c1-40 | sed 's/\\/\//g; s/:/\\:/g'; }
# Member colours: legible on white, one after the other; the buckets grey.
palette="1F77B4 FF7F0E 2CA02C D62728 9467BD 8C564B E377C2 17BECF BCBD22 393B79 AD494A 637939"
colour() {
  # shellcheck disable=SC2086 # the palette is split into words
  set -- $((($1 % 12) + 1)) $palette
  shift "$1"
  echo "$1"
}

# Where the node's total is (the line over every graph).
node_total=$hostdir/kepler_node/power-total.rrd

node_graph() {
  for w in total idle dynamic; do
    [ -f "$hostdir/kepler_node/power-$w.rrd" ] ||
      { echo "$0: no $hostdir/kepler_node/power-$w.rrd" >&2; return 1; }
  done
  d=$(rrdpath "$hostdir/kepler_node")
  set -- "DEF:total=$d/power-total.rrd:value:AVERAGE" \
    "DEF:idle=$d/power-idle.rrd:value:AVERAGE" \
    "DEF:dynamic=$d/power-dynamic.rrd:value:AVERAGE"
  if [ -n "$xport" ]; then
    rrdtool xport --showtime -s "$start" -e "$end" "$@" \
      XPORT:total:node_total XPORT:idle:node_idle XPORT:dynamic:node_dynamic
    return
  fi
  rrdtool graph "$out/node-power.png" -a PNG -s "$start" -e "$end" \
    -w "$width" -h "$height" -l 0 -v W -t "Node power on $(legend "$host")" "$@" \
    "CDEF:idle0=idle,UN,0,idle,IF" "CDEF:dynamic0=dynamic,UN,0,dynamic,IF" \
    "AREA:idle0#A6CEE3:idle   " \
    "GPRINT:idle:AVERAGE:avg %6.2lf %sW" "GPRINT:idle:MAX:max %6.2lf %sW\\l" \
    "AREA:dynamic0#FDBF6F:dynamic:STACK" \
    "GPRINT:dynamic:AVERAGE:avg %6.2lf %sW" "GPRINT:dynamic:MAX:max %6.2lf %sW\\l" \
    "LINE2:total#000000:total  " \
    "GPRINT:total:AVERAGE:avg %6.2lf %sW" "GPRINT:total:MAX:max %6.2lf %sW\\l" >/dev/null
}

level_graph() {
  level=$1
  [ -f "$node_total" ] || { echo "$0: no $node_total" >&2; return 1; }
  tab=$(printf '\t')
  members=$(mktemp) ranked=$(mktemp) drawn=$(mktemp)
  # The members, by their average power in the window, highest first; the
  # first $top get an area each, the rest one area together.
  for f in "$hostdir/kepler_$level-"*/power-total.rrd; do
    [ -f "$f" ] || continue
    i=${f%/power-total.rrd}
    i=${i##*/kepler_"$level"-}
    case $i in system | kernel | other) continue ;; esac
    printf '%s\n' "$i" >>"$members"
  done
  while IFS= read -r i; do
    a=$(rrdtool graph /dev/null -s "$start" -e "$end" \
      "DEF:m=$(rrdpath "$hostdir/kepler_$level-$i")/power-total.rrd:value:AVERAGE" \
      "CDEF:z=m,UN,0,m,IF" "VDEF:a=z,AVERAGE" "PRINT:a:%lf" | sed -n 2p)
    printf '%s\t%s\n' "${a:-0}" "$i"
  done <"$members" | sort -t "$tab" -k1,1nr | cut -f2- >"$ranked"
  rest=$(($(wc -l <"$ranked") - top))
  [ "$rest" -gt 0 ] || rest=0
  head -n "$top" "$ranked" >"$drawn"
  # The buckets last.
  for i in system kernel other; do
    [ -f "$hostdir/kepler_$level-$i/power-total.rrd" ] && printf '%s\n' "$i" >>"$drawn"
  done
  if [ ! -s "$drawn" ]; then
    rm -f "$members" "$ranked" "$drawn"
    echo "$0: no series of the $level level under $hostdir" >&2
    return 1
  fi
  # vnames are m<N> and z<N> (drawn), r<N> (summed into the rest), whatever
  # the instance is called; names are read one a line.
  set -- "DEF:node=$(rrdpath "$node_total"):value:AVERAGE"
  n=0
  while IFS= read -r i; do
    set -- "$@" "DEF:m$n=$(rrdpath "$hostdir/kepler_$level-$i")/power-total.rrd:value:AVERAGE" \
      "CDEF:z$n=m$n,UN,0,m$n,IF"
    n=$((n + 1))
  done <"$drawn"
  if [ "$rest" -gt 0 ]; then
    n=0 rpn=
    tail -n "$rest" "$ranked" >"$members"
    while IFS= read -r i; do
      set -- "$@" "DEF:r$n=$(rrdpath "$hostdir/kepler_$level-$i")/power-total.rrd:value:AVERAGE" \
        "CDEF:y$n=r$n,UN,0,r$n,IF"
      if [ $n -eq 0 ]; then rpn=y0; else rpn="$rpn,y$n,+"; fi
      n=$((n + 1))
    done <"$members"
    set -- "$@" "CDEF:rest=$rpn"
  fi
  restname="$rest more"
  # The legends' width, for the averages to line up.
  pad=$({ cat "$drawn"; echo "$restname"; echo "node total"; } | cut -c1-40 |
    awk '{ if (length($0) > w) w = length($0) } END { print w }')
  if [ -n "$xport" ]; then
    set -- "$@" XPORT:node:node_total
    k=0
    while IFS= read -r i; do
      set -- "$@" "XPORT:z$k:stack $(legend "$i")"
      k=$((k + 1))
      if [ $k -eq "$top" ] && [ "$rest" -gt 0 ]; then
        set -- "$@" "XPORT:rest:stack $restname"
      fi
    done <"$drawn"
    k=0
    while IFS= read -r i; do
      set -- "$@" "XPORT:m$k:raw $(legend "$i")"
      k=$((k + 1))
    done <"$drawn"
    rm -f "$members" "$ranked" "$drawn"
    rrdtool xport --showtime -s "$start" -e "$end" "$@"
    return
  fi
  k=0
  while IFS= read -r i; do
    case $i in
      system) c=B3B3B3 ;;
      kernel) c=7F7F7F ;;
      other) c=D9D9D9 ;;
      *) c=$(colour $k) ;;
    esac
    [ $k -eq 0 ] && s='' || s=:STACK
    set -- "$@" "AREA:z$k#$c:$(legend "$i" "$pad")$s" "GPRINT:m$k:AVERAGE:avg %6.2lf %sW\\l"
    k=$((k + 1))
    if [ $k -eq "$top" ] && [ "$rest" -gt 0 ]; then
      set -- "$@" "AREA:rest#C5B0D5:$(legend "$restname" "$pad"):STACK" \
        "GPRINT:rest:AVERAGE:avg %6.2lf %sW\\l"
    fi
  done <"$drawn"
  rm -f "$members" "$ranked" "$drawn"
  rrdtool graph "$out/$level-stacked.png" -a PNG -s "$start" -e "$end" \
    -w "$width" -h "$height" -l 0 -v W \
    -t "Power by $level on $(legend "$host"), node total over the stack" "$@" \
    "LINE2:node#000000:$(legend "node total" "$pad")" \
    "GPRINT:node:AVERAGE:avg %6.2lf %sW\\l" >/dev/null
}

[ -n "$xport" ] || mkdir -p "$out"
for g in "$@"; do
  case $g in
    node) node_graph ;;
    container | pod | service | vm | command | process) level_graph "$g" ;;
    *) echo "$0: unknown graph $g (node, container, pod, service, vm, command, process)" >&2; exit 2 ;;
  esac
done
