#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Helpers shared by the packaging tests (test_install.py, test_package.py):
commands run in a process group of their own, so that a timeout or an
interrupt kills everything they started (make's children, a chroot's
daemons), and make variables read from a configured build directory.
"""

import os
import signal
import subprocess

# What make passes to its children: a nested make started by a test must
# not join the jobserver of the make check that runs the test.
_MAKE_ENV = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in _MAKE_ENV}
    env.update(extra or {})
    return env


def kill_group(p, timeout=10.0):
    """SIGKILL p's process group and reap p."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass


def run(argv, timeout, what=None, env=None, cwd=None, check=True, input_text=None):
    """Run argv in a new session, output captured (stderr into stdout).
    Returns (returncode, output). On timeout, or any exception, the whole
    group is killed and reaped. With check, a non-zero status raises
    AssertionError naming what ran and the output's tail."""
    what = what or " ".join(argv)
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=clean_env(env), cwd=cwd, start_new_session=True)
    try:
        out, _ = p.communicate(input=input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(p)
        raise AssertionError("%s: still running after %d s, killed" % (what, timeout))
    finally:
        kill_group(p)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (exit %d):\n%s" % (what, p.returncode, tail(out)))
    return p.returncode, out


def tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


def make_var(builddir, name):
    """A variable of builddir's Makefile, fully expanded by make itself
    (distcheck configures some as ${libdir}/...)."""
    _, out = run(["make", "-s", "--no-print-directory", "-C", builddir, "-f", "Makefile", "-f", "-",
                  "kepler-print-var"], timeout=60, what="make: print %s" % name,
                 input_text="kepler-print-var:\n\t@echo '$(%s)'\n" % name)
    return out.strip()


def files_under(root):
    """Every non-directory (files, symlinks) under root, relative to it."""
    found = set()
    for d, dirs, files in os.walk(root):
        for n in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            found.add(os.path.relpath(os.path.join(d, n), root))
    return found
