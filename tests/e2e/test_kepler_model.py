#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of the kepler-model command (KEPLER_MODEL_CLI).

Every Kepler weight file under $KEPLER_SHARED_DATA/kepler-model-db is
predicted by the command and, independently, by the equations of
shared/notes/kepler.md section 3 written out again below in Python; the two
must agree within 1e-9 relative. check, convert, the embedded default,
--machine and the error paths are tested on files this test writes.
Exit status: 0 pass, 1 fail, 77 skip (the command is not built).
"""

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CLI = os.environ.get("KEPLER_MODEL_CLI", "")
MODEL_DB = os.path.join(os.environ.get("KEPLER_SHARED_DATA", ""), "kepler-model-db")
FEATURES = [
    "bpf_cpu_time_ms",
    "cpu_cycles",
    "cpu_instructions",
    "cache_miss",
    "bpf_page_cache_hit",
    "bpf_net_rx_irq",
    "bpf_net_tx_irq",
    "bpf_block_irq",
]
COMPONENTS = ["package", "core", "uncore", "dram", "platform"]
# Kepler's weight files are named <Trainer>_<n>.json; other JSON in the
# model db (node_type_index.json) describes machines, not models.
WEIGHT_FILE = re.compile(r"^([A-Za-z]+)_[0-9]+\.json$")


def run(*args):
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def predict(*args):
    rc, out, err = run("predict", *args)
    if rc != 0:
        raise AssertionError("predict %s: exit %d: %s" % (" ".join(args), rc, err))
    lines = out.splitlines()
    if len(lines) != 1:
        raise AssertionError("predict printed %d lines: %r" % (len(lines), out))
    return json.loads(lines[0])


def feature_args(x):
    return ["%s=%r" % (f, v) for f, v in sorted(x.items())]


def assert_close(test, got, want, what):
    test.assertLessEqual(
        abs(got - want), 1e-9 * max(1.0, abs(want)), "%s: got %.17g, want %.17g" % (what, got, want)
    )


# ------------------------------------------------ Kepler's equations, again


def input_value(name, x):
    """The per-second value a numerical variable reads. v0.6 files name CPU
    time in µs per second."""
    if name == "bpf_cpu_time_us":
        return 1000.0 * x.get("bpf_cpu_time_ms", 0.0)
    return x.get(name, 0.0)


def normalised(name, var, x):
    v = input_value(name, x)
    if var.get("variance", 0) > 0:  # v0.4-0.5: standardised
        return (v - var.get("mean", 0)) / math.sqrt(var["variance"])
    return v / var["scale"] if var["scale"] != 0 else 0.0


def safe_exp(z):
    try:
        return math.exp(z)
    except OverflowError:
        return math.inf


def equation(trainer, weights, x):
    """One component's Kepler equation, clipped: negative or not finite -> 0.
    No categorical weights apply: the bound machine matches no rule of a
    Kepler file (and the shared files state none)."""
    numerical = weights["Numerical_Variables"]
    if "Logarithmic" in trainer or "Exponential" in trainer or "Logistic" in trainer:
        name, var = next(iter(numerical.items()))  # x0: the first one listed
        x0 = normalised(name, var, x)
        k = weights["CurveFit_Weights"]
        if "Logarithmic" in trainer:
            arg = k[1] * x0 + 1
            p = k[0] * math.log(arg) + k[2] if arg > 0 else math.nan
        elif "Exponential" in trainer:
            p = k[0] * safe_exp(k[1] * x0) + k[2]
        else:  # logistic [A, x0', k, off]
            p = k[0] / (1 + safe_exp(-k[2] * (x0 - k[1]))) + k[3]
    else:
        p = weights.get("Bias_Weight", 0.0)
        for name, var in numerical.items():
            if var["weight"] != 0:
                p += var["weight"] * normalised(name, var, x)
    return p if math.isfinite(p) and p > 0 else 0.0


def fix_up(present, w):
    """package holds core and uncore; a core of 0 is package minus uncore."""
    if "package" in present and w["package"] < w["core"] + w["uncore"]:
        w["package"] = w["core"] + w["uncore"]
    if "core" in present and "package" in present and w["core"] == 0:
        w["core"] = max(w["package"] - w["uncore"], 0.0)


def total(present, w):
    if "platform" in present:
        return w["platform"]
    cpu = w["package"] if "package" in present else w["core"] + w["uncore"]
    return cpu + w["dram"]


def expected(path, x):
    """{component: (absolute, idle)} and the totals, per Kepler's node
    semantics with coreRatio 1 (a Kepler file states no training cores)."""
    trainer = WEIGHT_FILE.match(os.path.basename(path)).group(1)
    dyn = os.sep + "DynPower" + os.sep in path
    with open(path) as f:
        model = json.load(f)
    present = [c for c in COMPONENTS if c in model]
    absolute = dict.fromkeys(COMPONENTS, 0.0)
    idle = dict.fromkeys(COMPONENTS, 0.0)
    for c in present:
        weights = model[c]["All_Weights"]
        at_x = equation(trainer, weights, x)
        if dyn:
            absolute[c] = at_x
        else:
            at_0 = equation(trainer, weights, {})
            idle[c] = at_0
            absolute[c] = at_0 + max(at_x - at_0, 0.0)
    fix_up(present, absolute)
    fix_up(present, idle)
    for c in present:
        idle[c] = min(idle[c], absolute[c])
    comps = {c: (absolute[c], idle[c]) for c in present}
    return comps, (total(present, absolute), total(present, idle))


def used_features(path):
    """The features a file lists, by our names, with their scale in our
    units (v0.6 µs -> ms)."""
    with open(path) as f:
        model = json.load(f)
    scales = {}
    for comp in model.values():
        for name, var in comp["All_Weights"]["Numerical_Variables"].items():
            if name == "bpf_cpu_time_us":
                scales["bpf_cpu_time_ms"] = var["scale"] / 1000.0
            else:
                scales[name] = var["scale"]
    return scales


def feature_vectors(path):
    """All zero; every listed feature at a half, all, and three times its
    training maximum (the scale); the listed ones at different fractions, so
    that swapped features show; and every feature set, listed or not."""
    scales = used_features(path)
    vectors = [{}]
    for frac in (0.5, 1.0, 3.0):
        vectors.append({f: frac * s for f, s in scales.items()})
    fractions = [0.2, 0.7, 1.3, 0.05, 2.1]
    vectors.append({f: fractions[i % len(fractions)] * s for i, (f, s) in enumerate(sorted(scales.items()))})
    vectors.append({f: 1000.0 * (i + 1) for i, f in enumerate(FEATURES)})
    return vectors


def weight_files():
    found = []
    for dirpath, _dirs, files in os.walk(MODEL_DB):
        for name in files:
            if WEIGHT_FILE.match(name):
                found.append(os.path.join(dirpath, name))
    return sorted(found)


def assert_prediction(test, got, comps, totals, what):
    test.assertEqual(sorted(got["components"]), sorted(comps), what)
    for c, (absolute, idle) in comps.items():
        assert_close(test, got["components"][c]["absolute_w"], absolute, "%s %s absolute" % (what, c))
        assert_close(test, got["components"][c]["idle_w"], idle, "%s %s idle" % (what, c))
    assert_close(test, got["total"]["absolute_w"], totals[0], what + " total absolute")
    assert_close(test, got["total"]["idle_w"], totals[1], what + " total idle")


# ---------------------------------------------------------------- the tests


@unittest.skipUnless(os.path.isdir(MODEL_DB), "no shared kepler-model-db at %s" % MODEL_DB)
class SharedKeplerFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = weight_files()
        cls.tmp = tempfile.TemporaryDirectory(prefix="kepler_cli_")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_found_files(self):
        self.assertGreater(len(self.files), 0, "no <Trainer>_<n>.json under " + MODEL_DB)
        print("%d weight files" % len(self.files), flush=True)

    def test_predict_equals_kepler_equations(self):
        checked = 0
        for path in self.files:
            dyn = os.sep + "DynPower" + os.sep in path
            for x in feature_vectors(path):
                what = "%s at %r" % (os.path.relpath(path, MODEL_DB), x)
                got = predict("--model", path, *feature_args(x))
                self.assertEqual(got["origin"], path)
                self.assertEqual(got["output_type"], "DynPower" if dyn else "AbsPower")
                self.assertEqual(got["core_ratio"], 1)
                comps, totals = expected(path, x)
                assert_prediction(self, got, comps, totals, what)
                checked += 1
        print("%d predictions match" % checked, flush=True)

    def test_check_accepts_every_file(self):
        for path in self.files:
            rc, out, err = run("check", path)
            self.assertEqual(rc, 0, "%s: %s" % (path, err))
            self.assertTrue(out.startswith(path + ": ok:"), out)
            with open(path) as f:
                for c in json.load(f):
                    self.assertIn(c, out)

    def test_check_rejects_a_machine_index(self):
        """node_type_index.json is JSON but no model: a clear no."""
        for dirpath, _dirs, files in os.walk(MODEL_DB):
            for name in files:
                if name.endswith(".json") and not WEIGHT_FILE.match(name):
                    path = os.path.join(dirpath, name)
                    rc, _out, err = run("check", path)
                    self.assertEqual(rc, 1, path)
                    self.assertIn(path + ":1:", err)

    def test_convert_predicts_the_same(self):
        for i, path in enumerate(self.files):
            rc, yaml_text, err = run("convert", path)
            self.assertEqual(rc, 0, "%s: %s" % (path, err))
            converted = os.path.join(self.tmp.name, "converted_%d.yaml" % i)
            with open(converted, "w") as f:
                f.write(yaml_text)
            rc, _out, err = run("check", converted)
            self.assertEqual(rc, 0, "%s -> %s: %s" % (path, converted, err))
            for x in feature_vectors(path):
                args = feature_args(x)
                a = predict("--model", path, *args)
                b = predict("--model", converted, *args)
                self.assertEqual(b["output_type"], a["output_type"])
                comps = {c: (v["absolute_w"], v["idle_w"]) for c, v in a["components"].items()}
                totals = (a["total"]["absolute_w"], a["total"]["idle_w"])
                assert_prediction(self, b, comps, totals, "%s converted, at %r" % (path, x))


BROKEN_JSON = """{"package": {"All_Weights": {
  "Bias_Weight": 1.0,
  "Categorical_Variables": {} ,,
  "Numerical_Variables": {"bpf_cpu_time_ms": {"scale": 1, "weight": 1}}}}}
