#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Shared helpers for the collectd-kepler end-to-end tests.

Runs the real collectd daemon (`COLLECTD -f -C conf`) with the built plugin
and collectd's own csv, unixsock, logfile and load plugins, creates real
cgroup v2 directories and starts real processes in them.

Environment (set by the automake harness):
  KEPLER_PLUGIN  path to the built kepler.so
  KEPLER_SRCDIR  source directory
  COLLECTD       daemon path (default /usr/sbin/collectd)
  KEPLER_BURNER  path to the built burner (tests/e2e/burner); when unset the
                 harness uses tests/e2e/burner next to this file, or compiles
                 burner.c with cc -O2 into its temp dir.
  KEPLER_E2E_KEEP=1  keep the temp dir (config, log, CSV) for inspection.
"""

import errno
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PLUGIN_DIR = "/usr/lib/collectd"
SYSTEM_PLUGINS = ("csv", "unixsock", "logfile", "load")
TYPES_DB = "/usr/share/collectd/types.db"
HOSTNAME = "e2e"
INTERVAL = 1.0
POLL = 0.1
DEADLINE = 30.0
CAP_BPF = 39
CAP_PERFMON = 38
CAP_SYS_ADMIN = 21


# --------------------------------------------------------------- environment
def collectd_path():
    return os.environ.get("COLLECTD") or "/usr/sbin/collectd"


def plugin_path():
    return os.environ.get("KEPLER_PLUGIN") or ""


def skip_reason():
    """Why this machine cannot run the e2e tests, or None."""
    if os.geteuid() != 0:
        return "not running as root (eBPF and cgroup creation need root)"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "/sys/kernel/btf/vmlinux missing: the kernel has no BTF"
    plugin = plugin_path()
    if not plugin:
        return "KEPLER_PLUGIN is not set"
    if not os.path.isfile(plugin):
        return "plugin %s missing (not built)" % plugin
    return None


def skip_if_unsupported():
    reason = skip_reason()
    if reason:
        print("SKIP: " + reason, flush=True)
        sys.exit(SKIP)


# Safety net: everything started or created is registered here and undone in
# reverse order when run_tests ends, even after an interrupt (class cleanups
# do not run when KeyboardInterrupt escapes the unittest runner).
_CLEANUPS = []


def register_cleanup(fn):
    _CLEANUPS.append(fn)


def cleanup_all():
    while _CLEANUPS:
        fn = _CLEANUPS.pop()
        try:
            fn()
        except BaseException as e:  # keep cleaning up
            print("cleanup %r failed: %r" % (fn, e), flush=True)


def install_signal_cleanup():
    """Turn SIGTERM/SIGHUP (e.g. a harness timeout) into KeyboardInterrupt,
    which stops the unittest run; run_tests then cleans up everything."""

    def handler(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


# Set when a test failed: class cleanups then print the collectd log tail.
STATE = {"failed": False}


class _Result(unittest.TextTestResult):
    def addFailure(self, test, err):
        STATE["failed"] = True
        super().addFailure(test, err)

    def addError(self, test, err):
        STATE["failed"] = True
        super().addError(test, err)


def run_tests(module_name="__main__"):
    """Run the unittest cases of a module (or the Class.test names given on
    the command line); exit 0 on success, 1 on failure."""
    install_signal_cleanup()
    loader = unittest.TestLoader()
    module = sys.modules[module_name]
    if len(sys.argv) > 1:
        suite = loader.loadTestsFromNames(sys.argv[1:], module)
    else:
        suite = loader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=_Result)
    try:
        result = runner.run(suite)
        ok = result.wasSuccessful() and result.testsRun > 0
    except KeyboardInterrupt as e:
        print("interrupted (%s): cleaning up" % e, flush=True)
        STATE["failed"] = True
        ok = False
    finally:
        cleanup_all()
    sys.stdout.flush()
    sys.exit(0 if ok else 1)


def wait_for(what, predicate, timeout=DEADLINE, interval=POLL, seen=None):
    """Poll predicate() until it returns a true value (returned), or raise
    AssertionError naming what was awaited and what was last seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            last = seen() if seen else value
            raise AssertionError(
                "timed out after %.1f s waiting for %s; last seen: %r" % (timeout, what, last)
            )
        time.sleep(interval)


def rel_err(a, b):
    """Relative difference of a against b (absolute when b is 0)."""
    if b == 0:
        return abs(a - b)
    return abs(a - b) / abs(b)


# --------------------------------------------------------------------- burner
_burner_cache = {}


