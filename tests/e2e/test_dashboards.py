#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of the Grafana dashboards (dashboards/grafana/*.json)
against real databases fed by the real plugin through collectd's real
writers: write_prometheus scraped by Prometheus, write_influxdb_udp into
InfluxDB 1.x, write_graphite into carbon-cache read through graphite-web.

The daemon meters a RAPL tree laid out in a temp dir (so the meter, its
dropped intervals and the online fit have series) and runs burners in a
container of a pod, a second pod, a systemd service, a libvirt VM and an
LXC container, so every level has members. After the daemon stops (its
writers drained), each dashboard's template variables are resolved with
their own queries, as Grafana does, and every target of every panel runs
against its database's HTTP API (Prometheus /api/v1/query_range, InfluxDB
/query, graphite-web /render?format=json) over the run:
  - every query returns data;
  - every stacked panel's members sum to its node line (target N) within
    0.1 % at every timestamp both have.
With KEPLER_PICTURES_DIR set it also draws the main panels from the query
results (matplotlib) into that directory, as docs/pictures holds them.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, a database absent).
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import databases as db  # noqa: E402
import harness as h  # noqa: E402
from test_meters import FakeRapl  # noqa: E402

POD_UID = "5d0c7a1e-3b2f-4c6d-8e9f-%012x" % int.from_bytes(os.urandom(6), "big")
POD2_UID = "7e6d5c4b-3a29-4817-9605-%012x" % int.from_bytes(os.urandom(6), "big")
SUM_TOLERANCE = 1e-3  # the 0.1 %: values are written with >= 6 digits
MIN_TIMESTAMPS = 10  # stacked timestamps compared per panel, at least
RUN_SECONDS = 30


def dashboards_dir():
    return os.path.join(os.environ.get("KEPLER_SRCDIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")), "dashboards", "grafana")


class Query:
    """Grafana's side of a query: variables and macros filled in, the
    database's answer as {series name: {timestamp s: value}}."""

    def __init__(self, start, end, step):
        self.start, self.end, self.step = start, end, step
        self.values = {}  # variable -> str (already formatted for the db)

    def fill(self, text, kind):
        out = text
        rng = int(self.end - self.start)
        # Grafana's $__rate_interval is at least 4 scrape intervals; 4 reads
        # keep a counter's rate defined at every step.
        macros = {"$__rate_interval": "%ds" % (4 * self.step),
                  "$__interval_ms": str(int(self.step * 1000)),
                  "$__interval": "%ds" % self.step, "$__range": "%ds" % rng}
        if kind == "influxdb":
            macros["$timeFilter"] = "time >= %dms and time <= %dms" % (self.start * 1000,
                                                                     self.end * 1000)
        for k, v in macros.items():
            out = out.replace(k, v)
        # Longest names first: no variable's name begins another's here, but
        # a shorter one must not replace the start of a longer one.
        for name in sorted(self.values, key=len, reverse=True):
            out = out.replace("$" + name, self.values[name])
        left = re.findall(r"\$[A-Za-z_]\w*", out)
        if left:
            raise AssertionError("unfilled variables %s in %r" % (left, out))
        return out


class Prom:
    kind = "prometheus"

    def __init__(self, server):
        self.url = server.url

    def variable(self, query):
        m = re.fullmatch(r"label_values\((.+), *(\w+)\)", query)
        q = urllib.parse.urlencode({"match[]": m.group(1)})
        return db.http_json("%s/api/v1/label/%s/values?%s" % (self.url, m.group(2), q))["data"]

    def run(self, target, query):
        expr = query.fill(target["expr"], self.kind)
        # An instant target is Grafana's query at the range's end.
        start = query.end if target.get("instant") else query.start
        q = urllib.parse.urlencode({"query": expr, "start": start, "end": query.end,
                                    "step": query.step})
        res = db.http_json("%s/api/v1/query_range?%s" % (self.url, q))
        out = {}
        for series in res["data"]["result"]:
            name = re.sub(r"\{\{ *(\w+) *\}\}", lambda m: series["metric"].get(m.group(1), ""),
                          target["legendFormat"])
            out[name] = {float(t): float(v) for t, v in series["values"]}
        return expr, out


