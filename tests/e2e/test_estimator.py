#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of the general estimator sidecar, estimator/kepler-estimator.

Trains the tree model with the real estimator/train_estimator.py into a temp
dir, starts the real sidecar on temp sockets and talks to it as the C client
(plugin/estimate/estimator_client.c) and Kepler do: the archive evaluates as
scikit-learn predicts, answers have Kepler's shape, Kepler's weight files
give kepler.md's figures, bad and silent clients neither crash nor block
it, SIGTERM removes its socket, and --model-server fetches, validates and
keeps the last good model (a tiny HTTP server in this test, and HTTPS with
certificate verification when openssl is there).
Environment: KEPLER_SRCDIR, KEPLER_SHARED_DATA, KEPLER_PYTHON_SKLEARN (a
Python with scikit-learn, default /usr/bin/python3; this test re-runs itself
under it). Exit status: 0 pass, 1 fail, 77 skip (no scikit-learn or no data).
"""

import http.server
import importlib.machinery
import importlib.util
import io
import json
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zipfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("KEPLER_SRCDIR", os.path.join(HERE, "..", ".."))
DATA = os.environ.get("KEPLER_SHARED_DATA", os.path.join(SRC, "..", "shared", "data"))
PY = os.environ.get("KEPLER_PYTHON_SKLEARN", "/usr/bin/python3")
CSV = os.path.join(DATA, "specpower_ssj2008.csv")
DB = os.path.join(DATA, "kepler-model-db", "v0.7")
M5_SGD = os.path.join(DB, "ec2-0.7.11/rapl-sysfs/AbsPower/BPFOnly/SGDRegressorTrainer_0.json")
ACPI_SGD = os.path.join(DB, "specpower-0.7.11/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0.json")
DYN_LOG = os.path.join(DB, "ec2-0.7.11/rapl-sysfs/DynPower/CounterOnly/"
                       "LogarithmicRegressionTrainer_1.json")
SIDECAR = os.path.join(SRC, "estimator", "kepler-estimator")
TRAIN = os.path.join(SRC, "estimator", "train_estimator.py")

try:
    import numpy as np
    import sklearn  # noqa: F401
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath(PY) and subprocess.run(
            [PY, "-c", "import sklearn"], capture_output=True).returncode == 0:
        os.execv(PY, [PY, os.path.abspath(__file__)] + sys.argv[1:])
    print("SKIP: %s has no scikit-learn (Debian: python3-sklearn)" % PY)
    sys.exit(77)
if not os.path.exists(CSV):
    print("SKIP: no reference data at %s" % CSV)
    sys.exit(77)

sys.path.insert(0, os.path.join(SRC, "estimator"))
sys.path.insert(0, os.path.join(SRC, "models"))
import fit_default as fd  # noqa: E402
import train_estimator as te  # noqa: E402

_loader = importlib.machinery.SourceFileLoader("kepler_estimator", SIDECAR)
ke = importlib.util.module_from_spec(importlib.util.spec_from_loader(_loader.name, _loader))
_loader.exec_module(ke)

# What the C client sends about an m5.metal.
SYSTEM_FEATURES = ["cpu_architecture", "vendor", "processor", "cores", "chips", "threads",
                   "memory", "frequency", "threads_per_core"]
M5 = ["", "intel", "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", "48", "2", "96", "377",
      "2500", "2"]
METRICS = ["bpf_cpu_time_ms", "bpf_page_cache_hit", "bpf_net_rx_irq", "bpf_net_tx_irq",
           "bpf_block_irq"]
TMP = tempfile.mkdtemp(prefix="kepler-estimator-test-")
MODEL = os.path.join(TMP, "specpower-gbr.json")
FIT = {}  # the same training in this process: {"model", "archs"}


def setUpModule():
    out = subprocess.run([PY, TRAIN, "--csv", CSV, "--out", MODEL], capture_output=True,
                         text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError("train_estimator.py failed: %s" % out.stderr)
    print("training: %s" % out.stdout.strip(), flush=True)
    rows = fd.load(CSV)
    FIT["archs"] = te.architectures(rows)
    FIT["model"] = te.fit(rows, FIT["archs"])
    FIT["rows"] = rows


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def wait_for(what, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def request(values, source="acpi", output_type="AbsPower", system=M5, metrics=METRICS,
            trainer=""):
    return {"metrics": metrics, "values": values, "output_type": output_type, "source": source,
            "system_features": SYSTEM_FEATURES if system else [],
            "system_values": system or [], "trainer_name": trainer, "filter": ""}


def exchange(path, payload, shut_write=False, timeout=10.0):
    """Send bytes (or a request object), read the answer to EOF."""
    if not isinstance(payload, bytes):
        payload = json.dumps(payload).encode()
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        try:
            s.sendall(payload)
            if shut_write:  # as the C client does
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading (a refused oversize request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return json.loads(data)
            data += chunk


def gbr_expected(busy_ms, processor=M5[2], cpu_architecture=""):
    """The trees' answer for the m5 machine, by scikit-learn's predict."""
    arch = fd.architecture(processor) or cpu_architecture
    row = {"chips": 2.0, "cores": 48.0, "threads": 96.0, "memory_gb": 377.0, "cpu_mhz": 2500.0,
           "arch": arch, "key": fd.cpu_key(processor)}
    fd.set_tdp([row], fd.tdp_tables(FIT["rows"]))  # the TDP, as the sidecar computes it
    curve = te.predict(FIT["model"], [row], FIT["archs"])[0]
    return np.interp(np.clip(np.array(busy_ms) / 96000.0, 0, 1), fd.LEVELS, curve)


def sgd(path, component, x):
    """A Kepler linear file by kepler.md's equation, for bpf_cpu_time_ms = x."""
    with open(path) as f:
        w = json.load(f)[component]["All_Weights"]
    var = w["Numerical_Variables"]["bpf_cpu_time_ms"]
    return w["Bias_Weight"] + var["weight"] * x / var["scale"]


