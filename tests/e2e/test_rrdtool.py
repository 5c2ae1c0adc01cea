#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test: Debian's stock writer, rrdtool, with the plugin's
defaults and collectd's default Interval on a host that starts about 500
short-lived processes a second (issue 16). rrdtool creates a file per series and never deletes one: the
files must stop growing once every command the host runs has its series
(no per-pid series by default), and stay under 20 MB in all.
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

RATE = 500  # short-lived processes per second
SECONDS = 60
LIMIT_BYTES = 20 * 1000 * 1000
MAX_FILES = 130  # 20 MB of collectd's default 148 kB files
STOCK_INTERVAL = 10  # collectd's default, which Debian's collectd.conf keeps


class RrdtoolDefaults(unittest.TestCase):
    def rrd_files(self):
        files = []
        for d, _, names in os.walk(self.rrd):
            files += [os.path.join(d, n) for n in names if n.endswith(".rrd")]
        return files

    def test_files_bounded(self):
        load = h.load_binary()
        if not os.path.exists(os.path.join(os.path.dirname(h.plugin_path()), "rrdtool.so")) \
                and not os.path.exists("/usr/lib/collectd/rrdtool.so"):
            self.skipTest("collectd's rrdtool plugin is not installed")
        cd = h.Collectd(name="rrdtool", extra_plugins=["rrdtool"])
        # Debian's stock collectd.conf leaves collectd's default Interval,
        # 10 s (the harness's 1 s would let ten times as many transient
        # commands pass through the top 5: beside the load generator 102
        # files, 21.3 MB).
        harness_config = cd.config_text
        line = "Interval %g\n" % h.INTERVAL

        def stock_interval():
            text = harness_config()
            self.assertIn(line, text)
            return text.replace(line, "Interval %g\n" % STOCK_INTERVAL, 1)

        cd.config_text = stock_interval
        self.rrd = os.path.join(cd.tmp, "rrd")
        # Debian's stock rrdtool block: a DataDir, every other setting its
        # default (the file sizes too).
        cd.extra_config = 'LoadPlugin rrdtool\n<Plugin rrdtool>\n  DataDir "%s"\n</Plugin>' % self.rrd
        self.addCleanup(lambda: cd.cleanup(dump=h.STATE["failed"]))
        cd.start()
        cd.wait_started()
        churn = h.spawn_in_cgroup([load, "churn", str(RATE), str(SECONDS)],
                                  stdout=subprocess.PIPE, text=True)
        # Files per 10 s: they must stop growing while the churn goes on.
        counts = []
        t0 = time.monotonic()
        while churn.poll() is None:
            time.sleep(1)
            if time.monotonic() - t0 >= 10 * (len(counts) + 1):
                counts.append(len(self.rrd_files()))
        out, _ = churn.communicate()
        cd.stop()
        files = self.rrd_files()
        size = sum(os.path.getsize(f) for f in files)
        kepler = [f for f in files if os.path.relpath(f, self.rrd).split(os.sep)[1].startswith("kepler")]
        dirs = sorted({os.path.relpath(os.path.dirname(f), self.rrd).split(os.sep)[1] for f in kepler})
        print("rrdtool: %s; files every 10 s %s; at the end %d files (%d of the plugin, in %d "
              "series directories), %.1f MB: %s" % (out.strip(), counts, len(files), len(kepler),
                                                    len(dirs), size / 1e6, " ".join(dirs)),
              flush=True)
        self.assertFalse([d for d in dirs if d.startswith("kepler_process-")],
                         "per-pid series by default: %s" % dirs)
        self.assertIn("kepler_command-true", dirs)
        self.assertIn("kepler_command-other", dirs)
        self.assertLessEqual(size, LIMIT_BYTES)
        # Bounded by what is reported per interval (the top 5 commands and
        # `other`, the node, each level's members and buckets), not by the
        # processes: per-pid series would be 4 files for each of 30000.
        self.assertLessEqual(len(kepler), MAX_FILES, dirs)


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
