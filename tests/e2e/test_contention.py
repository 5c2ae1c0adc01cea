#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of per-process CPU time under contention, against the
kernel's own accounting, with the real daemon.

ContentionTest: one collectd (Interval 2, TopProcesses 0, csv writer); three
CPU burners and a context-switch storm (`perf bench sched pipe`, or a pipe
ping-pong pair of forked processes where perf is missing) share the CPUs for
20 s. Each burner's /proc/PID/schedstat (first field: ns on CPU, the kernel's
se.sum_exec_runtime) is sampled every ~20 ms. After the daemon stops, each
burner's usage-bpf_cpu_time_ms rows are compared with that reference
interpolated at the rows' timestamps: over the whole window within 1 %, each
interval within max(3 %, what the mechanism allows: two scheduler ticks plus
the interpolation bound at each end), and the node never reports more CPU
time than the machine has. The default daemon (no hardware PMU here) loads
no sched_switch program.

SoftwareCountersTest: KEPLER_TEST_SOFTWARE_COUNTERS=1 in the daemon's
environment makes per-CPU context-switch software events stand in for the
hardware counters, read, scaled and charged at each switch like them: each
slice a process runs then counts exactly 1, so a burner's usage-cpu_cycles
(and instructions, cache_miss) integrates to the timeslices its schedstat
counts over the same window; the log says so, and the daemon holds a
kepler_sched_switch program.

ZombieAtStartTest: a process that exited before the daemon started and is
reaped after its first reads: none of its CPU time is reported.

ZombieAtStartTest: a process that exited before the daemon started and is
reaped after its first read: none of its CPU time is reported, and the node
stays within the machine's CPUs.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin not built).
"""

import bisect
import ctypes
import gzip
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NODE = "kepler_node"
PROC = "kepler_process-"
CPU_MS = "usage-bpf_cpu_time_ms"
ENV_SW = "KEPLER_TEST_SOFTWARE_COUNTERS"
SCHED_SWITCH = "kepler_sched_switch"
COUNTER_SERIES = ("usage-cpu_cycles", "usage-cpu_instructions", "usage-cache_miss")

INTERVAL = 2.0  # the contention daemon's Interval (s)
WINDOW_S = 20.0  # measurement window
SAMPLE_S = 0.02  # schedstat sampling period
BURNERS = ("kburn_k1", "kburn_k2", "kburn_k3")
TOTAL_TOL = 0.01  # whole window
INTERVAL_TOL = 0.03  # each interval, unless the mechanism allows more
CAPACITY_TOL = 0.01  # node CPU time above ncpus x 1000 ms/s

SW_INTERVAL = 1.0
SW_WINDOW_S = 10.0
SW_BURNERS = ("kburn_sw1", "kburn_sw2")


# ------------------------------------------------------------------ helpers
def config_hz():
    """(CONFIG_HZ, where it was read) of the running kernel; 250 assumed when
    no kernel config is readable."""
    release = os.uname().release
    for path, opener in (("/proc/config.gz", gzip.open), ("/boot/config-" + release, open)):
        try:
            with opener(path, "rt") as f:
                for line in f:
                    m = re.match(r"^CONFIG_HZ=(\d+)$", line.strip())
                    if m:
                        return int(m.group(1)), path
        except OSError:
            continue
    return 250, "assumed (no kernel config readable)"


class Daemon(h.Collectd):
    """h.Collectd with its own global Interval."""

    def __init__(self, interval, **kw):
        super().__init__(**kw)
        self.interval = interval

    def config_text(self):
        text = super().config_text()
        old = "Interval %g\n" % h.INTERVAL
        if old not in text:
            raise AssertionError("harness config has no %r line" % old)
        return text.replace(old, "Interval %g\n" % self.interval, 1)


def start_daemon(test_class, interval, **kw):
    """h.start_daemon with an Interval of its own."""
    cd = Daemon(interval, **kw)
    test_class.addClassCleanup(lambda: cd.cleanup(dump=h.STATE["failed"]))
    return cd.start()


def bpf_progs():
    """{id: program} of every BPF program on the host (bpftool -j prog show)."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: p for p in json.loads(out or "[]")}