class Influx:
    kind = "influxdb"

    def __init__(self, server):
        self.url = server.url

    def get(self, q):
        args = urllib.parse.urlencode({"db": "collectd", "q": q, "epoch": "ms"})
        res = db.http_json("%s/query?%s" % (self.url, args))["results"][0]
        if "error" in res:
            raise AssertionError("InfluxDB: %s: %s" % (res["error"], q))
        return res.get("series", [])

    def variable(self, query):
        return [v for s in self.get(query) for _, v in s["values"]]

    def run(self, target, query):
        q = query.fill(target["query"], self.kind)
        out = {}
        for series in self.get(q):
            tags = series.get("tags", {})
            name = re.sub(r"\$tag_(\w+)", lambda m: tags.get(m.group(1), ""), target["alias"])
            out[name] = {t / 1000.0: v for t, v in series["values"] if v is not None}
        return q, out


class Graphite:
    kind = "graphite"

    def __init__(self, server):
        self.url = server.url

    def variable(self, query):
        q = urllib.parse.urlencode({"query": query})
        return [m["text"] for m in db.http_json("%s/metrics/find?%s" % (self.url, q))]

    def run(self, target, query):
        t = query.fill(target["target"], self.kind)
        q = urllib.parse.urlencode({"target": t, "from": int(query.start),
                                    "until": int(query.end), "format": "json"})
        out = {}
        for series in db.http_json("%s/render?%s" % (self.url, q)):
            out[series["target"]] = {float(ts): v for v, ts in series["datapoints"]
                                     if v is not None}
        return t, out


def grafana_format(values, kind):
    """A multi-value variable's selection as Grafana writes it."""
    if len(values) == 1:
        return values[0]
    return "{%s}" % ",".join(values) if kind == "graphite" else "(%s)" % "|".join(values)


