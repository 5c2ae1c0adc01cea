# SPDX-License-Identifier: GPL-2.0-only
"""The include graph of plugin/ and bpf/, held to the pipeline's direction.

Each folder of plugin/ is a stage of one interval; a file may include
headers of its own stage, of common/ and of the stages before it:

    common < sample < identify < measure < estimate < attribute < core
    < collectd, cli   (collectd/ and cli/ do not see each other)

bpf/kepler.h (and the skeleton generated from bpf/kepler.bpf.c) belong to
the sample stage; headers ending in .bpf.h are for the BPF side only, and
the BPF side includes nothing of plugin/. Only collectd/ includes collectd's
own headers ("core/daemon/...", "core/utils/..."), and collectd/ sees the
report, not the sampler: no header of sample/ or bpf/, not even through
another header.

Fails (exit 1, one line per problem) on an include against the direction,
an include cycle between modules (a module is a .c, its .h and its
_internal.h: a.c including b.h and b.c including a.h is a cycle), a quoted include that
names no file of the tree, two headers with one name (the stage include
paths are flat) and two headers with one include guard.

Usage: check_includes.py [SRCDIR]   (default: this file's ../)
"""
import os
import re
import sys

STAGES = ["common", "sample", "identify", "measure", "estimate",
          "attribute", "core", "collectd", "cli"]
RANK = {s: i for i, s in enumerate(STAGES)}
# Stages beside each other: same rank in the order, not visible to each
# other.
RANK["cli"] = RANK["collectd"]
# Files generated at build time, by the stage they belong to.
GENERATED = {"kepler.skel.h": "sample", "default_model.c": "estimate"}
COLLECTD_HEADER = re.compile(r"^core/(daemon|utils)/")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
GUARD = re.compile(r"^\s*#\s*ifndef\s+(\w+)\s*\n\s*#\s*define\s+\1\b", re.M)


def stage_of(rel):
    """The stage of a file of the tree (path relative to SRCDIR)."""
    parts = rel.split("/")
    if parts[0] == "bpf":
        if rel.endswith(".bpf.c") or rel.endswith(".bpf.h"):
            return "bpf"
        return "sample"  # the header both sides see
    if parts[0] == "plugin" and len(parts) == 3 and parts[1] in RANK:
        return parts[1]
    return None


def module_of(rel):
    """A .c and its .h are one module; X_internal.h is module X's private
    header (its structure, for X.c and X's own parsers), part of X."""
    mod = os.path.splitext(rel)[0]
    if mod.endswith(".bpf"):
        mod = mod[:-len(".bpf")]
    if mod.endswith("_internal"):
        mod = mod[:-len("_internal")]
    return mod


def visible(frm, to, target):
    """Whether a file of stage frm may include header target of stage to."""
    if frm == "bpf":  # the BPF side: bpf/ only
        return target is not None and target.startswith("bpf/")
    if to == "bpf":
        return False
    if frm == to:
        return True
    if frm == "collectd" and to == "sample":
        return False  # the glue sees the report, not the sampler
    return RANK[to] < RANK[frm]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..")
    files = []
    for top in ("plugin", "bpf"):
        for dirpath, _, names in os.walk(os.path.join(src, top)):
            for n in names:
                if n.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(dirpath, n), src))
    files.sort()
    problems = []
    headers = {}  # basename -> relative path
    for rel in files:
        if stage_of(rel) is None:
            problems.append(f"{rel}: not in a stage folder of plugin/ ("
                            + ", ".join(STAGES) + ") nor in bpf/")
            continue
        if rel.endswith(".h"):
            base = os.path.basename(rel)
            if base in headers:
                problems.append(f"{rel}: same name as {headers[base]} (the "
                                "stage include paths are flat)")
            headers[base] = rel

    guards = {}
    module_edges = {}  # module -> {module: (file, header)}
    header_includes = {}  # file -> the files of the tree it includes
    for rel in files:
        frm = stage_of(rel)
        if frm is None:
            continue
        with open(os.path.join(src, rel), encoding="utf-8") as f:
            text = f.read()
        if rel.endswith(".h"):
            m = GUARD.search(text)
            if m:
                if m.group(1) in guards:
                    problems.append(f"{rel}: include guard {m.group(1)} is "
                                    f"also {guards[m.group(1)]}'s")
                guards[m.group(1)] = rel
        module = module_of(rel)
        for lineno, name in ((text.count("\n", 0, m.start()) + 1, m.group(1))
                             for m in INCLUDE.finditer(text)):
            where = f"{rel}:{lineno}"
            if COLLECTD_HEADER.match(name):
                if frm != "collectd":
                    problems.append(f"{where}: collectd header \"{name}\" "
                                    "outside plugin/collectd/")
                continue
            base = os.path.basename(name)
            if base in GENERATED:
                to, target = GENERATED[base], None
            elif base in headers and "/" not in name:
                target = headers[base]
                to = stage_of(target)
            else:
                problems.append(f"{where}: \"{name}\" is no header of "
                                "plugin/ or bpf/")
                continue
            if not visible(frm, to, target):
                problems.append(f"{where}: {frm} includes \"{name}\" of "
                                f"{to}, against the direction")
            if target:
                header_includes.setdefault(rel, []).append(target)
                dep = module_of(target)
                if dep != module:
                    module_edges.setdefault(module, {}).setdefault(
                        dep, (rel, name))

    # The glue through every header it reaches: no sampler internals.
    for rel in files:
        if stage_of(rel) != "collectd":
            continue
        seen, todo = set(), [rel]
        while todo:
            f = todo.pop()
            for name in header_includes.get(f, ()):
                if name in seen:
                    continue
                seen.add(name)
                todo.append(name)
                if stage_of(name) in ("sample", "bpf"):
                    problems.append(f"{rel}: reaches {name} (through its "
                                    "includes): the glue sees the report, "
                                    "not the sampler")

    # Cycles between modules: depth-first search, one report per cycle.
    state, stack, seen_cycles = {}, [], set()

    def visit(mod):
        state[mod] = "open"
        stack.append(mod)
        for dep in sorted(module_edges.get(mod, {})):
            if state.get(dep) == "open":
                cycle = stack[stack.index(dep):] + [dep]
                key = frozenset(cycle)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    steps = [f"{module_edges[a][b][0]} includes "
                             f"\"{module_edges[a][b][1]}\""
                             for a, b in zip(cycle, cycle[1:])]
                    problems.append("include cycle: " + "; ".join(steps))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[mod] = "done"

    for mod in sorted(module_edges):
        if mod not in state:
            visit(mod)

    for p in problems:
        print(p)
    n_edges = sum(len(d) for d in module_edges.values())
    print(f"check_includes: {len(files)} files, {n_edges} module "
          f"dependencies, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
