#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A test model server speaking Kepler's model server API (kepler.md 5), with
fault modes for the end-to-end tests. Python 3 standard library only.

Run:
    model_server.py --root DIR [--port 0] [--port-file F]
                    [--tls-cert CERT --tls-key KEY] [--verbose]

It binds 127.0.0.1 only. --port 0 (the default) takes an ephemeral port;
the port actually bound is written to --port-file (atomically, once the
socket listens: poll until the file exists). With --tls-cert/--tls-key it
speaks HTTPS only. SIGTERM or SIGINT exits at once (exit status 0), even
with requests hanging.

The tree under --root is laid out like kepler-model-db, e.g.
    v0.7/ec2-0.7.11/rapl-sysfs/AbsPower/BPFOnly/SGDRegressorTrainer_0.json
    <machine group ...>/<source>/<output_type>/<feature_group>/<leaf>
and is scanned again on every request (tests may add or change files while
the server runs). A leaf named <Trainer>_<n> (n: the node type) is one of:
  - <name>.json          a weight JSON (what "weight": true answers);
  - <name>.zip           an archive, served as is for "weight": false;
  - <name>/              a directory, zipped on the fly for "weight": false
                         (e.g. model.json + metadata.json for a sidecar);
                         its weight.json, if any, serves "weight": true.
Files of one name are one model. Its MAE comes from, first to last: a
metadata.json in the directory or archive, a "mae" key of the weight JSON,
the machine group's error_report/node_type_<n>.md tables (Kepler's own);
a model may have none. <machine group>/node_type_index.json, when present,
describes its node types.