class Sidecar:
    """The real sidecar process on its own temp socket."""

    def __init__(self, *args, path=None):
        self.dir = tempfile.mkdtemp(dir=TMP)
        self.path = path or os.path.join(self.dir, "estimator.sock")
        self.log = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen([PY, SIDECAR, "--socket", self.path] + list(args),
                                     stdout=self.log, stderr=self.log)

    def stderr(self):
        with open(self.log.name) as f:
            return f.read()

    def wait_ready(self):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("sidecar exited %d:\n%s"
                                     % (self.proc.returncode, self.stderr()))
            return "INFO listening on " in self.stderr()
        wait_for("the sidecar to listen", ready)
        return self

    def ask(self, req, **kw):
        return exchange(self.path, req, **kw)

    def wait(self):
        rc = self.proc.wait(timeout=30)
        self.log.close()
        return rc

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait()


class Archive(unittest.TestCase):
    def test_numpy_evaluation_equals_sklearn(self):
        with open(MODEL) as f:
            trees = ke.Trees(json.load(f), MODEL)
        X = te.design(FIT["rows"], FIT["archs"])
        worst = float(np.max(np.abs(trees.raw(X) - FIT["model"].predict(X))))
        self.assertLessEqual(worst, 1e-9)
        print("archive vs sklearn predict on %d training rows: worst |diff| of ln W %.3g"
              % (len(X), worst), flush=True)


