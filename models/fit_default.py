#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Fit the embedded default power model to SPECpower_ssj2008 results and
write models/default.yaml and models/ACCURACY.md.

    /usr/bin/python3 models/fit_default.py --csv ../shared/data/specpower_ssj2008.csv \
        --yaml models/default.yaml --report models/ACCURACY.md

(`make accuracy` runs exactly this.) The output is deterministic: the same CSV
gives the same bytes.

The model sees only what a Linux host can see: the CPU model name (mapped to
an architecture by the regular expressions in ARCH_RULES, which the C side
applies to /proc/cpuinfo's "model name"; a generic name falls back to
CPUID_RULES on the CPU's vendor, family, model and stepping), sockets
(chips), cores, threads, memory, the nominal clock and the total TDP (by
the CPU name's key from the TDP table, else estimated from cores per chip,
clock and architecture; the C side computes it the same way). For each of SPECpower's 11 load levels it
predicts the log of the whole-server AC power at idle, and at every other
level the log of the power above idle:

    ln W_0 = intercept_0 + sum_t coef_t0 * ln(machine value t) + arch_0
    ln (W_j - W_0) = intercept_j + sum_t coef_tj * ln(machine value t) + arch_j

fitted by ridge regression reweighted to least absolute deviations (the
penalty chosen by cross-validation inside each training set); the C side interpolates linearly between levels, at
utilization u = bpf_cpu_time_ms / (1000 * threads), and keeps W
non-decreasing in u. See models/README.md (load_curve).
"""

import argparse
import csv
import math
import re
import sys

import numpy as np

LEVELS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
POWER_COLUMNS = ["idle_w"] + ["w%d" % (10 * i) for i in range(1, 11)]
TERMS = ["ln_threads", "ln_cores", "ln_chips", "ln_memory_gb", "ln_mhz", "ln_tdp_w"]
TERM_COLUMNS = {"ln_threads": "threads", "ln_cores": "cores", "ln_chips": "chips",
                "ln_memory_gb": "memory_gb", "ln_mhz": "cpu_mhz", "ln_tdp_w": "tdp_total"}
FOLDS = 10
SEED = 20261122
LAMBDAS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]

# CPU model name -> architecture. POSIX extended regular expressions, matched
# case-insensitively; the first match wins. Names follow the CSV's
# `architecture` column; kabylake is folded into skylake (same core, one
# result), Cooper Lake into cascadelake (same process and core, 5 results),
# and the CSV's unlabelled NetBurst-era parts get "netburst". Parts newer
# than the data map to the newest architecture of their line in it, so that
# they are not predicted as an average of 2004-2022 servers.
ARCH_RULES = [
    ("EPYC[^0-9]*[4789][0-9]{2}[3-9]", "epyc-gen3"),  # 7003 and newer
    ("EPYC[^0-9]*7[0-9]{2}2", "epyc-gen2"),
    ("EPYC[^0-9]*7[0-9]{2}1", "epyc-gen1"),
    ("Opteron", "opteron"),
    ("(Platinum|Gold|Silver|Bronze)[^0-9]*[3-9]1[0-9]{2}", "skylake"),
    ("(Platinum|Gold|Silver|Bronze)[^0-9]*[3-9]2[0-9]{2}", "cascadelake"),
    ("(Platinum|Gold|Silver|Bronze)[^0-9]*[3-9]3[0-9]{2}H", "cascadelake"),
    ("(Platinum|Gold|Silver|Bronze)[^0-9]*[3-9][3-9][0-9]{2}", "icelake"),
    ("Xeon[^0-9]*6[0-9]{3}[EP]|Xeon 6", "icelake"),
    ("E[357]-[0-9]{4}[A-Z]* ?v4", "broadwell"),
    ("E[357]-[0-9]{4}[A-Z]* ?v3", "haswell"),
    ("E[357]-[0-9]{4}[A-Z]* ?v2", "ivybridge"),
    ("E3-[0-9]{4}[A-Z]* ?v[56]", "skylake"),
    ("E7-[0-9]{4}", "nehalem"),
    ("E[35]-[0-9]{4}", "sandybridge"),
    ("E-23[0-9]{2}", "rocketlake"),
    ("E-2[12][0-9]{2}", "coffeelake"),
    ("i[3579]-4[0-9]{3}", "haswell"),
    ("i[3579]-[0-9]{3}([^0-9]|$)", "nehalem"),
    ("[XLEW](3[4-6]|5[5-6]|6[5-6]|7[5-6])[0-9]{2}", "nehalem"),
    ("(Xeon|Intel)[^0-9]*[XLE]?(3[0-3]|5[0-4]|7[23])[0-9]{2}([^0-9]|$)", "core"),
    ("Pentium D|Xeon[^0-9]*71[0-9]{2}|Xeon( Processor)? [0-9.]+ ?GHz", "netburst"),
]
# What the CPU says about itself (CPUID: vendor_id, "cpu family", "model",
# "stepping" in /proc/cpuinfo) -> architecture, for the names that say
# nothing ("AMD EPYC", "Intel Xeon Processor (Icelake)", "Intel(R) Xeon(R)
# Processor"): consulted only when no name rule matches. Family and model
# numbers as Intel's and AMD's manuals (and Linux's intel-family.h) list
# them; like the name rules, parts newer than the data map to the newest
# architecture of their line in it (Sapphire/Emerald/Granite Rapids ->
# icelake, Zen 4/5 -> epyc-gen3). Entries: (vendor, family, models,
# steppings, hypervisor, name); None = any.
CPUID_RULES = [
    ("GenuineIntel", 6, ["15", "22-23", "29"], None, None, "core"),
    ("GenuineIntel", 6, ["26", "30-31", "37", "44", "46-47"], None, None, "nehalem"),
    ("GenuineIntel", 6, ["42", "45"], None, None, "sandybridge"),
    ("GenuineIntel", 6, ["58", "62"], None, None, "ivybridge"),
    ("GenuineIntel", 6, ["60", "63", "69-70"], None, None, "haswell"),
    ("GenuineIntel", 6, ["61", "71", "79", "86"], None, None, "broadwell"),
    ("GenuineIntel", 6, ["85"], ["0-4"], None, "skylake"),  # Skylake-SP
    ("GenuineIntel", 6, ["85"], None, None, "cascadelake"),  # 5-7; Cooper Lake 10-11
    ("GenuineIntel", 6, ["78", "94", "142"], None, None, "skylake"),
    ("GenuineIntel", 6, ["158"], ["0-9"], None, "skylake"),  # Kaby Lake (E3 v6)
    ("GenuineIntel", 6, ["158", "165-166"], None, None, "coffeelake"),
    ("GenuineIntel", 6, ["106", "108", "125-126", "140-141"], None, None, "icelake"),
    ("GenuineIntel", 6, ["143", "173", "175", "207"], None, None, "icelake"),  # SPR, GNR, SRF, EMR
    ("GenuineIntel", 6, ["151", "154", "167", "183", "186", "191"], None, None, "rocketlake"),
    # Real NetBurst Xeons; QEMU's "Common KVM processor" (kvm64) also says
    # family 15 model 6, but always with the hypervisor flag: no rule for it.
    ("GenuineIntel", 15, None, None, False, "netburst"),
    ("AuthenticAMD", 15, None, None, False, "opteron"),  # K8
    ("AuthenticAMD", 16, None, None, None, "opteron"),  # K10
    ("AuthenticAMD", 21, None, None, None, "opteron"),  # Bulldozer, Piledriver
    ("AuthenticAMD", 23, ["0-47"], None, None, "epyc-gen1"),  # Zen, Zen+ (Naples: 1)
    ("AuthenticAMD", 23, None, None, None, "epyc-gen2"),  # Zen 2 (Rome: 49)
    ("AuthenticAMD", 25, None, None, None, "epyc-gen3"),  # Zen 3 (Milan: 1), Zen 4 (Genoa: 17)
    ("AuthenticAMD", 26, None, None, None, "epyc-gen3"),  # Zen 5
    ("HygonGenuine", 24, None, None, None, "epyc-gen1"),  # Dhyana: Zen
]


def cpuid_architecture(vendor, family, model, stepping, hypervisor):
    """The architecture the CPUID rules give; "" when none matches."""
    def within(ranges, v):
        if ranges is None:
            return True
        for r in ranges:
            lo, _, hi = r.partition("-")
            if int(lo) <= v <= int(hi or lo):
                return True
        return False
    for rv, rf, models, steppings, hyp, name in CPUID_RULES:
        if (rv == vendor and rf == family and within(models, model)
                and within(steppings, stepping) and (hyp is None or hyp == hypervisor)):
            return name
    return ""


# The key of a CPU model name in the model's TDP table: the same function
# as model_cpu_key in plugin/estimate/model.c.
KEY_DROP = {"INTEL", "AMD", "XEON", "CPU", "PROCESSOR", "CORE", "GHZ", "MHZ"}


def cpu_key(name):
    s = name
    for t in ("(R)", "(r)", "(TM)", "(tm)", "(Tm)", "(tM)"):
        s = s.replace(t, " ")
    for i, ch in enumerate(s):
        if ch in "@([,":
            s = s[:i]
            break
    s = s.upper()
    words = []
    for w in s.split():
        digits = w[:-3] if len(w) >= 3 and w[-3:] in ("GHZ", "MHZ") else w
        if (w in KEY_DROP or (len(w) >= 5 and w.endswith("-CORE"))
                or (digits and all(c in "0123456789." for c in digits)
                    and (digits != w or "." in digits))):
            continue
        suffix = (len(w) >= 2 and w[0] == "V" and w[1:].isdigit()) or w in ("HE", "EE", "SE")
        if words and suffix:
            words[-1] += w
        else:
            words.append(w)
    return " ".join(words)


# The CSV's own labels, folded as above, for the agreement check.
CSV_ARCH_FOLD = {"kabylabe": "skylake", "cooperlake": "cascadelake", "epyc": "epyc-gen3",
                 "": "netburst"}


def architecture(cpu_name):
    for pattern, name in ARCH_RULES:
        if re.search(pattern, cpu_name, re.IGNORECASE):
            return name
    return ""


# Ridge penalty of the TDP estimate (not chosen by CV: it only keeps the
# rare architectures' rows finite).
TDP_RIDGE = 0.1


def tdp_design(r, archs):
    return [1.0, math.log(r["cores"] / r["chips"]), math.log(r["cpu_mhz"])] + \
        [1.0 if r["arch"] == a else 0.0 for a in archs]


def tdp_tables(rows):
    """What the model file's tdp block holds: W per chip by CPU name key
    (the median of the results that state it), and, for a CPU the table
    lacks, an estimate of ln W per chip from cores per chip, the clock and
    the architecture (ridge regression over the results that state a TDP)."""
    by_cpu = {}
    X, y = [], []
    archs = sorted({r["arch"] for r in rows if r["tdp_w"] and r["arch"]})
    for r in rows:
        if r["tdp_w"]:
            if r["key"]:
                by_cpu.setdefault(r["key"], []).append(r["tdp_w"])
            X.append(tdp_design(r, archs))
            y.append(math.log(r["tdp_w"]))
    X, y = np.array(X), np.array(y)
    penalty = TDP_RIDGE * np.eye(X.shape[1])
    penalty[0, 0] = 0
    w = np.linalg.solve(X.T @ X + penalty, X.T @ y)
    estimate = {"intercept": float(w[0]), "ln_cores_per_chip": float(w[1]), "ln_mhz": float(w[2]),
                "architecture": {a: float(w[3 + i]) for i, a in enumerate(archs)}}
    return {k: float(np.median(ws)) for k, ws in by_cpu.items()}, estimate


def set_tdp(rows, tables):
    """Each result's total TDP as the C side computes it (machine_tdp_w)."""
    by_cpu, est = tables
    for r in rows:
        if r["key"] in by_cpu:
            r["tdp_total"] = by_cpu[r["key"]] * r["chips"]
        else:
            e = (est["intercept"] + est["ln_cores_per_chip"] * math.log(r["cores"] / r["chips"])
                 + est["ln_mhz"] * math.log(r["cpu_mhz"]) + est["architecture"].get(r["arch"], 0.0))
            r["tdp_total"] = math.exp(e) * r["chips"]


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append({
                "group": (r["vendor"], r["model"], r["cpu_name"]),
                "cpu": r["cpu_name"],
                "csv_arch": CSV_ARCH_FOLD.get(r["architecture"], r["architecture"]),
                "arch": architecture(r["cpu_name"]),
                "threads": float(r["threads"]), "cores": float(r["cores"]),
                "chips": float(r["chips"]), "memory_gb": float(r["memory_gb"]),
                "cpu_mhz": float(r["cpu_mhz"]),
                "tdp_w": float(r["tdp_w"]) if r["tdp_w"] else None,
                "hw_year": int(r["hw_year"]),
                "power": [float(r[c]) for c in POWER_COLUMNS],
                "key": cpu_key(r["cpu_name"]),
            })
    set_tdp(rows, tdp_tables(rows))
    return rows


class Fit:
    """Per-level ridge regression on the machine terms and a one-hot
    architecture (no reference level: the penalty makes it identifiable, and
    an unknown architecture gets 0, the average). Level 0 fits ln W_0 (idle);
    every other level fits the log of the power above idle, so that no
    machine, however far from the data, is predicted below its idle power
    (load_curve `form: above_idle`)."""

    # A result whose power at a level is not above its idle (measurement
    # noise at 10 % load) counts as this many W above idle.
    MIN_ABOVE_IDLE_W = 0.5
    # Reweighting steps, and the residual (in ln W) below which a result's
    # weight stops growing.
    IRLS_STEPS = 10
    IRLS_FLOOR = 0.1

    def __init__(self, rows, lam, archs):
        self.archs = archs
        X = self.design(rows)
        P = np.array([r["power"] for r in rows])
        above = np.maximum(P[:, 1:] - P[:, :1], self.MIN_ABOVE_IDLE_W)
        Y = np.log(np.column_stack([P[:, 0], above]))
        penalty = lam * np.eye(X.shape[1])
        penalty[0, 0] = 0  # the intercept is not shrunk
        W = np.linalg.solve(X.T @ X + penalty, X.T @ Y)  # (features, levels)
        # Least absolute deviations in ln W (iteratively reweighted least
        # squares): the error that counts is relative, and a few unusual
        # servers (many disks, an odd power supply) should not pull the fit.
        for _ in range(self.IRLS_STEPS):
            for j in range(Y.shape[1]):
                w = 1 / np.maximum(np.abs(Y[:, j] - X @ W[:, j]), self.IRLS_FLOOR)
                Xw = X * w[:, None]
                W[:, j] = np.linalg.solve(X.T @ Xw + penalty * w.mean(), Xw.T @ Y[:, j])
        self.W = W
        self.lam = lam

    def design(self, rows):
        cols = [[1.0] for _ in rows]
        for i, r in enumerate(rows):
            cols[i] += [math.log(r[TERM_COLUMNS[t]]) for t in TERMS]
            cols[i] += [1.0 if r["arch"] == a else 0.0 for a in self.archs]
        return np.array(cols)

    def predict(self, rows):
        """W at each level, kept non-decreasing as the C side does."""
        E = np.exp(self.design(rows) @ self.W)
        W = np.column_stack([E[:, 0], E[:, :1] + E[:, 1:]])
        return np.maximum.accumulate(W, axis=1)


def group_folds(rows, k, seed):
    groups = sorted({r["group"] for r in rows})
    order = np.random.RandomState(seed).permutation(len(groups))
    fold_of = {groups[g]: i % k for i, g in enumerate(order)}
    return [[i for i, r in enumerate(rows) if fold_of[r["group"]] == f] for f in range(k)]


def errors(pred, rows):
    P = np.array([r["power"] for r in rows])
    return np.abs(pred - P), np.abs(pred - P) / P


def choose_lambda(rows, archs):
    """The penalty with the lowest 5-fold grouped CV MAPE on these rows."""
    best = None
    for lam in LAMBDAS:
        ape = []
        for test in group_folds(rows, 5, SEED + 1):
            tset = set(test)
            train = [r for i, r in enumerate(rows) if i not in tset]
            fit = Fit(train, lam, archs)
            ape.append(errors(fit.predict([rows[i] for i in test]), [rows[i] for i in test])[1])
        mape = np.concatenate(ape).mean()
        if best is None or mape < best[0]:
            best = (mape, lam)
    return best[1]


def cross_validate(rows, archs, tdp="table"):
    """10-fold CV, folds grouped by system (vendor, model, CPU), the penalty
    chosen inside each training set. Returns per-row predictions.

    tdp says what the held-out results' TDP is: "table", the shipped TDP
    table's (a CPU whose TDP is known, by name); "unseen", a table built
    from the training folds only (a CPU name the table may not know);
    "architecture", always W per core of the architecture (a cloud VM whose
    CPU name hides the SKU)."""
    pred = np.zeros((len(rows), len(LEVELS)))
    lams = []
    for test in group_folds(rows, FOLDS, SEED):
        tset = set(test)
        train = [r for i, r in enumerate(rows) if i not in tset]
        held = [dict(rows[i]) for i in test]
        if tdp != "table":
            tables = tdp_tables(train)
            if tdp == "architecture":
                tables = ({}, tables[1])
            set_tdp(held, tables)
        lam = choose_lambda(train, archs)
        lams.append(lam)
        pred[test] = Fit(train, lam, archs).predict(held)
    return pred, lams


def tdp_baseline(rows):
    """Total TDP x the median load curve (per W of TDP), cross-validated the
    same way; over the results that state a TDP."""
    rows = [r for r in rows if r["tdp_w"]]
    pred = np.zeros((len(rows), len(LEVELS)))
    for test in group_folds(rows, FOLDS, SEED):
        tset = set(test)
        train = [r for i, r in enumerate(rows) if i not in tset]
        curve = np.median([np.array(r["power"]) / (r["tdp_w"] * r["chips"]) for r in train], axis=0)
        for i in test:
            pred[i] = curve * rows[i]["tdp_w"] * rows[i]["chips"]
    return pred, rows


def minmax_baseline(rows):
    """A straight line through each machine's own idle and 100 % power: the
    floor for a model that knows only those two points."""
    P = np.array([r["power"] for r in rows])
    return P[:, :1] + (P[:, -1:] - P[:, :1]) * np.array(LEVELS)


def summary(pred, rows):
    ae, ape = errors(pred, rows)
    P = np.array([r["power"] for r in rows])
    return {"mae": ae.mean(), "mape": 100 * ape.mean(), "lo": P.min(), "hi": P.max(),
            "n": len(rows), "points": P.size}


def vm_host(rows):
    """The host a VM is taken to be a share of: the median two-socket server
    of the last five years of the data."""
    last = max(r["hw_year"] for r in rows)
    recent = [r for r in rows if r["chips"] == 2 and r["hw_year"] > last - 5]

    def med(key):
        return float(np.median([r[key] for r in recent]))

    return {"chips": 2, "cores": med("cores"), "threads": med("threads"),
            "memory_gb": med("memory_gb"), "n": len(recent), "since": last - 4}


def number(x):
    return repr(float(x))


def numbers(v):
    return "[" + ", ".join(number(x) for x in v) + "]"


def write_yaml(path, fit, cv, host, nrows, tables):
    W = fit.W
    lines = [
        "# SPDX-License-Identifier: GPL-2.0-only",
        "# collectd-kepler default power model: whole-server power of a machine",
        "# with no power meter, from what Linux shows of it. GENERATED by",
        "# models/fit_default.py from SPECpower_ssj2008 results; do not edit.",
        "# Regenerate with `make accuracy`; models/ACCURACY.md has its error.",
        "#",
        "# One component, platform (SPECpower measures AC power at the wall). At",
        "# idle (level 0), ln W_0 = intercept_0 + the terms' coefficients times ln",
        "# of the machine's threads, cores, chips (sockets), memory (GB) and",
        "# nominal MHz and total TDP (W) + the row of its architecture, which the",
        "# cpu_architectures rules derive from the CPU model name, else the",
        "# cpuid_rules from its CPUID vendor, family, model and stepping (no match",
        "# adds nothing: an average machine). The TDP is tdp.by_cpu's W per chip",
        "# for the CPU name's key x chips, else exp(tdp.estimate: intercept +",
        "# ln_cores_per_chip x ln(cores / chips) + ln_mhz x ln MHz + the",
        "# architecture's row) x chips. At every other load level j the",
        "# same sum gives ln (W_j - W_0),",
        "# the power above idle (form: above_idle). W at utilization u =",
        "# bpf_cpu_time_ms / (1000 * threads) is interpolated between levels,",
        "# never decreasing in u.",
        "#",
        "# In a VM (the cpuinfo hypervisor flag) the model gives the VM's share of",
        "# its host by vCPUs: the host is taken to be vm_host (the median",
        "# two-socket server of the data's last five years) with the VM's CPU,",
        "# running at the VM's utilization, and its power is scaled by",
        "# VM threads / vm_host threads (its TDP: the VM CPU's W per chip, by",
        "# name or estimated with vm_host's cores per chip, x vm_host chips).",
        "name: default-specpower-v2",
        "output_type: AbsPower",
        'source: "SPECpower_ssj2008, %d results (green-coding-solutions/cloud-energy), '
        'models/fit_default.py"' % nrows,
        "error:",
        "  mae_w: %s" % number(round(cv["mae"], 2)),
        "  mape_pct: %s" % number(round(cv["mape"], 2)),
        "cpu_architectures:",
    ]
    for pattern, name in ARCH_RULES:
        lines.append('  - { match: "%s", name: %s }' % (pattern, name))
    lines.append("cpuid_rules:")
    for vendor, family, models, steppings, hyp, name in CPUID_RULES:
        item = "  - { vendor: %s, family: %d" % (vendor, family)
        if models is not None:
            item += ", models: [%s]" % ", ".join(models)
        if steppings is not None:
            item += ", steppings: [%s]" % ", ".join(steppings)
        if hyp is not None:
            item += ", hypervisor: %s" % ("true" if hyp else "false")
        lines.append(item + ", name: %s }" % name)
    by_cpu, est = tables
    lines.append("tdp:")
    lines.append("  by_cpu:")
    for k in sorted(by_cpu):
        lines.append('    "%s": %s' % (k, number(by_cpu[k])))
    lines.append("  estimate:")
    for k in ("intercept", "ln_cores_per_chip", "ln_mhz"):
        lines.append("    %s: %s" % (k, number(est[k])))
    lines.append("    architecture:")
    for a in sorted(est["architecture"]):
        lines.append("      %s: %s" % (a, number(est["architecture"][a])))
    lines += [
        "components:",
        "  platform:",
        "    type: load_curve",
        "    utilization: { feature: bpf_cpu_time_ms, scale: 1000 }",
        "    levels: %s" % numbers(LEVELS),
        "    intercept: %s" % numbers(W[0]),
        "    terms:",
    ]
    for i, t in enumerate(TERMS):
        lines.append("      %s: %s" % (t, numbers(W[1 + i])))
    lines.append("    architecture:")
    for i, a in enumerate(fit.archs):
        lines.append("      %s: %s" % (a, numbers(W[1 + len(TERMS) + i])))
    lines.append("    form: above_idle")
    lines.append("    vm_host: { chips: %d, cores: %s, threads: %s, memory_gb: %s }"
                 % (host["chips"], number(host["cores"]), number(host["threads"]),
                    number(host["memory_gb"])))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def table(rows_out, header):
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows_out]
    return out