def load_binary():
    """The built load generator (bench/kepler-bench-load), or skip."""
    path = os.environ.get("KEPLER_LOAD")
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest("KEPLER_LOAD is not set to the built kepler-bench-load")
    return path


def burner_binary(tmpdir):
    """Path of the burner executable (see module docstring)."""
    env = os.environ.get("KEPLER_BURNER")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise AssertionError("KEPLER_BURNER=%s is not an executable file" % env)
        return env
    local = os.path.join(HERE, "burner")
    if os.path.isfile(local) and os.access(local, os.X_OK):
        return local
    if tmpdir in _burner_cache:
        return _burner_cache[tmpdir]
    src = os.path.join(HERE, "burner.c")
    out = os.path.join(tmpdir, "burner.bin")
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if not cc:
        raise AssertionError("no KEPLER_BURNER and no C compiler to build %s" % src)
    proc = subprocess.run([cc, "-O2", "-o", out, src], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError("compiling %s failed: %s" % (src, proc.stderr))
    _burner_cache[tmpdir] = out
    return out


def named_copy(tmpdir, src, name):
    """A copy of executable src named `name` (its comm), in tmpdir/bin."""
    if len(name) > 15:
        raise ValueError("comm is at most 15 characters: %r" % name)
    bindir = os.path.join(tmpdir, "bin")
    os.makedirs(bindir, exist_ok=True)
    path = os.path.join(bindir, name)
    if not os.path.exists(path):
        shutil.copyfile(src, path)
        os.chmod(path, 0o755)
    return path


def named_burner(tmpdir, name):
    """A copy of the burner named `name` (its comm), in tmpdir/bin."""
    return named_copy(tmpdir, burner_binary(tmpdir), name)


# ------------------------------------------------------------------ /proc
def proc_cpu_ticks(pid):
    """utime + stime of a process (fields 14 and 15 of /proc/PID/stat) in
    clock ticks, or None when the process is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): field N is rest[N - 3].
    return int(rest[14 - 3]) + int(rest[15 - 3])


def proc_cpu_ms(pid):
    ticks = proc_cpu_ticks(pid)
    if ticks is None:
        return None
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


def proc_cap_eff(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    raise AssertionError("no CapEff line in /proc/%d/status" % pid)


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def proc_exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


def wait_exec(cd, wrapper):
    """Wait until cd's Popen child (wrapper: setpriv, capsh, unshare...) has
    exec'd the daemon: the same file by device and inode, since its path as
    seen through /proc/PID/exe differs across mount namespaces."""
    daemon = os.stat(collectd_path())

    def execd():
        cd.assert_alive()
        try:
            exe = os.stat("/proc/%d/exe" % cd.pid)
        except FileNotFoundError:
            return False
        return (exe.st_dev, exe.st_ino) == (daemon.st_dev, daemon.st_ino)

    wait_for("%s to exec %s (pid %d)" % (wrapper, collectd_path(), cd.pid), execd,
             interval=0.01, seen=lambda: proc_exe(cd.pid))


def sanitize_comm(comm):
    """The plugin's process name rule: every char outside [A-Za-z0-9_] -> '_'."""
    return re.sub(r"[^A-Za-z0-9_]", "_", comm)


def hardware_pmu_available():
    """True when the kernel can count CPU cycles with a hardware PMU event
    (perf_event_open PERF_TYPE_HARDWARE/CPU_CYCLES on this process)."""
    import ctypes
    import platform
    import struct

    nr = {"x86_64": 298, "aarch64": 241, "ppc64le": 319, "s390x": 331, "riscv64": 241}.get(
        platform.machine()
    )
    if nr is None:
        return os.path.isdir("/sys/bus/event_source/devices/cpu")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    attr = bytearray(128)
    # type=PERF_TYPE_HARDWARE(0), size, config=PERF_COUNT_HW_CPU_CYCLES(0), flags: disabled
    struct.pack_into("=IIQ", attr, 0, 0, len(attr), 0)
    struct.pack_into("=Q", attr, 40, 1)  # flags bitfield: disabled=1
    buf = (ctypes.c_char * len(attr)).from_buffer(attr)
    fd = libc.syscall(
        ctypes.c_long(nr), buf, ctypes.c_int(0), ctypes.c_int(-1), ctypes.c_int(-1), ctypes.c_ulong(0)
    )
    if fd >= 0:
        os.close(fd)
        return True
    return False


# -------------------------------------------------------------------- cgroups
def _unescape_mount(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def cgroup2_mount():
    """Mount point of the cgroup v2 hierarchy (/sys/fs/cgroup on pure v2,
    /sys/fs/cgroup/unified on hybrid machines)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0:1] == ["cgroup2"]:
                return _unescape_mount(left.split()[4])
    raise AssertionError("no cgroup2 mount in /proc/self/mountinfo")


def cgroup1_mount(controller):
    """Mount point of the cgroup v1 hierarchy holding controller, or None
    (pure cgroup v2 machines have none)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = right.split()
            if fields[0:1] == ["cgroup"] and controller in fields[2].split(","):
                return _unescape_mount(left.split()[4])
    return None


def cgroup_of(pid):
    """The cgroup v2 path of a process (the '0::' line of /proc/PID/cgroup)."""
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].strip()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def make_cgroup(path):
    os.mkdir(path)
    register_cleanup(lambda: remove_cgroup_tree(path))
    return path


def cgroup_procs(path):
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def cgroup_tree(root, *parts):
    """root/parts[0]/parts[1]/..., each cgroup made (and its removal
    registered) if it is not there yet; the last one's path."""
    path = root
    for p in parts:
        path = os.path.join(path, p)
        if not os.path.isdir(path):
            make_cgroup(path)
    return path


def remove_cgroup_tree(path, timeout=10.0):
    """Kill every member of path and its descendants, then rmdir bottom-up,
    retrying until the cgroups are empty. Returns a list of error strings."""
    if not os.path.isdir(path):
        return []
    errors = []
    deadline = time.monotonic() + timeout
    dirs = [d for d, _, _ in os.walk(path)]
    dirs.sort(key=len, reverse=True)  # children first
    for d in dirs:
        while True:
            for pid in cgroup_procs(d):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY or time.monotonic() >= deadline:
                    errors.append("rmdir %s: %s (members %s)" % (d, e, cgroup_procs(d)))
                    break
                time.sleep(0.05)
    return errors


def spawn_in_cgroup(argv, cgroup=None, **kw):
    """Start argv as a child. With cgroup, the forked child writes its own pid
    to <cgroup>/cgroup.procs before exec, so the program is in the cgroup from
    its first instruction."""
    preexec = None
    if cgroup is not None:
        procs = os.path.join(cgroup, "cgroup.procs")

        def preexec():
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, b"%d\n" % os.getpid())
            finally:
                os.close(fd)

    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(argv, preexec_fn=preexec, close_fds=True, **kw)
    register_cleanup(lambda: kill_proc(p))
    return p