class Serving(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sidecar = Sidecar("--model", MODEL, "--model", M5_SGD, "--model", ACPI_SGD,
                              "--model", DYN_LOG).wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.sidecar.stop()

    def assert_refused(self, answer, *words):
        self.assertEqual(answer["powers"], {})
        self.assertEqual(answer["core_ratio"], 1)
        for w in words:
            self.assertIn(w, answer["msg"])

    def test_health_check(self):
        a = self.sidecar.ask(request([[0.0] * 5]))
        self.assertEqual(a["msg"], "")
        self.assertEqual(list(a["powers"]), ["platform"])
        self.assertEqual(len(a["powers"]["platform"]), 1)
        self.assertGreater(a["powers"]["platform"][0], 0)

    def test_client_request_gives_the_trees_answer(self):
        busy = [48000.0, 0.0]
        for shut in (False, True):  # Kepler's client keeps writing open, ours shuts it
            a = self.sidecar.ask(request([[busy[0], 5, 1, 2, 3], [0.0] * 5]), shut_write=shut)
            self.assertEqual(set(a), {"powers", "msg", "core_ratio"})
            self.assertEqual((a["msg"], a["core_ratio"]), ("", 1.0))
            got = a["powers"]["platform"]
            self.assertEqual(len(got), 2)
            self.assertLessEqual(got[1], got[0])  # idle row <= busy row
            np.testing.assert_allclose(got, gbr_expected(busy), rtol=0, atol=1e-6)
        print("m5.metal half load %.1f W, idle %.1f W" % tuple(got), flush=True)

    def test_utilization_range(self):
        busy = [0.0, 1000.0, 4800.0, 35500.0, 95999.0, 96000.0, 250000.0]
        got = self.sidecar.ask(request([[b, 0, 0, 0, 0] for b in busy]))["powers"]["platform"]
        np.testing.assert_allclose(got, gbr_expected(busy), rtol=0, atol=1e-6)
        self.assertEqual(got, sorted(got))  # non-decreasing in u
        self.assertEqual(got[-1], got[-2])  # above 1: clipped
        # No rule matches: the client's cpu_architecture names it.
        system = list(M5)
        system[0], system[2] = "skylake", "Some Future CPU"
        got = self.sidecar.ask(request([[48000.0, 0, 0, 0, 0]], system=system))["powers"]
        np.testing.assert_allclose(got["platform"], gbr_expected([48000.0], "Some Future CPU",
                                                                 "skylake"), rtol=0, atol=1e-6)

    def test_vm_is_a_share_of_its_host(self):
        """hypervisor 1: the VM's vCPUs' share of the typical host running at
        the VM's utilization, as the embedded default model has it."""
        host = fd.vm_host(FIT["rows"])
        vm = ["", "intel", M5[2], "1", "1", "2", "8", "2500", "2", "1"]
        busy = [1000.0, 0.0]  # one of two vCPUs busy: u = 0.5
        got = self.sidecar.ask({**request([[busy[0], 0, 0, 0, 0], [0.0] * 5], system=vm),
                                "system_features": SYSTEM_FEATURES + ["hypervisor"]})
        row = {"chips": 2.0, "cores": host["cores"], "threads": host["threads"],
               "memory_gb": host["memory_gb"], "cpu_mhz": 2500.0, "arch": fd.architecture(M5[2]),
               "key": fd.cpu_key(M5[2])}
        fd.set_tdp([row], fd.tdp_tables(FIT["rows"]))  # the VM's CPU in the host
        curve = te.predict(FIT["model"], [row], FIT["archs"])[0]
        want = 2 / host["threads"] * np.interp([0.5, 0.0], fd.LEVELS, np.maximum.accumulate(curve))
        np.testing.assert_allclose(got["powers"]["platform"], want, rtol=1e-9, atol=1e-9)
        print("a 2-vCPU VM at half load: %.2f W, idle %.2f W (host of %d threads)"
              % (*got["powers"]["platform"], host["threads"]), flush=True)

    def test_kepler_weight_files(self):
        a = self.sidecar.ask(request([[95877.0, 0, 0, 0, 0], [0.0] * 5], source="rapl-sysfs"))
        self.assertEqual(set(a["powers"]), {"package", "core", "uncore", "dram"})
        self.assertAlmostEqual(a["powers"]["package"][0], 448.96, delta=0.01)  # kepler.md 3
        self.assertAlmostEqual(a["powers"]["package"][1], 143.812, delta=0.001)
        self.assertAlmostEqual(a["powers"]["dram"][0], sgd(M5_SGD, "dram", 95877.0), delta=1e-9)
        # trainer_name picks Kepler's file over our lower-MAE trees.
        a = self.sidecar.ask(request([[2000.0, 0, 0, 0, 0]], trainer="SGDRegressorTrainer"))
        self.assertAlmostEqual(a["powers"]["platform"][0], sgd(ACPI_SGD, "platform", 2000.0),
                               delta=1e-9)
        # A curve fit, DynPower, counters: a*ln(b*x0 + 1) + c on cache_miss (first listed).
        x = {"cache_miss": 1e9, "cpu_cycles": 5e10, "cpu_instructions": 6e10}
        a = self.sidecar.ask(request([list(x.values())], source="rapl-sysfs",
                                     output_type="DynPower", metrics=list(x)))
        with open(DYN_LOG) as f:
            w = json.load(f)["package"]["All_Weights"]
        k, scale = w["CurveFit_Weights"], w["Numerical_Variables"]["cache_miss"]["scale"]
        self.assertAlmostEqual(a["powers"]["package"][0],
                               k[0] * np.log(k[1] * x["cache_miss"] / scale + 1) + k[2], delta=1e-9)

    def test_missing_system_values_fall_back(self):
        # The trees need the machine; the next acpi model does not.
        a = self.sidecar.ask(request([[2000.0, 0, 0, 0, 0]], system=None))
        self.assertAlmostEqual(a["powers"]["platform"][0], sgd(ACPI_SGD, "platform", 2000.0),
                               delta=1e-9)

    def test_unservable_requests(self):
        ask = self.sidecar.ask
        self.assert_refused(ask(request([[0.0] * 5], source="redfish")), "redfish")
        self.assert_refused(ask(request([[0.0] * 5], output_type="Power")), "output_type")
        self.assert_refused(ask(request([[0.0] * 4])), "values")
        self.assert_refused(ask(request([["x", 0, 0, 0, 0]])), "values")
        self.assert_refused(ask(b'{"metrics": ["a"}'), "malformed")  # ends in }, cannot parse
        self.assert_refused(ask(b'{"metrics": ["a}'), "within 2 s")  # may be still arriving
        self.assert_refused(ask(b'\xff{}'), "malformed")
        self.assert_refused(ask(b'{"metrics": [', shut_write=True), "malformed")
        self.assert_refused(ask(b"[1, 2]", shut_write=True), "object")
        self.assert_refused(ask(b"[" * 100000 + b"]" * 99999 + b"}", shut_write=True), "malformed")
        big = b'{"metrics": ["' + b"a" * (1 << 20) + b'"]}'
        self.assert_refused(ask(big), "over 1048576 bytes")
        self.assertIsNone(self.sidecar.proc.poll())
        self.assertEqual(ask(request([[0.0] * 5]))["msg"], "")  # still serving

    def test_silent_client_does_not_block_others(self):
        with socket.socket(socket.AF_UNIX) as silent:
            silent.connect(self.sidecar.path)
            start = time.monotonic()
            self.assertEqual(self.sidecar.ask(request([[0.0] * 5]))["msg"], "")
            served = time.monotonic() - start
            self.assertLess(served, 1.0)
            silent.settimeout(10)
            a = json.loads(silent.recv(65536))  # the server gives up on it after 2 s
            waited = time.monotonic() - start
        self.assert_refused(a, "within 2 s")
        self.assertGreater(waited, 1.5)
        print("second client served in %.3f s; the silent one answered after %.1f s"
              % (served, waited), flush=True)


class Lifecycle(unittest.TestCase):
    def test_stale_socket_mode_and_sigterm(self):
        path = os.path.join(tempfile.mkdtemp(dir=TMP), "estimator.sock")
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)
        stale.close()  # a socket file nobody listens on
        sidecar = Sidecar("--model", ACPI_SGD, path=path).wait_ready()
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o660)
        self.assertEqual(sidecar.ask(request([[0.0] * 5]))["msg"], "")
        # A second server on the same socket refuses to start.
        second = Sidecar("--model", ACPI_SGD, path=path)
        self.assertEqual(second.wait(), 1)
        self.assertIn("another server listens", second.stderr())
        self.assertEqual(sidecar.stop(), 0)
        self.assertFalse(os.path.exists(path))
        log = sidecar.stderr().splitlines()
        self.assertEqual(sum("listening on" in l for l in log), 1, log)
        self.assertEqual(sum(l.startswith("INFO loaded model") for l in log), 1, log)

    def test_bad_model_file_stops_the_start(self):
        bad = os.path.join(tempfile.mkdtemp(dir=TMP), "weights.json")
        shutil.copy(M5_SGD, bad)  # not under .../<source>/<output type>/
        sidecar = Sidecar("--model", bad)
        self.assertEqual(sidecar.wait(), 1)
        self.assertIn("cannot load model", sidecar.stderr())
        self.assertFalse(os.path.exists(sidecar.path))


