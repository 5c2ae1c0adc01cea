#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write the Grafana dashboards of collectd-kepler, one per database:
kepler-prometheus.json (write_prometheus), kepler-influxdb.json
(write_influxdb_udp into InfluxDB 1.x) and kepler-graphite.json
(write_graphite). The three show the same panels from one list here, so they
cannot drift apart; each database's queries are written out below.

  generate.py DIR      write the three files into DIR
  generate.py --check DIR
                       exit 1 if a file in DIR differs from what this writes
                       (make check runs this on the committed files)

Stacked workload panels carry the node's total as target "N", drawn as an
unstacked line: the stack reaches that line when the level conserves energy,
and tests/e2e/test_dashboards.py checks that it does in each database.
"""

import json
import os
import sys

LEVELS = (
    # (variable, plugin, title)
    ("container", "kepler_container", "Containers"),
    ("pod", "kepler_pod", "Pods"),
    ("service", "kepler_service", "Services"),
    ("vm", "kepler_vm", "Virtual machines"),
    ("command", "kepler_command", "Commands"),
)
PROCESS = ("process", "kepler_process", "Top processes")
COMPONENTS = "package|core|uncore|dram|platform"

STACK_NOTE = ("Stacked: each member's power-total, with the level's buckets (system: in no "
              "workload of the level; kernel: kernel threads; other: members not dispatched). "
              "The dashed line is the node's total, which the stack reaches.")


class Prometheus:
    """write_prometheus, scraped with honor_labels: true, so `instance` is
    the host collectd names (also for hosts behind an aggregator)."""

    name = "prometheus"
    title = "Prometheus"

    @staticmethod
    def node(what, typ="power"):
        return 'collectd_kepler_node_%s{instance="$host",kepler_node=~"%s"}' % (typ, what)

    def node_power(self):
        return [self.target("A", self.node("total|idle|dynamic"), "{{kepler_node}}")]

    def components(self):
        return [self.target("A", self.node(COMPONENTS), "{{kepler_node}}")]

    def power_source(self):
        return [self.target("A", self.node("power_source_.+", "gauge"), "{{kepler_node}}")]

    def node_total(self):
        return self.target("N", self.node("total"), "node")

    def level_power(self, var, plugin):
        # write_prometheus gives each value collectd's timestamp, so Prometheus
        # keeps a series that stopped for its 5 minutes of lookback. A member
        # counts at a step only if its latest value is from the node's
        # latest read: a workload that stopped leaves the stack at once and
        # the stack equals the node at every step.
        sel = '%s_power{instance="$host",type="total",%s=~"$%s"}' % (
            "collectd_" + plugin, plugin, var)
        expr = ("%s and (timestamp(%s) == on(instance) group_left() timestamp(%s))"
                % (sel, sel, self.node("total")))
        return [self.target("A", expr, "{{%s}}" % plugin), self.node_total()]

    def level_energy(self, var, plugin):
        sel = 'collectd_%s_joules_total{instance="$host",type="total",%s=~"$%s"}' % (
            plugin, plugin, var)
        return [self.target("A", "increase(%s[$__range])" % sel, "{{%s}}" % plugin, instant=True)]

    def node_energy(self):
        return [self.target("A", "increase(%s[$__range])" % self.node("total", "joules_total"),
                            "{{kepler_node}}", instant=True)]

    def counter(self, what):
        return [self.target("A", "rate(%s[$__rate_interval])" % self.node(what, "derive_total"),
                            "{{kepler_node}}")]

    def fit_error(self):
        return [self.target("A", self.node("model_fit_mae_.+"), "{{kepler_node}}")]

    def read_cost(self):
        return [self.target("A", self.node("read|read_cpu", "duration_seconds"), "{{kepler_node}}")]

    def processes(self):
        return [self.target("A", self.node("processes", "gauge"), "tracked")]

    @staticmethod
    def target(ref, expr, legend, instant=False):
        return {"refId": ref, "expr": expr, "legendFormat": legend, "range": not instant,
                "instant": instant}

    def variables(self):
        v = [query_variable(self.name, "host", "Host",
                            "label_values(collectd_kepler_node_power, instance)", multi=False)]
        for var, plugin, title in LEVELS + (PROCESS,):
            v.append(query_variable(
                self.name, var, title,
                'label_values(collectd_%s_power{instance="$host"}, %s)' % (plugin, plugin),
                all_value=".*"))
        return v


class InfluxDB:
    """write_influxdb_udp with StoreRates true (README: with false a counter
    is an integer, which InfluxDB refuses into a measurement whose `value`
    is a float, so every joules value is lost) into a UDP listener with
    precision "ms":
    measurement = plugin, tags host, instance (plugin instance), type,
    type_instance; field value (seconds for the duration type)."""

    name = "influxdb"
    title = "InfluxDB"

    @staticmethod
    def select(measurement, where, group="", field="value", agg="mean"):
        q = 'SELECT %s("%s") FROM "%s" WHERE "host" = \'$host\' AND %s AND $timeFilter' % (
            agg, field, measurement, where)
        return q + " GROUP BY time($__interval)%s fill(none)" % group

    def node(self, what, typ="power", field="value", agg="mean"):
        where = '"type" = \'%s\' AND "type_instance" =~ /^(%s)$/' % (typ, what)
        return self.select("kepler_node", where, ', "type_instance"', field, agg)

    def node_power(self):
        return [self.target("A", self.node("total|idle|dynamic"), "$tag_type_instance")]

    def components(self):
        return [self.target("A", self.node(COMPONENTS), "$tag_type_instance")]

    def power_source(self):
        return [self.target("A", self.node("power_source_.+", "gauge", agg="last"),
                            "$tag_type_instance")]

    def node_total(self):
        return self.target("N", self.node("total"), "node")

    def level_power(self, var, plugin):
        where = '"type" = \'power\' AND "type_instance" = \'total\' AND "instance" =~ /^$%s$/' % var
        return [self.target("A", self.select(plugin, where, ', "instance"'), "$tag_instance"),
                self.node_total()]

    @staticmethod
    def energy(measurement, where, tag):
        # The joules counters arrive as rates (StoreRates true): energy is
        # the integral of power, whose values are each interval's mean.
        return ('SELECT integral("value", 1s) FROM "%s" WHERE "host" = \'$host\' AND '
                '"type" = \'power\' AND "type_instance" = \'total\' AND %s$timeFilter '
                'GROUP BY "%s"' % (measurement, where, tag))

    def level_energy(self, var, plugin):
        q = self.energy(plugin, '"instance" =~ /^$%s$/ AND ' % var, "instance")
        return [self.target("A", q, "$tag_instance")]

    def node_energy(self):
        return [self.target("A", self.energy("kepler_node", "", "type_instance"),
                            "$tag_type_instance")]

    def counter(self, what):
        return [self.target("A", self.node(what, "derive"), "$tag_type_instance")]

    def fit_error(self):
        return [self.target("A", self.node("model_fit_mae_.+"), "$tag_type_instance")]

    def read_cost(self):
        return [self.target("A", self.node("read|read_cpu", "duration", "seconds"),
                            "$tag_type_instance")]

    def processes(self):
        return [self.target("A", self.node("processes", "gauge"), "tracked")]

    @staticmethod
    def target(ref, query, alias):
        return {"refId": ref, "query": query, "rawQuery": True, "resultFormat": "time_series",
                "alias": alias}

    def variables(self):
        v = [query_variable(self.name, "host", "Host",
                            'SHOW TAG VALUES FROM "kepler_node" WITH KEY = "host"', multi=False)]
        for var, plugin, title in LEVELS + (PROCESS,):
            v.append(query_variable(
                self.name, var, title,
                'SHOW TAG VALUES FROM "%s" WITH KEY = "instance" WHERE "host" = \'$host\'' % plugin,
                all_value=".*"))
        return v


class Graphite:
    """write_graphite with StoreRates false (the energy panels difference
    the joules counters, exact over any range) and the Prefix in the variable
    `prefix` (README: Prefix "collectd."): <prefix>.<host>.<plugin>[-<plugin
    instance>].<type>-<type instance>."""

    name = "graphite"
    title = "Graphite"

    @staticmethod
    def node(what):
        return "$prefix.$host.kepler_node.%s" % what

    @staticmethod
    def named(path, pattern):
        # The name after the last match of pattern's group.
        return "aliasSub(%s, '^.*%s.*$', '\\1')" % (path, pattern)

    def node_power(self):
        return [self.target("A", self.named(self.node("power-{total,idle,dynamic}"),
                                            r"\.power-([a-z]+)"))]

    def components(self):
        return [self.target("A", self.named(
            self.node("power-{%s}" % COMPONENTS.replace("|", ",")), r"\.power-([a-z]+)"))]

    def power_source(self):
        return [self.target("A", self.named(self.node("gauge-power_source_*"),
                                            r"\.gauge-(power_source_[a-z_]+)"))]

    def node_total(self):
        return self.target("N", "alias(%s, 'node')" % self.node("power-total"))

    def level_power(self, var, plugin):
        path = "$prefix.$host.%s-$%s.power-total" % (plugin, var)
        return [self.target("A", self.named(path, r"%s-([A-Za-z0-9_]+)\.power" % plugin)),
                self.node_total()]

    def level_energy(self, var, plugin):
        path = "$prefix.$host.%s-$%s.joules-total" % (plugin, var)
        # The sum of the counter's non-negative steps over the range, in one
        # bucket that starts at the range's start.
        q = "summarize(nonNegativeDerivative(%s), '100y', 'sum', true)" % path
        return [self.target("A", self.named(q, r"%s-([A-Za-z0-9_]+)\.joules" % plugin))]

    def node_energy(self):
        q = "summarize(nonNegativeDerivative(%s), '100y', 'sum', true)" % self.node("joules-total")
        return [self.target("A", "alias(%s, 'total')" % q)]

    def counter(self, what):
        return [self.target("A", "alias(perSecond(%s), '%s')" % (self.node("derive-" + what), what))]

    def fit_error(self):
        return [self.target("A", self.named(self.node("power-model_fit_mae_*"),
                                            r"\.power-(model_fit_mae_[a-z]+)"))]

    def read_cost(self):
        return [self.target("A", self.named(self.node("duration-{read,read_cpu}"),
                                            r"\.duration-([a-z_]+)"))]

    def processes(self):
        return [self.target("A", "alias(%s, 'tracked')" % self.node("gauge-processes"))]

    @staticmethod
    def target(ref, target):
        return {"refId": ref, "target": target}

    def variables(self):
        v = [{"type": "textbox", "name": "prefix", "label": "Prefix",
              "description": "write_graphite's Prefix without its trailing dot",
              "query": "collectd", "current": {"text": "collectd", "value": "collectd"},
              "options": [{"selected": True, "text": "collectd", "value": "collectd"}],
              "hide": 0},
             query_variable(self.name, "host", "Host", "$prefix.*", multi=False)]
        for var, plugin, title in LEVELS + (PROCESS,):
            v.append(query_variable(self.name, var, title, "$prefix.$host.%s-*" % plugin,
                                    all_value="*", regex="/^%s-(.*)$/" % plugin))
        return v


def query_variable(kind, name, label, query, multi=True, all_value=None, regex=""):
    v = {"type": "query", "name": name, "label": label,
         "datasource": {"type": kind, "uid": "${datasource}"},
         "query": query, "definition": query, "regex": regex, "refresh": 2, "sort": 1,
         "multi": multi, "includeAll": multi, "hide": 0, "current": {}, "options": []}
    if all_value is not None:
        v["allValue"] = all_value
    return v


def timeseries(title, description, targets, unit, stacked=False, fill=10):
    p = {"type": "timeseries", "title": title, "description": description, "targets": targets,
         "fieldConfig": {"defaults": {"unit": unit, "min": 0, "custom": {
             "drawStyle": "line", "lineWidth": 1, "fillOpacity": 70 if stacked else fill,
             "showPoints": "never", "spanNulls": False,
             "stacking": {"mode": "normal" if stacked else "none", "group": "A"}}},
             "overrides": []},
         "options": {"legend": {"displayMode": "table", "placement": "right",
                                "calcs": ["mean", "lastNotNull"], "sortBy": "Mean",
                                "sortDesc": True},
                     "tooltip": {"mode": "multi", "sort": "desc"}}}
    if stacked:
        p["fieldConfig"]["overrides"].append({
            "matcher": {"id": "byFrameRefID", "options": "N"},
            "properties": [
                {"id": "custom.stacking", "value": {"mode": "none", "group": "A"}},
                {"id": "custom.fillOpacity", "value": 0},
                {"id": "custom.lineWidth", "value": 2},
                {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                {"id": "color", "value": {"mode": "fixed", "fixedColor": "text"}}]})
    return p


def bargauge(title, description, targets, unit):
    return {"type": "bargauge", "title": title, "description": description, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "min": 0, "decimals": 0,
                                         "color": {"mode": "continuous-GrYlRd"}},
                            "overrides": []},
            "options": {"orientation": "horizontal", "displayMode": "gradient",
                        "showUnfilled": True,
                        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                          "values": False}}}


def stat(title, description, targets):
    return {"type": "stat", "title": title, "description": description, "targets": targets,
            "fieldConfig": {"defaults": {"color": {"mode": "fixed", "fixedColor": "green"}},
                            "overrides": []},
            "options": {"textMode": "name", "colorMode": "value", "graphMode": "none",
                        "justifyMode": "center",
                        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                          "values": False}}}


def rows(db):
    """[(row title, [(width, height, panel)])]"""
    node = [
        (12, 8, timeseries("Node power", "kepler_node power-total, -idle and -dynamic: "
                           "total = idle + dynamic.", db.node_power(), "watt")),
        (8, 8, timeseries("Node power by component", "RAPL zones or the model's components "
                          "(package, core, uncore, dram, platform): each component present.",
                          db.components(), "watt")),
        (4, 8, stat("Power source", "Where node power came from in the latest interval: a "
                    "meter (rapl, acpi, collectd) or a model (model, estimator).",
                    db.power_source())),
    ]
    stacks = [(12, 9, timeseries(title, STACK_NOTE, db.level_power(var, plugin), "watt",
                                 stacked=True))
              for var, plugin, title in LEVELS + (PROCESS,)]
    energy = [(8, 8, bargauge("Node energy", "Joules the node used over the selected range.",
                              db.node_energy(), "joule"))]
    energy += [(8, 8, bargauge("%s: energy" % title, "Joules each member used over the "
                               "selected range (from its joules-total counter).",
                               db.level_energy(var, plugin), "joule"))
               for var, plugin, title in LEVELS]
    health = [
        (6, 7, timeseries("Exit records dropped per second", "Process exits lost to a full "
                          "ring buffer: their CPU time since the last read is not counted.",
                          db.counter("exits_dropped"), "none")),
        (6, 7, timeseries("Meter intervals dropped per second", "Meter readings not trusted "
                          "(resets, implausible values, read errors).",
                          db.counter("meter_dropped"), "none")),
        (6, 7, timeseries("Model fit error", "Online training (TrainedModelFile): the running "
                          "one-step-ahead error of each fitted component.", db.fit_error(),
                          "watt")),
        (6, 7, timeseries("Read cost", "Each read's wall time and the CPU time of collectd's "
                          "read thread; compare the wall time with the Interval.",
                          db.read_cost(), "s")),
        (6, 7, timeseries("Processes tracked", "Processes in the plugin's table.",
                          db.processes(), "none")),
    ]
    return [("Node", node), ("Workloads", stacks), ("Energy over the selected range", energy),
            ("Plugin health", health)]


def dashboard(db):
    ds = {"type": db.name, "uid": "${datasource}"}
    panels, y, pid = [], 0, 1
    for title, items in rows(db):
        panels.append({"type": "row", "title": title, "collapsed": False, "id": pid,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y, x, row_h = pid + 1, y + 1, 0, 0
        for w, hgt, p in items:
            if x + w > 24:
                x, y, row_h = 0, y + row_h, 0
            p["id"], p["datasource"] = pid, ds
            p["gridPos"] = {"h": hgt, "w": w, "x": x, "y": y}
            for t in p["targets"]:
                t["datasource"] = ds
            panels.append(p)
            pid, x, row_h = pid + 1, x + w, max(row_h, hgt)
        y += row_h
    variables = [{"type": "datasource", "name": "datasource", "label": "Data source",
                  "query": db.name, "current": {}, "hide": 0, "options": [], "refresh": 1,
                  "regex": ""}] + db.variables()
    return {
        "title": "collectd-kepler power (%s)" % db.title,
        "uid": "collectd-kepler-%s" % db.name,
        "description": "Node, workload and process power from collectd-kepler; see "
                       "/usr/share/collectd-kepler/dashboards/README.md",
        "tags": ["collectd-kepler", "power", "energy"],
        "editable": True, "graphTooltip": 1, "refresh": "30s", "schemaVersion": 39,
        "version": 1, "timezone": "", "time": {"from": "now-1h", "to": "now"},
        "annotations": {"list": []}, "links": [],
        "templating": {"list": variables},
        "panels": panels,
    }


DATABASES = (Prometheus(), InfluxDB(), Graphite())


def files():
    return {"kepler-%s.json" % db.name: json.dumps(dashboard(db), indent=2, sort_keys=True) + "\n"
            for db in DATABASES}


def main(argv):
    check = argv[1:2] == ["--check"]
    args = argv[2:] if check else argv[1:]
    if len(args) != 1:
        sys.stderr.write("usage: generate.py [--check] DIR\n")
        return 2
    stale = []
    for name, text in files().items():
        path = os.path.join(args[0], name)
        if check:
            try:
                with open(path) as f:
                    if f.read() == text:
                        continue
            except OSError:
                pass
            stale.append(path)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        sys.stderr.write("%s: differ from dashboards/grafana/generate.py; run "
                         "`dashboards/grafana/generate.py dashboards/grafana`\n" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
