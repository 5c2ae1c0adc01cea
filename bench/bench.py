#!/usr/bin/env python3
"""collectd-kepler benchmarks: what the plugin costs, against the floor and
against the alternative a collectd user has today. Run by `make bench` (as
root); prints one table and writes it as markdown.

Everything runs for real: the collectd daemon with the built plugin, the
plugin's eBPF programs, an empty tp_btf/sched_switch program as the floor
(bench/floor), `perf bench sched pipe` as the context-switch load, and
sleeper / churn processes from bench/kepler-bench-load.

  1. per-event cost of each BPF program (kernel.bpf_stats_enabled:
     run_time_ns / run_cnt), kepler's and the floor's in the same run;
  2. context-switch throughput with and without the plugin (ratio);
  3. CPU time of collectd's read thread per interval (the read callback and
     its dispatch) with N live processes, for kepler and for collectd's
     `processes` plugin tracking all of them;
  4. collectd's resident memory with each, and without either;
  5. process churn: per-interval cost, and whether the kernel map and the
     plugin's table return to their size before the churn;
  6. node power from the estimator sidecar (estimator/kepler-estimator on
     its tree model): one exchange's wall time, which the read waits for,
     and the read thread's CPU with the sidecar against the local model.

Per-read CPU comes from the reader thread's schedstat (ns): the thread is
idle between reads, so each burst of CPU time is one read.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import harness  # noqa: E402  (wait_for: polling with a deadline)

PLUGIN_DIR = "/usr/lib/collectd"
TYPES_DB = "/usr/share/collectd/types.db"
HOST = "bench"
STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
POLL = 0.005


def die(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def wait_for(what, predicate, timeout, interval=0.05):
    try:
        return harness.wait_for(what, predicate, timeout=timeout, interval=interval)
    except AssertionError as e:
        die(str(e))


# ------------------------------------------------------------------ BPF side
def bpf_progs():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                         text=True, check=True).stdout
    return {p["id"]: p for p in json.loads(out or "[]")}


def bpf_map_entries(map_id, comm=None):
    """Entries of a map; with comm, only processes of that command name."""
    out = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(map_id)],
                         capture_output=True, text=True, check=True).stdout
    entries = json.loads(out or "[]")
    if comm is None:
        return len(entries)
    return sum(1 for e in entries if e.get("formatted", {}).get("value", {}).get("comm") == comm)


def stats_delta(before, after, ids):
    """{name: (ns per event, events)} between two bpf_progs() snapshots."""
    out = {}
    for i in ids:
        a, b = after.get(i, {}), before.get(i, {})
        cnt = a.get("run_cnt", 0) - b.get("run_cnt", 0)
        ns = a.get("run_time_ns", 0) - b.get("run_time_ns", 0)
        out[a.get("name", str(i))] = (ns / cnt if cnt else None, cnt)
    return out


class Floor:
    """The empty sched_switch program, attached while this object lives."""

    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            die("bench/floor did not attach (see its error above)")
        self.prog_id = int(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ------------------------------------------------------------------- collectd
class Daemon:
    """One collectd daemon: one read thread, the network writer (to a local
    UDP socket nobody reads, the cheapest real writer), unixsock to read the
    cache, and the plugin under test."""

    def __init__(self, args, workdir, name, plugin_conf, plugins):
        self.args = args
        self.dir = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.dir, "plugins"))
        self.socket = os.path.join(self.dir, "sock")
        for p in ("logfile", "unixsock", "network") + tuple(plugins):
            src = args.plugin if p == "kepler" else os.path.join(PLUGIN_DIR, p + ".so")
            shutil.copyfile(src, os.path.join(self.dir, "plugins", p + ".so"))
        conf = os.path.join(self.dir, "collectd.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                'Hostname "%s"' % HOST, "FQDNLookup false",
                'BaseDir "%s"' % self.dir, 'PIDFile "%s/pid"' % self.dir,
                'PluginDir "%s/plugins"' % self.dir, 'TypesDB "%s"' % TYPES_DB,
                "Interval %g" % args.interval, "ReadThreads 1", "WriteThreads 1",
                "LoadPlugin logfile",
                '<Plugin logfile>\n  File "%s/log"\n  LogLevel "info"\n</Plugin>' % self.dir,
                "LoadPlugin unixsock",
                '<Plugin unixsock>\n  SocketFile "%s"\n</Plugin>' % self.socket,
                "LoadPlugin network",
                '<Plugin network>\n  Server "127.0.0.1" "%d"\n</Plugin>' % args.sink_port,
                plugin_conf, ""]))
        self.proc = subprocess.Popen([args.collectd, "-f", "-C", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = os.path.join(self.dir, "log")
        wait_for("collectd to start (%s)" % log, lambda: self._logged(log, "Initialization complete"),
                 30)
        self.reader = self._thread("reader#0")  # none without a read plugin
        self.writer = self._thread("writer#0")
        self.progs = {}
        if "kepler" in plugins:
            def loaded():
                ids = self._bpf_ids("prog_id")
                progs = {i: p for i, p in bpf_progs().items() if i in ids}
                return progs if any(p["name"] == "kepler_sched_switch"
                                    for p in progs.values()) else None
            self.progs = wait_for("kepler's BPF programs", loaded, 30)

    def _bpf_ids(self, field):
        """Ids of the BPF programs (field "prog_id") or maps ("map_id") this
        daemon holds, from its file descriptors: other BPF users on the
        host do not count."""
        ids = set()
        fdinfo = "/proc/%d/fdinfo" % self.proc.pid
        for fd in os.listdir(fdinfo):
            try:
                with open(os.path.join(fdinfo, fd)) as f:
                    for line in f:
                        if line.startswith(field + ":"):
                            ids.add(int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError):
                pass
        return ids

    def map_id(self, name):
        maps = json.loads(subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True,
                                         text=True, check=True).stdout or "[]")
        mine = self._bpf_ids("map_id")
        for m in maps:
            if m["id"] in mine and m.get("name") == name:
                return m["id"]
        die("the daemon holds no BPF map named %s" % name)

    def _logged(self, log, text):
        if self.proc.poll() is not None:
            die("collectd exited (%d); log: %s" % (self.proc.returncode, log))
        try:
            with open(log) as f:
                return text in f.read()
        except FileNotFoundError:
            return False

    def _thread(self, comm):
        if self.proc.poll() is not None:
            die("collectd exited (%d); log: %s/log" % (self.proc.returncode, self.dir))
        try:
            for tid in os.listdir("/proc/%d/task" % self.proc.pid):
                with open("/proc/%d/task/%s/comm" % (self.proc.pid, tid)) as f:
                    if f.read().strip() == comm:
                        return "/proc/%d/task/%s/schedstat" % (self.proc.pid, tid)
        except FileNotFoundError:
            pass
        return None

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def _ask(self, command):
        """unixsock: the status line's count, then that many lines."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.socket)
            s.sendall((command + "\n").encode())
            data = b""
            while True:
                text = data.decode(errors="replace")
                if "\n" in text:
                    status = text.split("\n", 1)[0]
                    n = int(status.split()[0]) if status[:1].isdigit() else 0
                    if text.count("\n") >= n + 1:
                        return status, text.split("\n")[1:n + 1]
                chunk = s.recv(65536)
                if not chunk:
                    return None, []
                data += chunk

    def getval(self, identifier):
        status, lines = self._ask('GETVAL "%s/%s"' % (HOST, identifier))
        if not lines:
            return None
        return float(lines[0].split("=", 1)[1])

    def cached_series(self):
        """Series in collectd's value cache (LISTVAL)."""
        return len(self._ask("LISTVAL")[1])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def schedstat_ns(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return None


def read_bursts(daemon, interval, warmup, nreads, on_read=None):
    """CPU ns of each of nreads reads after warmup reads, from the reader
    thread's bursts; calls on_read() after each. Also returns the writer
    thread's CPU ns over the measured reads."""
    if daemon.reader is None:
        die("collectd has no reader#0 thread (no read plugin loaded?); log: %s/log" % daemon.dir)
    gap = 0.3 * interval
    costs, burst, quiet_since = [], 0, None
    last = schedstat_ns(daemon.reader)
    w0 = schedstat_ns(daemon.writer)
    deadline = time.monotonic() + (warmup + nreads + 3) * interval * 4
    while len(costs) < warmup + nreads:
        if time.monotonic() > deadline:
            die("reads did not come (%d of %d seen)" % (len(costs), warmup + nreads))
        time.sleep(POLL)
        now = schedstat_ns(daemon.reader)
        if now is None:
            die("collectd exited; log: %s/log" % daemon.dir)
        if now != last:
            burst += now - last
            last, quiet_since = now, time.monotonic()
        elif burst and time.monotonic() - quiet_since >= gap:
            costs.append(burst)
            burst = 0
            if len(costs) == warmup:
                w0 = schedstat_ns(daemon.writer)
            if on_read and len(costs) > warmup:
                on_read()
    writer_ns = schedstat_ns(daemon.writer) - w0
    return costs[warmup:], writer_ns


# ----------------------------------------------------------------- the loads
def perf_pipe(loops, one_cpu=False):
    """ops/s of perf bench sched pipe; one_cpu pins both tasks to CPU 0, so
    every switch is between the two processes instead of to and from idle."""
    argv = ["perf", "bench", "sched", "pipe", "-l", str(loops)]
    if one_cpu:
        argv = ["taskset", "-c", "0"] + argv
    out = subprocess.run(argv, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.strip().endswith("ops/sec"):
            return float(line.split()[0])
    die("perf bench sched pipe printed no ops/sec: %s %s" % (out.stdout, out.stderr))


class Sleepers:
    def __init__(self, load, n, period_ms):
        self.proc = subprocess.Popen([load, "sleepers", str(n), str(period_ms)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            die("could not start %d sleepers" % n)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=120)


# ------------------------------------------------------------------- results
class Table:
    def __init__(self):
        self.rows = []

    def add(self, measure, values, unit, target="", met=None, fmt="%.1f"):
        vals = [v for v in values if v is not None]
        if vals:
            med, lo, hi = statistics.median(vals), min(vals), max(vals)
            cells = [fmt % med, fmt % lo, fmt % hi]
        else:
            cells = ["-", "-", "-"]
        verdict = "" if met is None else ("yes" if met else "**no**")
        self.rows.append([measure, unit] + cells + [str(len(vals)), target, verdict])
        print("  %-58s %10s %s" % (measure, cells[0], unit), flush=True)

    def markdown(self):
        head = ["Measure", "Unit", "Median", "Min", "Max", "Runs", "Target", "Met"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines) + "\n"

    def text(self):
        head = ["Measure", "Unit", "Median", "Min", "Max", "Runs", "Target", "Met"]
        rows = [head] + [[c.replace("**", "") for c in r] for r in self.rows]
        w = [max(len(r[i]) for r in rows) for i in range(len(head))]
        return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows)


def ratio(a, b):
    return a / b if a is not None and b else None


# --------------------------------------------------------------------- phases
KEPLER_CONF = "LoadPlugin kepler"
# The processes plugin at its lightest while still tracking every process
# (one match for all; no fd, map or context-switch counting).
PROCESSES_CONF = """LoadPlugin processes
<Plugin processes>
  CollectFileDescriptor false
  CollectContextSwitch false
  CollectMemoryMaps false
  ProcessMatch "all" ".*"
</Plugin>"""


def phase_bpf_cost(args, work, table):
    """kepler's programs and the floor attached one at a time, in alternating
    runs: side by side, whichever program runs first on the hook pays a cold
    path the second does not (about 35 ns here), which would skew the ratio.
    Two layouts: the tasks where the scheduler puts them (on two CPUs each
    switch is to or from idle, kepler's per-CPU fast path), and both on one
    CPU (every switch changes process: kepler's map path)."""
    print("1. BPF per-event cost under perf bench sched pipe (%d runs)" % args.runs, flush=True)
    for one_cpu, layout in ((False, "tasks unpinned"), (True, "both tasks on CPU 0")):
        per_prog = {}

        def measure(ids):
            before = bpf_progs()
            perf_pipe(args.loops, one_cpu)
            for name, (ns, cnt) in stats_delta(before, bpf_progs(), ids).items():
                per_prog.setdefault(name, []).append((ns, cnt))

        for i in range(args.runs):
            d = Daemon(args, work, "bpf_cost_%d_%d" % (one_cpu, i), KEPLER_CONF, ["kepler"])
            try:
                measure(list(d.progs))
            finally:
                d.stop()
            floor = Floor(args.floor)
            try:
                measure([floor.prog_id])
            finally:
                floor.close()
        sw = [ns for ns, _ in per_prog["kepler_sched_switch"]]
        fl = [ns for ns, _ in per_prog["floor_sched_switch"]]
        table.add("sched_switch, %s: kepler_sched_switch" % layout, sw, "ns/event", "<= 150",
                  statistics.median(sw) <= 150)
        table.add("sched_switch, %s: empty program (floor)" % layout, fl, "ns/event")
        rs = [ratio(a, b) for a, b in zip(sw, fl)]
        table.add("sched_switch, %s: kepler / floor (paired runs)" % layout, rs, "x", "<= 3",
                  statistics.median(rs) <= 3, fmt="%.2f")
        for name in sorted(per_prog):
            if name in ("kepler_sched_switch", "floor_sched_switch"):
                continue
            vals = [ns for ns, cnt in per_prog[name] if cnt >= 100]
            if len(vals) * 2 > len(per_prog[name]):  # events in most runs (exec/exit: churn)
                table.add("%s, %s (%d events/run)" % (name, layout, statistics.median(
                    [c for _, c in per_prog[name]])), vals, "ns/event")


def phase_throughput(args, work, table):
    """Rounds of three runs: collectd without kepler, the same plus the empty
    sched_switch program (what attaching anything there costs), and collectd
    with kepler. The order rotates each round so drift on a shared host
    falls on all three; losses are paired within a round."""
    rounds = 2 * args.runs
    print("2. context-switch throughput, %d rounds" % rounds, flush=True)
    ops = {"base": [], "floor": [], "kepler": []}
    kinds = ["base", "floor", "kepler"]
    for i in range(rounds):
        for kind in kinds[i % 3:] + kinds[:i % 3]:
            name = "tp_%s_%d" % (kind, i)
            if kind == "kepler":
                d, floor = Daemon(args, work, name, KEPLER_CONF, ["kepler"]), None
            else:
                d = Daemon(args, work, name, "", [])
                floor = Floor(args.floor) if kind == "floor" else None
            try:
                ops[kind].append(perf_pipe(args.loops))
            finally:
                if floor:
                    floor.close()
                d.stop()
    table.add("perf bench sched pipe: collectd without kepler", ops["base"], "ops/s", fmt="%.0f")
    table.add("perf bench sched pipe: same + empty sched_switch program", ops["floor"], "ops/s",
              fmt="%.0f")
    table.add("perf bench sched pipe: collectd with kepler", ops["kepler"], "ops/s", fmt="%.0f")
    for kind, label in (("floor", "empty program"), ("kepler", "kepler")):
        loss = [100.0 * (1 - k / b) for b, k in zip(ops["base"], ops[kind])]
        target, met = ("<= 2", statistics.median(loss) <= 2) if kind == "kepler" else ("", None)
        table.add("throughput loss, %s (paired in rounds)" % label, loss, "%", target, met,
                  fmt="%.2f")


def phase_processes(args, work, table):
    print("3-4. read cost and memory with live processes", flush=True)
    for n in args.counts:
        sl = Sleepers(args.load, n, int(args.sleeper_period * 1000))
        try:
            res = {}
            for name, conf, plugins in (("none", "", []),
                                        ("kepler", KEPLER_CONF, ["kepler"]),
                                        ("processes", PROCESSES_CONF, ["processes"])):
                d = Daemon(args, work, "procs_%d_%s" % (n, name), conf, plugins)
                rss = []
                try:
                    if not plugins:  # no read callback: sample memory over the same span
                        for _ in range(args.warmup + args.reads):
                            time.sleep(args.interval)
                            rss.append(d.rss_kb())
                        res[name] = (None, None, rss, None, d.cached_series())
                        continue
                    # every sleeper wakes within the warm-up: all are tracked
                    warmup = max(args.warmup, int(args.sleeper_period / args.interval) + 1)
                    costs, writer_ns = read_bursts(d, args.interval, warmup, args.reads,
                                                   lambda: rss.append(d.rss_kb()))
                    tracked = d.getval("kepler_node/gauge-processes") if name == "kepler" else None
                    series = d.cached_series()
                finally:
                    d.stop()
                res[name] = ([c / 1e6 for c in costs], writer_ns / 1e6 / len(costs), rss, tracked,
                             series)
        finally:
            sl.close()
        k_ms, k_writer, k_rss, tracked, k_series = res["kepler"]
        p_ms, p_writer, _, _, _ = res["processes"]
        tracked = int(tracked or n)
        budget_per_k = 2.0 * tracked / 1000.0
        table.add("%d procs: kepler read CPU per interval (%d tracked)" % (n, tracked),
                  k_ms, "ms", "<= %.2f" % budget_per_k,
                  statistics.median(k_ms) <= budget_per_k, fmt="%.3f")
        table.add("%d procs: processes plugin read CPU per interval" % n, p_ms, "ms",
                  fmt="%.3f")
        table.add("%d procs: kepler / processes plugin" % n,
                  [statistics.median(k_ms) / statistics.median(p_ms)], "x", "< 1",
                  statistics.median(k_ms) < statistics.median(p_ms), fmt="%.2f")
        table.add("%d procs: writer thread CPU per interval, kepler | processes" % n,
                  [k_writer], "ms", "(%.3f)" % p_writer, fmt="%.3f")
        base_rss = statistics.median(res["none"][2])
        extra = [(r - base_rss) / 1024.0 for r in k_rss]
        budget = 10.0 + tracked / 1024.0
        table.add("%d procs: collectd RSS with kepler minus without (%.1f MB; %d series cached)"
                  % (n, base_rss / 1024.0, k_series), extra, "MB", "<= %.1f" % budget,
                  statistics.median(extra) <= budget)


def phase_churn(args, work, table):
    """Short-lived processes (/bin/true, comm "true") at a steady rate; then
    every one of them must leave the kernel map and the plugin's table."""
    print("5. churn: %d processes/s for %d s" % (args.churn_rate, args.churn_seconds), flush=True)
    d = Daemon(args, work, "churn", KEPLER_CONF, ["kepler"])
    map_id = d.map_id("processes")

    def sizes():
        return bpf_map_entries(map_id), d.getval("kepler_node/gauge-processes") or 0

    try:
        read_bursts(d, args.interval, args.warmup, args.reads)  # the host's processes seen
        base_map, base_tab = sizes()
        stats0 = bpf_progs()
        churn = subprocess.Popen([args.load, "churn", str(args.churn_rate),
                                  str(args.churn_seconds)], stdout=subprocess.PIPE, text=True)
        peak = [base_map, base_tab]

        def sample():
            m, t = sizes()
            peak[0], peak[1] = max(peak[0], m), max(peak[1], t)

        nreads = int(args.churn_seconds / args.interval) - 2
        costs, _ = read_bursts(d, args.interval, 1, nreads, sample)
        spawned = churn.communicate(timeout=args.churn_seconds * 3)[0].strip()
        churn_stats = stats_delta(stats0, bpf_progs(), list(d.progs))
        t_end = time.monotonic()
        wait_for("the churned processes to leave the kernel map",
                 lambda: bpf_map_entries(map_id, "true") == 0,
                 timeout=20 * args.interval, interval=0.2)
        settle = time.monotonic() - t_end
        read_bursts(d, args.interval, 0, 2)  # the table follows at its next reads
        after_map, after_tab = sizes()
    finally:
        d.stop()
    print("   churn: %s" % spawned, flush=True)
    table.add("churn: kepler read CPU per interval", [c / 1e6 for c in costs], "ms", fmt="%.3f")
    for name in ("kepler_process_exec", "kepler_process_exit"):
        ns, cnt = churn_stats.get(name, (None, 0))
        table.add("churn: %s (%d events)" % (name, cnt), [ns], "ns/event")
    table.add("churn: kernel map entries after (before %d, peak %d)" % (base_map, peak[0]),
              [after_map], "entries", "churned gone in %.1f s" % settle, True, fmt="%d")
    # The host's own processes come and go: "back" is within a few of before.
    table.add("churn: plugin table after (before %d, peak %d)" % (base_tab, peak[1]),
              [after_tab], "processes", "<= %d" % (base_tab + 16), after_tab <= base_tab + 16,
              fmt="%d")


# ----------------------------------------------------------------------- main
def phase_sidecar(args, work, table):
    print("6. node power from the estimator sidecar", flush=True)
    sock = os.path.join(work, "estimator.sock")
    side = subprocess.Popen(["/usr/bin/python3", args.estimator, "--socket", sock,
                             "--model", args.estimator_model],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("the sidecar's socket", lambda: os.path.exists(sock), 60)
        # The exchange the plugin makes each interval, as its client makes it:
        # the node row and the idle row of a 2-socket host.
        request = json.dumps({
            "metrics": ["bpf_cpu_time_ms", "bpf_net_rx_irq", "bpf_net_tx_irq", "bpf_block_irq"],
            "values": [[32000.0, 10.0, 10.0, 5.0], [0.0, 0.0, 0.0, 0.0]],
            "output_type": "AbsPower", "source": "acpi", "trainer_name": "", "filter": "",
            "system_features": ["cpu_architecture", "vendor", "processor", "cores", "chips",
                                "threads", "memory", "frequency", "threads_per_core",
                                "hypervisor"],
            "system_values": ["", "GenuineIntel", "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz",
                              "40", "2", "80", "377", "2100", "2", "0"]}).encode()
        wall = []
        for _ in range(args.exchanges):
            t0 = time.perf_counter()
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.connect(sock)
                c.sendall(request)
                c.shutdown(socket.SHUT_WR)
                answer = b""
                while chunk := c.recv(65536):
                    answer += chunk
            wall.append((time.perf_counter() - t0) * 1e3)
            if "platform" not in json.loads(answer)["powers"]:
                die("the sidecar did not answer: %r" % answer[:200])
        table.add("sidecar exchange, wall time (the read waits for it)", wall, "ms",
                  "<= 50 (EstimatorTimeout 200)", statistics.median(wall) <= 50, fmt="%.2f")
        reads = {}
        for name, conf in (("model", KEPLER_CONF),
                           ("sidecar", KEPLER_CONF + '\n<Plugin kepler>\n  EstimatorSocket "%s"\n'
                            '  ModelSource "acpi"\n</Plugin>' % sock)):
            d = Daemon(args, work, "sidecar_" + name, conf, ["kepler"])
            try:
                costs, _ = read_bursts(d, args.interval, args.warmup, args.reads)
                if name == "sidecar" and d.getval("kepler_node/gauge-power_source_estimator") != 1:
                    die("the plugin did not use the sidecar; log: %s/log" % d.dir)
            finally:
                d.stop()
            reads[name] = [c / 1e6 for c in costs]
        table.add("read CPU per interval, node power from the sidecar", reads["sidecar"], "ms",
                  fmt="%.3f")
        table.add("read CPU per interval, node power from the local model", reads["model"], "ms",
                  fmt="%.3f")
        extra = statistics.median(reads["sidecar"]) - statistics.median(reads["model"])
        table.add("read CPU per interval, sidecar minus local model", [extra], "ms", "<= 1",
                  extra <= 1, fmt="%.3f")
    finally:
        side.terminate()
        side.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plugin", required=True, help="built kepler.so")
    ap.add_argument("--floor", required=True, help="bench/floor")
    ap.add_argument("--load", required=True, help="bench/kepler-bench-load")
    ap.add_argument("--markdown", help="write the table here as markdown")
    ap.add_argument("--collectd", default=os.environ.get("COLLECTD", "/usr/sbin/collectd"))
    ap.add_argument("--runs", type=int, default=5,
                    help="runs of each perf load (>= 5; throughput: twice as many rounds)")
    ap.add_argument("--loops", type=int, default=200000, help="perf bench sched pipe loops")
    ap.add_argument("--interval", type=float, default=2.0, help="collectd Interval (s)")
    ap.add_argument("--warmup", type=int, default=2, help="reads ignored at start")
    ap.add_argument("--reads", type=int, default=8, help="reads measured per daemon")
    ap.add_argument("--counts", default="100,1000,10000", help="live process counts")
    ap.add_argument("--sleeper-period", type=float, default=10.0,
                    help="each sleeper wakes once per this many seconds")
    ap.add_argument("--churn-rate", type=int, default=500)
    ap.add_argument("--churn-seconds", type=int, default=60)
    ap.add_argument("--estimator", help="estimator/kepler-estimator (phase 6)")
    ap.add_argument("--estimator-model", help="its model, estimator/specpower-gbr.json")
    ap.add_argument("--exchanges", type=int, default=200, help="sidecar exchanges timed")
    ap.add_argument("--phases", default="1,2,3,5,6", help="which phases to run")
    args = ap.parse_args()
    args.counts = [int(c) for c in args.counts.split(",")]
    phases = set(args.phases.split(","))
    if os.geteuid() != 0:
        die("run as root: the benchmarks load BPF programs and read their stats")
    if not shutil.which("perf"):
        die("perf not found: install the Debian package linux-perf")
    for f in (args.plugin, args.floor, args.load, args.collectd):
        if not os.path.exists(f):
            die("%s not found (run through make bench)" % f)

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the writer's target
    sink.bind(("127.0.0.1", 0))
    args.sink_port = sink.getsockname()[1]
    with open(STATS_SYSCTL) as f:
        stats_was = f.read().strip()
    work = tempfile.mkdtemp(prefix="kepler_bench_")
    table = Table()
    try:
        with open(STATS_SYSCTL, "w") as f:
            f.write("1")
        if "1" in phases:
            phase_bpf_cost(args, work, table)
        with open(STATS_SYSCTL, "w") as f:  # stats cost time: off for throughput
            f.write("0")
        if "2" in phases:
            phase_throughput(args, work, table)
        if "3" in phases:
            phase_processes(args, work, table)
        with open(STATS_SYSCTL, "w") as f:
            f.write("1")
        if "5" in phases:
            phase_churn(args, work, table)
        if "6" in phases:
            if not (args.estimator and args.estimator_model):
                die("phase 6 needs --estimator and --estimator-model")
            phase_sidecar(args, work, table)
    finally:
        with open(STATS_SYSCTL, "w") as f:
            f.write(stats_was)
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(table.text())
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table.markdown())
        print("\nmarkdown: %s" % args.markdown)


if __name__ == "__main__":
    main()