def zipped(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


class FakeModelServer:
    """POST /model answers self.answer = (status, bytes); bodies are kept."""

    def __init__(self, tls=None):
        state = self
        self.answer, self.posts = (500, b""), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                state.posts.append((self.path, json.loads(body)))
                status, data = state.answer
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.httpd.server_port)

    def serve(self, status, data, polls=2):
        """Answer this from now on; return once the sidecar asked `polls` times."""
        self.answer = (status, data)
        n = len(self.posts)
        wait_for("%d model server polls" % polls, lambda: len(self.posts) >= n + polls)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ModelServer(unittest.TestCase):
    def setUp(self):
        with open(ACPI_SGD) as f:
            self.weights = f.read()
        self.server = FakeModelServer()
        self.addCleanup(self.server.close)

    def platform(self, sidecar, x=2000.0):
        a = sidecar.ask(request([[x, 0, 0, 0, 0]]))
        return a["powers"].get("platform", [None])[0], a

    def test_fetch_validate_keep_last_good(self):
        srv = self.server
        meta = {"model_name": "SGDRegressorTrainer_0", "mae": 5.0, "machine_spec": {"cores": 192}}
        srv.answer = (200, zipped({"SGDRegressorTrainer_0.json": self.weights,
                                   "metadata.json": json.dumps(meta)}))
        sidecar = Sidecar("--model-server", srv.url, "--refresh", "0.1").wait_ready()
        self.addCleanup(sidecar.stop)
        want = sgd(ACPI_SGD, "platform", 2000.0)
        wait_for("the fetched model", lambda: self.platform(sidecar)[0] is not None)
        w, a = self.platform(sidecar)
        self.assertAlmostEqual(w, want, delta=1e-9)
        self.assertEqual(a["core_ratio"], 0.5)  # 96 threads here, 192 on the training machine
        path, body = srv.posts[0]
        self.assertEqual(path, "/model")
        self.assertEqual({k: body[k] for k in ("metrics", "output_type", "source", "node_type",
                                               "weight", "trainer_name", "filter")},
                         {"metrics": METRICS, "output_type": "AbsPower", "source": "acpi",
                          "node_type": -1, "weight": False, "trainer_name": "", "filter": ""})
        self.assertEqual(set(body["machine_spec"]), {"vendor", "processor", "cores", "chips",
                                                     "memory", "frequency", "threads_per_core"})
        # An outage of several kinds: the last good model stays.
        for status, data in ((500, b"down"), (200, b"PK\x03\x04 not a zip"),
                             (200, zipped({"model.pkl": b"\x80\x04 pickle"})),
                             (200, zipped({"model.json": '{"format": "collectd-kepler-trees/1"}'})),
                             (200, json.dumps({"platform": {"All_Weights": {
                                 "Bias_Weight": float("nan"), "Categorical_Variables": {},
                                 "Numerical_Variables": {}}}}).encode())):
            srv.serve(status, data)
            self.assertAlmostEqual(self.platform(sidecar)[0], want, delta=1e-9)
        # Our archive in a zip, then a weight: true style plain JSON.
        with open(MODEL) as f:
            srv.serve(200, zipped({"model.json": f.read()}))
        trees = gbr_expected([2000.0])[0]
        wait_for("the trees", lambda: abs(self.platform(sidecar)[0] - trees) < 1e-6)
        doc = dict(json.loads(self.weights), model_name="SGDRegressorTrainer_0", mae=3.0)
        srv.serve(200, json.dumps(doc).encode())
        wait_for("the plain weights", lambda: abs(self.platform(sidecar)[0] - want) < 1e-9)
        self.assertEqual(self.platform(sidecar)[1]["core_ratio"], 1.0)  # no machine_spec
        self.assertEqual(sidecar.stop(), 0)
        log = sidecar.stderr()
        self.assertEqual(log.count("WARNING model server"), 1, log)  # one line per outage
        self.assertEqual(log.count("answers again"), 1, log)
        self.assertEqual(log.count("INFO loaded model"), 3, log)

    def test_https_verifies_the_certificate(self):
        if not shutil.which("openssl"):
            self.skipTest("no openssl to make a certificate")
        d = tempfile.mkdtemp(dir=TMP)
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        srv = FakeModelServer(tls)
        self.addCleanup(srv.close)
        srv.answer = (200, self.weights.encode())
        untrusted = Sidecar("--model-server", srv.url, "--refresh", "0.1").wait_ready()
        self.addCleanup(untrusted.stop)
        wait_for("a refused TLS handshake",
                 lambda: "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr())
        self.assertEqual(self.platform(untrusted)[1]["powers"], {})
        trusted = Sidecar("--model-server", srv.url, "--refresh", "0.1", "--ca-file", cert)
        self.addCleanup(trusted.stop)
        trusted.wait_ready()
        wait_for("the model over https", lambda: self.platform(trusted)[0] is not None)


if __name__ == "__main__":
    unittest.main(verbosity=2)