"""
UNKNOWN_FEATURE_JSON = """{"package": {"All_Weights": {
  "Bias_Weight": 1.0,
  "Categorical_Variables": {},
  "Numerical_Variables": {
    "bpf_cpu_tim": {"scale": 1, "weight": 1}}}}}
"""
UNKNOWN_KEY_YAML = """name: broken
output_type: AbsPower
source: test
colour: red
components:
  package: { bias: 1 }
"""
UNKNOWN_FEATURE_YAML = """name: broken
output_type: AbsPower
components:
  package:
    bias: 1
    weights:
      cpu_cycle: { weight: 1, scale: 1 }
"""
# A model with known numbers, for the tests of predict's plumbing.
FLAT_YAML = """name: flat
output_type: AbsPower
error:
  mae_w: 4.5
  mape_pct: 12.5
components:
  package:
    bias: 10
    weights:
      bpf_cpu_time_ms: { weight: 2, scale: 1000 }
      cache_miss: { weight: 3, scale: 1e6 }
  dram:
    bias: 1
"""


class Command(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="kepler_cli_")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def write(self, rel, text):
        path = os.path.join(self.tmp.name, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_rejected(self, path, line, *words):
        rc, out, err = run("check", path)
        self.assertEqual(rc, 1, out)
        self.assertEqual(out, "")
        self.assertIn("%s:%d:" % (path, line), err)
        for w in words:
            self.assertIn(w, err)

    def test_check_json_syntax_error(self):
        path = self.write("AbsPower/SGDRegressorTrainer_0.json", BROKEN_JSON)
        self.assert_rejected(path, 3, "JSON syntax error")

    def test_check_json_unknown_feature(self):
        path = self.write("AbsPower/SGDRegressorTrainer_1.json", UNKNOWN_FEATURE_JSON)
        self.assert_rejected(path, 5, '"bpf_cpu_tim"')

    def test_check_yaml_unknown_key(self):
        path = self.write("unknown_key.yaml", UNKNOWN_KEY_YAML)
        self.assert_rejected(path, 4, '"colour"')

    def test_check_yaml_unknown_feature(self):
        path = self.write("unknown_feature.yaml", UNKNOWN_FEATURE_YAML)
        self.assert_rejected(path, 7, '"cpu_cycle"')

    def test_check_missing_file(self):
        path = os.path.join(self.tmp.name, "absent.yaml")
        rc, _out, err = run("check", path)
        self.assertEqual(rc, 1)
        self.assertIn(path, err)

    def test_convert_invalid_utf8_loads_back(self):
        """Issue 14, D5: a JSON model with bytes that are not UTF-8 converts
        to YAML that check loads (each such byte written \\xNN)."""
        src = os.path.join(os.environ.get("KEPLER_SRCDIR", "."), "tests", "repro",
                           "convert-invalid-utf8-SGDRegressorTrainer_0.json")
        rc, yaml_text, err = run("convert", src)
        self.assertEqual(rc, 0, err)
        self.assertIn('"Sky\\xFFlake": 1.5', yaml_text)
        converted = self.write("converted_invalid_utf8.yaml", yaml_text)
        rc, out, err = run("check", converted)
        self.assertEqual(rc, 0, err)
        print("convert %s: exit 0; check of its output: %s" % (os.path.basename(src), out.strip()),
              flush=True)

    def test_predict_and_convert_reject_a_bad_model(self):
        path = self.write("unknown_key2.yaml", UNKNOWN_KEY_YAML)
        for args in (["predict", "--model", path], ["convert", path]):
            rc, out, err = run(*args)
            self.assertEqual(rc, 1, args)
            self.assertEqual(out, "")
            self.assertIn("%s:4:" % path, err)

    def test_check_summary(self):
        path = self.write("flat.yaml", FLAT_YAML)
        rc, out, err = run("check", path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 1)
        for word in ('"flat"', "AbsPower", "package", "dram", "bpf_cpu_time_ms", "cache_miss", "4.5", "12.5"):
            self.assertIn(word, out)
        self.assertNotIn("platform", out)

    def test_predict_flat_model(self):
        """package = 10 + 2 x 4 busy threads + 3 x 2e6/1e6, dram 1."""
        path = self.write("flat.yaml", FLAT_YAML)
        got = predict("--model", path, "bpf_cpu_time_ms=4000", "cache_miss=2e6")
        self.assertEqual(got["model"], "flat")
        self.assertEqual(got["origin"], path)
        self.assertEqual(got["output_type"], "AbsPower")
        self.assertEqual(list(got["components"]), ["package", "dram"])
        assert_close(self, got["components"]["package"]["absolute_w"], 24.0, "package")
        assert_close(self, got["components"]["package"]["idle_w"], 10.0, "package idle")
        assert_close(self, got["components"]["dram"]["absolute_w"], 1.0, "dram")
        assert_close(self, got["total"]["absolute_w"], 25.0, "total")
        assert_close(self, got["total"]["idle_w"], 11.0, "total idle")
        self.assertEqual(got["stated_error"], {"mae_w": 4.5, "mape_pct": 12.5})

    def test_predict_embedded_default(self):
        idle = predict()
        busy = predict("--machine", "threads=32", "bpf_cpu_time_ms=32000")
        for got in (idle, busy):
            self.assertTrue(got["model"].startswith("default"), got["model"])
            self.assertEqual(got["origin"], "embedded models/default.yaml")
            self.assertEqual(got["output_type"], "AbsPower")
            self.assertGreater(len(got["components"]), 0)
            self.assertGreaterEqual(got["total"]["absolute_w"], got["total"]["idle_w"])
        self.assertGreater(idle["total"]["absolute_w"], 0)
        self.assertGreater(busy["total"]["absolute_w"], idle["total"]["absolute_w"])

    def test_machine_read_from_proc(self):
        with open("/proc/cpuinfo") as f:
            processors = sum(1 for line in f if re.match(r"processor\s*:", line))
        got = predict()["machine"]
        self.assertEqual(got["threads"], processors)
        self.assertGreaterEqual(got["chips"], 1)
        self.assertGreaterEqual(got["cores"], got["chips"])
        self.assertLessEqual(got["cores"], got["threads"])
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"^MemTotal:\s+(\d+) kB", f.read(), re.M).group(1))
        assert_close(self, got["memory_gb"], kb / 1048576.0, "memory_gb")

    def test_machine_overrides(self):
        cpu = 'Fancy "CPU", rev 2 \\ x'  # a comma, quotes, a backslash
        got = predict(
            "--machine",
            "cpu=%s,threads=32,cores=16" % cpu,
            "--machine=chips=2,memory_gb=128.5,mhz=2300",
            "--machine",
            "vendor=GenuineIntel,hypervisor=true",
        )["machine"]
        self.assertEqual(
            got,
            {
                "cpu": cpu,
                "architecture": got["architecture"],
                "architecture_from": got["architecture_from"],
                # cpu= names another CPU: this host's CPUID no longer applies.
                "cpu_family": 0,
                "cpu_model": 0,
                "cpu_stepping": 0,
                "tdp_w": got["tdp_w"],
                "vendor": "GenuineIntel",
                "chips": 2,
                "cores": 16,
                "threads": 32,
                "memory_gb": 128.5,
                "mhz": 2300,
                "hypervisor": True,
            },
        )
        self.assertIs(predict("--machine", "hypervisor=0")["machine"]["hypervisor"], False)

    def test_vendor_follows_the_cpu_name(self):
        """--machine cpu=NAME: the vendor the name names, whatever this host's
        is; vendor= still wins, in any order; a name without a maker keeps
        this host's vendor."""
        def machine(arg):
            return predict("--machine", arg)["machine"]
        amd = machine("cpu=AMD EPYC 7742 64-Core Processor")
        self.assertEqual((amd["vendor"], amd["architecture"], amd["architecture_from"]),
                         ("AuthenticAMD", "epyc-gen2", "name"))
        intel = machine("cpu=Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz")
        self.assertEqual((intel["vendor"], intel["architecture"]), ("GenuineIntel", "skylake"))
        # The TDP of that CPU, by name, x this host's sockets.
        assert_close(self, intel["tdp_w"], 140.0 * intel["chips"], "tdp_w")
        self.assertEqual(machine("vendor=Other,cpu=AMD EPYC 7742")["vendor"], "Other")
        self.assertEqual(machine("cpu=AMD EPYC 7742,vendor=Other")["vendor"], "Other")
        self.assertEqual(machine("cpu=Ampere Altra Q80-30")["vendor"], "Ampere")
        host = predict()["machine"]["vendor"]
        self.assertEqual(machine("cpu=Common KVM processor")["vendor"], host)
        # A generic name with the CPUID numbers given: the cpuid_rules decide.
        zen4 = machine("cpu=AMD EPYC,cpu_family=25,cpu_model=17,cpu_stepping=1,hypervisor=1")
        self.assertEqual((zen4["vendor"], zen4["architecture"], zen4["architecture_from"]),
                         ("AuthenticAMD", "epyc-gen3", "cpuid"))

    def assert_usage_error(self, args, *words):
        rc, out, err = run(*args)
        self.assertEqual(rc, 1, "%r: %s" % (args, out))
        self.assertEqual(out, "")
        for w in words:
            self.assertIn(w, err, args)

    def test_bad_arguments(self):
        self.assert_usage_error(["predict", "bpf_cpu_time=1"], '"bpf_cpu_time"')
        self.assert_usage_error(["predict", "cpu_cycles=abc"], '"cpu_cycles"', '"abc"')
        self.assert_usage_error(["predict", "cpu_cycles=-5"], '"cpu_cycles"', '"-5"')
        self.assert_usage_error(["predict", "cpu_cycles=inf"], '"cpu_cycles"')
        self.assert_usage_error(["predict", "cpu_cycles=1", "cpu_cycles=2"], '"cpu_cycles"')
        self.assert_usage_error(["predict", "cpu_cycles"], '"cpu_cycles"')
        self.assert_usage_error(["predict", "--machine", "thread=4"], '"thread"')
        self.assert_usage_error(["predict", "--machine", "threads=four"], '"threads"', '"four"')
        self.assert_usage_error(["predict", "--machine", "threads=4,cores=x"], '"cores"', '"x"')
        self.assert_usage_error(["predict", "--machine", "hypervisor=yes"], '"hypervisor"', '"yes"')
        self.assert_usage_error(["predict", "--machine"], "--machine")
        self.assert_usage_error(["predict", "--model"], "--model")
        self.assert_usage_error(["predict", "--frobnicate"], "--frobnicate")
        self.assert_usage_error(["frobnicate"], '"frobnicate"')
        self.assert_usage_error([], "command")
        self.assert_usage_error(["check"], "check")
        self.assert_usage_error(["convert", "a", "b"], "convert")

    def test_help_mentions_every_command(self):
        rc, out, _err = run("--help")
        self.assertEqual(rc, 0)
        for word in ("predict", "check", "convert", "--model", "--machine", "bpf_cpu_time_ms=32000"):
            self.assertIn(word, out)
        for f in FEATURES:
            self.assertIn(f, out)
        rc2, out2, _err = run("predict", "--help")
        self.assertEqual((rc2, out2), (0, out))


if __name__ == "__main__":
    if not os.access(CLI, os.X_OK):
        print("SKIP: KEPLER_MODEL_CLI is not an executable: %r" % CLI)
        sys.exit(77)
    h.run_tests()
