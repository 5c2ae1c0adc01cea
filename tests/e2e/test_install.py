#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Packaging test: what make install installs, and builds a packager makes.

- InstallUninstall: make install into a DESTDIR puts the plugin in
  collectd's plugin directory without its libtool archive (.la), the
  estimator's unit where configure said, with a Documentation= and paths
  that exist in the install; make uninstall then leaves no file behind.
- BuildWithoutTests: ./configure --disable-tests and make, in a private
  mount namespace where python3 and check cannot be found (their
  executables, check.pc and check.h hidden under empty files), build the
  plugin and kepler-model; the unit directory is systemd.pc's.
Environment (set by make check): KEPLER_BUILDDIR (a configured build
directory), KEPLER_SRCDIR. Exit status: 0 pass, 1 fail, 77 skip.
"""

import glob
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import package_build as pk  # noqa: E402

BUILDDIR = os.environ.get("KEPLER_BUILDDIR", "")
SRCDIR = os.environ.get("KEPLER_SRCDIR", "")


class InstallUninstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vars = {v: pk.make_var(BUILDDIR, v) for v in (
            "collectd_plugindir", "systemdsystemunitdir", "bindir", "pkgdatadir", "mandir",
            "datadir")}
        cls.dest = tempfile.mkdtemp(prefix="kepler-install-")
        h.register_cleanup(lambda: shutil.rmtree(cls.dest, ignore_errors=True))
        pk.run(["make", "-C", BUILDDIR, "install", "DESTDIR=" + cls.dest], timeout=600,
               what="make install DESTDIR=" + cls.dest)
        cls.installed = pk.files_under(cls.dest)
        print("installed %d files:\n  %s" % (len(cls.installed), "\n  ".join(sorted(cls.installed))),
              flush=True)

    def path(self, var, *rest):
        return os.path.join(self.vars[var].lstrip("/"), *rest)

    def test_a_plugin_without_libtool_archive(self):
        self.assertIn(self.path("collectd_plugindir", "kepler.so"), self.installed)
        archives = sorted(f for f in self.installed if f.endswith(".la"))
        self.assertEqual(archives, [], "libtool archives installed")

    def test_b_files_beside_collectd_and_man_pages(self):
        for f in (self.path("bindir", "kepler-model"), self.path("bindir", "kepler-estimator"),
                  self.path("datadir", "collectd", "kepler-types.db"),
                  self.path("pkgdatadir", "models", "default.yaml"),
                  self.path("mandir", "man5", "collectd-kepler.5"),
                  self.path("mandir", "man1", "kepler-model.1"),
                  self.path("mandir", "man1", "kepler-estimator.1")):
            self.assertIn(f, self.installed)

    def test_b_dashboards(self):
        """Grafana's three, collection3's block and module, the rrdtool
        script executable, and the README that says how to use them."""
        self.assertIn(self.path("pkgdatadir", "dashboards", "README.md"), self.installed)
        for db in ("prometheus", "influxdb", "graphite"):
            self.assertIn(self.path("pkgdatadir", "dashboards", "grafana", "kepler-%s.json" % db),
                          self.installed)
        for f in ("kepler.conf", "KeplerPower.pm"):
            self.assertIn(self.path("pkgdatadir", "dashboards", "collection3", f), self.installed)
        script = self.path("pkgdatadir", "dashboards", "rrdtool", "kepler-graph.sh")
        self.assertIn(script, self.installed)
        self.assertTrue(os.access(os.path.join(self.dest, script), os.X_OK), script)

    def test_c_unit_names_what_is_installed(self):
        """The unit's Documentation= is a man page that is installed, and the
        program and model of its ExecStart= are installed where it says."""
        unit = self.path("systemdsystemunitdir", "kepler-estimator.service")
        self.assertIn(unit, self.installed)
        with open(os.path.join(self.dest, unit)) as f:
            text = f.read()
        doc = re.search(r"^Documentation=man:([a-z-]+)\((\d)\)$", text, re.M)
        self.assertIsNotNone(doc, "no Documentation=man:PAGE(N) in the unit")
        self.assertIn(self.path("mandir", "man" + doc.group(2), "%s.%s" % doc.groups()),
                      self.installed)
        execstart = re.search(r"^ExecStart=(\S+) .*--model (\S+)", text, re.M)
        self.assertIsNotNone(execstart, "no ExecStart= with --model in the unit")
        for p in execstart.groups():
            self.assertIn(p.lstrip("/"), self.installed)

    def test_d_uninstall_leaves_no_file(self):
        pk.run(["make", "-C", BUILDDIR, "uninstall", "DESTDIR=" + self.dest], timeout=300,
               what="make uninstall")
        self.assertEqual(sorted(pk.files_under(self.dest)), [])


# The build's PATH: where the packager's python3 would be.
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def _python_executables():
    """Every python executable a search of SYSTEM_PATH could find, resolved."""
    found = set()
    for d in SYSTEM_PATH.split(":"):
        for p in glob.glob(os.path.join(d, "python*")):
            if os.path.isfile(p) and os.access(p, os.X_OK):
                found.add(os.path.realpath(p))
    return sorted(found)


class BuildWithoutTests(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.skipTest("needs root and unshare(1) to hide python3 and check")
        self.build = tempfile.mkdtemp(prefix="kepler-notests-")
        self.addCleanup(shutil.rmtree, self.build, ignore_errors=True)

    def test_configure_and_build(self):
        _, pcdir = pk.run(["pkg-config", "--variable=pcfiledir", "check"], timeout=30)
        hidden = _python_executables() + [os.path.join(pcdir.strip(), "check.pc"),
                                          "/usr/include/check.h"]
        hidden = [p for p in hidden if os.path.exists(p)]
        empty = os.path.join(self.build, "hidden")
        open(empty, "w").close()
        os.chmod(empty, 0o644)
        # The mounts live in the namespace of this one shell: they go with it,
        # however it ends.
        script = "\n".join(
            ["set -e"] + ["mount --bind %s '%s'" % (empty, p) for p in hidden] + [
                "if python3 -c pass 2>/dev/null; then echo 'python3 still runs'; exit 1; fi",
                "if pkg-config --exists check; then echo 'check still found'; exit 1; fi",
                "cd '%s'" % self.build,
                "'%s/configure' --disable-tests > configure.out 2>&1 || "
                "{ tail -30 configure.out; tail -30 config.log; exit 1; }" % SRCDIR,
                "make -j2 >make.out 2>&1 || { tail -40 make.out; exit 1; }",
            ])
        env = {"PATH": SYSTEM_PATH}
        pk.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
               timeout=1200, env=env, what="configure --disable-tests; make (no python3, no check)")
        with open(os.path.join(self.build, "configure.out")) as f:
            configure_out = f.read()
        print("hidden: %s" % " ".join(hidden), flush=True)
        print(pk.tail(configure_out, 8), flush=True)
        self.assertRegex(configure_out, r"checking for a Python interpreter .*\.\.\. none")
        self.assertTrue(os.path.isfile(os.path.join(self.build, ".libs", "kepler.so")))
        self.assertTrue(os.access(os.path.join(self.build, "kepler-model"), os.X_OK))
        self.assertFalse(os.path.exists(os.path.join(self.build, "tests", "unit", "test_model")))
        # The unit directory is systemd's, where systemd.pc exists.
        _, unitdir = pk.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"],
                            timeout=30, check=False)
        if unitdir.strip():
            self.assertEqual(pk.make_var(self.build, "systemdsystemunitdir"), unitdir.strip())


if __name__ == "__main__":
    if not BUILDDIR or not os.path.isfile(os.path.join(BUILDDIR, "Makefile")):
        print("SKIP: KEPLER_BUILDDIR is not a configured build directory", flush=True)
        sys.exit(h.SKIP)
    h.run_tests()
