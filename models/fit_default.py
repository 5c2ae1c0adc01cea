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
applies to /proc/cpuinfo's "model name"), sockets (chips), cores, threads,
memory and the nominal clock. For each of SPECpower's 11 load levels it
predicts the log of the whole-server AC power at idle, and at every other
level the log of the power above idle:

    ln W_0 = intercept_0 + sum_t coef_t0 * ln(machine value t) + arch_0
    ln (W_j - W_0) = intercept_j + sum_t coef_tj * ln(machine value t) + arch_j

fitted by ridge regression (the penalty chosen by cross-validation inside
each training set); the C side interpolates linearly between levels, at
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
TERMS = ["ln_threads", "ln_cores", "ln_chips", "ln_memory_gb", "ln_mhz"]
TERM_COLUMNS = {"ln_threads": "threads", "ln_cores": "cores", "ln_chips": "chips",
                "ln_memory_gb": "memory_gb", "ln_mhz": "cpu_mhz"}
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
# The CSV's own labels, folded as above, for the agreement check.
CSV_ARCH_FOLD = {"kabylabe": "skylake", "cooperlake": "cascadelake", "epyc": "epyc-gen3",
                 "": "netburst"}


def architecture(cpu_name):
    for pattern, name in ARCH_RULES:
        if re.search(pattern, cpu_name, re.IGNORECASE):
            return name
    return ""


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
            })
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

    def __init__(self, rows, lam, archs):
        self.archs = archs
        X = self.design(rows)
        P = np.array([r["power"] for r in rows])
        above = np.maximum(P[:, 1:] - P[:, :1], self.MIN_ABOVE_IDLE_W)
        Y = np.log(np.column_stack([P[:, 0], above]))
        penalty = lam * np.eye(X.shape[1])
        penalty[0, 0] = 0  # the intercept is not shrunk
        self.W = np.linalg.solve(X.T @ X + penalty, X.T @ Y)  # (features, levels)
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


def cross_validate(rows, archs):
    """10-fold CV, folds grouped by system (vendor, model, CPU), the penalty
    chosen inside each training set. Returns per-row predictions."""
    pred = np.zeros((len(rows), len(LEVELS)))
    lams = []
    for test in group_folds(rows, FOLDS, SEED):
        tset = set(test)
        train = [r for i, r in enumerate(rows) if i not in tset]
        lam = choose_lambda(train, archs)
        lams.append(lam)
        pred[test] = Fit(train, lam, archs).predict([rows[i] for i in test])
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


def write_yaml(path, fit, cv, host, nrows):
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
        "# nominal MHz + the row of its architecture, which the cpu_architectures",
        "# rules derive from the CPU model name (no match adds nothing: an average",
        "# machine). At every other load level j the same sum gives ln (W_j - W_0),",
        "# the power above idle (form: above_idle). W at utilization u =",
        "# bpf_cpu_time_ms / (1000 * threads) is interpolated between levels,",
        "# never decreasing in u.",
        "#",
        "# In a VM (the cpuinfo hypervisor flag) the model gives the VM's share of",
        "# its host by vCPUs: the host is taken to be vm_host (the median",
        "# two-socket server of the data's last five years) with the VM's CPU,",
        "# running at the VM's utilization, and its power is scaled by",
        "# VM threads / vm_host threads.",
        "name: default-specpower-v1",
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


def sanity(fit):
    """Predictions for machines outside the data's bulk."""
    cases = [("1 chip, 4 threads, 8 GB, 3.0 GHz, unknown CPU", 1, 4, 4, 8, 3000, ""),
             ("2 chips, 64 threads, 256 GB, 2.3 GHz, icelake", 2, 32, 64, 256, 2300, "icelake"),
             ("8 chips, 448 threads, 6 TB, 2.5 GHz, cascadelake", 8, 224, 448, 6144, 2500,
              "cascadelake")]
    out = []
    for label, chips, cores, threads, mem, mhz, arch in cases:
        r = {"threads": threads, "cores": cores, "chips": chips, "memory_gb": mem,
             "cpu_mhz": mhz, "arch": arch}
        w = fit.predict([r])[0]
        out.append((label, w[0], w[5], w[10]))
    return out


def write_report(path, rows, cv_pred, lams, fit, cv, insample, tdp, minmax, host, csv_path):
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
        ["default-specpower-v1 (embedded `models/default.yaml`)",
         "10-fold cross-validation, folds grouped by system; never fitted on the results it is scored on",
         *fmt(cv)],
        ["default-specpower-v1", "in sample (fitted on all %d results)" % len(rows), *fmt(insample)],
        ["baseline: total TDP x median load curve",
         "same folds, the %d results that state a TDP" % tdp["n"], *fmt(tdp)],
        ["floor: line through each machine's own idle and 100 % power",
         "every result, its own two points (not a model of unseen machines)", *fmt(minmax)],
    ], ["model", "checked on", "MAE (W)", "MAPE (%)", "reference power range (W)"])
    lines += [
        "",
        "The default model uses only what the host shows: CPU model name (as an",
        "architecture, by the `cpu_architectures` rules), sockets, cores, threads,",
        "memory and nominal clock. Ridge penalty chosen inside each training set by",
        "5-fold grouped CV from %s; chosen: %s; the shipped fit uses %s."
        % (", ".join(str(l) for l in LAMBDAS), ", ".join(str(l) for l in lams), fit.lam),
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
    lines += ["", "## Cross-validated error per architecture", ""]
    by = {}
    for i, r in enumerate(rows):
        by.setdefault(r["arch"] or "(no rule)", []).append(i)
    lines += table([[a, str(len(idx)), "%.1f" % (100 * ape[idx].mean())]
                    for a, idx in sorted(by.items())], ["architecture", "results", "MAPE (%)"])
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
        "## Predictions outside the data's bulk",
        "",
    ]
    lines += table([[label, "%.0f" % a, "%.0f" % b, "%.0f" % c] for label, a, b, c in sanity(fit)],
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
    insample = summary(fit.predict(rows), rows)
    tdp_pred, tdp_rows = tdp_baseline(rows)
    tdp = summary(tdp_pred, tdp_rows)
    minmax = summary(minmax_baseline(rows), rows)
    host = vm_host(rows)
    write_yaml(args.yaml, fit, cv, host, len(rows))
    write_report(args.report, rows, cv_pred, lams, fit, cv, insample, tdp, minmax, host, args.csv)
    print("default model: 10-fold CV MAE %.1f W, MAPE %.1f %%; in sample MAPE %.1f %%; "
          "TDP baseline %.1f %%; min/max floor %.1f %%"
          % (cv["mae"], cv["mape"], insample["mape"], tdp["mape"], minmax["mape"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
