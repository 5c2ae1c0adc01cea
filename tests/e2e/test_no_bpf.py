#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test: the kepler plugin where BPF cannot be used, made real.

- NoCapabilities: collectd runs under `capsh --drop=cap_bpf,cap_perfmon,
  cap_sys_admin --`, which removes those capabilities from the bounding set,
  so the exec'd daemon lacks them even as root.
- NoBtf: collectd runs in a private mount namespace where /sys/kernel/btf is
  an empty tmpfs, as on a kernel built without CONFIG_DEBUG_INFO_BTF.
Either way the plugin's init must fail with one error line naming what is
missing, and collectd must keep running its other plugins.
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


class DisabledPlugin:
    """The checks both cases share; a subclass says how BPF is taken away."""
    cd = None
    name = None
    missing = None  # what the error line must name

    @classmethod
    def prefix(cls):
        raise NotImplementedError

    @classmethod
    def check_environment(cls):
        """Fail unless the daemon really runs without what is taken away."""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.cd = h.start_daemon(cls, kepler_config='  IdlePower "split"', prefix=cls.prefix(),
                                name=cls.name)
        # The wrapper execs the daemon: the Popen pid becomes collectd.
        h.wait_exec(cls.cd, "the wrapper")
        cls.check_environment()
        cls.cd.wait_started()
        cls.t_init = time.time()  # every plugin's init has run
        # Keep the daemon running for 3 more intervals before looking at the log.
        cls.load_rows = cls.cd.wait_rows("load", "load", 3, after=cls.t_init)

    def test_b_other_plugins_keep_running(self):
        """load keeps writing rows after kepler's init failed; collectd lives."""
        rows = self.cd.wait_rows("load", "load", 3, after=self.t_init)
        epochs = [T for T, _ in rows]
        print("b: %d load rows after init (%.3f .. %.3f)" % (len(rows), epochs[0], epochs[-1]), flush=True)
        self.assertGreaterEqual(len(rows), 3)
        self.assertTrue(all(b > a for a, b in zip(epochs, epochs[1:])), "load epochs not increasing: %s" % epochs)
        self.cd.assert_alive()

    def test_c_one_error_line_naming_what_is_missing(self):
        """Exactly one error line from kepler, naming what is missing;
        collectd reports the failed init."""
        entries = self.cd.log_entries()
        kepler_errors = [m for sev, m in entries if sev == "error" and m.startswith("kepler:")]
        print("c: kepler error lines: %r" % kepler_errors, flush=True)
        self.assertEqual(len(kepler_errors), 1, "expected exactly one '[error] kepler:' line; log:\n%s"
                         % self.cd.log_text())
        self.assertIn(self.missing, kepler_errors[0])
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


class NoCapabilities(DisabledPlugin, unittest.TestCase):
    name = "nocaps"
    missing = "CAP_BPF"

    @classmethod
    def prefix(cls):
        capsh = shutil.which("capsh")
        if not capsh:
            raise AssertionError("capsh not found (Debian package libcap2-bin)")
        return [capsh, "--drop=" + DROP, "--", "-c", 'exec "$0" "$@"']

    @classmethod
    def check_environment(cls):
        cls.capeff = h.proc_cap_eff(cls.cd.pid)
        print("a: collectd pid %d CapEff %016x" % (cls.cd.pid, cls.capeff), flush=True)
        for name, bit in (("CAP_BPF", h.CAP_BPF), ("CAP_PERFMON", h.CAP_PERFMON),
                          ("CAP_SYS_ADMIN", h.CAP_SYS_ADMIN)):
            if cls.capeff & (1 << bit):
                raise AssertionError("capsh did not drop %s: collectd (pid %d) CapEff %016x"
                                     % (name, cls.cd.pid, cls.capeff))


class NoBtf(DisabledPlugin, unittest.TestCase):
    name = "nobtf"
    missing = "/sys/kernel/btf/vmlinux"

    @classmethod
    def prefix(cls):
        unshare = shutil.which("unshare")
        if not unshare:
            raise AssertionError("unshare not found (Debian package util-linux)")
        # Make /sys private in the new namespace before covering the BTF
        # directory, so nothing propagates back to the host; "/" itself need
        # not be a mount point (it is not in a chroot).
        hide = ("mount --make-rprivate /sys && "
                'mount -t tmpfs kepler_e2e_no_btf /sys/kernel/btf && exec "$0" "$@"')
        return [unshare, "--mount", "--propagation", "unchanged", "sh", "-c", hide]

    @classmethod
    def check_environment(cls):
        root = "/proc/%d/root/sys/kernel/btf/vmlinux" % cls.cd.pid
        print("a: collectd pid %d sees %s: %s" % (cls.cd.pid, "/sys/kernel/btf/vmlinux",
                                                  os.path.exists(root)), flush=True)
        if os.path.exists(root):
            raise AssertionError("the daemon still sees /sys/kernel/btf/vmlinux")
        if not os.path.exists("/sys/kernel/btf/vmlinux"):
            raise AssertionError("the test's own namespace lost /sys/kernel/btf/vmlinux")


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