def kill_proc(p, timeout=5.0):
    """Kill a Popen child and reap it."""
    if p is None or p.returncode is not None:
        return
    try:
        p.kill()
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=timeout)
    except (subprocess.TimeoutExpired, ChildProcessError):
        pass


# -------------------------------------------------------------- CSV reading
_DATE_RE = re.compile(r"^(?P<name>.+)-(?P<date>\d{4}-\d{2}-\d{2})$")


def parse_csv_file(path):
    """Rows of one collectd CSV file as (epoch_str, [float values], [value
    strings]); skips the header and a trailing partial line (the writer may be
    mid-write)."""
    try:
        with open(path) as f:
            data = f.read()
    except FileNotFoundError:
        return []
    lines = data.split("\n")
    lines.pop()  # text after the last newline: empty or an incomplete line
    rows = []
    for line in lines:
        if not line or line.startswith("epoch"):
            continue
        parts = line.split(",")
        rows.append((parts[0], [float(x) for x in parts[1:]], parts[1:]))
    return rows


class Collectd:
    """One collectd daemon in its own temp dir."""

    def __init__(self, kepler_config=None, prefix=None, load_kepler=True, name="e2e",
                 extra_plugins=(), extra_config="", owner=None):
        self.tmp = tempfile.mkdtemp(prefix="kepler_%s_" % name)
        self.owner = owner  # (uid, gid) the daemon runs as: its dir is theirs
        self.extra_plugins = tuple(extra_plugins)  # system plugins to copy in
        self.extra_config = extra_config
        self.kepler_config = kepler_config
        self.prefix = list(prefix or [])
        self.load_kepler = load_kepler
        self.proc = None
        self.out = None
        self.plugindir = os.path.join(self.tmp, "plugins")
        self.csvdir = os.path.join(self.tmp, "csv")
        self.hostdir = os.path.join(self.csvdir, HOSTNAME)
        self.logfile = os.path.join(self.tmp, "collectd.log")
        self.outfile = os.path.join(self.tmp, "collectd.out")
        self.conffile = os.path.join(self.tmp, "collectd.conf")
        self.socket = os.path.join(self.tmp, "collectd.sock")
        self.pidfile = os.path.join(self.tmp, "collectd.pid")
        self._cleaned = False

    # -- setup
    def _install_plugins(self):
        os.makedirs(self.plugindir)
        # PluginDir must hold real files: collectd rejects symlinks.
        if self.load_kepler:
            shutil.copyfile(plugin_path(), os.path.join(self.plugindir, "kepler.so"))
        for p in SYSTEM_PLUGINS + self.extra_plugins:
            shutil.copyfile(
                os.path.join(SYSTEM_PLUGIN_DIR, p + ".so"), os.path.join(self.plugindir, p + ".so")
            )

    def config_text(self):
        lines = [
            'Hostname "%s"' % HOSTNAME,
            "FQDNLookup false",
            'BaseDir "%s"' % self.tmp,
            'PIDFile "%s"' % self.pidfile,
            'PluginDir "%s"' % self.plugindir,
            'TypesDB "%s"' % TYPES_DB,
            "Interval %g" % INTERVAL,
            # The write queue's length, for stop() to let the writers catch
            # up; where the plugin runs (a daemon that only receives over
            # the network plugin logs an error for each internal value).
            "CollectInternalStats %s" % ("true" if self.load_kepler else "false"),
            "",
            "LoadPlugin logfile",
            "<Plugin logfile>",
            '  LogLevel "info"',
            '  File "%s"' % self.logfile,
            "  Timestamp true",
            "  PrintSeverity true",
            "</Plugin>",
            "",
            "LoadPlugin csv",
            "<Plugin csv>",
            '  DataDir "%s"' % self.csvdir,
            "  StoreRates false",
            "</Plugin>",
            "",
            "LoadPlugin unixsock",
            "<Plugin unixsock>",
            '  SocketFile "%s"' % self.socket,
            '  SocketGroup "root"',
            "</Plugin>",
            "",
            "LoadPlugin load",
            self.extra_config,
        ]
        if self.load_kepler:
            lines += ["", "LoadPlugin kepler"]
            if self.kepler_config is not None:
                lines += ["<Plugin kepler>", self.kepler_config.rstrip("\n"), "</Plugin>"]
        return "\n".join(lines) + "\n"

    def start(self):
        register_cleanup(lambda: self.cleanup(dump=STATE["failed"]))
        self._install_plugins()
        with open(self.conffile, "w") as f:
            f.write(self.config_text())
        self.out = open(self.outfile, "wb")
        if self.owner is not None:
            for d, _, files in os.walk(self.tmp):
                for path in [d] + [os.path.join(d, f) for f in files]:
                    os.chown(path, *self.owner)
        argv = self.prefix + [collectd_path(), "-f", "-C", self.conffile]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT, close_fds=True
        )
        return self

    def wait_started(self, timeout=DEADLINE):
        """Wait for 'Initialization complete' in the log (all inits ran)."""

        def ready():
            self.assert_alive()
            return "Initialization complete" in self.log_text()

        wait_for("collectd 'Initialization complete' log line", ready, timeout,
                 seen=lambda: self.log_tail())

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self):
        if not self.alive():
            raise AssertionError(
                "collectd exited with status %s\n--- output:\n%s\n--- log:\n%s"
                % (self.proc.returncode if self.proc else None, self.output_text(), self.log_tail())
            )

    def write_queue_length(self):
        """collectd's write queue at its last read (CollectInternalStats),
        or None when the daemon does not answer."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2.0)
                s.connect(self.socket)
                s.sendall(b'GETVAL "%s/collectd-write_queue/queue_length"\n' % HOSTNAME.encode())
                answer = b""
                while answer.count(b"\n") < 2 and not answer.startswith(b"-"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
        except OSError:
            return None
        m = re.search(rb"value=([0-9.e+-]+)", answer)
        return float(m.group(1)) if m else None

    def wait_writes(self, timeout=60.0):
        """Wait until the writers have caught up. collectd drops what is still
        queued when it stops ("value lists were left after shutting down the
        write threads"): on a busy host the csv writer can be many intervals
        behind the reads, and a test reading after the stop would miss them."""
        deadline = time.monotonic() + timeout
        length = self.write_queue_length()
        while length is not None and length > 1 and time.monotonic() < deadline:
            time.sleep(POLL)
            length = self.write_queue_length()
        if length is not None and length > 1:
            print("collectd's write queue still held %d value lists after %.0f s" % (length, timeout),
                  flush=True)

    def stop(self, timeout=15.0):
        if self.proc is not None and self.proc.poll() is None:
            self.wait_writes()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                print("collectd did not stop on SIGTERM in %.0f s: SIGKILL" % timeout, flush=True)
                self.proc.kill()
                self.proc.wait()
        if self.out is not None:
            self.out.close()
            self.out = None

    def cleanup(self, dump=False):
        if self._cleaned:
            return
        self._cleaned = True
        self.stop()
        if dump:
            self.dump()
        if os.environ.get("KEPLER_E2E_KEEP") == "1":
            print("kept %s" % self.tmp, flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def dump(self):
        print("--- collectd output (%s):\n%s" % (self.outfile, self.output_text()[-4000:]))
        print("--- collectd log tail (%s):\n%s" % (self.logfile, self.log_tail(60)), flush=True)

    # -- log
    def log_text(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log_text().splitlines()[-n:])

    def output_text(self):
        try:
            with open(self.outfile, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    _LOG_RE = re.compile(r"^\[(?P<ts>[^\]]*)\] \[(?P<sev>[a-z]+)\] (?P<msg>.*)$")

    def log_entries(self):
        """[(severity, message)] from the logfile (Timestamp + PrintSeverity)."""
        out = []
        for line in self.log_text().splitlines():
            m = self._LOG_RE.match(line)
            if m:
                out.append((m.group("sev"), m.group("msg")))
            elif out:
                out[-1] = (out[-1][0], out[-1][1] + "\n" + line)
        return out

    # -- CSV series
    def series_dirs(self):
        """Names of the plugin[-instance] directories under the host dir
        (collectd's own statistics left out: they are the harness's)."""
        try:
            return sorted(d for d in os.listdir(self.hostdir) if not d.startswith("collectd-"))
        except FileNotFoundError:
            return []

    def series_names(self, plugin_dir):
        """type[-type_instance] names of a plugin dir (date suffix removed)."""
        names = set()
        try:
            files = os.listdir(os.path.join(self.hostdir, plugin_dir))
        except FileNotFoundError:
            return names
        for fn in files:
            m = _DATE_RE.match(fn)
            if m:
                names.add(m.group("name"))
        return names

    def series_files(self, plugin_dir, series):
        d = os.path.join(self.hostdir, plugin_dir)
        try:
            files = os.listdir(d)
        except FileNotFoundError:
            return []
        out = []
        for fn in files:
            m = _DATE_RE.match(fn)
            if m and m.group("name") == series:
                out.append(os.path.join(d, fn))
        return sorted(out)  # date order: a series may span midnight

    def raw_rows(self, plugin_dir, series):
        rows = []
        for path in self.series_files(plugin_dir, series):
            rows.extend(parse_csv_file(path))
        return rows

    def series(self, plugin_dir, series, column=0):
        """[(epoch float, value float)] of a series, in file order."""
        return [(float(e), v[column]) for e, v, _ in self.raw_rows(plugin_dir, series)]

    def series_text(self, plugin_dir, series, column=0):
        """{epoch string: (value float, value string)}: for exact joins."""
        return {e: (v[column], t[column]) for e, v, t in self.raw_rows(plugin_dir, series)}

    def wait_rows(self, plugin_dir, series, n, timeout=DEADLINE, after=None):
        """Wait until a series has >= n rows (with epoch > after, if given)."""

        def count():
            rows = self.series(plugin_dir, series)
            if after is not None:
                rows = [r for r in rows if r[0] > after]
            return rows

        def ok():
            self.assert_alive()
            rows = count()
            return rows if len(rows) >= n else None

        return wait_for(
            "%d rows of %s/%s%s" % (n, plugin_dir, series, "" if after is None else " after %.3f" % after),
            ok, timeout,
            seen=lambda: "%d rows; dirs %s" % (len(count()), self.series_dirs()[:20]),
        )

    def wait_dir(self, plugin_dir, timeout=DEADLINE):
        def ok():
            self.assert_alive()
            return plugin_dir in self.series_dirs()

        wait_for("series dir %s" % plugin_dir, ok, timeout, seen=lambda: self.series_dirs()[:40])


def start_daemon(test_class, **kw):
    """Start a Collectd(**kw) for a test class. It is stopped when the class
    ends (its log printed if a test failed), so classes in one file do not
    share a daemon; cleanups the class adds later run before this one."""
    cd = Collectd(**kw)
    test_class.addClassCleanup(lambda: cd.cleanup(dump=STATE["failed"]))
    return cd.start()


def decimals(text):
    """Number of decimals of a printed float ('12.500000' -> 6)."""
    if "e" in text or "E" in text:
        return 15
    _, _, frac = text.partition(".")
    return len(frac)


def rounding(text):
    """Half a unit in the last printed place of a CSV value."""
    return 0.5 * 10.0 ** (-decimals(text))


def is_finite(x):
    return not (math.isnan(x) or math.isinf(x))
