#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Package test: the .debs, built from the release tarball, in a fresh
Debian 12 root.

setUpClass: make dist in KEPLER_BUILDDIR; dpkg-buildpackage -us -uc -b from
the unpacked tarball (nocheck: make check has run the unit tests);
debootstrap --variant=minbase bookworm from this machine's apt mirror; /proc
and /sys (recursively: BTF, cgroups, tracefs) mounted into the root;
apt-get install collectd (the full package: Debian's stock collectd.conf,
with the rrdtool writer), man-db and rrdtool (to read the RRD files); the
root's files listed; then apt-get install ./collectd-kepler_*.deb.
  a  lintian --fail-on error,warning on the .changes (overrides say why)
  b  installing did not start collectd (it was not running)
  c  collectd -t on the stock configuration: exit 0, nothing printed
  d  man -w collectd-kepler resolves to the packaged page
  e  collectd -f from the stock configuration: kepler_node power-total and
     kepler_process series in the rrdtool writer's files, updated over two
     intervals with finite watts; no error about kepler in its syslog
  f  apt-get purge (and a purge of what it pulled in) leaves no file of
     the package: every file of dpkg -L gone, and no file the root did not
     have before the install (apt/dpkg state, logs, caches and the RRD
     data collectd wrote aside)
Mounts, the daemon and the temporary root are undone on every exit path.
Takes minutes; tests/run.sh runs it as a step of its own.

Environment: KEPLER_BUILDDIR (a configured build directory), KEPLER_SRCDIR;
KEPLER_DEBOOTSTRAP_CACHE=FILE.tar: reuse (or create) a tarball of the
minbase root instead of running debootstrap each time (CI leaves it unset);
KEPLER_E2E_KEEP=1: keep the root (unmounted) for inspection.
Exit status: 0 pass, 1 fail, 77 skip (not root, no debootstrap, no build).
"""

import glob
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import package_build as pk  # noqa: E402

BUILDDIR = os.environ.get("KEPLER_BUILDDIR", "")
SUITE = "bookworm"
# Debian's stock collectd.conf leaves Interval at collectd's default.
INTERVAL = 10.0
# Paths whose files the comparison before install / after purge ignores:
# package manager state, logs, caches, kernel file systems, and the RRD
# files collectd wrote (its data, not the package's).
VOLATILE = ("proc", "sys", "dev", "run", "tmp", "var/tmp", "var/lib/apt", "var/lib/dpkg",
            "var/cache", "var/log", "var/lib/collectd/rrd", "etc/ld.so.cache")
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8",
           "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def skip_reason():
    if os.geteuid() != 0:
        return "not running as root (debootstrap, chroot and mounts need root)"
    for tool in ("debootstrap", "dpkg-buildpackage", "lintian", "chroot"):
        if not shutil.which(tool):
            return "%s not installed (scripts/install-deps.sh)" % tool
    if not BUILDDIR or not os.path.isfile(os.path.join(BUILDDIR, "Makefile")):
        return "KEPLER_BUILDDIR is not a configured build directory"
    return None


def apt_entries():
    """(uri, suite) of this machine's Debian 12 main sources, one-line and
    deb822 formats: the chroot uses the same mirror."""
    entries = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            for line in f:
                w = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
                if len(w) >= 4 and w[0] == "deb" and "main" in w[3:]:
                    entries.append((w[1], w[2]))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            stanzas = f.read().split("\n\n")
        for st in stanzas:
            fields = {}
            for line in st.splitlines():
                m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
                if m:
                    fields[m.group(1).lower()] = m.group(2).split()
            if "deb" in fields.get("types", []) and "main" in fields.get("components", []) \
                    and fields.get("enabled", ["yes"]) != ["no"]:
                entries += [(u, s) for u in fields.get("uris", []) for s in fields.get("suites", [])]
    return [(u, s) for u, s in entries if s in (SUITE, SUITE + "-updates", SUITE + "-security")]


def mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == root or p.startswith(root + "/")]


def file_list(root):
    found = set()
    for f in pk.files_under(root):
        if not any(f == v or f.startswith(v + "/") for v in VOLATILE):
            found.add("/" + f)
    return found


class SyslogReceiver:
    """/dev/log of the root: what collectd's syslog plugin (the stock
    configuration's only log) writes, kept for the checks and the report."""

    def __init__(self, path):
        self.path = path
        self.messages = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            self.messages.append(data.decode("utf-8", "replace"))

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def severe(self, word):
        """Messages of severity err or worse (<PRI> % 8 <= 3) naming word."""
        out = []
        for m in self.messages:
            pri = re.match(r"^<(\d+)>", m)
            if pri and int(pri.group(1)) % 8 <= 3 and word in m.lower():
                out.append(m)
        return out