def sanity(fit, tables):
    """Predictions for machines outside the data's bulk."""
    cases = [("1 chip, 4 threads, 8 GB, 3.0 GHz, unknown CPU", 1, 4, 4, 8, 3000, ""),
             ("2 chips, 64 threads, 256 GB, 2.3 GHz, icelake", 2, 32, 64, 256, 2300, "icelake"),
             ("8 chips, 448 threads, 6 TB, 2.5 GHz, cascadelake", 8, 224, 448, 6144, 2500,
              "cascadelake")]
    out = []
    for label, chips, cores, threads, mem, mhz, arch in cases:
        r = {"threads": threads, "cores": cores, "chips": chips, "memory_gb": mem,
             "cpu_mhz": mhz, "arch": arch, "key": ""}
        set_tdp([r], tables)
        w = fit.predict([r])[0]
        out.append((label, w[0], w[5], w[10]))
    return out


# Machine sizes for the per-size table: (label, test on a result).
SIZES = [
    ("1 socket, up to 8 threads", lambda r: r["chips"] == 1 and r["threads"] <= 8),
    ("1 socket, 9-32 threads", lambda r: r["chips"] == 1 and 8 < r["threads"] <= 32),
    ("1 socket, over 32 threads", lambda r: r["chips"] == 1 and r["threads"] > 32),
    ("2 sockets, up to 16 threads", lambda r: r["chips"] == 2 and r["threads"] <= 16),
    ("2 sockets, 17-64 threads", lambda r: r["chips"] == 2 and 16 < r["threads"] <= 64),
    ("2 sockets, over 64 threads", lambda r: r["chips"] == 2 and r["threads"] > 64),
    ("4 or more sockets", lambda r: r["chips"] >= 4),
]