def held_prog_ids(pid):
    """Ids of the BPF programs a process holds (prog and link fds), from the
    prog_id lines of its fdinfo: other BPF users on the host do not count."""
    ids = set()
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return ids


def daemon_progs(pid):
    if not shutil.which("bpftool"):
        raise unittest.SkipTest("no bpftool to list BPF programs")
    ids = held_prog_ids(pid)
    return [p for i, p in sorted(bpf_progs().items()) if i in ids]


def named(prog, name):
    """The kernel keeps 15 characters of a program's name; bpftool shows the
    full name when the program has BTF."""
    n = prog.get("name", "")
    return n == name or (len(n) == 15 and name.startswith(n))


def proc_dir(name, pid):
    return PROC + "%s_%d" % (name, pid)


class Schedstat:
    """/proc/PID/schedstat of some processes, sampled with time.time()
    timestamps: [(t, ns on CPU, timeslices)] per pid."""

    def __init__(self, pids):
        self.fds = {}
        self.samples = {pid: [] for pid in pids}
        for pid in pids:
            self.fds[pid] = os.open("/proc/%d/schedstat" % pid, os.O_RDONLY)

    def sample(self):
        for pid, fd in self.fds.items():
            t = time.time()
            try:
                fields = os.pread(fd, 128, 0).split()
            except ProcessLookupError:
                fields = []
            if len(fields) < 3:
                raise AssertionError("process %d is gone (schedstat unreadable)" % pid)
            self.samples[pid].append((t, int(fields[0]), int(fields[2])))

    def close(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


def interp(samples, T, field=1):
    """(the field at time T, linear between the samples around T, and the
    gap (s) between those two samples), or None outside the samples; field 1
    is ns on CPU, 2 the timeslices."""
    times = [s[0] for s in samples]
    i = bisect.bisect_left(times, T)
    if i == 0 or i >= len(samples):
        return None
    a, b = samples[i - 1], samples[i]
    (t0, v0), (t1, v1) = (a[0], a[field]), (b[0], b[field])
    return v0 + (v1 - v0) * (T - t0) / (t1 - t0), t1 - t0


def ctxt_switches():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("ctxt "):
                return int(line.split()[1])
    return 0


# ------------------------------------------------------- context-switch storm
PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1


def _pingpong_child(role, parent, fds):
    """One end of the ping-pong pair: never returns."""
    status = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the test died before prctl
            os._exit(0)
        libc.prctl(PR_SET_NAME, b"kpingpong", 0, 0, 0)
        r1, w1, r2, w2 = fds
        rd, wr = (r1, w2) if role == 0 else (r2, w1)
        for fd in fds:
            if fd not in (rd, wr):
                os.close(fd)
        if role == 0:
            os.write(wr, b"x")
        while os.read(rd, 1):
            os.write(wr, b"x")
        status = 0  # the peer is gone
    except BaseException:
        pass
    finally:
        os._exit(status)


class PingPong:
    """Two forked processes bouncing a byte through two pipes: a context
    switch per hop. Both are children of the test, killed and reaped by
    stop() (registered as a cleanup: every exit path reaps them); each also
    dies with the test (PR_SET_PDEATHSIG)."""

    def __init__(self):
        self.pids = []
        h.register_cleanup(self.stop)
        fds = os.pipe() + os.pipe()
        parent = os.getpid()
        try:
            for role in (0, 1):
                pid = os.fork()
                if pid == 0:
                    _pingpong_child(role, parent, fds)
                self.pids.append(pid)
        finally:
            for fd in fds:
                os.close(fd)

    def stop(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in self.pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self.pids = []


def perf_pipe_works(perf):
    try:
        return subprocess.run([perf, "bench", "sched", "pipe", "-l", "100"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# ----------------------------------------------------------------- contention
class ContentionTest(unittest.TestCase):
    cd = None
    procs = []
    storm = None
    cgroup = None

    @classmethod
    def _stop_workload(cls):
        members = h.cgroup_procs(cls.cgroup) if cls.cgroup else []
        for p in cls.procs:
            h.kill_proc(p)
        if cls.storm is not None:
            cls.storm.stop()
        errors = h.remove_cgroup_tree(cls.cgroup) if cls.cgroup else []
        if errors:
            print("cgroup cleanup problems: %s" % errors, flush=True)
        # perf's worker is orphaned when perf dies and reaped by init: wait
        # for that, so no zombie of this class is left for the next daemon.
        try:
            h.wait_for("the storm's processes %s reaped" % members,
                       lambda: not any(os.path.exists("/proc/%d" % pid) for pid in members), timeout=10)
        except AssertionError as e:
            print("note: %s" % e, flush=True)

    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.hz, cls.hz_source = config_hz()
        cls.tick_ms = 1000.0 / cls.hz
        cls.ncpus = os.cpu_count()
        # env -u: the default sampler, whatever this process's environment.
        cls.cd = start_daemon(cls, INTERVAL, kepler_config="  TopProcesses 0", name="contention",
                              prefix=["env", "-u", ENV_SW])
        cls.addClassCleanup(cls._stop_workload)
        cls.cd.wait_started()
        cls.cd.wait_rows(NODE, CPU_MS, 2)
        cls.progs = daemon_progs(cls.cd.pid)
        tmp = cls.cd.tmp

        perf = shutil.which("perf")
        if perf and perf_pipe_works(perf):
            # perf's worker processes are in a cgroup of their own, so the
            # cleanup kills both, not only the one the test started.
            cls.cgroup = h.make_cgroup(os.path.join(h.cgroup2_mount(), "kepler_e2e_%s" % os.urandom(4).hex()))
            cls.procs.append(h.spawn_in_cgroup([perf, "bench", "sched", "pipe", "-l", "2000000000"], cls.cgroup,
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            cls.storm_name = "perf bench sched pipe"
        else:
            cls.storm = PingPong()
            cls.storm_name = "pipe ping-pong pair (no working perf)"
        cls.burners = []
        for name in BURNERS:
            p = h.spawn_in_cgroup([h.named_burner(tmp, name)])
            cls.procs.append(p)
            cls.burners.append((name, p))
        stat = Schedstat([p.pid for _, p in cls.burners])
        try:
            cls._measure(stat)
        finally:
            stat.close()
        cls.samples = stat.samples
        # Stopping the daemon flushes the csv; the burners run until it is
        # down, so every row in the window is of a running burner.
        cls.cd.stop()
        cls.daemon_status = cls.cd.proc.returncode
        for name, p in cls.burners:
            if p.poll() is not None:
                raise AssertionError("%s (pid %d) exited during the test: %s" % (name, p.pid, p.returncode))
        cls._stop_workload()
        cls.node = sorted(cls.cd.series(NODE, CPU_MS))
        cls.rows = {p.pid: dict(cls.cd.series(proc_dir(name, p.pid), CPU_MS)) for name, p in cls.burners}

    @classmethod
    def _measure(cls, stat):
        """Sample schedstat every SAMPLE_S from before the burners' first rows
        until WINDOW_S after every burner has a series dir."""
        dirs = [proc_dir(name, p.pid) for name, p in cls.burners]
        found = None
        next_check = 0.0
        give_up = time.monotonic() + h.DEADLINE
        ctxt0 = None
        while True:
            stat.sample()
            now = time.monotonic()
            if found is None and now >= next_check:
                cls.cd.assert_alive()
                have = set(cls.cd.series_dirs())
                if all(d in have for d in dirs):
                    found = now
                    ctxt0 = (now, ctxt_switches())
                elif now > give_up:
                    raise AssertionError("no series dirs %s after %.0f s; dirs: %s"
                                         % ([d for d in dirs if d not in have], h.DEADLINE, sorted(have)[:40]))
                next_check = now + 0.25
            if found is not None and now - found >= WINDOW_S:
                break
            time.sleep(SAMPLE_S)
        cls.cd.assert_alive()
        now = time.monotonic()
        cls.ctxt_rate = (ctxt_switches() - ctxt0[1]) / (now - ctxt0[0])

    def intervals(self, pid):
        """[(T_prev, T, reported ms, reference ms, gap at T_prev, gap at T)]
        for the burner's rows after its first one, at consecutive node
        timestamps inside the sampled window."""
        samples = self.samples[pid]
        rows = self.rows[pid]
        self.assertTrue(rows, "pid %d has no %s rows" % (pid, CPU_MS))
        first = min(rows)
        seq = [T for T, _ in self.node if T >= first and interp(samples, T) is not None]
        out = []
        for a, b in zip(seq, seq[1:]):
            self.assertIn(b, rows, "pid %d has no row at node timestamp %.3f" % (pid, b))
            ra, ga = interp(samples, a)
            rb, gb = interp(samples, b)
            out.append((a, b, rows[b] * (b - a), (rb - ra) / 1e6, ga, gb))
        return out

    def test_a_whole_window_matches_schedstat(self):
        """Each burner's reported CPU time over the window is its schedstat
        difference over the same wall-clock window within 1 %."""
        print("a: %d CPUs, CONFIG_HZ %d (%s), storm: %s, %.0f context switches/s; "
              "collectd exited with %s" % (self.ncpus, self.hz, self.hz_source, self.storm_name,
                                          self.ctxt_rate, self.daemon_status), flush=True)
        for name, p in self.burners:
            iv = self.intervals(p.pid)
            self.assertGreaterEqual(len(iv), 5, "%s: only %d intervals in the window" % (name, len(iv)))
            rep = sum(x[2] for x in iv)
            ref = sum(x[3] for x in iv)
            span = iv[-1][1] - iv[0][0]
            err = h.rel_err(rep, ref)
            mech = 2 * self.tick_ms + iv[0][4] / 4 * 1000 + iv[-1][5] / 4 * 1000
            print("a: %s pid %d: %.1f ms reported vs %.1f ms schedstat over %.3f s (%d intervals, %.0f ms/s): "
                  "%.3f %% (tolerance %.0f %%; mechanism bound %.1f ms = %.3f %%)"
                  % (name, p.pid, rep, ref, span, len(iv), ref / span, 100 * err, 100 * TOTAL_TOL, mech,
                     100 * mech / ref), flush=True)
            self.assertGreater(ref / span, 100.0, "%s got too little CPU for a meaningful comparison" % name)
            self.assertLessEqual(err, TOTAL_TOL, "%s: reported %.1f ms vs schedstat %.1f ms" % (name, rep, ref))

    def test_b_each_interval_matches_schedstat(self):
        """Each interval within max(3 %, mechanism bound): the running slice
        is counted up to the last tick (4 ms at HZ=250) at each end, and the
        reference is interpolated between samples up to gap/4 off at each
        end (its slope is between 0 and 1 CPU)."""
        failures = []
        refs, all_gaps = [], []
        for name, p in self.burners:
            worst = None
            for a, b, rep, ref, ga, gb in self.intervals(p.pid):
                err = h.rel_err(rep, ref)
                mech_ms = 2 * self.tick_ms + (ga + gb) / 4 * 1000
                tol = max(INTERVAL_TOL, mech_ms / ref)
                refs.append(ref)
                all_gaps += [ga, gb]
                if worst is None or err / tol > worst[0] / worst[1]:
                    worst = (err, tol, mech_ms / ref, rep, ref, b)
                if err > tol:
                    failures.append("%s at %.3f: reported %.1f ms vs schedstat %.1f ms: %.2f %% > %.2f %%"
                                    % (name, b, rep, ref, 100 * err, 100 * tol))
            print("b: %s: worst interval (at %.3f) %.1f ms reported vs %.1f ms: error %.3f %%, "
                  "mechanism bound %.3f %%, tolerance %.3f %%"
                  % (name, worst[5], worst[3], worst[4], 100 * worst[0], 100 * worst[2], 100 * worst[1]),
                  flush=True)
        gaps_ms = sorted(1000 * g for g in all_gaps)
        nominal_ms = 2 * self.tick_ms + 2 * (SAMPLE_S * 1000) / 4
        median_ref = statistics.median(refs)
        print("b: schedstat sampling gap at the timestamps: median %.1f ms, max %.1f ms; mechanism bound at "
              "%.0f ms sampling: %.1f ms = %.2f %% of the median interval's %.1f ms%s"
              % (statistics.median(gaps_ms), gaps_ms[-1], SAMPLE_S * 1000, nominal_ms,
                 100 * nominal_ms / median_ref, median_ref,
                 "" if nominal_ms / median_ref <= INTERVAL_TOL else
                 " -- NOTE: exceeds the %.0f %% target, the mechanism bound applies" % (100 * INTERVAL_TOL)),
              flush=True)
        self.assertEqual(failures, [])

    def test_c_node_within_capacity(self):
        """The node's CPU time never exceeds ncpus x 1000 ms/s by more than 1 %."""
        self.assertTrue(self.node, "no node %s rows" % CPU_MS)
        cap = self.ncpus * 1000.0
        T, v = max(self.node, key=lambda r: r[1])
        print("c: node %s: %d rows, highest %.1f ms/s at %.3f; capacity %.0f, bound %.0f"
              % (CPU_MS, len(self.node), v, T, cap, cap * (1 + CAPACITY_TOL)), flush=True)
        over = [(T, v) for T, v in self.node if v > cap * (1 + CAPACITY_TOL)]
        self.assertEqual(over, [], "node CPU time above capacity")

    def test_d_no_sched_switch_program(self):
        """Without counters to read (no PMU, no software events) the daemon
        attaches nothing to sched_switch."""
        names = sorted(p.get("name", "?") for p in self.progs)
        print("d: BPF programs held by the daemon: %s" % names, flush=True)
        self.assertTrue(self.progs, "the daemon holds no BPF program at all")
        if h.hardware_pmu_available():
            self.skipTest("hardware PMU present: the counters may need a sched_switch program")
        self.assertEqual([p for p in self.progs if named(p, SCHED_SWITCH)], [])


# ------------------------------------------------------ software counters
class SoftwareCountersTest(unittest.TestCase):
    cd = None
    procs = []

    @classmethod
    def _stop_workload(cls):
        for p in cls.procs:
            h.kill_proc(p)

    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.hz, _ = config_hz()
        cls.tick_ms = 1000.0 / cls.hz
        cls.cd = start_daemon(cls, SW_INTERVAL, kepler_config="  TopProcesses 0", name="swcounters",
                              prefix=["env", ENV_SW + "=1"])
        cls.addClassCleanup(cls._stop_workload)
        cls.cd.wait_started()
        cls.cd.wait_rows(NODE, CPU_MS, 2)
        cls.progs = daemon_progs(cls.cd.pid)
        # Both burners on one CPU: they take turns, so each runs many slices.
        cls.cpu = max(os.sched_getaffinity(0))
        cls.burners = []
        for name in SW_BURNERS:
            p = h.spawn_in_cgroup([h.named_burner(cls.cd.tmp, name)])
            os.sched_setaffinity(p.pid, {cls.cpu})
            cls.procs.append(p)
            cls.burners.append((name, p))
        dirs = [proc_dir(name, p.pid) for name, p in cls.burners]
        h.wait_for("series dirs %s" % dirs, lambda: cls.cd.assert_alive() or all(
            d in cls.cd.series_dirs() for d in dirs), seen=lambda: cls.cd.series_dirs()[:40])
        stat = Schedstat([p.pid for _, p in cls.burners])
        stat.sample()
        t0 = stat.samples[cls.burners[0][1].pid][0][0]

        def window_over():
            cls.cd.assert_alive()
            for name, p in cls.burners:
                if p.poll() is not None:
                    raise AssertionError("%s (pid %d) exited: %s" % (name, p.pid, p.returncode))
            stat.sample()  # the reference, every poll
            return time.time() - t0 >= SW_WINDOW_S

        h.wait_for("the %.0f s window" % SW_WINDOW_S, window_over, timeout=SW_WINDOW_S + 5)  # the window itself
        cls.cd.stop()
        stat.sample()
        stat.close()
        cls.stat = stat
        cls._stop_workload()
        cls.node_T = sorted(T for T, _ in cls.cd.series(NODE, CPU_MS))

    def test_a_log_names_software_events(self):
        warnings = [m for sev, m in self.cd.log_entries() if sev == "warning" and ENV_SW in m]
        print("a: %s" % (warnings or "no WARNING naming %s" % ENV_SW), flush=True)
        self.assertTrue(warnings, "no WARNING naming %s; log:\n%s" % (ENV_SW, self.cd.log_tail()))

    def test_b_counts_are_timeslices(self):
        """Over the window, each burner's counter series integrate to the
        timeslices its schedstat counts: the context-switch count on a CPU
        grows by 1 at each switch, right after the program reads it, so the
        program charges exactly 1 to every task it switches out. Schedstat
        counts a slice at its switch-in, so the two differ by at most the
        slice running at each end, plus what the reference's linear
        interpolation can miss in its sampling gap at each end."""
        prev = dict(zip(self.node_T[1:], self.node_T))
        failures = []
        for name, p in self.burners:
            d = proc_dir(name, p.pid)
            have = self.cd.series_names(d)
            self.assertEqual(set(COUNTER_SERIES) - have, set(), "%s lacks counter series" % d)
            cpu = dict(self.cd.series(d, CPU_MS))
            samples = self.stat.samples[p.pid]
            # The first row holds the burner's life up to it; then the rows
            # whose interval the reference covers.
            rows = [T for T in sorted(T for T in cpu if T in prev)[1:]
                    if prev[T] >= samples[0][0] and T <= samples[-1][0]]
            self.assertGreaterEqual(len(rows), 5, "%s: %d rows" % (d, len(rows)))
            start, end = interp(samples, prev[rows[0]], 2), interp(samples, rows[-1], 2)
            self.assertTrue(start and end, "%s: the rows %.3f..%.3f are outside the reference %.3f..%.3f"
                            % (d, prev[rows[0]], rows[-1], samples[0][0], samples[-1][0]))
            slices = end[0] - start[0]
            per_s = slices / (rows[-1] - prev[rows[0]])
            self.assertGreater(slices, 100, "%s ran too few slices (%.0f)" % (name, slices))
            tol = 2 + per_s * (start[1] + end[1])
            for series in COUNTER_SERIES:
                counter = dict(self.cd.series(d, series))
                missing = [T for T in rows if T not in counter]
                self.assertEqual(missing, [], "%s/%s lacks rows at %s" % (d, series, missing))
                count = sum(counter[T] * (T - prev[T]) for T in rows)
                print("b: %s %s: %.1f counted over %d intervals vs %.1f timeslices (%.1f/s): %+.1f; "
                      "tolerance %.1f (2 + %.1f/s x the reference's gaps %.0f + %.0f ms)"
                      % (name, series, count, len(rows), slices, per_s, count - slices, tol, per_s,
                         1e3 * start[1], 1e3 * end[1]), flush=True)
                if abs(count - slices) > tol:
                    failures.append("%s/%s: %.1f counted vs %.1f timeslices (tolerance %.1f)"
                                    % (d, series, count, slices, tol))
        self.assertEqual(failures, [])

    def test_c_sched_switch_program_held(self):
        names = sorted(p.get("name", "?") for p in self.progs)
        print("c: BPF programs held by the daemon: %s" % names, flush=True)
        self.assertTrue([p for p in self.progs if named(p, SCHED_SWITCH)],
                        "no %s program held by the daemon: %s" % (SCHED_SWITCH, names))


# ------------------------------------------------------ zombie at start
class ZombieAtStartTest(unittest.TestCase):
    """A process that exited before the daemon started, but is reaped
    after its first read (a zombie whose parent waits late): none of its CPU
    time was counted, so none is reported, and the node stays within the
    machine's CPUs."""

    cd = None
    zombie = None
    BURN_S = 3.0  # CPU seconds: more than 1 s x the CPUs of a small machine

    @classmethod
    def setUpClass(cls):
        cls.ncpus = os.cpu_count()
        cls.hz, _ = config_hz()
        cls.cd = Daemon(SW_INTERVAL, kepler_config="  TopProcesses 0", name="zombie",
                        prefix=["env", "-u", ENV_SW])
        cls.addClassCleanup(lambda: cls.cd.cleanup(dump=h.STATE["failed"]))
        # The burner runs and exits before the daemon starts; the test does
        # not wait for it yet, so it stays a zombie.
        cls.zombie = h.spawn_in_cgroup([h.named_burner(cls.cd.tmp, "kburn_zomb"), "--cpu",
                                        "%g" % cls.BURN_S])

        def is_zombie():
            try:
                with open("/proc/%d/stat" % cls.zombie.pid) as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except FileNotFoundError:
                return False

        # On a busy machine it gets a share of a CPU: allow for a tenth.
        h.wait_for("kburn_zomb (pid %d) a zombie" % cls.zombie.pid, is_zombie,
                   timeout=10 * cls.BURN_S + h.DEADLINE)
        cls.cd.start()
        cls.cd.wait_started()
        cls.cd.wait_rows(NODE, CPU_MS, 2)  # at least one walk saw the zombie
        _, status, ru = os.wait4(cls.zombie.pid, 0)
        cls.zombie.returncode = os.waitstatus_to_exitcode(status)
        cls.t_reaped = time.time()
        cls.zombie_ms = (ru.ru_utime + ru.ru_stime) * 1000.0
        cls.cd.wait_rows(NODE, CPU_MS, 3, after=cls.t_reaped)
        cls.cd.stop()
        cls.node = sorted(cls.cd.series(NODE, CPU_MS))
        prev = dict(zip([T for T, _ in cls.node][1:], [T for T, _ in cls.node]))
        dirs = [d for d in cls.cd.series_dirs() if d.startswith(PROC) and d.endswith("_%d" % cls.zombie.pid)]
        cls.reported_ms = sum(v * (T - prev.get(T, T - SW_INTERVAL))
                              for d in dirs for T, v in cls.cd.series(d, CPU_MS))
        cls.dirs = dirs

    def test_a_exited_before_start_not_reported(self):
        print("a: zombie kburn_zomb pid %d used %.1f ms of CPU before the daemon started; reaped at %.3f; "
              "reported %.1f ms in %s" % (self.zombie.pid, self.zombie_ms, self.t_reaped, self.reported_ms,
                                          self.dirs), flush=True)
        self.assertGreater(self.zombie_ms, 1000.0, "the zombie burned too little CPU for the check")
        self.assertLessEqual(self.reported_ms, 2 * 1000.0 / self.hz,
                             "CPU time of a process that exited before the daemon started was reported")

    def test_b_node_within_capacity(self):
        cap = self.ncpus * 1000.0
        T, v = max(self.node, key=lambda r: r[1])
        print("b: node %s: %d rows, highest %.1f ms/s at %.3f; capacity %.0f"
              % (CPU_MS, len(self.node), v, T, cap), flush=True)
        self.assertEqual([(T, v) for T, v in self.node if v > cap * (1 + CAPACITY_TOL)], [],
                         "node CPU time above capacity")


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