class Dashboards(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kepler_e2e_dashboards_")
        h.register_cleanup(lambda: shutil.rmtree(cls.tmp, ignore_errors=True))
        carbon = db.Carbon(cls.tmp)
        cls.graphite = db.GraphiteWeb(cls.tmp, carbon)
        cls.influx = db.Influx(cls.tmp)
        exporter = db.free_port()
        cls.root = os.path.join(cls.tmp, "sysfs")
        cls.rapl = FakeRapl(cls.root)
        cls.addClassCleanup(cls.rapl.close)
        trained = os.path.join(cls.tmp, "LinearRegressionTrainer_0.json")
        # The writers as README shows them: Graphite under Prefix
        # "collectd." with counters as counters (its energy panels difference
        # them), InfluxDB with counters as rates (it refuses integers into a
        # float field).
        extra = "\n".join([
            "LoadPlugin write_graphite",
            "<Plugin write_graphite>",
            '  <Node "carbon">',
            '    Host "127.0.0.1"',
            '    Port "%d"' % carbon.port,
            '    Protocol "tcp"',
            '    Prefix "collectd."',
            "    StoreRates false",
            "  </Node>",
            "</Plugin>",
            "LoadPlugin write_influxdb_udp",
            "<Plugin write_influxdb_udp>",
            '  Server "127.0.0.1" "%d"' % cls.influx.udp,
            "  StoreRates true",
            "</Plugin>",
            "LoadPlugin write_prometheus",
            "<Plugin write_prometheus>",
            '  Host "127.0.0.1"',
            '  Port "%d"' % exporter,
            "</Plugin>",
        ])
        cls.cd = h.start_daemon(cls, name="dashboards", kepler_config="\n".join([
            '  SysfsRoot "%s"' % cls.root, '  PowerMeter "rapl"', "  TopProcesses 5",
            '  TrainedModelFile "%s"' % trained, "  TrainedModelInterval 5"]),
            extra_plugins=("write_graphite", "write_influxdb_udp", "write_prometheus"),
            extra_config=extra)
        cls.cd.wait_started()
        # Scraped 4 times an interval: a scrape in the middle of a read's
        # dispatch is completed by the next one before the next read, so
        # Prometheus holds every read whole (the panels join on it).
        cls.prometheus = db.Prometheus(cls.tmp, exporter, scrape_interval="250ms")
        cls.make_workloads()
        cls.run_and_stop()

    @classmethod
    def make_workloads(cls):
        root = os.path.join(h.cgroup2_mount(), "kepler_e2e_%s" % os.urandom(4).hex())
        h.make_cgroup(root)

        def tree(*parts):
            return h.cgroup_tree(root, *parts)

        shapes = {
            "kb_pod": tree("kubepods.slice", "kubepods-burstable.slice",
                           "kubepods-burstable-pod%s.slice" % POD_UID.replace("-", "_"),
                           "cri-containerd-%s.scope" % os.urandom(32).hex()),
            "kb_pod2": tree("kubepods", "pod%s" % POD2_UID, os.urandom(32).hex()),
            "kb_service": tree("system.slice", "kepler-dash.service"),
            "kb_vm": tree("machine.slice", "machine-qemu\\x2d4\\x2ddash\\x2dvm.scope", "libvirt",
                          "vcpu0"),
            "kb_lxc": tree("lxc.payload.dash-ct"),
        }
        for comm, cg in shapes.items():
            h.spawn_in_cgroup([h.named_burner(cls.cd.tmp, comm)], cgroup=cg)
        cls.t0 = time.time()

    @classmethod
    def run_and_stop(cls):
        cd = cls.cd
        h.wait_for("the VM's and the pods' series", lambda: all(
            any(d.startswith(p) for d in cd.series_dirs())
            for p in ("kepler_vm-dash_vm", "kepler_pod-", "kepler_service-kepler_dash",
                      "kepler_container-dash_ct")))
        # The fit's error needs TrainedModelInterval reads with a meter.
        cd.wait_rows("kepler_node", "power-model_fit_mae_package", 3, after=cls.t0)
        cd.wait_rows("kepler_node", "power-total", RUN_SECONDS, after=cls.t0)
        # Prometheus pulls: one more scrape after the last read.
        time.sleep(2 * h.INTERVAL + 1)
        cd.stop()
        cls.end = int(time.time())
        # Graphite keeps one value per second (whisper slot) and the
        # InfluxDB panels one mean per second (GROUP BY time): where a late
        # read and the next fall in one second, a member that left the level
        # between them is in that second once too often. Such seconds, from
        # the daemon's own record, are not compared there.
        # (write_graphite rounds collectd's time to the nearest second,
        # InfluxDB's GROUP BY time cuts it down to one.)
        times = [T for T, _ in cd.series("kepler_node", "power-total")]
        cls.crowded = {}
        for kind, second in (("graphite", round), ("influxdb", int)):
            seconds = [second(T) for T in times]
            cls.crowded[kind] = {s for s in seconds if seconds.count(s) > 1}
        cls.reads = len(times)
        # A whole interval after the workloads started: every level has
        # them in every read compared.
        cls.start = int(cls.t0) + 3
        # The daemon has sent everything; the databases store it when they
        # get to it: wait until each holds every read of the node's total.
        reads = [T for T, _ in cd.series("kepler_node", "power-total")
                 if int(cls.start) <= T <= cls.end]
        influx, graphite = Influx(cls.influx), Graphite(cls.graphite)
        q = Query(int(cls.start), int(cls.end), int(h.INTERVAL))
        node = {"refId": "N", "query": 'SELECT "value" FROM "kepler_node" WHERE '
                '"type" = \'power\' AND "type_instance" = \'total\' AND $timeFilter',
                "alias": "node"}
        h.wait_for("InfluxDB to hold the %d reads" % len(reads),
                   lambda: len(influx.run(node, q)[1].get("node", {})) >= len(reads),
                   seen=lambda: "%d of them; missing %s" % (
                       len(influx.run(node, q)[1].get("node", {})),
                       sorted(set(round(T, 3) for T in reads)
                              - set(influx.run(node, q)[1].get("node", {})))[:5]))
        # write_graphite rounds collectd's time to the nearest second.
        # graphite-web gives the seconds after from, up to before until.
        slots = {round(T) for T in reads if cls.start < round(T) < cls.end}
        path = "collectd.%s.kepler_node.power-total" % h.HOSTNAME.replace(".", "_")

        def seconds():
            return set(graphite.run({"target": path}, q)[1].get(path, {}))

        h.wait_for("graphite-web to give the %d reads' seconds" % len(slots),
                   lambda: slots <= seconds(), seen=lambda: "missing %s of reads %s, end %s" % (
                       sorted(slots - seconds())[:5], [round(T, 3) for T in reads[-4:]], cls.end))

    def check_dashboard(self, client, file):
        with open(os.path.join(dashboards_dir(), file)) as f:
            dash = json.load(f)
        query = Query(int(self.start), int(self.end), int(h.INTERVAL))
        choices = {}
        for v in dash["templating"]["list"]:
            if v["type"] == "datasource":
                self.assertEqual(v["query"], client.kind, "%s: datasource variable" % file)
                continue
            if v["type"] == "textbox":
                query.values[v["name"]] = v["query"]
                continue
            options = client.variable(query.fill(v["query"], client.kind))
            if v.get("regex"):
                rx = re.compile(v["regex"].strip("/"))
                options = [m.group(1) for m in map(rx.match, options) if m]
            self.assertTrue(options, "%s: variable %s (%s) has no values"
                            % (file, v["name"], v["query"]))
            choices[v["name"]] = len(options)
            if v["name"] == "host":
                want = h.HOSTNAME.replace(".", "_") if client.kind == "graphite" else h.HOSTNAME
                self.assertIn(want, options, "%s: host variable" % file)
                query.values["host"] = want
            else:
                # All, as Grafana sends it.
                query.values[v["name"]] = v.get("allValue") or grafana_format(options, client.kind)
        results, report, sums = {}, [], []
        for p in dash["panels"]:
            if p["type"] == "row":
                continue
            got = {}
            for t in p["targets"]:
                text, series = client.run(t, query)
                self.assertTrue(series and any(series.values()),
                                "%s: panel %r target %s returned no data: %s"
                                % (file, p["title"], t["refId"], text))
                got[t["refId"]] = series
            results[p["title"]] = got
            if p["fieldConfig"]["defaults"].get("custom", {}).get("stacking", {}).get(
                    "mode") == "normal":
                sums.append(self.check_stack(file, client.kind, p["title"], got))
        worst = max(s[0] for s in sums)
        report.append("%s: %d variables (%s), %d panels, %d queries returned data; %d stacked "
                      "panels sum to the node at %d-%d timestamps each, worst %.5f %% (%d of %d reads "
                      "shared their second)"
                      % (file, len(choices), ", ".join("%s %d" % kv for kv in choices.items()),
                         len(results), sum(len(t) for t in results.values()), len(sums),
                         min(s[1] for s in sums), max(s[1] for s in sums), 100 * worst,
                         len(self.crowded.get(client.kind, ())), self.reads))
        print("; ".join(report), flush=True)
        return results

    def check_stack(self, file, kind, title, got):
        node = got.pop("N")
        self.assertEqual(len(node), 1, "%s: %r: node target gives %s" % (file, title, list(node)))
        node = next(iter(node.values()))
        members = [s for series in got.values() for s in series.values()]
        worst, compared = 0.0, 0
        for ts, total in node.items():
            if total <= 0 or int(ts) in self.crowded.get(kind, ()):
                continue
            stack = sum(s.get(ts, 0.0) for s in members)
            err = abs(stack - total) / total
            self.assertLessEqual(err, SUM_TOLERANCE, "%s: %r at %s: stack %.6f W, node %.6f W"
                                 % (file, title, ts, stack, total))
            worst, compared = max(worst, err), compared + 1
        self.assertGreaterEqual(compared, MIN_TIMESTAMPS, "%s: %r: %d timestamps compared"
                                % (file, title, compared))
        got["N"] = {"node": node}
        return worst, compared

    def picture(self, kind, results):
        out = os.environ.get("KEPLER_PICTURES_DIR")
        if not out:
            return
        import pictures  # matplotlib: only where pictures are asked for
        path = os.path.join(out, "grafana-%s.png" % kind)
        pictures.draw(path, "collectd-kepler dashboard panels, from %s" % kind, results,
                      ["Node power", "Node power by component", "Containers", "Commands"],
                      self.start)
        print("picture: %s" % path, flush=True)

    def test_a_prometheus(self):
        self.picture("prometheus", self.check_dashboard(Prom(self.prometheus),
                                                        "kepler-prometheus.json"))

    def test_b_influxdb(self):
        self.picture("influxdb", self.check_dashboard(Influx(self.influx), "kepler-influxdb.json"))

    def test_c_graphite(self):
        self.picture("graphite", self.check_dashboard(Graphite(self.graphite),
                                                      "kepler-graphite.json"))


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
