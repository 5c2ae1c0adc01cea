#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""End-to-end test of the collectd-native dashboards (dashboards/): the real
collectd with the plugin and Debian's default writer, rrdtool, while CPU
burners run in two services (cgroups under a system.slice). Then
dashboards/rrdtool/kepler-graph.sh draws the node's power and the service
and command levels stacked under the node's total; its -x mode exports
what the graphs draw, and at every row the stacked members must sum to the
node's total (0.1 %). collection3's graph.cgi (collectd's examples), with
dashboards/collection3/, must answer PNGs for the node and a level.
With KEPLER_PICTURES_DIR set, the pictures are copied there (docs/pictures).
Exit status: 0 pass, 1 fail, 77 skip (not root, no BTF, plugin, rrdtool or
collection3's Perl modules not installed).
"""

import math
import os
import shutil
import struct
import subprocess
import sys
import time
import unittest
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SRCDIR = os.environ.get("KEPLER_SRCDIR") or os.path.join(h.HERE, "..", "..")
SCRIPT = os.path.join(SRCDIR, "dashboards", "rrdtool", "kepler-graph.sh")
COLLECTION3_DIR = os.path.join(SRCDIR, "dashboards", "collection3")
COLLECTION3 = "/usr/share/doc/collectd/examples/collection3"
PERL_MODULES = ("CGI", "RRDs", "Config::General", "Regexp::Common", "HTML::Entities",
                "URI::Escape")
# Two services, one with two burners: unequal shares of the node.
SERVICES = {"kgraph-web.service": ["kb_web", "kb_web"], "kgraph-db.service": ["kb_db"]}
RUN_SECONDS = 40
SETTLE = 5  # seconds after the burners start before rows are checked
TOLERANCE = 0.001
MIN_CLEAN = 10  # rows the sum is checked in, at least


def png_size(path):
    """(width, height) of a PNG file, from its IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % path
    return struct.unpack(">II", head[16:24])


def xport(text):
    """(legends, [(t, [values])]) of rrdtool xport's XML."""
    root = ET.fromstring(text)
    legends = [e.text or "" for e in root.find("meta").find("legend")]
    rows = []
    for row in root.find("data"):
        t = int(row.find("t").text)
        rows.append((t, [float(v.text) for v in row.findall("v")]))
    return legends, rows


def missing():
    """Why the test cannot run here, or None (collection3 is its last
    test's, which skips on its own)."""
    if not shutil.which("rrdtool"):
        return "rrdtool is not installed (Debian: scripts/install-deps.sh)"
    if not os.path.exists(os.path.join(h.SYSTEM_PLUGIN_DIR, "rrdtool.so")):
        return "collectd's rrdtool plugin is not installed"
    return None


class RrdGraphs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        extra = 'LoadPlugin rrdtool\n<Plugin rrdtool>\n  DataDir "%s"\n</Plugin>'
        cls.cd = h.Collectd(name="rrd_graphs", extra_plugins=["rrdtool"],
                            # Every command: with the default top 5 a
                            # command entering or leaving the top bridges
                            # a gap in its file (see flapping()), and on a
                            # busy host most rows would be near one.
                            kepler_config='  Report "command" "all"')
        cls.rrd = os.path.join(cls.cd.tmp, "rrd")
        cls.cd.extra_config = extra % cls.rrd
        cls.addClassCleanup(lambda: cls.cd.cleanup(dump=h.STATE["failed"]))
        cls.cd.start()
        cls.cd.wait_started()
        cls.t0 = time.time()
        mount = h.cgroup2_mount()
        root = h.make_cgroup(os.path.join(mount, "kepler_e2e_%s" % os.urandom(4).hex()))
        h.make_cgroup(os.path.join(root, "system.slice"))
        for service, comms in SERVICES.items():
            cg = h.make_cgroup(os.path.join(root, "system.slice", service))
            for comm in comms:
                h.spawn_in_cgroup([h.named_burner(cls.cd.tmp, comm)], cgroup=cg)
        cls.busy = time.time()
        host = os.path.join(cls.rrd, h.HOSTNAME)
        h.wait_for("the services' rrd files",
                   lambda: len(cls.services()) == len(SERVICES),
                   seen=lambda: os.listdir(host) if os.path.isdir(host) else None)
        time.sleep(RUN_SECONDS)
        cls.t1 = int(time.time()) - 1
        cls.cd.stop()
        cls.out = os.path.join(cls.cd.tmp, "png")
        cls.window = ["-s", str(int(cls.t0)), "-e", str(cls.t1)]

    @classmethod
    def services(cls):
        """The services' instance names: the plugin makes them valid series
        names ("kgraph-web.service" -> "kgraph_web_<hash>")."""
        host = os.path.join(cls.rrd, h.HOSTNAME)
        try:
            dirs = os.listdir(host)
        except FileNotFoundError:
            return []
        return sorted(d[len("kepler_service-"):] for d in dirs
                      if d.startswith("kepler_service-kgraph_")
                      and os.path.exists(os.path.join(host, d, "power-total.rrd")))

    def script(self, *args):
        proc = subprocess.run(["sh", SCRIPT] + self.window + list(args), capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, "kepler-graph.sh %s: %s" % (args, proc.stderr))
        return proc.stdout

    def picture(self, src, name):
        d = os.environ.get("KEPLER_PICTURES_DIR")
        if d:
            os.makedirs(d, exist_ok=True)
            shutil.copyfile(src, os.path.join(d, name))

    def check_png(self, path):
        self.assertTrue(os.path.isfile(path), path)
        w, ht = png_size(path)
        size = os.path.getsize(path)
        print("%s: %dx%d, %d bytes" % (os.path.basename(path), w, ht, size), flush=True)
        self.assertGreaterEqual(w, 800)
        self.assertGreater(size, 10000, "%s is nearly empty" % path)

    def checked_rows(self, rows, cols):
        """The rows after the burners settled whose columns cols are known."""
        return [(t, v) for t, v in rows if t >= self.busy + SETTLE and t <= self.t1 - 1
                and not any(math.isnan(v[c]) for c in cols)]

    def test_1_graphs(self):
        self.script("-o", self.out, self.rrd, h.HOSTNAME, "node", "service", "command")
        for name, picture in (("node-power.png", "rrd-node-power.png"),
                              ("service-stacked.png", "rrd-service-stacked.png"),
                              ("command-stacked.png", "rrd-command-stacked.png")):
            path = os.path.join(self.out, name)
            self.check_png(path)
            self.picture(path, picture)

    def test_2_node_data(self):
        legends, rows = xport(self.script("-x", self.rrd, h.HOSTNAME, "node"))
        self.assertEqual(legends, ["node_total", "node_idle", "node_dynamic"])
        span = [(t, v) for t, v in rows if self.busy + SETTLE <= t <= self.t1 - 1]
        good = self.checked_rows(rows, (0, 1, 2))
        worst = max(h.rel_err(v[1] + v[2], v[0]) for _, v in good)
        print("node: %d of %d rows known; idle + dynamic against total: worst %.2e; "
              "total %.2f W on average" % (len(good), len(span), worst,
                                           sum(v[0] for _, v in good) / len(good)), flush=True)
        self.assertGreaterEqual(len(good), 0.9 * len(span))
        self.assertLessEqual(worst, TOLERANCE)

    def flapping(self, level, rows):
        """The rows near a dispatch that left a member out while it had
        series before or after (a member entering or leaving the top N, a
        command that started or ended): rrdtool's heartbeat (two intervals)
        bridges a gap of one interval with the next value, and a file's
        first value is its first known row, so the stack and the node differ
        there. The csv writer's record of the dispatches says which."""
        reads = sorted(e for e, _ in self.cd.series("kepler_node", "power-total"))
        near = set()
        for d in self.cd.series_dirs():
            if not d.startswith("kepler_%s-" % level):
                continue
            have = {e for e, _ in self.cd.series(d, "power-total")}
            for e in reads:
                if e not in have and have and min(have) - 3 < e < max(have) + 3:
                    near.add(e)
        # A read missed at e: the next value fills the rows (e - 1, e + 1]
        # (bridged) or the first value's row is unknown.
        return {t for t, _ in rows if any(e - 1 <= t <= e + 2 for e in near)}

    def level_data(self, level, expect, strict=True):
        legends, rows = xport(self.script("-x", self.rrd, h.HOSTNAME, level))
        self.assertEqual(legends[0], "node_total")
        cols = [c for c, l in enumerate(legends) if l.startswith("stack ")]
        stacked = [legends[c] for c in cols]
        raw = legends[cols[-1] + 1:]
        self.assertTrue(all(r.startswith("raw ") for r in raw), legends)
        n = len(stacked)
        for name in expect:
            self.assertIn("stack " + name, stacked)
        span = [(t, v) for t, v in rows if self.busy + SETTLE <= t <= self.t1 - 1]
        known = self.checked_rows(rows, [0])
        flaps = self.flapping(level, known)
        good = [(t, v) for t, v in known if t not in flaps]
        worst, worst_t = 0.0, None
        for t, v in good:
            e = h.rel_err(sum(v[c] for c in cols), v[0])
            if e > worst:
                worst, worst_t = e, t
        flap_worst = max([h.rel_err(sum(v[c] for c in cols), v[0]) for t, v in known if t in flaps],
                         default=0.0)
        # Each expected member is known (not NaN) in most rows.
        members = {}
        for name in expect:
            c = cols[-1] + 1 + raw.index("raw " + name)
            members[name] = sum(1 for _, v in span if not math.isnan(v[c]))
        print("%s: %d members and buckets (%s); %d rows, the node known in %d; %d rows near a "
              "member's first or missing dispatch left out (worst there %.2e); stacked against "
              "the node's total in %d rows: worst %.2e (t=%s); rows known per member %s"
              % (level, n, ", ".join(s[6:] for s in stacked), len(span), len(known), len(flaps),
                 flap_worst, len(good), worst, worst_t, members), flush=True)
        self.assertGreaterEqual(len(known), 0.9 * len(span))
        if len(good) < MIN_CLEAN and not strict:
            # Every command of the host is a member: on a busy host (a
            # build beside the test) commands start and end every second.
            print("%s: too few rows away from commands starting or ending to check the "
                  "sum (the service level checks the same stacking)" % level, flush=True)
        else:
            self.assertGreaterEqual(len(good), MIN_CLEAN)
            self.assertLessEqual(worst, TOLERANCE)
        for name in expect:
            self.assertGreaterEqual(members[name], 0.8 * len(span), name)

    def test_3_service_data(self):
        self.level_data("service", self.services() + ["system"])

    def test_4_command_data(self):
        self.level_data("command", ["kb_web", "kb_db"], strict=False)

    def test_6_odd_names(self):
        """Instance names with ':', spaces, '\\', '%' and non-ASCII, in files
        made with rrdtool: drawn, their legends escaped, the rest summed."""
        d = os.path.join(self.cd.tmp, "odd", "h")
        now = int(time.time())
        watts = {"kepler_node": 10, "kepler_command-a b:c": 4, "kepler_command-x\\y%s": 3,
                 "kepler_command-\u00fc.z": 2, "kepler_command-other": 1}
        for sub, w in watts.items():
            os.makedirs(os.path.join(d, sub))
            names = ("total", "idle", "dynamic") if sub == "kepler_node" else ("total",)
            for name in names:
                f = os.path.join(d, sub, "power-%s.rrd" % name)
                subprocess.run(["rrdtool", "create", f, "-b", str(now - 60), "-s", "1",
                                "DS:value:GAUGE:2:0:U", "RRA:AVERAGE:0.5:1:600"], check=True)
                subprocess.run(["rrdtool", "update", f]
                               + ["%d:%g" % (t, w) for t in range(now - 59, now)], check=True)
        window = ["-s", str(now - 50), "-e", str(now - 5)]
        out = os.path.join(self.cd.tmp, "odd", "png")
        proc = subprocess.run(["sh", SCRIPT, "-o", out, "-n", "2"] + window
                              + [os.path.dirname(d), "h", "node", "command"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.check_png(os.path.join(out, "command-stacked.png"))
        proc = subprocess.run(["sh", SCRIPT, "-x", "-n", "2"] + window
                              + [os.path.dirname(d), "h", "command"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        legends, rows = xport(proc.stdout)
        self.assertEqual(legends, ["node_total", "stack a b:c", "stack x/y%s", "stack 1 more",
                                   "stack other", "raw a b:c", "raw x/y%s", "raw other"])
        for _, v in rows:
            self.assertEqual(v[:5], [10, 4, 3, 2, 1])

    def cgi(self, query):
        """graph.cgi's answer (headers, body) for a query string."""
        env = dict(os.environ, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET",
                   QUERY_STRING=query, SCRIPT_FILENAME=os.path.join(self.c3, "bin", "graph.cgi"))
        proc = subprocess.run(["perl", os.path.join(self.c3, "bin", "graph.cgi")], env=env,
                              capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, "graph.cgi %s: %s" % (query, proc.stderr.decode()))
        head, _, body = proc.stdout.partition(b"\r\n\r\n")
        return head.decode(errors="replace"), body

    def test_5_collection3(self):
        if not os.path.isdir(COLLECTION3):
            self.skipTest("%s is missing (Debian's collectd package)" % COLLECTION3)
        for m in PERL_MODULES:
            if subprocess.run(["perl", "-M" + m, "-e", "1"], capture_output=True).returncode:
                self.skipTest("Perl module %s is not installed (scripts/install-deps.sh)" % m)
        # A copy of collection3 imported as dashboards/README.md says: the
        # module into lib/, the stock configuration with an Include line.
        self.c3 = os.path.join(self.cd.tmp, "collection3")
        shutil.copytree(COLLECTION3, self.c3)
        shutil.copyfile(os.path.join(COLLECTION3_DIR, "KeplerPower.pm"),
                        os.path.join(self.c3, "lib", "Collectd", "Graph", "Type", "KeplerPower.pm"))
        conf = os.path.join(self.c3, "etc", "collection.conf")
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write('DataDir "%s"\n' % self.rrd + text
                    + 'Include "%s"\n' % os.path.join(COLLECTION3_DIR, "kepler.conf"))
        when = "begin=%d;end=%d;width=800;height=200" % (int(self.t0), self.t1)
        # The graphs collection3's index links to for the host's power files:
        # the node, its components, one per level, one per member.
        listing = subprocess.run(
            ["perl", "-I", os.path.join(self.c3, "lib"), "-e",
             'use Collectd::Graph::Config qw(gc_read_config); use Collectd::Graph::TypeLoader '
             'qw(tl_load_type); use Collectd::Graph::Common qw(get_files_for_host); '
             'gc_read_config($ARGV[0]); my $o = tl_load_type("power"); '
             '$o->addFiles(grep { $_->{type} eq "power" } @{get_files_for_host($ARGV[1])}); '
             'print $o->getGraphArgs($_), "\\n" for 0 .. $o->getGraphsNum() - 1;',
             conf, h.HOSTNAME], capture_output=True, text=True, timeout=60)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        args = listing.stdout.split()
        node = "hostname=%s;plugin=kepler_node;type=power;type_instance=" % h.HOSTNAME
        level = "hostname=%s;plugin=kepler_%s;type=power"
        self.assertIn(level % (h.HOSTNAME, "service"), args)
        self.assertIn(level % (h.HOSTNAME, "command"), args)
        self.assertEqual(len([a for a in args if a.startswith(node)]), 2, args)  # node, components
        for s in self.services():
            mine = [a for a in args if "plugin_instance=%s;" % s in a]
            self.assertEqual(len(mine), 1, "one graph for service %s: %s" % (s, args))
        kepler = [a for a in args if "plugin=kepler_" in a]
        print("collection3: %d graphs of kepler power (%d in all)" % (len(kepler), len(args)),
              flush=True)
        pictures = {level % (h.HOSTNAME, "service"): "collection3-service-power.png",
                    level % (h.HOSTNAME, "command"): "collection3-command-power.png",
                    [a for a in args if a.startswith(node)][0]: "collection3-node-power.png"}
        queries = kepler + ["hostname=%s;plugin=kepler_node;type=joules;type_instance=total"
                            % h.HOSTNAME]
        for n, query in enumerate(queries):
            head, body = self.cgi(query + ";" + when)
            self.assertIn("image/png", head.lower(), query)
            self.assertEqual(body[:8], b"\x89PNG\r\n\x1a\n", "%s: %s" % (query, body[:200]))
            path = os.path.join(self.cd.tmp, "collection3-%d.png" % n)
            with open(path, "wb") as f:
                f.write(body)
            print("collection3 %s: %dx%d, %d bytes" % ((query,) + png_size(path) + (len(body),)),
                  flush=True)
            self.assertGreater(len(body), 8000, query)
            if query in pictures:
                self.picture(path, pictures[query])


if __name__ == "__main__":
    h.skip_if_unsupported()
    # Here, not in setUpClass: a class that skips runs no test, and
    # run_tests counts that a failure.
    if missing():
        print("SKIP: " + missing(), flush=True)
        sys.exit(h.SKIP)
    h.run_tests()
