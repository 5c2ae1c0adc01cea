# SPDX-License-Identifier: GPL-2.0-only
"""The Grafana dashboards in dashboards/grafana: each is what generate.py
writes (so the three databases' dashboards show the same panels), and each
is one Grafana can import: panel ids unique, every panel inside the 24
columns, every target bound to the dashboard's datasource variable, every
variable a query uses defined before it or a Grafana macro.

Fails (exit 1, one line per problem). What the queries return is
tests/e2e/test_dashboards.py's, against the real databases.

Usage: check_dashboards.py [SRCDIR]   (default: $KEPLER_SRCDIR, else this file's ../)
"""
import json
import os
import re
import sys

MACROS = {"__interval", "__interval_ms", "__rate_interval", "__range", "timeFilter"}


def problems(path, text):
    dash = json.loads(text)
    out = []
    defined = set(MACROS)
    for v in dash["templating"]["list"]:
        for used in re.findall(r"\$(\w+)", json.dumps(v.get("query", ""))):
            if used not in defined:
                out.append("%s: variable %s uses $%s before it is defined" % (path, v["name"], used))
        defined.add(v["name"])
    ids = set()
    for p in dash["panels"]:
        where = "%s: panel %r" % (path, p.get("title"))
        if p["id"] in ids:
            out.append("%s: id %d used twice" % (where, p["id"]))
        ids.add(p["id"])
        g = p["gridPos"]
        if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > 24:
            out.append("%s: gridPos %s outside 24 columns" % (where, g))
        if p["type"] == "row":
            continue
        if not p.get("targets"):
            out.append("%s: no targets" % where)
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}":
                out.append("%s: target %s not on ${datasource}" % (where, t.get("refId")))
            for used in re.findall(r"\$(\w+)", json.dumps(t)):
                if used not in defined and used not in ("tag_instance", "tag_type_instance"):
                    out.append("%s: target %s uses undefined $%s" % (where, t["refId"], used))
    return out


def main():
    src = (sys.argv[1] if len(sys.argv) > 1 else
           os.environ.get("KEPLER_SRCDIR", os.path.join(os.path.dirname(__file__), "..")))
    d = os.path.join(src, "dashboards", "grafana")
    sys.dont_write_bytecode = True
    sys.path.insert(0, d)
    import generate
    out, n = [], 0
    for name, text in sorted(generate.files().items()):
        path = os.path.join(d, name)
        try:
            with open(path, encoding="utf-8") as f:
                committed = f.read()
        except OSError as e:
            out.append("%s: %s" % (path, e.strerror))
            continue
        if committed != text:
            out.append("%s: differs from generate.py's; run dashboards/grafana/generate.py %s"
                       % (path, d))
        out += problems(path, committed)
        n += sum(1 for p in json.loads(committed)["panels"] if p["type"] != "row")
    for line in out:
        print(line)
    if not out:
        print("%d dashboards, %d panels: as generate.py writes them, importable"
              % (len(generate.DATABASES), n))
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
