#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of the collectd-kepler image (docs/fleet.md, issue 16
acceptance 4).

deploy/image/build-image.sh builds the image (from the build under test when
KEPLER_PLUGIN names one, else from its own build), keeping its root file
system. The container runs with the image's own collectd.conf (changed: a
free port for write_prometheus, and TopProcesses 20), the host's /sys, /proc and / read-only at
/host/sys, /host/proc and /host/root, the host's PID and cgroup namespaces
and the host's network; a drop-in of its conf.d sets Interval 1, a csv
writer into a host folder and the network plugin, encrypted, to an
aggregator collectd on this host whose TypesDB has the image's
kepler-types.db. A CPU burner runs on the host, outside the container; it
must appear with power > 0 in the container's csv, in write_prometheus'
answer and at the aggregator.
- PrivilegedContainer: podman run --privileged (as the issue says);
- CapabilityContainer: what the DaemonSet asks for, read from
  deploy/kubernetes/daemonset.yaml: all capabilities dropped but those it
  adds, its seccomp profile, a read-only root with a writable BaseDir.
Podman on some hosts needs the runc runtime (crun refuses hybrid cgroup
hierarchies) and limits the host allows (podman raises RLIMIT_NOFILE and
RLIMIT_NPROC, which needs CAP_SYS_RESOURCE); each is tried, and every error
is printed. Where podman runs no container at all, the root file system is
run under chroot instead, in a mount namespace of its own (so that no mount
outlives the test), with the same mounts (KEPLER_FLEET_RUNNER=chroot forces
this). The image build takes about two minutes.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF).
"""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("KEPLER_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILD_IMAGE = os.path.join(SRC, "deploy", "image", "build-image.sh")
IMAGE_CONF = os.path.join(SRC, "deploy", "image", "collectd.conf")
DAEMONSET = os.path.join(SRC, "deploy", "kubernetes", "daemonset.yaml")
HOSTNAME = "fleet-e2e"
PROC = "kepler_process-"
BURNER = "kfleet_burn"
NET_USER = "kepler"
NET_PASSWORD = "fleet-%s" % os.urandom(6).hex()
# Host path -> where the image's configuration reads it.
HOST_MOUNTS = (("/sys", "/host/sys"), ("/proc", "/host/proc"), ("/", "/host/root"))
DEADLINE = 90.0
PR_SET_PDEATHSIG = 1

STATE = {}  # the image, shared by the classes: built once


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mounts_under(path):
    """Mount points at or below path (this mount namespace)."""
    path = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = h._unescape_mount(line.split()[4])
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return out


def remove_tree(path):
    """rm -rf, never through a mount (a bind of the host's / below would
    delete the host)."""
    left = mounts_under(path)
    if left:
        raise AssertionError("not removing %s: mounts below it: %s" % (path, left))
    shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------- image
def build_image():
    if "image" in STATE:
        return STATE
    work = tempfile.mkdtemp(prefix="kepler_fleet_")
    h.register_cleanup(lambda: remove_tree(work))
    STATE["work"] = work
    argv = ["sh", BUILD_IMAGE, "--work", os.path.join(work, "img"), "--rootfs",
            os.path.join(work, "rootfs")]
    plugin = h.plugin_path()
    if plugin and os.path.isfile(plugin):
        # The build under test: kepler.so is .libs/ of its build folder.
        argv += ["--build-dir", os.path.dirname(os.path.dirname(plugin))]
    podman = shutil.which("podman")
    if not podman:
        argv.append("--no-import")
    t0 = time.monotonic()
    print("building: %s" % " ".join(argv), flush=True)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout[-3000:], flush=True)
    if proc.returncode != 0:
        raise AssertionError("build-image.sh failed (%d)" % proc.returncode)
    STATE["build_s"] = time.monotonic() - t0
    STATE["rootfs"] = os.path.join(work, "rootfs")
    STATE["image"] = subprocess.run(["sh", BUILD_IMAGE, "--print-name"], capture_output=True,
                                    text=True, check=True).stdout.strip()
    size = ""
    if podman:
        size = subprocess.run([podman, "image", "inspect", "--format", "{{.Size}}", STATE["image"]],
                              capture_output=True, text=True).stdout.strip()
        size = " %.0f MB" % (int(size) / 1e6) if size.isdigit() else ""
    print("image %s%s built in %.0f s" % (STATE["image"], size, STATE["build_s"]), flush=True)
    return STATE


# ------------------------------------------------------------ processes
def _pdeathsig():
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(argv, **kw):
    """A child that dies with the test (PR_SET_PDEATHSIG) and is killed and
    reaped by the cleanups on every exit path."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(argv, preexec_fn=_pdeathsig, close_fds=True, **kw)
    h.register_cleanup(lambda: h.kill_proc(p))
    return p


