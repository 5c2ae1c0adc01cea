# SPDX-License-Identifier: GPL-2.0-only
"""The real databases collectd's writers feed, each started on 127.0.0.1
in a directory of the test's, stopped by the harness's cleanups: Graphite's
carbon-cache (whisper files) and graphite-web (its HTTP API), InfluxDB 1.x
(UDP in, HTTP out), Prometheus (scraping write_prometheus)."""

import json
import os
import shutil
import socket
import subprocess
import unittest
import urllib.request

import harness as h

# graphite-web is Debian's, for Debian's python3 (django, whisper).
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(binary):
    path = shutil.which(binary)
    if not path:
        raise unittest.SkipTest("%s is not installed (Debian: see scripts/install-deps.sh)" % binary)
    return path


def http_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def serve(d, argv, port, env=None):
    """Start a server with its output in d/out; wait until port listens."""
    with open(os.path.join(d, "out"), "w") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    h.register_cleanup(lambda: h.kill_proc(p))

    def listening():
        if p.poll() is not None:
            raise AssertionError("%s exited %d; see %s/out" % (argv[0], p.returncode, d))
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    h.wait_for("%s listening on %d" % (argv[0], port), listening)
    return p


class Carbon:
    """carbon-cache with 1 s whisper resolution (the harness's Interval)."""

    def __init__(self, tmp):
        need("carbon-cache")
        d = os.path.join(tmp, "carbon")
        self.whisper = os.path.join(d, "storage", "whisper")
        os.makedirs(self.whisper)
        self.port, self.query_port = free_port(), free_port()
        with open(os.path.join(d, "carbon.conf"), "w") as f:
            f.write("\n".join([
                "[cache]",
                "STORAGE_DIR = %s/storage" % d,
                "LOCAL_DATA_DIR = %s" % self.whisper,
                "WHITELISTS_DIR = %s" % d,
                "CONF_DIR = %s" % d,
                "LOG_DIR = %s" % d,
                "PID_DIR = %s" % d,
                "ENABLE_LOGROTATION = False",
                "USER =",
                "MAX_CACHE_SIZE = inf",
                "MAX_UPDATES_PER_SECOND = 100000",
                "MAX_CREATES_PER_MINUTE = inf",
                "LINE_RECEIVER_INTERFACE = 127.0.0.1",
                "LINE_RECEIVER_PORT = %d" % self.port,
                "ENABLE_UDP_LISTENER = False",
                "PICKLE_RECEIVER_INTERFACE = 127.0.0.1",
                "PICKLE_RECEIVER_PORT = %d" % free_port(),
                "CACHE_QUERY_INTERFACE = 127.0.0.1",
                "CACHE_QUERY_PORT = %d" % self.query_port,
                "",
            ]))
        with open(os.path.join(d, "storage-schemas.conf"), "w") as f:
            f.write("[all]\npattern = .*\nretentions = 1s:1h\n")
        serve(d, ["carbon-cache", "--config=%s/carbon.conf" % d, "--nodaemon", "start"], self.port)


class GraphiteWeb:
    """graphite-web's render and find API over a Carbon's whisper files and,
    through carbonlink, the points its cache has not written yet."""

    SETTINGS = """import os
SECRET_KEY = "kepler-e2e"
STORAGE_DIR = os.environ["KEPLER_GRAPHITE_DIR"]
LOG_DIR = STORAGE_DIR
WHISPER_DIR = os.environ["KEPLER_WHISPER_DIR"]
CARBONLINK_HOSTS = [os.environ["KEPLER_CARBONLINK"]]
DATABASES = {"default": {"NAME": os.path.join(STORAGE_DIR, "graphite.db"),
                         "ENGINE": "django.db.backends.sqlite3"}}
"""
    SERVER = """import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server
from django.core.wsgi import get_wsgi_application
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
make_server("127.0.0.1", int(sys.argv[1]), get_wsgi_application(),
            handler_class=Quiet).serve_forever()
"""

    def __init__(self, tmp, carbon):
        if not os.path.exists("/usr/lib/python3/dist-packages/graphite/settings.py"):
            raise unittest.SkipTest("graphite-web is not installed (Debian: see "
                                    "scripts/install-deps.sh)")
        d = os.path.join(tmp, "graphite-web")
        os.makedirs(d)
        with open(os.path.join(d, "kepler_graphite_settings.py"), "w") as f:
            f.write(self.SETTINGS)
        with open(os.path.join(d, "serve.py"), "w") as f:
            f.write(self.SERVER)
        env = dict(os.environ, PYTHONPATH=d, GRAPHITE_SETTINGS_MODULE="kepler_graphite_settings",
                   DJANGO_SETTINGS_MODULE="graphite.settings", KEPLER_GRAPHITE_DIR=d,
                   KEPLER_WHISPER_DIR=carbon.whisper,
                   KEPLER_CARBONLINK="127.0.0.1:%d" % carbon.query_port)
        subprocess.run([SYSTEM_PYTHON, "-m", "django", "migrate", "--noinput"], env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.port = free_port()
        serve(d, [SYSTEM_PYTHON, os.path.join(d, "serve.py"), str(self.port)], self.port, env=env)
        self.url = "http://127.0.0.1:%d" % self.port


class Influx:
    """influxd with a UDP listener writing into database `collectd`."""

    def __init__(self, tmp):
        need("influxd")
        d = os.path.join(tmp, "influx")
        os.makedirs(d)
        self.http, self.udp = free_port(), free_port()
        with open(os.path.join(d, "influxdb.conf"), "w") as f:
            f.write("\n".join([
                "reporting-disabled = true",
                'bind-address = "127.0.0.1:%d"' % free_port(),
                "[meta]",
                '  dir = "%s/meta"' % d,
                "[data]",
                '  dir = "%s/data"' % d,
                '  wal-dir = "%s/wal"' % d,
                "[http]",
                "  enabled = true",
                '  bind-address = "127.0.0.1:%d"' % self.http,
                "  log-enabled = false",
                "[[udp]]",
                "  enabled = true",
                '  bind-address = "127.0.0.1:%d"' % self.udp,
                '  database = "collectd"',
                # write_influxdb_udp's timestamps are in ms; the listener's
                # default is ns.
                '  precision = "ms"',
                "  batch-size = 100",
                '  batch-timeout = "100ms"',
                "",
            ]))
        serve(d, ["influxd", "-config", os.path.join(d, "influxdb.conf")], self.http)
        self.url = "http://127.0.0.1:%d" % self.http


class Prometheus:
    """A Prometheus server scraping write_prometheus, with honor_labels
    (README): `instance` is the host collectd names."""

    def __init__(self, tmp, exporter_port, scrape_interval="1s"):
        need("prometheus")
        d = os.path.join(tmp, "prometheus")
        os.makedirs(d)
        self.port = free_port()
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: %s\nscrape_configs:\n"
                    "  - job_name: collectd\n    honor_labels: true\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % (scrape_interval, exporter_port))
        serve(d, ["prometheus", "--config.file=%s/prometheus.yml" % d,
                  "--storage.tsdb.path=%s/data" % d,
                  "--web.listen-address=127.0.0.1:%d" % self.port], self.port)
        self.url = "http://127.0.0.1:%d" % self.port
