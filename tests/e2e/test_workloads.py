#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of the workload levels with the real daemon, real cgroups
and CPU burners inside them. The test creates, under a cgroup v2 directory
of its own, one cgroup of each shape a host has:
  - a containerd container in a burstable pod (kubelet, systemd driver),
  - a container in a guaranteed pod (kubelet, cgroupfs driver),
  - a systemd service (system.slice/<unit>.service),
  - a libvirt VM (machine.slice/machine-qemu\\x2d<n>\\x2d<name>.scope),
  - an LXC container (lxc.payload.<name>),
and checks that
  a. each is reported at its level (kepler_pod, kepler_container,
     kepler_service, kepler_vm) under the instance the naming rules give;
  b. at every level and every timestamp the members (and `other`) sum to
     the node within 0.1 %, and a pod is the sum of its containers;
  c. `Report "container" "top" 1` leaves one container plus `other`, and
     the level still sums to the node.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin not built).
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LEVELS = ("container", "pod", "service", "vm", "command")
POD_UID = "1f2e3d4c-5b6a-7980-1a2b-%012x" % int.from_bytes(os.urandom(6), "big")
POD2_UID = "9a8b7c6d-5e4f-3a2b-1c0d-%012x" % int.from_bytes(os.urandom(6), "big")
CT1 = os.urandom(32).hex()
CT2 = os.urandom(32).hex()
SERVICE = "kepler-e2e-burn.service"
VM = "e2e-vm"
LXC = "e2e-ct"


def fnv1a64(s):
    h = 14695981039346656037
    for b in s.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def clean(s):
    return s != "" and all(c.isascii() and (c.isalnum() or c == "_") for c in s)


def instance(name, level="container"):
    """The naming rule of metric_workload_instance, written out again."""
    short = name
    if level == "service":
        short = name[:-len(".service")] if name.endswith(".service") and len(name) > 8 else None
    elif level == "pod":
        uid = re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", name)
        short = name.replace("-", "") if uid else None
    if (short is not None and clean(short) and len(short) < 128
            and not re.search(r"_[0-9a-f]{16}$", short)
            and short not in ("system", "kernel", "other")):
        return short
    readable = short if short else name
    sanitized = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_"
                        for c in readable.encode("utf-8").decode("latin-1")) or "_"
    return sanitized[:128 - 18] + "_%016x" % fnv1a64(name)


class Workloads:
    config = ""
    # The names of the service, VM and LXC container the class runs.
    service, vm, lxc = SERVICE, VM, LXC

    @classmethod
    def prepare(cls):
        """Set up what the daemon's configuration points at."""

    @classmethod
    def setUpClass(cls):
        cls.prepare()
        cls.cd = h.start_daemon(cls, kepler_config=cls.config, name="workloads")
        cls.cd.wait_started()
        mount = h.cgroup2_mount()
        root = os.path.join(mount, "kepler_e2e_%s" % os.urandom(4).hex())
        h.make_cgroup(root)
        # make_cgroup registers the removal of each; children are removed
        # first because cleanups run in reverse.
        def tree(*parts):
            return h.cgroup_tree(root, *parts)

        pod_sd = POD_UID.replace("-", "_")
        cls.cgroups = {
            "pod_systemd": tree("kubepods.slice", "kubepods-burstable.slice",
                                "kubepods-burstable-pod%s.slice" % pod_sd,
                                "cri-containerd-%s.scope" % CT1),
            "pod_cgroupfs": tree("kubepods", "pod%s" % POD2_UID, CT2),
            "service": tree("system.slice", cls.service),
            "vm": tree("machine.slice",
                       "machine-qemu\\x2d7\\x2d%s.scope" % cls.vm.replace("-", "\\x2d"),
                       "libvirt", "vcpu0"),
            "lxc": tree("lxc.payload.%s" % cls.lxc),
        }
        cls.procs = {}
        for shape, cg in cls.cgroups.items():
            cls.procs[shape] = h.spawn_in_cgroup([h.named_burner(cls.cd.tmp, "kb_" + shape[:10])],
                                                 cgroup=cg)
        cls.t0 = time.time()

    def rows_after(self, plugin_dir, series="power-total"):
        return [(T, v) for T, v in self.cd.series(plugin_dir, series) if T > self.t0 + 1]

    def level_sums(self, level):
        """{epoch: sum of the level's members and other} and the node."""
        sums = {}
        for d in self.cd.series_dirs():
            if d.startswith("kepler_%s-" % level):
                for e, (v, _) in self.cd.series_text(d, "power-total").items():
                    sums[e] = sums.get(e, 0.0) + v
        return sums

    def assert_levels_sum_to_node(self):
        node = self.cd.series_text("kepler_node", "power-total")
        node.pop(max(node, key=float), None)  # the newest may be half written
        worst = {}
        for level in LEVELS:
            sums = self.level_sums(level)
            checked = 0
            for e, (total, _) in node.items():
                if float(e) <= self.t0 + 1 or e not in sums:
                    continue
                err = abs(sums[e] - total) / total
                self.assertLessEqual(err, 1e-3, "%s at %s: %.6f vs node %.6f" % (level, e, sums[e], total))
                worst[level] = max(worst.get(level, 0.0), err)
                checked += 1
            self.assertGreater(checked, 0, "no %s interval to check" % level)
        return worst