def hard_limit(resource_id, cap):
    import resource
    hard = resource.getrlimit(resource_id)[1]
    return cap if hard == resource.RLIM_INFINITY else min(hard, cap)


def podman_attempts():
    """[(description, podman global args, run args)], the first that runs a
    container is used."""
    import resource
    nofile = hard_limit(resource.RLIMIT_NOFILE, 16384)
    nproc = hard_limit(resource.RLIMIT_NPROC, 4096)
    limits = ["--ulimit", "nofile=%d:%d" % (nofile, nofile), "--ulimit", "nproc=%d:%d" % (nproc, nproc)]
    out = [("default runtime", [], []), ("default runtime, lower limits", [], limits)]
    if shutil.which("runc"):
        out.append(("runc, lower limits", ["--runtime", "runc"], limits))
    return out


def choose_runner(image):
    """('podman', global args, run args) or ('chroot', errors)."""
    if os.environ.get("KEPLER_FLEET_RUNNER") == "chroot":
        return ("chroot", ["KEPLER_FLEET_RUNNER=chroot"])
    podman = shutil.which("podman")
    if not podman:
        return ("chroot", ["podman is not installed"])
    errors = []
    for what, glob, run in podman_attempts():
        p = subprocess.run([podman] + glob + ["run", "--rm", "--network=host"] + run +
                           ["--entrypoint", "/bin/true", image], capture_output=True, text=True,
                           timeout=120)
        if p.returncode == 0:
            print("podman runs containers with: %s (%s)" % (what, " ".join(glob + run)), flush=True)
            for e in errors:
                print("  before that: %s" % e, flush=True)
            return ("podman", glob, run)
        errors.append("%s: exit %d: %s" % (what, p.returncode, p.stderr.strip()))
    return ("chroot", errors)


