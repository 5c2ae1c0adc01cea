#!/usr/bin/env python3
"""End-to-end test: the kepler plugin without the right to use BPF.

collectd runs under `capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin --`, which
removes those capabilities from the bounding set, so the exec'd daemon lacks
them even as root. The plugin's init must fail with one error line naming the
missing capability, and collectd must keep running its other plugins.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin not built).
"""

import os
import shutil
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

DROP = "cap_bpf,cap_perfmon,cap_sys_admin"


class NoBpfTest(unittest.TestCase):
    cd = None

    @classmethod
    def _cleanup(cls):
        if cls.cd is not None:
            cls.cd.cleanup(dump=h.STATE["failed"])

    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(cls._cleanup)
        capsh = shutil.which("capsh")
        if not capsh:
            raise AssertionError("capsh not found (Debian package libcap2-bin)")
        # bash -c 'exec "$0" "$@"' COLLECTD -f -C conf: the Popen pid becomes collectd.
        prefix = [capsh, "--drop=" + DROP, "--", "-c", 'exec "$0" "$@"']
        cls.cd = h.Collectd(kepler_config='  IdlePower "split"', prefix=prefix, name="nobpf")
        cls.cd.start()
        daemon = os.path.realpath(h.collectd_path())

        def execd():
            cls.cd.assert_alive()
            exe = h.proc_exe(cls.cd.pid)
            return exe is not None and os.path.realpath(exe) == daemon

        h.wait_for("capsh to exec %s (pid %d)" % (daemon, cls.cd.pid), execd, interval=0.01,
                   seen=lambda: h.proc_exe(cls.cd.pid))
        cls.capeff = h.proc_cap_eff(cls.cd.pid)
        if cls.capeff & (1 << h.CAP_BPF):
            raise AssertionError("capsh did not drop CAP_BPF: collectd (pid %d) CapEff %016x"
                                 % (cls.cd.pid, cls.capeff))
        cls.cd.wait_started()
        cls.t_init = time.time()  # every plugin's init has run
        # Keep the daemon running for 3 more intervals before looking at the log.
        cls.load_rows = cls.cd.wait_rows("load", "load", 3, after=cls.t_init)

    def test_a_capabilities_dropped(self):
        """The daemon runs without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN."""
        print("a: collectd pid %d CapEff %016x" % (self.cd.pid, self.capeff), flush=True)
        for name, bit in (("CAP_BPF", h.CAP_BPF), ("CAP_PERFMON", h.CAP_PERFMON),
                          ("CAP_SYS_ADMIN", h.CAP_SYS_ADMIN)):
            self.assertFalse(self.capeff & (1 << bit), "%s (bit %d) still effective" % (name, bit))

    def test_b_other_plugins_keep_running(self):
        """load keeps writing rows after kepler's init failed; collectd lives."""
        rows = self.cd.wait_rows("load", "load", 3, after=self.t_init)
        epochs = [T for T, _ in rows]
        print("b: %d load rows after init (%.3f .. %.3f)" % (len(rows), epochs[0], epochs[-1]), flush=True)
        self.assertGreaterEqual(len(rows), 3)
        self.assertTrue(all(b > a for a, b in zip(epochs, epochs[1:])), "load epochs not increasing: %s" % epochs)
        self.cd.assert_alive()

    def test_c_one_error_line_naming_cap_bpf(self):
        """Exactly one error line from kepler, naming CAP_BPF; collectd
        reports the failed init."""
        entries = self.cd.log_entries()
        kepler_errors = [m for sev, m in entries if sev == "error" and m.startswith("kepler:")]
        print("c: kepler error lines: %r" % kepler_errors, flush=True)
        self.assertEqual(len(kepler_errors), 1, "expected exactly one '[error] kepler:' line; log:\n%s"
                         % self.cd.log_text())
        self.assertIn("CAP_BPF", kepler_errors[0])
        failed = [m for sev, m in entries if sev == "error" and "Initialization of plugin `kepler' failed" in m]
        self.assertEqual(len(failed), 1, "collectd did not report kepler's failed init; log:\n%s"
                         % self.cd.log_text())

    def test_d_no_kepler_series(self):
        """Nothing was dispatched under kepler_* names."""
        dirs = self.cd.series_dirs()
        print("d: series dirs %s" % dirs, flush=True)
        self.assertIn("load", dirs)
        self.assertEqual([d for d in dirs if d.startswith("kepler")], [])

    def test_z_clean_shutdown(self):
        """SIGTERM stops collectd normally after the failed init. collectd 5.12
        exits 1 once any init failed ("one or more plugin init callbacks
        failed"), else 0; a signal or a hang means the plugin broke shutdown."""
        self.cd.assert_alive()
        t0 = time.monotonic()
        self.cd.stop()
        log = self.cd.log_text()
        expected = 1 if "one or more plugin init callbacks failed" in log else 0
        print("z: collectd stopped in %.2f s with status %s (expected %d)"
              % (time.monotonic() - t0, self.cd.proc.returncode, expected), flush=True)
        self.assertEqual(self.cd.proc.returncode, expected, "collectd exit status; log:\n%s" % self.cd.log_tail())
        self.assertIn("Exiting normally", log)


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
