#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of the kepler plugin in the real collectd daemon.

One collectd (Interval 1, IdlePower split, csv writer) is shared by all test
methods. Real processes: a burner `kburn_a` in no container, two burners
`kburn_c1`/`kburn_c2` in a real cgroup v2 `docker-<64 hex>.scope`, a short
burner with a name that needs sanitizing, and a burner that exits mid-interval.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin not built).
"""

import math
import os
import re
import shutil
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NODE = "kepler_node"
PROC = "kepler_process-"
CONT = "kepler_container-"
I = h.INTERVAL
HW_SERIES = {"usage-cpu_cycles", "usage-cpu_instructions", "usage-cache_miss"}
# A comm with characters outside [A-Za-z0-9_]: the plugin must report it sanitized.
ODD_NAME = "kburn-n.x+y"


class PluginTest(unittest.TestCase):
    cd = None
    procs = []
    cgroup_root = None

    # ------------------------------------------------------------ fixtures
    @classmethod
    def _remove_workloads(cls):
        for p in cls.procs:
            h.kill_proc(p)
        errors = h.remove_cgroup_tree(cls.cgroup_root) if cls.cgroup_root else []
        if errors:
            print("cgroup cleanup problems: %s" % errors, flush=True)

    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.cd = h.start_daemon(cls, kepler_config='  IdlePower "split"\n  TopProcesses 0',
                                 name="plugin")
        cls.addClassCleanup(cls._remove_workloads)
        cls.cd.wait_started()
        tmp = cls.cd.tmp

        cls.burn_a = h.spawn_in_cgroup([h.named_burner(tmp, "kburn_a")])
        cls.procs.append(cls.burn_a)

        mount = h.cgroup2_mount()
        cls.cgroup_root = os.path.join(mount, "kepler_e2e_%s" % os.urandom(4).hex())
        h.make_cgroup(cls.cgroup_root)
        cls.container_id = os.urandom(32).hex()
        cls.scope = h.make_cgroup(
            os.path.join(cls.cgroup_root, "docker-%s.scope" % cls.container_id)
        )
        cls.burn_c = []
        for name in ("kburn_c1", "kburn_c2"):
            p = h.spawn_in_cgroup([h.named_burner(tmp, name)], cgroup=cls.scope)
            cls.procs.append(p)
            cls.burn_c.append((name, p))
        cls.burn_odd = h.spawn_in_cgroup([h.named_burner(tmp, ODD_NAME), "2"])
        cls.procs.append(cls.burn_odd)
        # A process that runs only to exec, then sleeps for the whole test.
        sleep = shutil.which("sleep")
        if not sleep:
            raise AssertionError("no sleep binary in PATH")
        cls.sleeper = h.spawn_in_cgroup([h.named_copy(tmp, os.path.realpath(sleep), "kidle"), "120"])
        cls.procs.append(cls.sleeper)
        cls.t_spawned = time.time()

        rel = "/" + os.path.relpath(cls.scope, mount)
        for name, p in cls.burn_c:
            got = h.cgroup_of(p.pid)
            if got != rel:
                raise AssertionError("%s (pid %d) is in cgroup %r, expected %r" % (name, p.pid, got, rel))
        print("setup: v2 mount %s, container cgroup %s, kburn_a pid %d, %s"
              % (mount, rel, cls.burn_a.pid,
                 ", ".join("%s pid %d" % (n, p.pid) for n, p in cls.burn_c)), flush=True)
        # The plugin is up once the node series has rows.
        cls.cd.wait_rows(NODE, "power-total", 3)

    # ------------------------------------------------------------ helpers
    def node_epochs(self):
        """Epoch strings of the node samples, in time order."""
        return sorted(self.cd.series_text(NODE, "power-total"), key=float)

    def settled_epochs(self, skip_first=2):
        """Node sample times whose values of every level are written: the first
        samples are skipped, and the last two (writers may still be busy)."""
        ep = self.node_epochs()
        return ep[skip_first:-2] if len(ep) > skip_first + 2 else []

    def wait_settled(self, n, after=None):
        def ok():
            self.cd.assert_alive()
            ep = self.settled_epochs()
            if after is not None:
                ep = [e for e in ep if float(e) > after]
            return ep if len(ep) >= n else None

        return h.wait_for("%d settled node samples%s" % (n, "" if after is None else " after %.3f" % after),
                          ok, seen=lambda: self.node_epochs()[-5:])

    def wait_node_after(self, t, n):
        """Wait until the node series has n samples later than time t."""
        def ok():
            self.cd.assert_alive()
            ep = [e for e in self.node_epochs() if float(e) > t]
            return ep if len(ep) >= n else None

        return h.wait_for("%d node samples after %.3f" % (n, t), ok,
                          seen=lambda: self.node_epochs()[-5:])

    def prev_epoch_map(self):
        ep = self.node_epochs()
        return {e: float(p) for p, e in zip(ep, ep[1:])}

    def process_dirs(self):
        return [d for d in self.cd.series_dirs() if d.startswith(PROC)]

    def dirs_of_pid(self, pid):
        """Process dirs of a pid under any command name (a child is briefly
        python before it execs the burner)."""
        suffix = "_%d" % pid
        return [d for d in self.process_dirs() if d.endswith(suffix)]

    def integrate_ms(self, dirs, lo, hi):
        """Sum of usage-bpf_cpu_time_ms x interval (ms) over rows lo < T <= hi."""
        prev = self.prev_epoch_map()
        total = 0.0
        rows = 0
        for d in dirs:
            for e, (v, _t) in self.cd.series_text(d, "usage-bpf_cpu_time_ms").items():
                T = float(e)
                if not (lo < T <= hi):
                    continue
                self.assertIn(e, prev, "%s row at %s is not at a node sample time" % (d, e))
                total += v * (T - prev[e])
                rows += 1
        return total, rows

    # --------------------------------------------------------------- tests
    def test_a_cpu_time_matches_proc(self):
        """kburn_a's reported on-CPU ms/s integrates to its /proc utime+stime."""
        pid = self.burn_a.pid
        inst = PROC + "kburn_a_%d" % pid
        self.cd.wait_dir(inst)
        # Sample /proc/PID/stat every 20 ms; interpolate the cumulative CPU time
        # at the node sample times, so both figures cover the same window.
        samples = []
        deadline = time.monotonic() + h.DEADLINE
        while True:
            ms = h.proc_cpu_ms(pid)
            samples.append((time.time(), ms))
            self.assertIsNotNone(ms, "kburn_a (pid %d) disappeared" % pid)
            ep = [e for e in self.node_epochs()[2:] if float(e) > samples[0][0] + 0.05]
            if len(ep) >= 6:
                break
            if time.monotonic() > deadline:
                self.fail("awaited 6 node samples after %.3f; saw %s" % (samples[0][0], ep))
            time.sleep(0.02)
        # The last row may have been written after the last sample above:
        # one more, taken after it, brackets it.
        samples.append((time.time(), h.proc_cpu_ms(pid)))
        ta, tb = ep[0], ep[-1]
        Ta, Tb = float(ta), float(tb)
        self.cd.assert_alive()
        self.wait_node_after(Tb, 2)  # rows at Tb of every level are written

        def interp(T):
            for (t0, v0), (t1, v1) in zip(samples, samples[1:]):
                if t0 <= T <= t1:
                    return v0 + (v1 - v0) * (T - t0) / (t1 - t0) if t1 > t0 else v1
            self.fail("time %.3f outside the /proc samples %.3f..%.3f" % (T, samples[0][0], samples[-1][0]))

        proc_ms = interp(Tb) - interp(Ta)
        rep_ms, rows = self.integrate_ms([inst], Ta, Tb)
        span = Tb - Ta
        n_int = len(ep) - 1
        err = h.rel_err(rep_ms, proc_ms)
        print("a: burner cpu %.1f ms/s reported vs %.1f ms/s from /proc over %.3f s (%d intervals, %d rows): %.2f %%"
              % (rep_ms / span, proc_ms / span, span, n_int, rows, 100 * err), flush=True)
        self.assertGreaterEqual(n_int, 5)
        self.assertGreater(proc_ms / span, 100.0,
                           "kburn_a got too little CPU (%.1f ms/s) for a meaningful comparison" % (proc_ms / span))
        self.assertLessEqual(err, 0.05, "reported %.1f ms vs /proc %.1f ms" % (rep_ms, proc_ms))

    def test_b_process_dynamic_sums_to_node(self):
        """At every sample, sum of process power-dynamic == node power-dynamic."""
        epochs = self.wait_settled(3)
        node = self.cd.series_text(NODE, "power-dynamic")
        sums = {e: [0.0, 0.0, 0] for e in epochs}  # value, rounding allowance, terms
        for d in self.process_dirs():
            for e, (v, t) in self.cd.series_text(d, "power-dynamic").items():
                if e in sums:
                    s = sums[e]
                    s[0] += v
                    s[1] += h.rounding(t)
                    s[2] += 1
        worst = (0.0, None)
        checked = 0
        for e in epochs:
            self.assertIn(e, node, "node power-dynamic has no row at %s" % e)
            nv, nt = node[e]
            total, allow, terms = sums[e]
            tol = max(1e-3 * abs(nv), 1e-6) + allow + h.rounding(nt)
            err = h.rel_err(total, nv)
            if worst[1] is None or err > worst[0]:
                worst = (err, e, total, nv, terms)
            self.assertLessEqual(
                abs(total - nv), tol,
                "at %s: sum of %d process power-dynamic %.6f W != node %.6f W (tolerance %.2g)"
                % (e, terms, total, nv, tol))
            checked += 1
        print("b: %d timestamps, worst relative error %.4f %% (at %s: processes %.6f W (%d) vs node %.6f W)"
              % (checked, 100 * worst[0], worst[1], worst[2], worst[4], worst[3]), flush=True)
        self.assertGreaterEqual(checked, 3)

    def test_c_container_is_sum_of_its_processes(self):
        """kepler_container-<id> power-total == kburn_c1 + kburn_c2."""
        cdir = CONT + self.container_id
        self.cd.wait_dir(cdir)
        pids = [p.pid for _, p in self.burn_c]
        for name, p in self.burn_c:
            self.cd.wait_dir(PROC + "%s_%d" % (name, p.pid))

        def shared():
            rows = self.cd.series_text(cdir, "power-total")
            return [e for e in self.settled_epochs() if e in rows and float(e) > self.t_spawned]

        epochs = h.wait_for("3 settled samples of %s" % cdir, lambda: (lambda s: s if len(s) >= 3 else None)(shared()),
                            seen=shared)
        cont = self.cd.series_text(cdir, "power-total")
        dirs = [d for pid in pids for d in self.dirs_of_pid(pid)]
        per_dir = {d: self.cd.series_text(d, "power-total") for d in dirs}
        worst = 0.0
        min_power = math.inf
        for e in epochs:
            cv, ct = cont[e]
            total = sum(rows[e][0] for rows in per_dir.values() if e in rows)
            allow = sum(h.rounding(rows[e][1]) for rows in per_dir.values() if e in rows) + h.rounding(ct)
            tol = max(1e-3 * abs(cv), 1e-6) + allow
            self.assertLessEqual(abs(total - cv), tol,
                                 "at %s: container %.6f W != sum of %s = %.6f W" % (e, cv, sorted(per_dir), total))
            worst = max(worst, h.rel_err(total, cv))
            min_power = min(min_power, cv)
            self.assertGreater(cv, 0.0, "container power-total at %s is %r" % (e, cv))
        print("c: container %s...: %d timestamps, processes %s, worst relative error %.4f %%, min power %.6f W"
              % (self.container_id[:12], len(epochs), sorted(per_dir), 100 * worst, min_power), flush=True)
        self.assertGreaterEqual(len(epochs), 3)

    def test_d_exiting_process_cpu_counted(self):
        """A burner exiting mid-interval: its CPU time is all reported, and its
        series stop after the exit."""
        self.wait_settled(1)
        # Start right after a sample so that the 1.3 s run ends mid-interval.
        n0 = len(self.node_epochs())
        h.wait_for("a new node sample", lambda: len(self.node_epochs()) > n0, interval=0.02)
        t_spawn = time.time()
        p = h.spawn_in_cgroup([h.named_burner(self.cd.tmp, "kburn_exit"), "1.3"])
        self.procs.append(p)
        pid, status, ru = os.wait4(p.pid, 0)
        t_exit = time.time()
        p.returncode = os.waitstatus_to_exitcode(status)
        self.assertEqual(p.returncode, 0, "kburn_exit failed")
        rusage_ms = (ru.ru_utime + ru.ru_stime) * 1000.0
        # Two further intervals, plus one more sample so a late row would show
        # up, plus two so every row up to there is written.
        self.wait_node_after(t_exit + 3 * I, 2)

        inst = PROC + "kburn_exit_%d" % pid
        dirs = self.dirs_of_pid(pid)
        self.assertIn(inst, dirs, "no series dir %s; dirs of pid %d: %s" % (inst, pid, dirs))
        rep_ms, rows = self.integrate_ms(dirs, t_spawn, math.inf)
        late = []
        for d in dirs:
            for name in self.cd.series_names(d):
                late += ["%s/%s@%.3f" % (d, name, T) for T, _ in self.cd.series(d, name) if T > t_exit + 2 * I]
        err = h.rel_err(rep_ms, rusage_ms)
        phase = t_exit - max(float(e) for e in self.node_epochs() if float(e) <= t_exit)
        print("d: exiting burner cpu %.1f ms reported (%d rows in %s) vs %.1f ms rusage: %.2f %%; "
              "ran %.3f s, exit %.2f s into an interval"
              % (rep_ms, rows, dirs, rusage_ms, 100 * err, t_exit - t_spawn, phase), flush=True)
        self.assertGreater(rusage_ms, 100.0, "kburn_exit got too little CPU for a meaningful comparison")
        self.assertLessEqual(err, 0.05, "reported %.1f ms vs rusage %.1f ms" % (rep_ms, rusage_ms))
        self.assertEqual(late, [], "rows more than 2 intervals after the exit at %.3f" % t_exit)

    def test_e_energy_counters_monotonic(self):
        """Node joules-* never decrease and joules-total follows power-total."""
        self.wait_settled(3)
        for series in ("joules-total", "joules-dynamic", "joules-idle"):
            rows = sorted(self.cd.series(NODE, series))
            self.assertGreaterEqual(len(rows), 3, "%s/%s has %d rows" % (NODE, series, len(rows)))
            for (e0, v0), (e1, v1) in zip(rows, rows[1:]):
                self.assertGreaterEqual(v1, v0, "%s/%s decreased from %r at %.3f to %r at %.3f"
                                        % (NODE, series, v0, e0, v1, e1))
                self.assertEqual(v1, int(v1), "%s/%s value %r is not an integer" % (NODE, series, v1))
        # energy between the first and last settled sample vs integrated power
        epochs = self.settled_epochs(skip_first=1)
        joules = self.cd.series_text(NODE, "joules-total")
        power = self.cd.series_text(NODE, "power-total")
        prev = self.prev_epoch_map()
        lo, hi = epochs[0], epochs[-1]
        dj = joules[hi][0] - joules[lo][0]
        integ = sum(power[e][0] * (float(e) - prev[e]) for e in epochs[1:])
        print("e: node joules-total +%d J vs integrated power-total %.1f J over %.3f s"
              % (dj, integ, float(hi) - float(lo)), flush=True)
        self.assertGreater(integ, 0.0, "node power-total is 0 throughout")
        self.assertLessEqual(abs(dj - integ), 2.0 + 0.02 * integ,
                             "joules-total grew %d J but power-total integrates to %.1f J" % (dj, integ))
        # Exit records the ring buffer had no room for: none on this quiet test.
        rows = sorted(self.cd.series(NODE, "derive-exits_dropped"))
        self.assertTrue(rows and all(b[1] >= a[1] for a, b in zip(rows, rows[1:])),
                        "derive-exits_dropped missing or decreasing: %s" % rows[-5:])
        print("e: derive-exits_dropped: %d rows, last %s" % (len(rows), rows[-1][1] if rows else None),
              flush=True)
        self.assertEqual([r for r in rows if r[1] != 0], [], "exit records dropped")
        rows = sorted(self.cd.series(PROC + "kburn_a_%d" % self.burn_a.pid, "joules-total"))
        self.assertGreaterEqual(len(rows), 3)
        self.assertTrue(all(b[1] >= a[1] for a, b in zip(rows, rows[1:])), "kburn_a joules-total decreased: %s" % rows)

    def test_f_naming_invariants(self):
        """Every series has a well-formed identifier, and the spec's series exist."""
        self.wait_settled(3)
        odd_dir = PROC + "%s_%d" % (h.sanitize_comm(ODD_NAME), self.burn_odd.pid)
        self.cd.wait_dir(odd_dir)
        allowed_types = {
            "kepler_node": {"power", "joules", "percent", "usage", "derive", "gauge", "duration"},
            "kepler_container": {"power", "joules"},
            "kepler_pod": {"power", "joules"},
            "kepler_service": {"power", "joules"},
            "kepler_vm": {"power", "joules"},
            "kepler_command": {"power", "joules", "usage"},
            "kepler_process": {"power", "joules", "usage"},
            "load": {"load"},
        }
        name_re = re.compile(r"^[A-Za-z0-9_]+$")
        n_dirs = n_series = 0
        for d in self.cd.series_dirs():
            plugin, _, pinst = d.partition("-")
            self.assertIn(plugin, allowed_types, "unexpected plugin dir %r" % d)
            self.assertLessEqual(len(plugin), 127)
            self.assertLessEqual(len(pinst), 127, "plugin instance of %r longer than 127" % d)
            if plugin == "kepler_node" or plugin == "load":
                self.assertEqual(pinst, "", "%s must have no plugin instance: %r" % (plugin, d))
            elif plugin == "kepler_container":
                # A container id, a bucket, or a name made writer-safe (an
                # LXC container another test may have running).
                self.assertRegex(pinst, r"^([0-9a-f]{64}|system|kernel|other|[A-Za-z0-9_]+_[0-9a-f]{16})$",
                                 "bad container instance %r" % d)
            elif plugin in ("kepler_pod", "kepler_service", "kepler_vm", "kepler_command"):
                self.assertRegex(pinst, r"^[A-Za-z0-9_]+$", "bad workload instance %r" % d)
            else:
                self.assertRegex(pinst, r"^[A-Za-z0-9_]+_[0-9]+$", "bad process instance %r" % d)
            path = os.path.join(self.cd.hostdir, d)
            for fn in os.listdir(path):
                # a '/' in a name would have made a subdirectory
                self.assertTrue(os.path.isfile(os.path.join(path, fn)), "%s/%s is not a file" % (d, fn))
                m = h._DATE_RE.match(fn)
                self.assertIsNotNone(m, "%s/%s: not <type>[-<instance>]-YYYY-MM-DD" % (d, fn))
                typ, _, tinst = m.group("name").partition("-")
                self.assertIn(typ, allowed_types[plugin], "unexpected type in %s/%s" % (d, fn))
                self.assertLessEqual(len(tinst), 127, "%s/%s type instance too long" % (d, fn))
                if plugin != "load":
                    self.assertRegex(tinst, name_re, "%s/%s: type instance must match [A-Za-z0-9_]+" % (d, fn))
                n_series += 1
            n_dirs += 1

        node = self.cd.series_names(NODE)
        required = {"power-total", "power-dynamic", "power-idle", "joules-total", "joules-dynamic",
                    "joules-idle", "percent-cpu_utilization", "derive-exits_dropped", "gauge-processes",
                    "usage-bpf_cpu_time_ms", "duration-read", "duration-read_cpu"}
        self.assertEqual(required - node, set(), "node series missing")
        # The read's CPU time is the read thread's within the read's wall
        # time: it cannot exceed it by more than the csv writer's rounding
        # (1 us) and the ~100 ns between the two clocks' last reads.
        wall = self.cd.series_text(NODE, "duration-read")
        cpu = self.cd.series_text(NODE, "duration-read_cpu")
        cost = [(wall[e][0], cpu[e][0]) for e in wall if e in cpu]
        self.assertTrue(cost, "no read cost rows")
        for w, c in cost:
            self.assertGreater(c, 0, "read_cpu %r not > 0" % c)
            self.assertLessEqual(c, w + 2e-6, "read_cpu %r > read %r" % (c, w))
        self.assertNotIn("derive-map_full", node, "derive-map_full was replaced by derive-exits_dropped")
        components = {n[len("power-"):] for n in node if n.startswith("power-")} - {"total", "dynamic", "idle"}
        absolute = {c for c in components if not c.endswith("_dynamic") and not c.endswith("_idle")}
        self.assertTrue(absolute, "no per-component node power series: %s" % sorted(node))
        for c in absolute:
            self.assertIn(c + "_dynamic", components, "power-%s without power-%s_dynamic" % (c, c))
            self.assertIn(c + "_idle", components, "power-%s without power-%s_idle" % (c, c))
        self.assertEqual({c for c in components if c not in absolute},
                         {c + s for c in absolute for s in ("_dynamic", "_idle")},
                         "component dynamic/idle series without an absolute series")
        cont = self.cd.series_names(CONT + self.container_id)
        self.assertEqual({"power-total", "power-dynamic", "power-idle", "joules-total"} - cont, set(),
                         "container series missing (IdlePower split)")
        self.assertIn(CONT + "system", self.cd.series_dirs(), "no kepler_container-system (kburn_a is in no container)")
        for d in (PROC + "kburn_a_%d" % self.burn_a.pid, odd_dir):
            have = self.cd.series_names(d)
            self.assertEqual({"power-total", "power-dynamic", "power-idle", "joules-total",
                              "usage-bpf_cpu_time_ms"} - have, set(), "%s series missing" % d)
        settled = set(self.settled_epochs())
        procs = [(e, v) for e, (v, _t) in self.cd.series_text(NODE, "gauge-processes").items() if e in settled]
        self.assertTrue(procs and all(v > 0 for _, v in procs), "gauge-processes not > 0: %s" % procs[-3:])
        print("f: %d series dirs, %d series files well-formed; node components %s; %r reported as %s;"
              " read cost median %.2f ms wall, %.2f ms CPU (%d reads)"
              % (n_dirs, n_series, sorted(absolute), ODD_NAME, odd_dir,
                 1e3 * sorted(w for w, _ in cost)[len(cost) // 2],
                 1e3 * sorted(c for _, c in cost)[len(cost) // 2], len(cost)), flush=True)

    def test_g_hardware_counters_consistent(self):
        """Hardware-counter features exist exactly when the PMU does."""
        self.wait_settled(3)
        pmu = h.hardware_pmu_available()
        found = {}
        for d in self.cd.series_dirs():
            if d.startswith("kepler_"):
                hw = self.cd.series_names(d) & HW_SERIES
                if hw:
                    found[d] = sorted(hw)
        unavailable = [m for sev, m in self.cd.log_entries()
                       if sev == "info" and "hardware counters unavailable" in m]
        if pmu:
            a = PROC + "kburn_a_%d" % self.burn_a.pid
            have = self.cd.series_names(a)
            self.assertEqual({"usage-cpu_cycles", "usage-cpu_instructions"} - have, set(),
                             "hardware PMU present but %s lacks counter series" % a)
            self.assertEqual(unavailable, [], "hardware PMU present but the log says unavailable")
            print("g: hardware PMU present; counter series in %d dirs" % len(found), flush=True)
        else:
            self.assertEqual(found, {}, "no hardware PMU here, yet counter series exist")
            self.assertEqual(len(unavailable), 1,
                             "expected one INFO line with 'hardware counters unavailable'; log:\n%s"
                             % self.cd.log_tail())
            print("g: no hardware PMU; no counter series; log says: %s" % unavailable[0], flush=True)

    def test_h_power_values_finite_nonnegative(self):
        """Every power value of every level is finite and >= 0."""
        self.wait_settled(3)
        checked = 0
        for d in self.cd.series_dirs():
            if not d.startswith("kepler_"):
                continue
            for name in self.cd.series_names(d):
                if not name.startswith("power-"):
                    continue
                for T, v in self.cd.series(d, name):
                    self.assertTrue(h.is_finite(v) and v >= 0.0, "%s/%s at %.3f = %r" % (d, name, T, v))
                    checked += 1
        print("h: %d power values finite and >= 0" % checked, flush=True)
        self.assertGreater(checked, 0)

    def test_h2_cpu_time_physically_possible(self):
        """No process, and not the node, runs more CPU ms per second than the
        machine has CPUs, beyond what the design allows: a running task's
        runtime (the kernel's se.sum_exec_runtime) advances at each tick and
        switch, so one read may borrow up to one tick (10 ms at HZ=100, the
        slowest) per CPU from the next. Over a read window shorter than the
        interval (collectd reads sooner after a late read) that is more per
        second: the bound is taken over each row's window, the time since the
        previous read. A double-counted slice shows here."""
        self.wait_settled(3)
        ncpus = os.cpu_count()
        node_T = sorted(T for T, _ in self.cd.series("kepler_node", "usage-bpf_cpu_time_ms"))
        window = dict(zip(node_T[1:], (b - a for a, b in zip(node_T, node_T[1:]))))
        worst = ("", 0.0, 0.0)  # where, by how much over its bound, value
        for d in self.cd.series_dirs():
            if not (d.startswith("kepler_process-") or d == "kepler_node"):
                continue
            for T, v in self.cd.series(d, "usage-bpf_cpu_time_ms"):
                bound = 1000.0 * ncpus + 10.0 * ncpus / min(window.get(T, I), I)
                if v - bound > worst[1] or not worst[0]:
                    worst = ("%s at %.3f (window %.3f s, bound %.0f)"
                             % (d, T, window.get(T, I), bound), v - bound, v)
        print("h2: closest to its bound: %.1f ms/s, %s; capacity %d"
              % (worst[2], worst[0], 1000 * ncpus), flush=True)
        self.assertLessEqual(worst[1], 0.0, worst[0])

    def test_i_no_errors_logged(self):
        """The plugin logged no error and collectd is alive."""
        self.cd.assert_alive()
        errors = [m for sev, m in self.cd.log_entries() if sev == "error" and "kepler" in m]
        self.assertEqual(errors, [], "kepler errors in the log")

    def test_j_sleeping_process_not_dispatched(self):
        """A process that only ran to exec and then sleeps is reported in the
        interval it ran and never after."""
        t_spawn = self.t_spawned
        self.wait_node_after(t_spawn + 4 * I, 2)
        pid = self.sleeper.pid
        self.assertIsNone(self.sleeper.poll(), "kidle exited early")
        dirs = self.dirs_of_pid(pid)
        rows = sorted((T, d) for d in dirs for T, _ in self.cd.series(d, "power-total"))
        late = [(T, d) for T, d in rows if T > t_spawn + 2 * I]
        print("j: sleeping process pid %d: rows %s (spawned %.3f)"
              % (pid, ["%s@%.3f" % (d, T) for T, d in rows], t_spawn), flush=True)
        self.assertTrue(rows, "kidle (pid %d) ran to exec but was never reported" % pid)
        self.assertEqual(late, [], "kidle reported although it slept through these intervals")

    def test_z_clean_shutdown(self):
        """SIGTERM stops collectd (and the plugin's shutdown) with status 0."""
        self.cd.assert_alive()
        t0 = time.monotonic()
        self.cd.stop()
        print("z: collectd stopped in %.2f s with status %s" % (time.monotonic() - t0, self.cd.proc.returncode),
              flush=True)
        self.assertEqual(self.cd.proc.returncode, 0, "collectd exit status; log:\n%s" % self.cd.log_tail())


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