# ------------------------------------------------------------- the tests
class Container:
    """One run of the image beside an aggregator; subclasses say how."""
    name = None
    cd = None

    @classmethod
    def podman_security(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        st = build_image()
        cls.tmp = tempfile.mkdtemp(prefix="kepler_%s_" % cls.name, dir=st["work"])
        cls.out = os.path.join(cls.tmp, "out")
        cls.confd = os.path.join(cls.tmp, "conf.d")
        cls.state = os.path.join(cls.tmp, "state")
        for d in (cls.out, cls.confd, cls.state):
            os.makedirs(d)
        cls.prom_port = free_port()
        cls.net_port = free_port(socket.SOCK_DGRAM)

        # The aggregator: a collectd on this host that only receives, with
        # the types file the image installs.
        types = os.path.join(st["rootfs"], "usr", "share", "collectd", "kepler-types.db")
        auth = os.path.join(cls.tmp, "auth")
        with open(auth, "w") as f:
            f.write("%s: %s\n" % (NET_USER, NET_PASSWORD))
        cls.agg = h.start_daemon(cls, load_kepler=False, name=cls.name + "_agg",
                                 extra_plugins=("network",), extra_config="\n".join([
                                     'TypesDB "%s"' % types,
                                     "LoadPlugin network",
                                     "<Plugin network>",
                                     '  <Listen "127.0.0.1" "%d">' % cls.net_port,
                                     '    SecurityLevel "Encrypt"',
                                     '    AuthFile "%s"' % auth,
                                     "  </Listen>",
                                     "</Plugin>"]))
        cls.agg.wait_started()
        # The agent's host dir at the aggregator.
        cls.agg_host = os.path.join(cls.agg.csvdir, HOSTNAME)

        # The burner, on the host, outside any container.
        cls.burner = spawn([h.named_burner(cls.tmp, BURNER)])
        cls.addClassCleanup(lambda: h.kill_proc(cls.burner))
        cls.write_config(st)
        cls.start_container(st)

    @classmethod
    def write_config(cls, st):
        with open(IMAGE_CONF) as f:
            conf = f.read()
        with open(os.path.join(st["rootfs"], "etc", "collectd", "collectd.conf")) as f:
            cls.image_conf = f.read()
        conf, n = re.subn(r'Port "9103"', 'Port "%d"' % cls.prom_port, conf)
        assert n == 1, "no Port \"9103\" in %s" % IMAGE_CONF
        # Per-pid series are off by default (the command level is the
        # stable view); the burner's own series shows its pid is the host's.
        conf, n = re.subn(r'(\n  ContainerInstance "name"\n)', r'\1  TopProcesses 20\n', conf)
        assert n == 1, "no ContainerInstance line in %s" % IMAGE_CONF
        cls.conf = os.path.join(cls.tmp, "collectd.conf")
        with open(cls.conf, "w") as f:
            f.write(conf)
        with open(os.path.join(cls.confd, "test.conf"), "w") as f:
            f.write("\n".join([
                'Hostname "%s"' % HOSTNAME,
                "Interval 1",
                "LoadPlugin csv",
                "<Plugin csv>",
                '  DataDir "/out/csv"',
                "  StoreRates false",
                "</Plugin>",
                "LoadPlugin network",
                "<Plugin network>",
                '  <Server "127.0.0.1" "%d">' % cls.net_port,
                '    SecurityLevel "Encrypt"',
                '    Username "%s"' % NET_USER,
                '    Password "%s"' % NET_PASSWORD,
                "  </Server>",
                "</Plugin>", ""]))

    @classmethod
    def start_container(cls, st):
        binds = [(host, cont, "ro") for host, cont in HOST_MOUNTS] + [
            (cls.conf, "/etc/collectd/collectd.conf", "ro"),
            (cls.confd, "/etc/collectd/collectd.conf.d", "ro"),
            (cls.out, "/out", "rw"),
            (cls.state, "/var/lib/collectd", "rw")]
        cls.log = os.path.join(cls.tmp, "container.log")
        logf = open(cls.log, "wb")
        h.register_cleanup(logf.close)
        runner = choose_runner(st["image"])
        cls.runner = runner[0]
        if runner[0] == "podman":
            podman = shutil.which("podman")
            cname = "kepler-%s-%s" % (cls.name, os.urandom(3).hex())
            argv = [podman] + runner[1] + ["run", "--rm", "--name", cname, "--network=host",
                                           "--pid=host", "--cgroupns=host"] + runner[2]
            argv += cls.podman_security()
            for host, cont, mode in binds:
                argv += ["-v", "%s:%s:%s%s" % (host, cont, mode, ",rslave" if host == "/" else "")]
            argv.append(st["image"])
            h.register_cleanup(lambda: subprocess.run([podman, "rm", "-f", "-t", "0", cname],
                                                      capture_output=True))
        else:
            print("podman runs no container here; chroot instead:\n  %s" % "\n  ".join(runner[1]),
                  flush=True)
            argv = cls.chroot_argv(st["rootfs"], binds)
        print("container: %s" % " ".join(argv), flush=True)
        cls.proc = spawn(argv, stdout=logf, stderr=subprocess.STDOUT)
        # Stopped when the class ends (and, failing that, by the cleanups).
        h.register_cleanup(cls.stop_container)
        cls.addClassCleanup(cls.stop_container)
        cls.container_dir = os.path.join(cls.out, "csv", HOSTNAME)

    @classmethod
    def chroot_argv(cls, root, binds):
        """The root under chroot with the same mounts, all made in a mount
        namespace of its own: they end with it, on every exit path."""
        lines = ["set -e", "r=%s" % shlex.quote(root), 'mkdir -p "$r/out"',
                 # The host's PID namespace, devices and sysfs, as --pid=host.
                 'mount --rbind /proc "$r/proc"', 'mount --rbind /sys "$r/sys"',
                 'mount --rbind /dev "$r/dev"']
        for host, cont, mode in binds:
            flag = "--rbind" if host == "/" else "--bind"
            lines.append('mount %s %s "$r%s"' % (flag, shlex.quote(host), cont))
            if mode == "ro":
                lines.append('mount -o remount,bind,ro "$r%s"' % cont)
        lines.append('exec chroot "$r" %s/usr/sbin/collectd -f -C /etc/collectd/collectd.conf'
                     % cls.chroot_prefix())
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines)]

    @classmethod
    def chroot_prefix(cls):
        """What runs collectd inside the root, before its path."""
        return ""

    @classmethod
    def stop_container(cls):
        """SIGTERM (podman passes it on): collectd stops and writes what it
        holds."""
        p = cls.proc
        if p.returncode is None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                h.kill_proc(p)
        if h.STATE["failed"]:
            print("--- container log (%s):\n%s" % (cls.log, cls.log_text()[-4000:]), flush=True)

    @classmethod
    def log_text(cls):
        with open(cls.log, errors="replace") as f:
            return f.read()

    # -- reading
    def alive(self):
        if self.proc.poll() is not None:
            raise AssertionError("the container exited (%s):\n%s" % (self.proc.returncode,
                                                                     self.log_text()[-3000:]))

    def power_rows(self, hostdir):
        d = os.path.join(hostdir, "%s%s_%d" % (PROC, BURNER, self.burner.pid))
        rows = []
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            return rows
        for fn in names:
            if fn.startswith("power-total-"):
                rows += [(float(e), v[0]) for e, v, _ in h.parse_csv_file(os.path.join(d, fn))]
        return rows

    def wait_power(self, hostdir, where):
        """Rows of the burner's power-total, three or more of them > 0."""
        def ok():
            self.alive()
            rows = self.power_rows(hostdir)
            return rows if len([r for r in rows if r[1] > 0]) >= 3 else None

        def seen():
            try:
                dirs = sorted(os.listdir(hostdir))
            except FileNotFoundError:
                dirs = []
            return "rows %s; dirs %s" % (self.power_rows(hostdir)[-3:],
                                         [d for d in dirs if d.startswith(PROC)][:20])

        rows = h.wait_for("%s%s_%d power-total > 0 %s" % (PROC, BURNER, self.burner.pid, where),
                          ok, timeout=DEADLINE, interval=0.5, seen=seen)
        watts = [v for _, v in rows if v > 0]
        print("%s (%s): the host's burner pid %d at %s W (%d rows)"
              % (self.name, where, self.burner.pid, ", ".join("%.2f" % w for w in watts[-5:]),
                 len(rows)), flush=True)
        return rows

    # -- tests
    def test_a_image_configuration_is_the_shipped_one(self):
        with open(IMAGE_CONF) as f:
            self.assertEqual(self.image_conf, f.read())

    def test_b_burner_power_inside_the_container(self):
        rows = self.wait_power(self.container_dir, "in the container's csv")
        self.assertTrue(all(h.is_finite(v) and v >= 0 for _, v in rows), rows)
        # The node's power is there too, and covers the burner's.
        node = os.path.join(self.container_dir, "kepler_node")
        self.assertTrue(os.path.isdir(node), os.listdir(self.container_dir))

    def test_c_prometheus_endpoint(self):
        """write_prometheus answers with the burner's power (the port the
        DaemonSet's Service names)."""
        # write_prometheus: collectd_<plugin>_<type>{<plugin>="<plugin
        # instance>",type="<type instance>",instance="<host>"} value time
        line = re.compile(r"^collectd_kepler_process_power\{([^}]*)\} (\S+)", re.M)
        inst = 'kepler_process="%s_%d"' % (BURNER, self.burner.pid)

        def ok():
            self.alive()
            try:
                body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.prom_port,
                                              timeout=5).read().decode()
            except OSError:
                return None
            for labels, value in line.findall(body):
                if inst in labels and 'type="total"' in labels and float(value) > 0:
                    return float(value)
            return None

        w = h.wait_for("the burner's power on write_prometheus' port %d" % self.prom_port, ok,
                       timeout=DEADLINE, interval=0.5)
        print("%s: write_prometheus: %.2f W" % (self.name, w), flush=True)

    def test_d_aggregator_receives_power_and_energy(self):
        """Encrypted through the network plugin; the joules type needs the
        aggregator's kepler-types.db."""
        self.wait_power(self.agg_host, "at the aggregator")
        d = os.path.join(self.agg_host, "%s%s_%d" % (PROC, BURNER, self.burner.pid))
        h.wait_for("joules-total at the aggregator",
                   lambda: any(f.startswith("joules-total-") for f in os.listdir(d)),
                   timeout=DEADLINE)
        self.assertNotIn("Dataset not found", self.agg.log_text())

    def test_e_pid_is_the_hosts(self):
        """The series carries the host's PID (hostPID), and the plugin
        loaded its BPF programs."""
        self.wait_power(self.container_dir, "in the container's csv")
        self.assertIn("BPF hooks", self.log_text())
        self.assertNotIn("the plugin is disabled", self.log_text())