class Shapes(Workloads, unittest.TestCase):
    config = "  TopProcesses 0"

    def test_a_each_shape_at_its_level(self):
        want = {
            "kepler_container-%s" % CT1: "pod_systemd",
            "kepler_container-%s" % CT2: "pod_cgroupfs",
            "kepler_container-%s" % instance(LXC): "lxc",
            "kepler_pod-%s" % POD_UID.replace("-", ""): "pod_systemd",
            "kepler_pod-%s" % POD2_UID.replace("-", ""): "pod_cgroupfs",
            "kepler_service-%s" % instance(SERVICE, "service"): "service",
            "kepler_vm-%s" % instance(VM): "vm",
        }
        for d in want:
            self.cd.wait_rows(d, "power-total", 3, after=self.t0 + 1)
        found = []
        for d, shape in want.items():
            rows = self.rows_after(d)
            self.assertTrue(rows and max(v for _, v in rows) > 0.05, "%s: %s" % (d, rows))
            found.append("%s %.2f W" % (d, rows[-1][1]))
        print("a: %s" % "; ".join(found), flush=True)

    def test_b_levels_sum_to_node_and_pod_to_containers(self):
        self.cd.wait_rows("kepler_pod-%s" % POD_UID.replace("-", ""), "power-total", 4,
                          after=self.t0 + 1)
        worst = self.assert_levels_sum_to_node()
        pod = dict(self.cd.series_text("kepler_pod-%s" % POD_UID.replace("-", ""), "power-total"))
        ct = dict(self.cd.series_text("kepler_container-%s" % CT1, "power-total"))
        joined = [e for e in pod if e in ct]
        self.assertTrue(joined)
        for e in joined:  # one container in that pod
            self.assertAlmostEqual(pod[e][0], ct[e][0], delta=1e-5 + 1e-6 * pod[e][0])
        print("b: members vs node, worst per level: %s; pod = its container at %d timestamps"
              % (", ".join("%s %.5f %%" % (l, 100 * w) for l, w in worst.items()), len(joined)),
              flush=True)


class TopContainer(Workloads, unittest.TestCase):
    config = '  TopProcesses 0\n  Report "container" "top" 1'

    def test_c_top_one_container(self):
        self.cd.wait_rows("kepler_container-other", "power-total", 4, after=self.t0 + 1)
        # Per timestamp: one container series plus other.
        per_epoch = {}
        for d in self.cd.series_dirs():
            if d.startswith("kepler_container-") and d != "kepler_container-other":
                for e in self.cd.series_text(d, "power-total"):
                    per_epoch[e] = per_epoch.get(e, 0) + 1
        self.assertTrue(per_epoch)
        self.assertLessEqual(max(per_epoch.values()), 1, per_epoch)
        worst = self.assert_levels_sum_to_node()
        print("c: at most %d container series per interval + other; container level vs node %.5f %%"
              % (max(per_epoch.values()), 100 * worst["container"]), flush=True)


