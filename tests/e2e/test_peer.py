#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test: a second collectd with the plugin on one host is named
in one WARNING at its start (issue 14, "say it once"). Both daemons keep
running: two collectd with different Hostnames on one host are legitimate.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin not built).
"""

import os
import re
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

WARNING = "another collectd-kepler instance runs on this host"


class PeerTest(unittest.TestCase):
    def test_second_instance_named(self):
        first = h.start_daemon(type(self), kepler_config="", name="peer_first")
        first.wait_started()
        second = h.start_daemon(type(self), kepler_config="", name="peer_second")
        second.wait_started()
        lines = [l for l in second.log_text().splitlines() if WARNING in l]
        self.assertEqual(len(lines), 1, second.log_text())
        self.assertIn("warning", lines[0].lower())
        # Other tests may run a daemon beside this one: the first copy found
        # is then the oldest, and the line says there are more.
        m = re.search(r"\(pid (\d+), ([^),]*)(, and more)?\)", lines[0])
        self.assertIsNotNone(m, lines[0])
        self.assertTrue(int(m.group(1)) == first.pid or m.group(3), lines[0])
        if int(m.group(1)) == first.pid:
            self.assertEqual(m.group(2), "collectd")
        # The second keeps collecting: its node series flow.
        second.wait_rows("kepler_node", "power-total", 2)
        first.assert_alive()
        print("second instance: %r" % lines[0][:200], flush=True)


if __name__ == "__main__":
    h.run_tests()