class PrivilegedContainer(Container, unittest.TestCase):
    name = "privileged"

    @classmethod
    def podman_security(cls):
        return ["--privileged"]


class CapabilityContainer(Container, unittest.TestCase):
    """The DaemonSet's securityContext, as podman options."""
    name = "capabilities"

    @classmethod
    def podman_security(cls):
        import yaml
        with open(DAEMONSET) as f:
            ds = [o for o in yaml.safe_load_all(f) if o and o["kind"] == "DaemonSet"][0]
        sc = ds["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        assert not sc.get("privileged"), sc
        out = ["--cap-drop=all"]
        out += ["--cap-add=CAP_%s" % c for c in sc["capabilities"]["add"]]
        seccomp = (sc.get("seccompProfile") or {}).get("type", "RuntimeDefault")
        if seccomp == "Unconfined":
            out += ["--security-opt", "seccomp=unconfined"]
        if sc.get("allowPrivilegeEscalation") is False:
            out += ["--security-opt", "no-new-privileges"]
        if sc.get("readOnlyRootFilesystem"):
            # Kubernetes mounts no tmpfs on /run or /tmp: nor does this.
            out += ["--read-only", "--read-only-tmpfs=false"]
        print("from the DaemonSet: %s" % " ".join(out), flush=True)
        return out

    @classmethod
    def chroot_prefix(cls):
        # Under chroot, only the capabilities the DaemonSet gives: setpriv
        # (the root's util-linux) keeps uid 0 and bounds the rest away.
        caps = ",".join(["-all"] + ["+" + c.lower() for c in cls.daemonset_caps()])
        return "/usr/bin/setpriv --inh-caps=%s --bounding-set=%s " % (caps, caps)

    @classmethod
    def daemonset_caps(cls):
        import yaml
        with open(DAEMONSET) as f:
            ds = [o for o in yaml.safe_load_all(f) if o and o["kind"] == "DaemonSet"][0]
        return ds["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]["add"]


if __name__ == "__main__":
    # No KEPLER_PLUGIN needed: build-image.sh builds the plugin then.
    if os.geteuid() != 0 or not os.path.exists("/sys/kernel/btf/vmlinux"):
        print("SKIP: needs root and a kernel with BTF", flush=True)
        sys.exit(h.SKIP)
    h.run_tests()