def vm_sensitivity(fit, tables, host):
    """W per vCPU of a 4-vCPU icelake VM under other host assumptions."""
    hosts = [
        ("shipped: %g chips, %g cores, %g threads, %g GB (median recent 2-socket)"
         % (host["chips"], host["cores"], host["threads"], host["memory_gb"]),
         host["chips"], host["cores"], host["threads"], host["memory_gb"]),
        ("smaller host: 2 chips, 32 cores, 64 threads, 128 GB", 2, 32, 64, 128),
        ("larger host: 2 chips, 96 cores, 192 threads, 768 GB", 2, 96, 192, 768),
        ("one-socket host: 1 chip, 32 cores, 64 threads, 256 GB", 1, 32, 64, 256),
        ("more memory: %g cores, %g threads, 1024 GB" % (host["cores"], host["threads"]),
         host["chips"], host["cores"], host["threads"], 1024),
    ]
    out = []
    for label, chips, cores, threads, mem in hosts:
        r = {"threads": threads, "cores": cores, "chips": chips, "memory_gb": mem,
             "cpu_mhz": 2300, "arch": "icelake", "key": ""}
        set_tdp([r], tables)
        w = fit.predict([r])[0] / threads
        out.append((label, w[0], w[5], w[10]))
    return out


def write_report(path, rows, cv_pred, lams, fit, cv, insample, tdp, minmax, host, csv_path,
                 variants=()):
    agree = sum(1 for r in rows if r["arch"] == r["csv_arch"])
    unmatched = sum(1 for r in rows if not r["arch"])
    _, ape = errors(cv_pred, rows)
    lines = [
        "# Accuracy of the shipped power models",
        "",
        "GENERATED by `models/fit_default.py` (run `make accuracy`); do not edit.",
        "",
        "Reference data: `%s`, %d published SPECpower_ssj2008 results (whole-server"
        % (csv_path.split("/")[-1], len(rows)),
        "AC power with a calibrated analyzer at active idle and 10 %% ... 100 %% load), "
        "%d power readings." % (len(rows) * len(LEVELS)),
        "Errors are over all load levels, in W and as mean absolute percentage error",
        "(MAPE).",
        "",
    ]
    fmt = lambda s: ["%.1f" % s["mae"], "%.1f" % s["mape"], "%.0f - %.0f" % (s["lo"], s["hi"])]
    lines += table([
        ["default-specpower-v2 (embedded `models/default.yaml`)",
         "10-fold cross-validation, folds grouped by system; never fitted on the results it is scored on",
         *fmt(cv)],
        ["default-specpower-v2", "in sample (fitted on all %d results)" % len(rows), *fmt(insample)],
    ] + [["default-specpower-v2, " + label, how, *fmt(s)] for label, how, s, _ in variants] + [
        ["default-specpower-v1 (the previous release: no TDP, least squares)",
         "the same 10 folds (figure from its own report)", "28.0", "14.2", "9 - 2132"],
        ["baseline: total TDP x median load curve",
         "same folds, the %d results that state a TDP" % tdp["n"], *fmt(tdp)],
        ["floor: line through each machine's own idle and 100 % power",
         "every result, its own two points (not a model of unseen machines)", *fmt(minmax)],
    ], ["model", "checked on", "MAE (W)", "MAPE (%)", "reference power range (W)"])
    by_cpu, _ = tdp_tables(rows)
    lines += [
        "",
        "The default model uses only what the host shows: the CPU model name (as an",
        "architecture, by the `cpu_architectures` rules, else by the `cpuid_rules` on",
        "cpuinfo's vendor, family, model and stepping), sockets, cores, threads,",
        "memory, nominal clock, and the total TDP: the `tdp.by_cpu` table's W per chip",
        "for the CPU's name (%d CPUs, the TDPs the CSV states) x sockets, else an"
        % len(by_cpu),
        "estimate of W per chip from cores per chip, clock and architecture",
        "(`tdp.estimate`, a ridge fit of ln TDP over the same results) x sockets. The first row",
        "scores each held-out result with the TDP the shipped table gives it (the",
        "CPUs the table names); the next two score a CPU the table does not name:",
        "a table built from the training folds only, and no name at all (a cloud",
        "VM whose CPU name hides the SKU: every TDP from `tdp.estimate`).",
        "Fitted per level by ridge regression reweighted to least absolute",
        "deviations in ln W (%d steps); the ridge penalty chosen inside each"
        % Fit.IRLS_STEPS,
        "training set by 5-fold grouped CV from %s; chosen: %s; the shipped fit uses %s."
        % (", ".join(str(l) for l in LAMBDAS), ", ".join(str(l) for l in lams), fit.lam),
        "The CPU's cache size and maximum (turbo) clock are not features: the CSV",
        "has neither.",
        "",
        "The architecture rules give the CSV's own `architecture` label to %d of %d"
        % (agree, len(rows)),
        "results (after folding kabylake into skylake and cooperlake into",
        "cascadelake); %d match no rule." % unmatched,
        "",
        "## Cross-validated error per load level",
        "",
    ]
    lines += table([["%d %%" % round(100 * l), "%.1f" % (100 * ape[:, j].mean())]
                    for j, l in enumerate(LEVELS)], ["load", "MAPE (%)"])
    ae = errors(cv_pred, rows)[0]
    arch_ape = errors(variants[-1][3], rows)[1] if variants else ape

    def breakdown(groups):
        out = []
        for label, idx in groups:
            if not idx:
                continue
            machines = len({rows[i]["group"] for i in idx})
            out.append([label, str(len(idx)), str(machines), "%.1f" % ae[idx].mean(),
                        "%.1f" % (100 * ape[idx].mean()), "%.1f" % (100 * arch_ape[idx].mean())])
        return table(out, ["", "results", "systems", "MAE (W)", "MAPE (%)",
                           "MAPE, CPU name hides the SKU (%)"])
    lines += [
        "",
        "## Cross-validated error per architecture",
        "",
        "Read the row of a machine like yours. `kepler-model predict` shows the",
        "architecture a machine gets (`machine.architecture`). The last column is the",
        "error when the CPU name is generic and the TDP is estimated (the third",
        "row above). Command: `make accuracy` (models/fit_default.py).",
        "",
    ]
    by = {}
    for i, r in enumerate(rows):
        by.setdefault(r["arch"] or "(no rule)", []).append(i)
    lines += breakdown(sorted(by.items()))
    lines += [
        "",
        "## Cross-validated error per machine size",
        "",
        "Same folds and columns; sockets and hardware threads of the whole server.",
        "Command: `make accuracy` (models/fit_default.py).",
        "",
    ]
    lines += breakdown([(label, [i for i, r in enumerate(rows) if test(r)])
                        for label, test in SIZES])
    lines += [
        "",
        "## Virtual machines",
        "",
        "In a VM the model gives the VM's share of its host by vCPUs: the host is",
        "taken to be the median two-socket server of %d-%d in the data (%d results):"
        % (host["since"], host["since"] + 4, host["n"]),
        "%g cores, %g threads, %g GB; its power at the VM's utilization is scaled by"
        % (host["cores"], host["threads"], host["memory_gb"]),
        "VM threads / %g. This share is not validated against measurements: no" % host["threads"],
        "public data measures a VM's share of its host.",
        "",
        "Assumptions, each of which moves the share:",
        "",
        "1. The host is the shipped typical server. The VM's own CPU (architecture,",
        "   clock, and the TDP of its CPU per chip, by name or estimated)",
        "   is put in that host. A bigger host has more power but more threads to",
        "   share it over: the W per vCPU moves less than the host's power (table).",
        "2. The host runs at the VM's utilization: other tenants are as busy as this",
        "   VM. If they are idle while this VM is busy the VM's true share of the",
        "   dynamic power is larger; if they are busy while it idles, smaller.",
        "3. The share is by vCPUs: idle power included, one vCPU = one host thread.",
        "   A provider that keeps hosts half empty gives each VM a larger real share",
        "   of the idle power than this.",
        "4. Memory is the host's, not the VM's: a VM with much memory and few vCPUs",
        "   is undercounted.",
        "",
        "Sensitivity: W per vCPU of a 4-vCPU icelake VM at 2.3 GHz whose CPU name",
        "hides the SKU, under other host assumptions (the model's prediction for",
        "that host divided by its threads). Command: `make accuracy`.",
        "",
    ]
    lines += table([[label, "%.2f" % a, "%.2f" % b, "%.2f" % c]
                     for label, a, b, c in vm_sensitivity(fit, tdp_tables(rows), host)],
                    ["host assumed", "W per vCPU, idle", "50 %", "100 %"])
    lines += [
        "",
        "## Predictions outside the data's bulk",
        "",
    ]
    lines += table([[label, "%.0f" % a, "%.0f" % b, "%.0f" % c] for label, a, b, c in sanity(fit, tdp_tables(rows))],
                   ["machine", "idle (W)", "50 % (W)", "100 % (W)"])
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--yaml", required=True)
    ap.add_argument("--report", required=True)
    args = ap.parse_args(argv)
    rows = load(args.csv)
    archs = sorted({r["arch"] for r in rows if r["arch"]})
    cv_pred, lams = cross_validate(rows, archs)
    fit = Fit(rows, choose_lambda(rows, archs), archs)
    cv = summary(cv_pred, rows)
    variants = []
    for label, how, mode in [
            ("CPU not in the TDP table", "same folds; TDP table built from the training folds only",
             "unseen"),
            ("CPU name hides the SKU",
             "same folds; every held-out TDP from tdp.estimate", "architecture")]:
        pred, _ = cross_validate(rows, archs, tdp=mode)
        variants.append((label, how, summary(pred, rows), pred))
    insample = summary(fit.predict(rows), rows)
    tdp_pred, tdp_rows = tdp_baseline(rows)
    tdp = summary(tdp_pred, tdp_rows)
    minmax = summary(minmax_baseline(rows), rows)
    host = vm_host(rows)
    write_yaml(args.yaml, fit, cv, host, len(rows), tdp_tables(rows))
    write_report(args.report, rows, cv_pred, lams, fit, cv, insample, tdp, minmax, host, args.csv,
                 variants)
    print("default model: 10-fold CV MAE %.1f W, MAPE %.1f %% (CPU not in the TDP table %.1f %%, "
          "name hides the SKU %.1f %%); in sample MAPE %.1f %%; TDP baseline %.1f %%; "
          "min/max floor %.1f %%"
          % (cv["mae"], cv["mape"], variants[0][2]["mape"], variants[1][2]["mape"],
             insample["mape"], tdp["mape"], minmax["mape"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
