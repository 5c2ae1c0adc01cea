#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of options users change, with the real daemon:
MaxProcesses (deprecated: one warning, the value ignored, more processes
than it tracked), IdlePower "node" (idle power stays at node level),
TopProcesses (a bounded number of process series plus `other`, summing to
the node), meta data through a JSON writer
(write_log Format JSON); and a container visible only in a cgroup v1
hierarchy (docker's cgroupfs driver on a hybrid host).
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin not built).
"""

import json
import os
import shutil
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

MAX_PROCESSES = 64
TOP_PROCESSES = 5
SLEEPERS = 100  # more processes than MaxProcesses, on top of the host's own


class OptionsTest(unittest.TestCase):
    cd = None
    procs = []

    @classmethod
    def _kill_procs(cls):
        for p in cls.procs:
            h.kill_proc(p)

    @classmethod
    def setUpClass(cls):
        json_writer = 'LoadPlugin write_log\n<Plugin write_log>\n  Format "JSON"\n</Plugin>'
        cls.cd = h.start_daemon(
            cls, kepler_config='  MaxProcesses %d\n  IdlePower "node"\n  TopProcesses %d'
            % (MAX_PROCESSES, TOP_PROCESSES),
            name="options", extra_plugins=["write_log"], extra_config=json_writer)
        cls.addClassCleanup(cls._kill_procs)
        cls.cd.wait_started()
        tmp = cls.cd.tmp
        sleeper = h.named_copy(tmp, os.path.realpath(shutil.which("sleep")), "ksleep")
        # A docker (cgroupfs driver) container in the v1 cpu hierarchy only:
        # its v2 cgroup stays the root.
        cls.v1_id = os.urandom(32).hex()
        cls.v1_mount = h.cgroup1_mount("cpu")
        if cls.v1_mount:
            parent = h.make_cgroup(os.path.join(cls.v1_mount, "kepler_e2e_%s" % os.urandom(4).hex()))
            cgroup = h.make_cgroup(os.path.join(parent, "docker"))
            cgroup = h.make_cgroup(os.path.join(cgroup, cls.v1_id))
            cls.v1_burner = h.spawn_in_cgroup([h.named_burner(tmp, "kburn_v1")], cgroup)
            cls.procs.append(cls.v1_burner)
            cls.cd.wait_dir("kepler_container-" + cls.v1_id)
        # Each runs to its first sleep, is switched out, and wants an entry.
        for _ in range(SLEEPERS):
            cls.procs.append(h.spawn_in_cgroup([sleeper, "60"]))

    def last_value(self, plugin_dir, series):
        rows = self.cd.series(plugin_dir, series)
        return rows[-1][1] if rows else None

    def test_a_max_processes_deprecated(self):
        """MaxProcesses is deprecated: the daemon runs, one WARNING names it,
        and the value bounds nothing: more processes than it are tracked
        (the sleepers alone are more)."""
        def most():
            return max([v for _, v in self.cd.series("kepler_node", "gauge-processes")] or [0])

        tracked = h.wait_for("kepler_node/gauge-processes > %d" % SLEEPERS,
                             lambda: most() > SLEEPERS and most(), seen=most)
        self.cd.assert_alive()
        entries = self.cd.log_entries()
        deprecated = [m for sev, m in entries if "MaxProcesses" in m]
        host = len([d for d in os.listdir("/proc") if d.isdigit()])
        print("a: MaxProcesses %d, %d sleepers, %d processes on the host: %d processes tracked; log: %s"
              % (MAX_PROCESSES, SLEEPERS, host, tracked, deprecated), flush=True)
        self.assertGreater(tracked, MAX_PROCESSES)
        warnings = [m for sev, m in entries
                    if sev == "warning" and "MaxProcesses" in m and "deprecated" in m]
        self.assertEqual(len(warnings), 1, "expected one WARNING naming MaxProcesses as deprecated, "
                         "got: %s" % [(sev, m) for sev, m in entries if "MaxProcesses" in m])
        self.assertNotIn("derive-map_full", self.cd.series_names("kepler_node"))
        errors = [m for sev, m in entries if sev == "error" and "kepler" in m]
        self.assertEqual(errors, [])

    def test_b_idle_power_stays_at_node(self):
        """IdlePower "node": no process or container carries idle power, their
        power-total is their dynamic power, and the node still reports idle."""
        self.cd.wait_rows("kepler_node", "power-idle", 3)
        idle = [v for _, v in self.cd.series("kepler_node", "power-idle")]
        self.assertTrue(all(v > 0 for v in idle), idle)
        compared = 0
        for d in self.cd.series_dirs():
            if not d.startswith(("kepler_process-", "kepler_container-")):
                continue
            self.assertNotIn("power-idle", self.cd.series_names(d), d)
            dyn = dict(self.cd.series(d, "power-dynamic"))
            for T, total in self.cd.series(d, "power-total"):
                self.assertIn(T, dyn, "%s: power-total at %.3f without power-dynamic" % (d, T))
                self.assertAlmostEqual(total, dyn[T], places=6, msg="%s at %.3f" % (d, T))
                compared += 1
        print("b: node idle %.3f W; %d process/container rows have total == dynamic"
              % (idle[-1], compared), flush=True)
        self.assertGreater(compared, 0)

    def test_d_cgroup_v1_container(self):
        """A process whose container shows only in a v1 hierarchy is found
        through /proc/PID/cgroup, and the container's power is its power."""
        if not self.v1_mount:
            self.skipTest("no cgroup v1 cpu hierarchy on this host")
        ctr = "kepler_container-" + self.v1_id
        proc = "kepler_process-kburn_v1_%d" % self.v1_burner.pid
        # Processes are dispatched after containers: once the process has 3
        # rows, the container's rows at those timestamps are written too.
        mine = dict(self.cd.wait_rows(proc, "power-total", 3))
        rows = self.cd.series(ctr, "power-total")
        shared = [(T, v) for T, v in rows if T in mine]
        self.assertGreaterEqual(len(shared), 3, "container rows %s, process rows %s" % (rows, mine))
        worst = max(h.rel_err(v, mine[T]) for T, v in shared)
        print("d: v1-only container %s... (%s): %d timestamps, container == its process within %.4f %%, "
              "v2 path of the burner %s" % (self.v1_id[:12], self.v1_mount, len(shared), 100 * worst,
                                            h.cgroup_of(self.v1_burner.pid)), flush=True)
        self.assertLessEqual(worst, 1e-3)
        self.assertGreater(shared[-1][1], 0)

    def test_c_meta_data_in_json_writer(self):
        """Process values carry pid, command, container_id and cgroup_path as
        meta data, and they agree with the series name."""

        def process_values():
            found = []
            for line in self.cd.log_text().splitlines():
                if not line.startswith('[{"values"'):
                    continue
                for v in json.loads(line):
                    if v.get("plugin") == "kepler_process" and v["plugin_instance"] != "other":
                        found.append(v)
            return found

        values = h.wait_for("kepler_process values in write_log JSON", process_values)
        checked = 0
        for v in values:
            meta = v.get("meta", {})
            for key in ("pid", "command", "container_id", "cgroup_path"):
                self.assertIn(key, meta, v)
            self.assertEqual(v["plugin_instance"],
                             "%s_%d" % (h.sanitize_comm(meta["command"]), meta["pid"]), v)
            checked += 1
        print("c: %d kepler_process JSON values carry consistent meta data, e.g. %s"
              % (checked, json.dumps(values[0]["meta"])), flush=True)

    def test_e_top_processes_and_other(self):
        """TopProcesses N: at most N process series per interval plus
        `other`, and together they carry the node's power exactly."""
        # `other` is dispatched after the processes of its read.
        other = dict(self.cd.wait_rows("kepler_process-other", "power-dynamic", 4))
        node = dict(self.cd.series("kepler_node", "power-dynamic"))
        per_t = {T: [v] for T, v in other.items()}
        for d in self.cd.series_dirs():
            if d.startswith("kepler_process-") and d != "kepler_process-other":
                for T, v in self.cd.series(d, "power-dynamic"):
                    if T in per_t:
                        per_t[T].append(v)
        worst, most = 0.0, 0
        for T, values in per_t.items():
            self.assertIn(T, node, "node has no row at %.3f" % T)
            most = max(most, len(values) - 1)
            worst = max(worst, h.rel_err(sum(values), node[T]))
        print("e: TopProcesses %d: at most %d process series + other per interval over %d "
              "intervals; reported + other vs node: %.5f %% worst"
              % (TOP_PROCESSES, most, len(per_t), 100 * worst), flush=True)
        self.assertLessEqual(most, TOP_PROCESSES)
        self.assertGreater(max(other.values()), 0, "other never carried power: %s" % other)
        self.assertLessEqual(worst, 1e-4)


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