class NamedContainers(Workloads, unittest.TestCase):
    """Container names from the runtime's record files (RuntimeRoot laid out
    like a host's), as the instance with ContainerInstance "name"."""

    @classmethod
    def prepare(cls):
        root = tempfile.mkdtemp(prefix="kepler_e2e_runtime_")
        h.register_cleanup(lambda: shutil.rmtree(root, ignore_errors=True))
        bundle = os.path.join(root, "run/containerd/io.containerd.runtime.v2.task/k8s.io", CT1)
        os.makedirs(bundle)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump({"ociVersion": "1.1.0", "annotations": {
                "io.kubernetes.cri.container-name": "app",
                "io.kubernetes.cri.sandbox-name": "web-7d9",
                "io.kubernetes.cri.sandbox-namespace": "shop"}}, f)
        cls.config = '  TopProcesses 0\n  RuntimeRoot "%s"\n  ContainerInstance "name"' % root

    def test_d_container_named_from_its_bundle(self):
        named = "kepler_container-%s" % instance("shop/web-7d9/app")
        rows = self.cd.wait_rows(named, "power-total", 3, after=self.t0 + 1)
        self.assertGreater(max(v for _, v in rows), 0.05, rows)
        # A container with no record keeps its id.
        self.cd.wait_rows("kepler_container-%s" % CT2, "power-total", 1, after=self.t0 + 1)
        self.assertNotIn("kepler_container-%s" % CT1, self.cd.series_dirs())
        print("d: containerd bundle annotations name %s; %s" % (named, "the other keeps its id"),
              flush=True)


class BucketNames(Workloads, unittest.TestCase):
    """Workloads named like the buckets (issue 16, D4): a service
    system.service, a VM named system, an LXC container named kernel. Each
    is its own series beside the bucket of the same name, holds its burner's
    power, and every level still sums to the node."""
    config = "  TopProcesses 0"
    service, vm, lxc = "system.service", "system", "kernel"

    def test_e_named_like_buckets_stay_apart(self):
        mine = {
            "kepler_service-%s" % instance(self.service, "service"): "service",
            "kepler_vm-%s" % instance(self.vm, "vm"): "vm",
            "kepler_container-%s" % instance(self.lxc): "lxc",
        }
        buckets = ("kepler_service-system", "kepler_vm-system", "kepler_container-kernel")
        for d in list(mine) + list(buckets):
            self.cd.wait_rows(d, "power-total", 3, after=self.t0 + 1)
        self.assertFalse(set(mine) & set(buckets), mine)
        seen = []
        for d, shape in mine.items():
            # The workload's power is its one burner's, at each timestamp.
            pid = self.procs[shape].pid
            proc = dict(self.cd.series_text("kepler_process-%s_%d" % (
                h.sanitize_comm("kb_" + shape[:10]), pid), "power-total"))
            rows = dict(self.cd.series_text(d, "power-total"))
            joined = [e for e in rows if e in proc and float(e) > self.t0 + 1]
            self.assertTrue(joined, "%s: %s; process %s" % (d, rows, proc))
            for e in joined:
                self.assertAlmostEqual(rows[e][0], proc[e][0], delta=1e-5 + 1e-6 * proc[e][0],
                                       msg="%s at %s" % (d, e))
            seen.append("%s = its burner at %d timestamps" % (d, len(joined)))
        worst = self.assert_levels_sum_to_node()
        # Two values with one identifier and time: collectd keeps the first
        # and logs the second as too old.
        self.cd.stop()
        self.assertNotIn("value too old", self.cd.log_text().lower())
        print("e: %s; levels vs node worst %s; no value dropped" % (
            "; ".join(seen), ", ".join("%s %.5f %%" % (l, 100 * w) for l, w in worst.items())),
            flush=True)


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
