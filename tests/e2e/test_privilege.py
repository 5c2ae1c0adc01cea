#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test: the plugin with the least privilege it needs.

collectd runs as `nobody` under `setpriv`, with no capability but those
given (in its effective, permitted, inheritable, ambient and bounding sets):
- CAP_BPF + CAP_PERFMON: series flow; containers are found through
  /proc/PID/cgroup, and one info line says why cgroup ids are not used;
- the same + CAP_DAC_READ_SEARCH: containers through cgroup ids, no such line;
- none: one ERROR from the plugin, and collectd keeps running its other
  plugins.
A container is a real cgroup v2 `docker-<64 hex>.scope` with a burner in it.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin not built).
"""

import os
import pwd
import shutil
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CAP_DAC_READ_SEARCH = 2
NO_CGROUP_IDS = "cannot open cgroups by id (needs CAP_DAC_READ_SEARCH)"


class Unprivileged:
    """The daemon as nobody with `caps` (names without the cap_ prefix)."""
    caps = ()
    name = None

    @classmethod
    def setUpClass(cls):
        setpriv = shutil.which("setpriv")
        if not setpriv:
            raise AssertionError("setpriv not found (Debian package util-linux)")
        nobody = pwd.getpwnam("nobody")
        sets = ",".join(["-all"] + ["+" + c for c in cls.caps])
        prefix = [setpriv, "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid,
                  "--clear-groups", "--inh-caps=" + sets, "--ambient-caps=" + sets,
                  "--bounding-set=" + sets, "--"]
        cls.procs = []
        cls.cgroup_root = None
        cls.addClassCleanup(cls._remove_workloads)
        cls.cd = h.start_daemon(cls, kepler_config="  TopProcesses 5", prefix=prefix,
                                name=cls.name, owner=(nobody.pw_uid, nobody.pw_gid))
        h.wait_exec(cls.cd, "setpriv")
        cls.uid = status_field(cls.cd.pid, "Uid").split()
        cls.capeff = h.proc_cap_eff(cls.cd.pid)
        cls.cd.wait_started()
        cls.t_init = time.time()

    @classmethod
    def _remove_workloads(cls):
        for p in cls.procs:
            h.kill_proc(p)
        if cls.cgroup_root:
            errors = h.remove_cgroup_tree(cls.cgroup_root)
            if errors:
                print("cgroup cleanup problems: %s" % errors, flush=True)

    def test_a_runs_as_nobody_with_only_its_capabilities(self):
        want = 0
        for c in self.caps:
            want |= 1 << {"bpf": h.CAP_BPF, "perfmon": h.CAP_PERFMON,
                          "dac_read_search": CAP_DAC_READ_SEARCH}[c]
        print("a: collectd pid %d uid %s CapEff %016x" % (self.cd.pid, self.uid, self.capeff),
              flush=True)
        nobody = pwd.getpwnam("nobody").pw_uid
        self.assertEqual(self.uid, [str(nobody)] * 4, "real, effective, saved, fs uid")
        self.assertEqual(self.capeff, want)


class Capable(Unprivileged):
    """Series flow, and a container's processes are found as its."""

    def test_b_series_flow(self):
        rows = self.cd.wait_rows("kepler_node", "power-total", 3, after=self.t_init)
        self.assertTrue(all(v > 0 for _, v in rows), rows)
        print("b: %d node rows, %.2f W last" % (len(rows), rows[-1][1]), flush=True)

    def test_c_container_identity(self):
        cls = type(self)
        mount = h.cgroup2_mount()
        cls.cgroup_root = h.make_cgroup(os.path.join(mount, "kepler_e2e_%s" % os.urandom(4).hex()))
        container_id = os.urandom(32).hex()
        scope = h.make_cgroup(os.path.join(cls.cgroup_root, "docker-%s.scope" % container_id))
        cls.procs.append(h.spawn_in_cgroup([h.named_burner(self.cd.tmp, "kburn_priv")],
                                           cgroup=scope))
        rows = self.cd.wait_rows("kepler_container-" + container_id, "power-total", 2)
        self.assertTrue(all(v > 0 for _, v in rows), rows)
        lines = [m for _, m in self.cd.log_entries() if NO_CGROUP_IDS in m]
        print("c: container %s...: %d rows; %r" % (container_id[:12], len(rows), lines), flush=True)
        self.assertEqual(len(lines), self.no_cgroup_id_lines, self.cd.log_text())
        errors = [m for sev, m in self.cd.log_entries() if sev == "error" and "kepler" in m]
        self.assertEqual(errors, [])
        self.cd.assert_alive()


class BpfAndPerfmon(Capable, unittest.TestCase):
    name = "priv_bpf"
    caps = ("bpf", "perfmon")
    no_cgroup_id_lines = 1  # containers through /proc/PID/cgroup, said once


class WithDacReadSearch(Capable, unittest.TestCase):
    name = "priv_dac"
    caps = ("bpf", "perfmon", "dac_read_search")
    no_cgroup_id_lines = 0


class NoCapability(Unprivileged, unittest.TestCase):
    name = "priv_none"
    caps = ()

    def test_b_one_error_and_collectd_runs_on(self):
        rows = self.cd.wait_rows("load", "load", 3, after=self.t_init)
        errors = [m for sev, m in self.cd.log_entries()
                  if sev == "error" and m.startswith("kepler:")]
        print("b: %d load rows after init; kepler errors %r" % (len(rows), errors), flush=True)
        self.assertEqual(len(errors), 1, self.cd.log_text())
        self.assertIn("CAP_BPF", errors[0])
        self.assertEqual([d for d in self.cd.series_dirs() if d.startswith("kepler")], [])
        self.cd.assert_alive()


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    raise AssertionError("no %s in /proc/%d/status" % (name, pid))


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