POST /model, body {metrics, output_type, source, node_type, weight,
trainer_name, filter, pipeline_name, machine_spec} selects as Kepler's
model_server.py does:
  1. the feature groups whose features are all in metrics (Kepler's
     util/train_types.py: CounterOnly = cache_miss, cpu_cycles,
     cpu_instructions; BPFOnly = bpf_cpu_time_ms, bpf_page_cache_hit;
     BPFIRQ = BPF + bpf_block_irq, bpf_net_rx_irq, bpf_net_tx_irq;
     CounterIRQCombined = Counter + IRQ; Basic = Counter + BPF;
     WorkloadOnly = Counter + BPF + IRQ + accelerator_intel_qat;
     Full = WorkloadOnly + node_info, cpu_scaling_frequency_hertz;
     AcceleratorOnly = accelerator_intel_qat);
  2. source ("rapl*" means "rapl-sysfs", as Kepler), output_type,
     trainer_name (a substring of the model's name, when given),
     pipeline_name (the end of the machine group's path, when given),
     filter "attr:value;..." (metadata attr <= value; models without it
     fail the filter), and for "weight": true a weight JSON;
  3. node type: node_type when >= 0, else the node type of the group's
     node_type_index.json most similar to machine_spec (Kepler's weights:
     processor 5, cores 1, chips 1, memory 0.5, frequency 0.5); models of
     that node type (the <n> of the name) when there are any, else all;
  4. the lowest MAE (none counts as infinite; ties by path).
"weight": true answers the weight JSON plus "model_name", "mae" (when
known) and "machine_spec" (the node type's attributes, when known);
"weight": false answers application/zip: the archive, the directory zipped,
or the weight JSON plus a metadata.json (model_name, source, output_type,
feature_group, features, node_type, mae). Nothing fits: 400
{"error": "..."}.

GET /best-models?energy-source=&output-type=&feature-group=&node-type=
&filter= (also Kepler's source=, ot=, fg=): {output_type: {feature_group:
model_name}} of the best weight-or-archive model per group.

Fault modes, switched at run time (POST /model only is affected):
    POST /_control {"mode": M, "delay_s": S, "oversize_bytes": N}
    M = "ok"           normal answers
        "500"          HTTP 500 {"error": "injected fault"}
        "slow"         waits delay_s (default 5) seconds, then answers
        "oversized"    200, a valid-looking model JSON of oversize_bytes
                       (default 64 MiB) streamed without Content-Length
        "invalid_json" 200 application/json, broken JSON
        "hang"         reads the request, never answers; the connection
                       is closed when the mode changes or at exit
Every field is optional; the answer (and GET /_control) is the state:
{"mode", "delay_s", "oversize_bytes"}. An unknown mode is a 400.
GET /_stats: {"requests": POST /model count, "by_mode": {mode: count},
"by_status": {status: count}, "last_request": the last /model body (JSON)
or null, "last_model": the model_name last served or null}.
"""

import argparse
import http.server
import io
import json
import math
import os
import re
import signal
import socketserver
import ssl
import sys
import threading
import urllib.parse
import zipfile

COUNTER = ["cache_miss", "cpu_cycles", "cpu_instructions"]
BPF = ["bpf_cpu_time_ms", "bpf_page_cache_hit"]
IRQ = ["bpf_block_irq", "bpf_net_rx_irq", "bpf_net_tx_irq"]
ACCELERATOR = ["accelerator_intel_qat"]
SYSTEM = ["node_info", "cpu_scaling_frequency_hertz"]
WORKLOAD = COUNTER + BPF + IRQ + ACCELERATOR
FEATURE_GROUPS = {
    "Full": sorted(WORKLOAD + SYSTEM),
    "WorkloadOnly": sorted(WORKLOAD),
    "CounterOnly": sorted(COUNTER),
    "BPFOnly": sorted(BPF),
    "BPFIRQ": sorted(BPF + IRQ),
    "CounterIRQCombined": sorted(COUNTER + IRQ),
    "Basic": sorted(COUNTER + BPF),
    "AcceleratorOnly": sorted(ACCELERATOR),
}
OUTPUT_TYPES = ("AbsPower", "DynPower")
SIMILARITY_WEIGHTS = {"processor": 5, "cores": 1, "chips": 1, "memory": 0.5,
                      "frequency": 0.5}
MODES = ("ok", "500", "slow", "oversized", "invalid_json", "hang")


# --- The model tree ---------------------------------------------------------

def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def node_type_of(name):
    tail = name.rsplit("_", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


def error_report_maes(group_dir):
    """(source, output_type, feature_group, model_name) -> MAE from Kepler's
    error_report/node_type_<n>.md tables."""
    maes = {}
    report_dir = os.path.join(group_dir, "error_report")
    try:
        names = sorted(os.listdir(report_dir))
    except OSError:
        return maes
    for fn in names:
        if not fn.endswith(".md"):
            continue
        section = None
        try:
            with open(os.path.join(report_dir, fn), encoding="utf-8") as f:
                lines = f.readlines()
        except OSError:
            continue
        for line in lines:
            m = re.match(r"^###\s+(\S+)\s+(AbsPower|DynPower)\s+model", line)
            if m:
                section = (m.group(1), m.group(2))
                continue
            if line.startswith("#"):
                section = None
            if not section or not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 3 and cells[0] in FEATURE_GROUPS:
                try:
                    maes[section + (cells[0], cells[1])] = float(cells[2])
                except ValueError:
                    pass
    return maes


class Model:
    def __init__(self, group, group_dir, source, output_type, fg, name):
        self.group = group  # the machine group's path under the root
        self.group_dir = group_dir
        self.source, self.output_type, self.fg, self.name = (
            source, output_type, fg, name)
        self.node_type = node_type_of(name)
        self.weight_path = self.zip_path = self.dir_path = None
        self.metadata = {}
        self.mae = None

    @property
    def path(self):
        return "/".join([self.group, self.source, self.output_type, self.fg,
                         self.name])

    def weight(self):
        return read_json(self.weight_path) if self.weight_path else None

    def describe(self):
        meta = {"model_name": self.name, "source": self.source,
                "output_type": self.output_type, "feature_group": self.fg,
                "features": FEATURE_GROUPS[self.fg],
                "node_type": self.node_type}
        if self.mae is not None:
            meta["mae"] = self.mae
        return meta


def scan(root):
    """Every model under root, with its files and metadata."""
    models = {}
    reports = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root).split(os.sep)
        if len(rel) < 3 or rel[-1] not in FEATURE_GROUPS \
                or rel[-2] not in OUTPUT_TYPES:
            continue
        fg, output_type, source = rel[-1], rel[-2], rel[-3]
        group = "/".join(rel[:-3]) or "."
        group_dir = os.path.join(root, *rel[:-3])

        def model(name):
            key = (group, source, output_type, fg, name)
            if key not in models:
                models[key] = Model(group, group_dir, source, output_type, fg,
                                    name)
            return models[key]

        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            if fn.endswith(".json"):
                model(fn[:-5]).weight_path = full
            elif fn.endswith(".zip"):
                m = model(fn[:-4])
                m.zip_path = full
                try:
                    with zipfile.ZipFile(full) as z:
                        m.metadata = json.loads(z.read("metadata.json"))
                except (OSError, KeyError, ValueError, zipfile.BadZipFile):
                    pass
        for dn in list(dirnames):
            m = model(dn)
            m.dir_path = os.path.join(dirpath, dn)
            meta = read_json(os.path.join(m.dir_path, "metadata.json"))
            if isinstance(meta, dict):
                m.metadata = meta
            w = os.path.join(m.dir_path, "weight.json")
            if not m.weight_path and os.path.isfile(w):
                m.weight_path = w
        dirnames[:] = []  # leaves only below a feature group
    for m in models.values():
        mae = m.metadata.get("mae") if isinstance(m.metadata, dict) else None
        if mae is None and m.weight_path:
            w = m.weight()
            if isinstance(w, dict):
                mae = w.get("mae")
        if mae is None:
            if m.group_dir not in reports:
                reports[m.group_dir] = error_report_maes(m.group_dir)
            mae = reports[m.group_dir].get(
                (m.source, m.output_type, m.fg, m.name))
        if isinstance(mae, (int, float)) and math.isfinite(mae):
            m.mae = float(mae)
        if not isinstance(m.metadata, dict):
            m.metadata = {}
    return sorted(models.values(), key=lambda m: m.path)


# --- Selection, as Kepler's model server ------------------------------------

def valid_feature_groups(metrics):
    return [fg for fg, feats in FEATURE_GROUPS.items()
            if all(f in metrics for f in feats)]


def parse_filter(text):
    filters = {}
    for item in (text or "").split(";"):
        parts = item.split(":")
        if len(parts) == 2 and parts[0] and parts[0] != "features":
            filters[parts[0].strip()] = parts[1].strip()
    return filters


def passes(model, filters):
    for attr, value in filters.items():
        have = model.mae if attr == "mae" else model.metadata.get(attr)
        try:
            have, value = float(have), float(value)
        except (TypeError, ValueError):
            return False
        if not (have >= value if attr == "abs_max_corr" else have <= value):
            return False
    return True


def jaccard(a, b):
    """Kepler's util/similarity.py compute_jaccard_similarity."""
    a, b = str(a).lower(), str(b).lower()
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) * 0.5


def closeness(base, cmp):
    base, cmp = float(base), float(cmp)
    diff = abs(cmp - base) / ((base + cmp) / 2) if base > 0 or cmp > 0 else 0
    return 0.0 if diff >= 1 else 1 - diff


def node_type_index(group_dir):
    index = read_json(os.path.join(group_dir, "node_type_index.json"))
    out = {}
    if isinstance(index, dict):
        for key, entry in index.items():
            try:
                out[int(key)] = dict(entry.get("attrs", {}))
            except (ValueError, AttributeError):
                pass
    return out


def most_similar(index, spec):
    best, best_score = None, -1.0
    for node_type, attrs in sorted(index.items()):
        score = 0.0
        for attr, weight in SIMILARITY_WEIGHTS.items():
            if spec.get(attr) in (None, "") or attrs.get(attr) is None:
                continue
            try:
                sim = (jaccard(spec[attr], attrs[attr]) if attr == "processor"
                       else closeness(spec[attr], attrs[attr]))
            except (TypeError, ValueError):
                continue
            score += weight * sim
        if score > best_score:
            best, best_score = node_type, score
    return best


class NoModel(Exception):
    pass


def select(root, req):
    if not isinstance(req, dict):
        raise NoModel("the request must be a JSON object")
    metrics = req.get("metrics") or []
    output_type = req.get("output_type") or "AbsPower"
    if output_type not in OUTPUT_TYPES:
        raise NoModel(f"unknown output_type {output_type!r}")
    source = req.get("source") or "rapl-sysfs"
    if "rapl" in source:
        source = "rapl-sysfs"
    try:
        node_type = int(req.get("node_type", -1))
    except (TypeError, ValueError):
        node_type = -1
    weight = bool(req.get("weight", False))
    trainer = req.get("trainer_name") or ""
    pipeline = req.get("pipeline_name") or ""
    filters = parse_filter(req.get("filter"))
    spec = req.get("machine_spec") or {}
    if not isinstance(spec, dict):
        spec = {}
    fgs = valid_feature_groups(metrics)
    models = [m for m in scan(root)
              if m.source == source and m.output_type == output_type
              and m.fg in fgs and (not trainer or trainer in m.name)
              and (not pipeline or m.group == pipeline
                   or m.group.endswith("/" + pipeline))
              and (m.weight_path if weight else True) and passes(m, filters)]
    indexes, wanted = {}, {}
    for m in models:
        if m.group_dir not in indexes:
            indexes[m.group_dir] = node_type_index(m.group_dir)
            if node_type >= 0:
                wanted[m.group_dir] = node_type
            elif indexes[m.group_dir] and spec:
                wanted[m.group_dir] = most_similar(indexes[m.group_dir], spec)
    typed = [m for m in models if wanted.get(m.group_dir) is not None
             and m.node_type == wanted[m.group_dir]]
    candidates = typed or models
    if not candidates:
        raise NoModel(f"cannot find model for {json.dumps(req)}")
    best = min(candidates, key=lambda m: (
        m.mae if m.mae is not None else math.inf, m.path))
    attrs = indexes.get(best.group_dir, {}).get(best.node_type)
    return best, attrs


def weight_answer(model, attrs):
    w = model.weight()
    if not isinstance(w, dict):
        raise NoModel(f"{model.path}: the weight file is not a JSON object")
    w = dict(w)
    w["model_name"] = model.name
    if model.mae is not None:
        w["mae"] = model.mae
    else:
        w.pop("mae", None)
    if attrs:
        w["machine_spec"] = attrs
    return json.dumps(w).encode()


def zip_answer(model):
    if model.zip_path:
        with open(model.zip_path, "rb") as f:
            return f.read()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        names = set()
        if model.dir_path:
            for dirpath, dirnames, filenames in os.walk(model.dir_path):
                dirnames.sort()
                for fn in sorted(filenames):
                    full = os.path.join(dirpath, fn)
                    arc = os.path.relpath(full, model.dir_path)
                    z.write(full, arc)
                    names.add(arc)
        else:
            z.write(model.weight_path, os.path.basename(model.weight_path))
        if "metadata.json" not in names:
            z.writestr("metadata.json", json.dumps(model.describe()))
    return buf.getvalue()


# --- Run-time state ----------------------------------------------------------

class State:
    def __init__(self):
        self.cond = threading.Condition()
        self.mode = "ok"
        self.delay_s = 5.0
        self.oversize_bytes = 64 << 20
        self.generation = 0  # bumped on every mode change
        self.closing = False
        self.requests = 0
        self.by_mode = {}
        self.by_status = {}
        self.last_request = None
        self.last_model = None

    def control(self, body):
        with self.cond:
            mode = body.get("mode", self.mode)
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r} (one of "
                                 f"{', '.join(MODES)})")
            delay = float(body.get("delay_s", self.delay_s))
            size = int(body.get("oversize_bytes", self.oversize_bytes))
            if delay < 0 or size < 0:
                raise ValueError("delay_s and oversize_bytes must be >= 0")
            self.mode, self.delay_s, self.oversize_bytes = mode, delay, size
            self.generation += 1
            self.cond.notify_all()
            return self.snapshot()

    def snapshot(self):
        return {"mode": self.mode, "delay_s": self.delay_s,
                "oversize_bytes": self.oversize_bytes}

    def stats(self):
        with self.cond:
            return {"requests": self.requests, "by_mode": dict(self.by_mode),
                    "by_status": dict(self.by_status),
                    "last_request": self.last_request,
                    "last_model": self.last_model}

    def count(self, req):
        with self.cond:
            self.requests += 1
            self.by_mode[self.mode] = self.by_mode.get(self.mode, 0) + 1
            self.last_request = req
            return self.mode, self.delay_s, self.oversize_bytes, \
                self.generation

    def status(self, code, model=None):
        with self.cond:
            key = str(code)
            self.by_status[key] = self.by_status.get(key, 0) + 1
            if model:
                self.last_model = model

    def wait(self, seconds=None, generation=None):
        """Waits seconds (None: forever) or until the mode changes (when
        generation is given) or the server closes; True if woken early."""
        with self.cond:
            return self.cond.wait_for(
                lambda: self.closing or (generation is not None
                                         and self.generation != generation),
                timeout=seconds)

    def close(self):
        with self.cond:
            self.closing = True
            self.cond.notify_all()


