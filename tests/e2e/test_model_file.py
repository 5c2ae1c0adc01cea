#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of ModelFile with the real daemon: a good file is used
for node power; a bad one is reported once as FILE:LINE and the embedded
model keeps the plugin running.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin not built).
"""

import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

GOOD = """name: e2e-flat
output_type: AbsPower
components:
  platform:
    bias: 40
    weights:
      bpf_cpu_time_ms: { weight: 30, scale: 1000 }
"""
BAD = """name: e2e-bad
output_type: AbsPower
components:
  package:
    bias: forty
"""


class ModelFile:
    text = None
    cd = None

    @classmethod
    def setUpClass(cls):
        fd, cls.path = tempfile.mkstemp(prefix="kepler_e2e_model_", suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write(cls.text)
        h.register_cleanup(lambda: os.unlink(cls.path))
        cls.cd = h.start_daemon(cls, kepler_config='  ModelFile "%s"' % cls.path, name="model")
        cls.cd.wait_started()
        cls.rows = cls.cd.wait_rows("kepler_node", "power-total", 3)

    def announcement(self):
        lines = [m for sev, m in self.cd.log_entries() if "node power source" in m]
        self.assertEqual(len(lines), 1, self.cd.log_text())
        return lines[0]


class GoodModelFile(ModelFile, unittest.TestCase):
    text = GOOD

    def test_a_file_model_is_used(self):
        """Node power follows the file: platform = 40 W + 30 W per busy CPU."""
        # usage-* is dispatched after power-total: wait until it covers them.
        usage = dict(self.cd.wait_rows("kepler_node", "usage-bpf_cpu_time_ms", len(self.rows)))
        checked = 0
        for T, total in self.rows:
            want = 40 + 30 * usage[T] / 1000
            self.assertAlmostEqual(total, want, places=4, msg="at %.3f" % T)
            checked += 1
        idle = self.cd.series("kepler_node", "power-platform_idle")
        self.assertTrue(idle and all(abs(v - 40) < 1e-6 for _, v in idle), idle)
        print("a: %d samples follow e2e-flat (last %.3f W); %s"
              % (checked, self.rows[-1][1], self.announcement()), flush=True)
        self.assertIn('"e2e-flat" (%s' % self.path, self.announcement())


class BadModelFile(ModelFile, unittest.TestCase):
    text = BAD

    def test_b_bad_file_reported_and_embedded_model_used(self):
        errors = [m for sev, m in self.cd.log_entries() if sev == "error" and m.startswith("kepler:")]
        print("b: %r; %s" % (errors, self.announcement()), flush=True)
        self.assertEqual(len(errors), 1, self.cd.log_text())
        self.assertIn("%s:5:" % self.path, errors[0])  # the line of "forty"
        self.assertIn("bias", errors[0])
        self.assertIn("(embedded;", self.announcement())
        self.assertGreater(self.rows[-1][1], 0)
        self.cd.assert_alive()


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
