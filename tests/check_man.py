# SPDX-License-Identifier: GPL-2.0-only
"""The man pages against the code: collectd-kepler(5) documents exactly the
options the plugin accepts, and podchecker finds no error in any page.

The options the plugin accepts are the keys of config_options[] in
plugin/collectd/kepler.c. The options documented are the first B<...> of
each "=item" in the CONFIGURATION section of man/collectd-kepler.5.pod.

Fails (exit 1, one line per problem) on an option of the table that the
page does not document, an option the page documents that the table does
not have, an option documented twice, and a page podchecker reports an
error in. Skips (exit 77) without podchecker.

Usage: check_man.py [SRCDIR]   (default: $KEPLER_SRCDIR, else this file's ../)
"""
import os
import re
import shutil
import subprocess
import sys

PAGES = ["man/collectd-kepler.5.pod", "man/kepler-model.1.pod",
         "man/kepler-estimator.1.pod"]
TABLE = re.compile(r"config_options\[\]\s*=\s*\{(.*?)\n\};", re.S)
KEY = re.compile(r'^\s*\{\s*"([A-Za-z0-9]+)"\s*,', re.M)
ITEM = re.compile(r"^=item\s+B<([A-Za-z0-9]+)>", re.M)


def code_options(src):
    path = os.path.join(src, "plugin/collectd/kepler.c")
    with open(path, encoding="utf-8") as f:
        m = TABLE.search(f.read())
    if not m:
        raise SystemExit("%s: no config_options[] table found" % path)
    return KEY.findall(m.group(1))


def configuration_section(pod):
    """The text of =head1 CONFIGURATION up to the next =head1."""
    m = re.search(r"^=head1 CONFIGURATION\s*$(.*?)(?=^=head1 |\Z)", pod, re.M | re.S)
    return m.group(1) if m else ""


def documented_options(src):
    path = os.path.join(src, "man/collectd-kepler.5.pod")
    with open(path, encoding="utf-8") as f:
        section = configuration_section(f.read())
    if not section:
        raise SystemExit("%s: no =head1 CONFIGURATION section" % path)
    return ITEM.findall(section)


def podchecker_errors(src, podchecker):
    problems = []
    for page in PAGES:
        path = os.path.join(src, page)
        r = subprocess.run([podchecker, "-warnings", path], capture_output=True, text=True)
        # podchecker: 0 no errors, 1 errors, 2 no POD at all.
        if r.returncode != 0:
            lines = [l for l in (r.stderr + r.stdout).splitlines()
                     if "ERROR" in l or "does not contain any pod" in l]
            problems += ["%s: podchecker: %s" % (page, l) for l in lines] or [
                "%s: podchecker exited %d" % (page, r.returncode)]
        else:
            for l in r.stderr.splitlines():
                if "WARNING" in l:
                    print("%s: podchecker: %s" % (page, l))
    return problems


def main():
    src = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KEPLER_SRCDIR")
           or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    podchecker = shutil.which("podchecker")
    if not podchecker:
        print("SKIP: podchecker not found (Debian: perl)")
        return 77
    code = code_options(src)
    documented = documented_options(src)
    problems = []
    lower_doc = {d.lower() for d in documented}
    lower_code = {c.lower() for c in code}
    for key in code:
        if key.lower() not in lower_doc:
            problems.append("man/collectd-kepler.5.pod: option %s (plugin/collectd/kepler.c) "
                            "is not documented" % key)
    for key in documented:
        if key.lower() not in lower_code:
            problems.append("man/collectd-kepler.5.pod: documents %s, which "
                            "plugin/collectd/kepler.c does not accept" % key)
    seen = set()
    for key in documented:
        if key.lower() in seen:
            problems.append("man/collectd-kepler.5.pod: %s is documented twice" % key)
        seen.add(key.lower())
    problems += podchecker_errors(src, podchecker)
    for p in problems:
        print(p)
    if problems:
        return 1
    print("%d options documented, as in kepler.c; %d pages pass podchecker"
          % (len(code), len(PAGES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
