#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of series names through collectd's real writers into
real databases, all started by the test on 127.0.0.1: write_graphite into
Graphite's carbon-cache (whisper files), write_influxdb_udp into InfluxDB,
write_prometheus scraped by a Prometheus server. The workloads have awkward
identifiers: command names with dots, spaces and non-ASCII bytes; services
whose names differ only in '.' versus '_', or of 200 characters; a VM whose
name has dots.
For each writer the test checks that every kepler series the daemon
dispatched (the csv writer's record) arrives as exactly one series, so names
are valid, distinct and stable.
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin or a
database not installed).
"""

import os
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

# Command names with dots, a space, non-ASCII and near-misses; services whose
# names differ only in '.' and '_', and one of 200 characters; a VM whose
# domain name has dots (libvirt keeps hostname characters, 64 at most).
ODD_COMMS = ("k.b \u00fc", "k.b_u", "k-b.u", "k vm.burn")
SERVICES = ("kepler.e2e.svc.service", "kepler_e2e_svc.service", "k" + "x" * 191 + ".service")
VM = "web.example.com"
# write_prometheus names a metric <plugin>_<type>_<data source> where the
# data source is not "value".
DS_SUFFIXED = {"duration_seconds": "duration"}


class Writers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for b in ("carbon-cache", "influxd", "prometheus"):
            db.need(b)
        cls.tmp = tempfile.mkdtemp(prefix="kepler_e2e_writers_")
        h.register_cleanup(lambda: shutil.rmtree(cls.tmp, ignore_errors=True))
        carbon = db.Carbon(cls.tmp)
        cls.carbon_port, cls.whisper = carbon.port, carbon.whisper
        influx = db.Influx(cls.tmp)
        cls.influx_http, cls.influx_udp = influx.http, influx.udp
        cls.prom_exporter = db.free_port()
        extra = "\n".join([
            "LoadPlugin write_graphite",
            "<Plugin write_graphite>",
            '  <Node "carbon">',
            '    Host "127.0.0.1"',
            '    Port "%d"' % cls.carbon_port,
            '    Protocol "tcp"',
            # Counters as they are: a rate needs two values, and a process
            # seen once would have none.
            "    StoreRates false",
            "  </Node>",
            "</Plugin>",
            "LoadPlugin write_influxdb_udp",
            "<Plugin write_influxdb_udp>",
            '  Server "127.0.0.1" "%d"' % cls.influx_udp,
            "  StoreRates false",
            "</Plugin>",
            "LoadPlugin write_prometheus",
            "<Plugin write_prometheus>",
            '  Host "127.0.0.1"',
            '  Port "%d"' % cls.prom_exporter,
            "</Plugin>",
        ])
        cls.cd = h.start_daemon(cls, kepler_config='  TopProcesses 0\n  Report "command" "all"', name="writers",
                                extra_plugins=("write_graphite", "write_influxdb_udp",
                                               "write_prometheus"),
                                extra_config=extra)
        cls.cd.wait_started()
        cls.prom_port = db.Prometheus(cls.tmp, cls.prom_exporter).port
        cls.make_workloads()

    # -- workloads with awkward names
    @classmethod
    def make_workloads(cls):
        mount = h.cgroup2_mount()
        root = h.make_cgroup(os.path.join(mount, "kepler_e2e_%s" % os.urandom(4).hex()))
        h.make_cgroup(os.path.join(root, "system.slice"))
        cgroups = [h.make_cgroup(os.path.join(root, "system.slice", s)) for s in SERVICES]
        h.make_cgroup(os.path.join(root, "machine.slice"))
        cgroups.append(h.make_cgroup(os.path.join(
            root, "machine.slice", "machine-qemu\\x2d3\\x2d%s.scope" % VM)))
        for i, comm in enumerate(ODD_COMMS):
            exe = h.named_burner(cls.cd.tmp, comm)
            h.spawn_in_cgroup([exe], cgroup=cgroups[i % len(cgroups)])
        cls.t0 = time.time()

    # -- what the daemon dispatched, from the csv writer
    def dispatched(self, after, min_rows=1):
        """{(plugin, plugin_instance, type, type_instance)} of kepler series
        with at least min_rows rows after `after`."""
        out = set()
        for d in self.cd.series_dirs():
            if not d.startswith("kepler_"):
                continue
            plugin, _, pinst = d.partition("-")
            for name in self.cd.series_names(d):
                if sum(T > after for T, _ in self.cd.series(d, name)) >= min_rows:
                    typ, _, tinst = name.partition("-")
                    out.add((plugin, pinst, typ, tinst))
        return out

    def test_a_names_through_every_writer(self):
        cd = self.cd
        # Wait until the odd workloads have been dispatched a few times.
        cd.wait_rows("kepler_node", "power-total", 4, after=self.t0 + 1)
        h.wait_for("the VM's and the long service's series", lambda: any(
            d.startswith("kepler_vm-web_example_com_") for d in cd.series_dirs()) and any(
            d.startswith("kepler_service-kxxx") for d in cd.series_dirs()))
        after = self.t0 + 2
        want = self.dispatched(after)
        odd = sorted({p + "-" + i for p, i, _, _ in want
                     if p in ("kepler_process", "kepler_service", "kepler_vm")
                     and ("k_b" in i or "k_vm" in i or "kepler" in i or i.startswith("kxxx")
                          or i.startswith("web_example"))})
        self.assertGreaterEqual(len(odd), len(ODD_COMMS) + len(SERVICES) + 1, odd)

        def graphite():
            got = set()
            for base, _, files in os.walk(self.whisper):
                for f in files:
                    rel = os.path.relpath(os.path.join(base, f[:-len(".wsp")]), self.whisper)
                    parts = rel.split(os.sep)
                    if len(parts) == 3 and parts[0] == h.HOSTNAME:
                        plugin, _, pinst = parts[1].partition("-")
                        typ, _, tinst = parts[2].partition("-")
                        got.add((plugin, pinst, typ, tinst))
            return got

        def influx():
            q = urllib.parse.urlencode({"db": "collectd", "q": "SHOW SERIES"})
            res = db.http_json("http://127.0.0.1:%d/query?%s" % (self.influx_http, q))
            got = set()
            for series in res.get("results", [{}])[0].get("series", []):
                for (key,) in series["values"]:
                    fields = key.split(",")
                    tags = dict(kv.split("=", 1) for kv in fields[1:])
                    got.add((fields[0], tags.get("instance", ""), tags.get("type", ""),
                             tags.get("type_instance", "")))
            return got

        def prometheus():
            q = urllib.parse.urlencode({"match[]": '{__name__=~"collectd_kepler_.*"}'})
            res = db.http_json("http://127.0.0.1:%d/api/v1/series?%s" % (self.prom_port, q))
            got = set()
            for labels in res["data"]:
                name = labels["__name__"]
                for plugin in ("kepler_node", "kepler_process", "kepler_container",
                               "kepler_pod", "kepler_service", "kepler_vm", "kepler_command"):
                    if name.startswith("collectd_%s_" % plugin):
                        typ = name[len("collectd_%s_" % plugin):]
                        if typ.endswith("_total"):
                            typ = typ[:-len("_total")]
                        # A data source not named "value" is appended
                        # (types.db: duration seconds:GAUGE:0:U).
                        typ = DS_SUFFIXED.get(typ, typ)
                        # The node has no plugin instance: its type instance
                        # is the label named after the plugin.
                        if plugin == "kepler_node":
                            got.add((plugin, "", typ, labels.get(plugin, "")))
                        else:
                            got.add((plugin, labels.get(plugin, ""), typ, labels.get("type", "")))
            return got

        # Prometheus pulls: write_prometheus exposes a series until collectd's
        # cache expires it (2 intervals after its last value), and a scrape
        # that a busy host delays past that misses a process that ran in one
        # interval only. Series dispatched in 3 intervals or more are always
        # scraped once.
        pulled = self.dispatched(after, min_rows=3)
        report = []
        for writer, read, must in (("write_graphite", graphite, want),
                                   ("write_influxdb_udp", influx, want),
                                   ("write_prometheus", prometheus, pulled)):
            def complete():
                got = read()
                return got if must <= got else None

            try:
                got = h.wait_for("%s to hold every dispatched series" % writer, complete,
                                 seen=lambda: sorted(must - read())[:10])
            except AssertionError as e:
                self.fail(str(e))
            report.append("%s %d series" % (writer, len(got)))
        print("a: %d kepler series dispatched (odd names: %s); all arrived as distinct series in %s"
              % (len(want), ", ".join(odd), "; ".join(report)), flush=True)
        cd.assert_alive()


if __name__ == "__main__":
    h.skip_if_unsupported()
    h.run_tests()