# --- HTTP --------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "kepler-test-model-server/1"
    timeout = 60  # a silent client does not hold a thread for ever

    def setup(self):
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("model_server: %s %s\n" % (
                self.address_string(), fmt % args))

    def send_bytes(self, code, body, ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, code, obj):
        self.send_bytes(code, json.dumps(obj).encode())

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        return json.loads(raw.decode("utf-8")) if raw.strip() else {}

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        state = self.server.state
        if url.path == "/_stats":
            self.send_json(200, state.stats())
        elif url.path == "/_control":
            with state.cond:
                self.send_json(200, state.snapshot())
        elif url.path == "/best-models":
            self.best_models(urllib.parse.parse_qs(url.query))
        else:
            self.send_json(404, {"error": f"no such path {url.path}"})

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path
        try:
            body = self.read_body()
        except (ValueError, UnicodeDecodeError) as e:
            self.send_json(400, {"error": f"the request is not JSON: {e}"})
            return
        if path == "/_control":
            try:
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                self.send_json(200, self.server.state.control(body))
            except (TypeError, ValueError) as e:
                self.send_json(400, {"error": str(e)})
        elif path == "/model":
            self.model(body)
        else:
            self.send_json(404, {"error": f"no such path {path}"})

    def model(self, req):
        state = self.server.state
        mode, delay, size, generation = state.count(req)
        if mode == "hang":
            state.wait(generation=generation)
            self.close_connection = True
            return  # closed without an answer
        if mode == "slow":
            if state.wait(seconds=delay):
                return  # closing
        if mode == "500":
            state.status(500)
            self.send_json(500, {"error": "injected fault"})
            return
        if mode == "invalid_json":
            state.status(200)
            self.send_bytes(200, b'{"model_name": "SGDRegressorTrainer_0", '
                                 b'"package": {"All_Weights": {"Bias_Weig')
            return
        if mode == "oversized":
            state.status(200)
            self.oversized(size)
            return
        try:
            model, attrs = select(self.server.root, req)
            if req.get("weight"):
                body, ctype, extra = weight_answer(model, attrs), \
                    "application/json", ()
            else:
                body, ctype = zip_answer(model), "application/zip"
                extra = (("Content-Disposition",
                          f'attachment; filename="{model.name}.zip"'),)
        except NoModel as e:
            state.status(400)
            self.send_json(400, {"error": str(e)})
            return
        state.status(200, model.name)
        self.send_bytes(200, body, ctype, extra)

    def oversized(self, size):
        """A model-looking JSON of size bytes, close-delimited (no
        Content-Length), streamed until done or the client gives up."""
        head = (b'{"model_name": "SGDRegressorTrainer_0", "package": '
                b'{"All_Weights": {"Bias_Weight": 1.0, '
                b'"Categorical_Variables": {}, "Numerical_Variables": {}}}, '
                b'"padding": "')
        tail = b'"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        pad = max(0, size - len(head) - len(tail))
        chunk = b"x" * 65536
        try:
            self.wfile.write(head)
            while pad > 0 and not self.server.state.closing:
                n = min(pad, len(chunk))
                self.wfile.write(chunk[:n])
                pad -= n
            self.wfile.write(tail)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def best_models(self, query):
        def arg(*names):
            for n in names:
                if query.get(n):
                    return query[n][0]
            return None
        source = arg("energy-source", "source") or "rapl-sysfs"
        ots = [arg("output-type", "ot")] if arg("output-type", "ot") \
            else list(OUTPUT_TYPES)
        fgs = [arg("feature-group", "fg")] if arg("feature-group", "fg") \
            else list(FEATURE_GROUPS)
        node_type = arg("node-type")
        out = {}
        for ot in ots:
            out[ot] = {}
            for fg in fgs:
                if fg not in FEATURE_GROUPS:
                    continue
                req = {"metrics": FEATURE_GROUPS[fg], "output_type": ot,
                       "source": source, "filter": arg("filter") or "",
                       "node_type": int(node_type) if node_type else -1}
                try:
                    # Only models of that very group.
                    model, _ = select(self.server.root, req)
                    if model.fg == fg:
                        out[ot][fg] = model.name
                except (NoModel, ValueError):
                    pass
        self.send_json(200, out)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if self.verbose:
            sys.stderr.write("model_server: error on a connection from "
                             f"{client_address}: {sys.exc_info()[1]}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="a kepler-model-db tree")
    ap.add_argument("--port", type=int, default=0, help="0: ephemeral")
    ap.add_argument("--port-file", help="where to write the port bound")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate")
    ap.add_argument("--tls-key", help="... and this key")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if not os.path.isdir(args.root):
        ap.error(f"--root {args.root}: not a directory")

    server = Server(("127.0.0.1", args.port), Handler)
    server.root = os.path.abspath(args.root)
    server.state = State()
    server.verbose = args.verbose
    scheme = "http"
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in the request's thread, not in accept().
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        scheme = "https"
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    sys.stderr.write(f"model_server: {server.root} on "
                     f"{scheme}://127.0.0.1:{port}\n")
    sys.stderr.flush()
    while not stop.wait(0.5):
        pass
    server.state.close()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