class Package(unittest.TestCase):
    root = None

    @classmethod
    def chroot(cls, argv, timeout=600, what=None, check=True):
        return pk.run(["chroot", cls.root] + argv, timeout=timeout, env=APT_ENV,
                      what=what or "chroot: " + " ".join(argv), check=check)

    @classmethod
    def build_debs(cls, work):
        t0 = time.monotonic()
        pk.run(["make", "-C", BUILDDIR, "dist-gzip"], timeout=600, what="make dist")
        tarball = max(glob.glob(os.path.join(BUILDDIR, "collectd-kepler-*.tar.gz")),
                      key=os.path.getmtime)
        pk.run(["tar", "-xzf", tarball, "-C", work], timeout=120)
        src = os.path.join(work, os.path.basename(tarball)[:-len(".tar.gz")])
        pk.run(["dpkg-buildpackage", "-us", "-uc", "-b"], timeout=1800, cwd=src,
               env={"DEB_BUILD_OPTIONS": "nocheck parallel=2"}, what="dpkg-buildpackage -b")
        cls.changes = glob.glob(os.path.join(work, "collectd-kepler_*.changes"))[0]
        cls.deb = glob.glob(os.path.join(work, "collectd-kepler_*.deb"))[0]
        print("built %s (%.0f s)" % (" ".join(sorted(os.path.basename(d) for d in
                                                      glob.glob(os.path.join(work, "*.deb")))),
                                      time.monotonic() - t0), flush=True)

    @classmethod
    def make_root(cls):
        t0 = time.monotonic()
        entries = apt_entries()
        if not entries:
            raise AssertionError("no %s main source in /etc/apt/sources.list(.d)" % SUITE)
        mirror = next((u for u, s in entries if s == SUITE), entries[0][0])
        cache = os.environ.get("KEPLER_DEBOOTSTRAP_CACHE")
        if cache and os.path.isfile(cache):
            pk.run(["tar", "-xpf", cache, "-C", cls.root], timeout=600, what="unpack " + cache)
        else:
            pk.run(["debootstrap", "--variant=minbase", SUITE, cls.root, mirror], timeout=1800,
                   what="debootstrap %s %s" % (SUITE, mirror))
            if cache:
                pk.run(["tar", "-cpf", cache, "-C", cls.root, "."], timeout=600)
        with open(os.path.join(cls.root, "etc/apt/sources.list"), "w") as f:
            f.writelines("deb %s %s main\n" % e for e in entries)
        # As Debian's installer writes it: the stock FQDNLookup true makes
        # collectd exit when it cannot resolve the host's name.
        with open(os.path.join(cls.root, "etc/hosts"), "w") as f:
            f.write("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                    % socket.gethostname())
        print("root from %s in %.0f s" % (mirror, time.monotonic() - t0), flush=True)

    @classmethod
    def mount(cls):
        proc = os.path.join(cls.root, "proc")
        pk.run(["mount", "-t", "proc", "proc", proc], timeout=30)
        h.register_cleanup(lambda: pk.run(["umount", proc], timeout=60, check=False))
        sysdir = os.path.join(cls.root, "sys")
        pk.run(["mount", "--rbind", "/sys", sysdir], timeout=30)
        # A slave: unmounting the copy below must not reach the host's /sys.
        h.register_cleanup(lambda: pk.run(["umount", "-R", sysdir], timeout=60, check=False))
        pk.run(["mount", "--make-rslave", sysdir], timeout=30)

    @classmethod
    def remove_root(cls):
        if os.environ.get("KEPLER_E2E_KEEP") == "1":
            print("kept %s (KEPLER_E2E_KEEP=1)" % cls.root, flush=True)
            return
        left = mounts_under(cls.root)
        if left:
            print("NOT removing %s: still mounted: %s" % (cls.root, " ".join(left)), flush=True)
            return
        pk.run(["rm", "-rf", "--one-file-system", cls.root], timeout=600, check=False)

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="kepler-package-")
        h.register_cleanup(lambda: shutil.rmtree(cls.work, ignore_errors=True))
        cls.build_debs(cls.work)
        cls.root = tempfile.mkdtemp(prefix="kepler-root-", dir="/var/tmp")
        h.register_cleanup(cls.remove_root)
        cls.make_root()
        cls.mount()
        # Debian's collectd package starts its daemon on install: not here.
        policy = os.path.join(cls.root, "usr/sbin/policy-rc.d")
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        cls.chroot(["apt-get", "update", "-q"])
        # libmnl0: the stock configuration loads processes, which needs it,
        # and collectd only Recommends it (as it does a Java runtime).
        cls.chroot(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                    "collectd", "libmnl0", "man-db", "rrdtool"], timeout=1800)
        os.unlink(policy)
        cls.before = file_list(cls.root)
        cls.packages_before = cls.installed_packages()
        shutil.copy(cls.deb, os.path.join(cls.root, "tmp"))
        _, cls.install_out = cls.chroot(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                                         "/tmp/" + os.path.basename(cls.deb)])
        _, listing = cls.chroot(["dpkg", "-L", "collectd-kepler"])
        cls.package_files = [p for p in listing.split() if not os.path.isdir(cls.root + p)]

    @classmethod
    def installed_packages(cls):
        _, out = cls.chroot(["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Package}\\n"])
        return {line.split()[1] for line in out.splitlines() if line.startswith("ii ")}

    def collectd_pids(self):
        """collectd processes whose root is the test's root."""
        pids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink("/proc/%s/root" % pid) == self.root and \
                        h.proc_comm(int(pid)) == "collectd":
                    pids.append(int(pid))
            except OSError:
                continue
        return pids

    def test_a_lintian(self):
        status, out = pk.run(["lintian", "--fail-on", "error,warning", self.changes],
                             timeout=600, check=False)
        print("lintian:\n" + out, flush=True)
        self.assertEqual([l for l in out.splitlines() if re.match(r"^[EW]: ", l)], [])
        self.assertEqual(status, 0)

    def test_b_install_did_not_start_collectd(self):
        self.assertEqual(self.collectd_pids(), [], "a collectd runs in the root after install")

    def test_c_collectd_t(self):
        status, out = self.chroot(["/usr/sbin/collectd", "-t"], timeout=60, check=False)
        self.assertEqual((status, out.strip()), (0, ""))

    def test_d_man_page(self):
        _, out = self.chroot(["man", "-w", "collectd-kepler"], timeout=60)
        self.assertEqual(out.strip(), "/usr/share/man/man5/collectd-kepler.5.gz")
        self.assertIn(out.strip(), self.package_files)

    def rrd_last(self, path):
        """(last update epoch, value) of an RRD file's single data source."""
        _, out = self.chroot(["rrdtool", "lastupdate", path], timeout=30)
        m = re.search(r"^(\d+): ([-+0-9.eE]+|nan)$", out, re.M)  # "U": no value yet
        return (int(m.group(1)), float(m.group(2))) if m else None

    def test_e_series_in_stock_writer(self):
        log = SyslogReceiver(os.path.join(self.root, "dev/log"))
        h.register_cleanup(log.close)
        cd = subprocess.Popen(["chroot", self.root, "/usr/sbin/collectd", "-f"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=APT_ENV, start_new_session=True)
        h.register_cleanup(lambda: pk.kill_group(cd))
        rrd = os.path.join(self.root, "var/lib/collectd/rrd")

        def rrd_files(pattern):
            if cd.poll() is not None:
                raise AssertionError("collectd exited with status %d; syslog: %r"
                                     % (cd.returncode, log.messages[-5:]))
            return sorted(glob.glob(os.path.join(rrd, "*", pattern)))

        try:
            power = h.wait_for("kepler_node/power-total.rrd under %s" % rrd,
                               lambda: rrd_files("kepler_node/power-total.rrd"),
                               timeout=4 * INTERVAL, interval=0.5,
                               seen=lambda: (cd.poll(), log.messages[-5:]))[0]
            chrooted = power[len(self.root):]
            first = h.wait_for("a first value in " + chrooted, lambda: self.rrd_last(chrooted),
                               timeout=3 * INTERVAL, interval=0.5)
            second = h.wait_for("an update of " + chrooted + " after %r" % (first,),
                                lambda: (lambda v: v if v and v[0] > first[0] else None)(
                                    self.rrd_last(chrooted)),
                                timeout=3 * INTERVAL, interval=0.5)
            # The defaults: series per command (collectd among them), none
            # per pid.
            commands = rrd_files("kepler_command-*/power-total.rrd")
            processes = rrd_files("kepler_process-*/power-total.rrd")
            print("rrd: %s first %r second %r; %d command series, %d per-pid" %
                  (chrooted, first, second, len(commands), len(processes)), flush=True)
            self.assertTrue(math.isfinite(second[1]) and second[1] > 0, second)
            self.assertGreater(len(commands), 0)
            self.assertEqual(processes, [])
            self.assertIsNone(cd.poll(), "collectd exited")
        finally:
            if cd.poll() is None:
                cd.send_signal(signal.SIGTERM)
            try:
                out, _ = cd.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pk.kill_group(cd)
                out = ""
            log.close()
            print("collectd output: %r" % out, flush=True)
            print("syslog: %d messages; about kepler:\n  %s" % (len(log.messages), "\n  ".join(
                m for m in log.messages if "kepler" in m.lower())), flush=True)
        # The log was heard (else "no error" would prove nothing), and it
        # has no error about the plugin.
        self.assertTrue([m for m in log.messages if 'plugin "kepler" successfully loaded' in m])
        self.assertEqual(log.severe("kepler"), [])

    def test_f_purge_leaves_no_file(self):
        self.chroot(["apt-get", "purge", "-y", "-q", "collectd-kepler"])
        # And what its install pulled in (libbpf1, libcurl4, ...): autoremove
        # would keep those that collectd Recommends.
        pulled = sorted(self.installed_packages() - self.packages_before)
        print("pulled in by the install: %s" % " ".join(pulled), flush=True)
        if pulled:
            self.chroot(["apt-get", "purge", "-y", "-q"] + pulled)
        left = [p for p in self.package_files if os.path.lexists(self.root + p)]
        self.assertEqual(left, [], "files of dpkg -L collectd-kepler left after purge")
        self.assertEqual(sorted(file_list(self.root) - self.before), [],
                         "files that were not there before the install")


if __name__ == "__main__":
    reason = skip_reason()
    if reason:
        print("SKIP: " + reason, flush=True)
        sys.exit(h.SKIP)
    t0 = time.monotonic()
    try:
        h.run_tests()
    finally:
        print("test_package: %.0f s" % (time.monotonic() - t0), flush=True)
