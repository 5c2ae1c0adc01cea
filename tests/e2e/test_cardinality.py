#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of bounded cardinality with the real daemon: 5000
concurrent processes, TopProcesses 20. Per interval at most 25
process series are dispatched (20 and `other`), and they still sum to the
node, with the processes beyond the top in `other`.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin not built).
"""

import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

PROCESSES = 5000
PERIOD_MS = 4000  # each wakes every 4 s: about 1250 run in each interval
LIMIT = 25


class Cardinality(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        load = h.load_binary()
        cls.cd = h.start_daemon(cls, kepler_config="  TopProcesses 20", name="cardinality")
        cls.cd.wait_started()
        cls.load = subprocess.Popen([load, "sleepers", str(PROCESSES), str(PERIOD_MS)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        h.register_cleanup(lambda: h.kill_proc(cls.load))
        line = cls.load.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError("kepler-bench-load: %r" % line)
        cls.t_ready = time.time()

    def test_at_most_25_process_series(self):
        cd = self.cd
        # Every sleeper has run at least once after a full period.
        start = self.t_ready + PERIOD_MS / 1000.0
        cd.wait_rows("kepler_node", "gauge-processes", 4, after=start, timeout=120)
        tracked = max(v for T, v in cd.series("kepler_node", "gauge-processes") if T > start)
        self.assertGreaterEqual(tracked, PROCESSES)
        node = cd.series_text("kepler_node", "power-total")
        node.pop(max(node, key=float))  # the newest may be half written
        per_epoch, sums = {}, {}
        for d in cd.series_dirs():
            if d.startswith("kepler_process-"):
                for e, (v, _) in cd.series_text(d, "power-total").items():
                    per_epoch[e] = per_epoch.get(e, 0) + 1
                    sums[e] = sums.get(e, 0.0) + v
        checked = [e for e in node if float(e) > start and e in per_epoch]
        self.assertGreaterEqual(len(checked), 3, "intervals with process series after %.3f" % start)
        worst = max(per_epoch[e] for e in checked)
        self.assertLessEqual(worst, LIMIT)
        for e in checked:
            total = node[e][0]
            self.assertLessEqual(abs(sums[e] - total), 1e-3 * total + 1e-6,
                                 "at %s: processes %.6f vs node %.6f" % (e, sums[e], total))
        self.assertIn("kepler_process-other", cd.series_dirs())
        print("a: %d processes tracked; at most %d process series per interval over %d intervals "
              "(limit %d); process sum = node within 0.1 %%" % (tracked, worst, len(checked), LIMIT),
              flush=True)
        cd.assert_alive()


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
