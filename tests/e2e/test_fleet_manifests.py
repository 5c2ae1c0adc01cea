#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Structural validation of the Kubernetes manifests (docs/fleet.md):
deploy/kubernetes/*.yaml and the Helm chart deploy/helm/collectd-kepler
rendered with its defaults and with the aggregator, an existing Secret and
privileged mode switched on.

Every object is checked against the Kubernetes API's types as Debian's
python3-kubernetes has them: each key must be a field of its type (a typo
such as hostPid fails), each value of the field's type, and required fields
present (the models' own checks, through ApiClient.deserialize). Then what
the plugin needs: hostPID, the host's /sys, /proc and / mounted read-only
where the ConfigMap's SysfsRoot, ProcRoot and RuntimeRoot point, the
capabilities of conf/collectd-kepler-capabilities.conf instead of a
privileged container (privileged only where the chart's `privileged` value
asks for it), and the image deploy/image/build-image.sh makes.

No cluster and no helm run here: the chart's templates use a small part of
Helm's language (fields, if/else/end, range, not, quote, default, toYaml,
nindent) that this file renders itself, refusing anything else; when a
`helm` binary is on PATH its `helm template` output must be the same
objects. The checks are first run on broken copies, which they must reject.
Exit status: 0 pass, 1 fail.
"""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

# python3-kubernetes is Debian's: installed for /usr/bin/python3, which the
# interpreter configure found (a pyenv one, say) may not see.
try:
    import kubernetes.client
    import kubernetes.client.models
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and \
            os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("FAIL: python3-kubernetes is missing (scripts/install-deps.sh installs it)", flush=True)
    sys.exit(1)
import yaml  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("KEPLER_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
K8S_DIR = os.path.join(SRC, "deploy", "kubernetes")
CHART = os.path.join(SRC, "deploy", "helm", "collectd-kepler")
IMAGE_CONF = os.path.join(SRC, "deploy", "image", "collectd.conf")
BUILD_IMAGE = os.path.join(SRC, "deploy", "image", "build-image.sh")
CAPS_CONF = os.path.join(SRC, "conf", "collectd-kepler-capabilities.conf")
# Where the image's command reads its configuration (build-image.sh's CMD).
CONF_PATH = "/etc/collectd/collectd.conf"
# The kepler plugin's option naming the folder each host path is read from.
ROOT_OPTIONS = {"/sys": "SysfsRoot", "/proc": "ProcRoot", "/": "RuntimeRoot"}


# ------------------------------------------------------------ API types
def model_name(obj):
    """V1DaemonSet for apps/v1 DaemonSet: python3-kubernetes' class name."""
    version = obj.get("apiVersion", "").split("/")[-1]
    return version[:1].upper() + version[1:] + obj.get("kind", "")


def check_type(value, typ, where, errors):
    """Check value (parsed YAML) against a python3-kubernetes openapi type
    string: str, int, bool, float, object, datetime, list[T], dict(str, T)
    or a model class name, whose keys are checked recursively."""
    if value is None:
        return  # null is allowed for any optional field
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            errors.append("%s: a list expected, got %r" % (where, value))
            return
        for i, v in enumerate(value):
            check_type(v, m.group(1), "%s[%d]" % (where, i), errors)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            errors.append("%s: a map expected, got %r" % (where, value))
            return
        for k, v in value.items():
            check_type(v, m.group(1), "%s.%s" % (where, k), errors)
        return
    if typ == "object":  # int-or-string and the like
        return
    scalar = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,),
              "datetime": (str,), "date": (str,)}
    if typ in scalar:
        ok = isinstance(value, scalar[typ]) and not (typ in ("int", "float") and isinstance(value, bool))
        if not ok:
            errors.append("%s: %s expected, got %r" % (where, typ, value))
        return
    cls = getattr(kubernetes.client.models, typ, None)
    if cls is None:
        errors.append("%s: unknown type %s" % (where, typ))
        return
    if not isinstance(value, dict):
        errors.append("%s: a %s object expected, got %r" % (where, typ, value))
        return
    fields = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    for key, v in value.items():
        if key not in fields:
            errors.append("%s: %s has no field %r" % (where, typ, key))
            continue
        check_type(v, cls.openapi_types[fields[key]], "%s.%s" % (where, key), errors)


class _Response:
    """What ApiClient.deserialize reads: the body as .data."""

    def __init__(self, obj):
        self.data = json.dumps(obj)


def validate_object(obj, where):
    """Errors of one object against its API type; [] when valid."""
    if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
        return ["%s: not a Kubernetes object (apiVersion and kind)" % where]
    name = model_name(obj)
    if getattr(kubernetes.client.models, name, None) is None:
        return ["%s: no API type %s for %s %s" % (where, name, obj["apiVersion"], obj["kind"])]
    errors = []
    check_type(obj, name, "%s %s" % (where, obj["kind"]), errors)
    if not errors:
        # The models' constructors reject a missing required field.
        try:
            kubernetes.client.ApiClient().deserialize(_Response(obj), name)
        except (ValueError, TypeError) as e:
            errors.append("%s %s: %s" % (where, obj["kind"], e))
    if not (obj.get("metadata") or {}).get("name"):
        errors.append("%s %s: no metadata.name" % (where, obj["kind"]))
    return errors


# ------------------------------------------------------- what is needed
def required_capabilities():
    """The capabilities conf/collectd-kepler-capabilities.conf gives
    collectd, as Kubernetes names them (no CAP_ prefix)."""
    with open(CAPS_CONF) as f:
        for line in f:
            if line.startswith("CapabilityBoundingSet="):
                caps = line.split("=", 1)[1].split()
                return {c[len("CAP_"):] for c in caps}
    raise AssertionError("no CapabilityBoundingSet= line in %s" % CAPS_CONF)


def image_name():
    out = subprocess.run(["sh", BUILD_IMAGE, "--print-name"], capture_output=True, text=True,
                         check=True).stdout.strip()
    if not out:
        raise AssertionError("build-image.sh --print-name printed nothing")
    return out


def kepler_block(conf):
    """{option: [values]} of the <Plugin kepler> block of a collectd.conf."""
    m = re.search(r"^\s*<Plugin\s+\"?kepler\"?\s*>(.*?)^\s*</Plugin>", conf, re.M | re.S)
    if not m:
        raise AssertionError("no <Plugin kepler> block in the configuration")
    opts = {}
    for line in m.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, rest = line.partition(" ")
        opts.setdefault(key, []).append([json.loads(v) if v.startswith('"') else v
                                         for v in re.findall(r'"(?:[^"\\]|\\.)*"|\S+', rest)])
    return opts


def conf_lines(conf):
    """A collectd.conf's settings: no comments, blank lines or indentation."""
    return [ln.strip() for ln in conf.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def check_bundle(objs, want_privileged=False):
    """The checks of the module docstring on one set of objects; returns a
    list of problems ([] when all hold)."""
    problems = []
    for i, obj in enumerate(objs):
        problems += validate_object(obj, "object %d" % i)
    if problems:
        return problems
    by_kind = {}
    for obj in objs:
        by_kind.setdefault(obj["kind"], []).append(obj)
    dss = by_kind.get("DaemonSet", [])
    if len(dss) != 1:
        return ["%d DaemonSets, one expected" % len(dss)]
    ds = dss[0]
    ns = ds["metadata"].get("namespace")
    for obj in objs:
        if obj["kind"] != "Namespace" and obj["metadata"].get("namespace") != ns:
            problems.append("%s %s in namespace %r, the DaemonSet's is %r"
                            % (obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"), ns))
    spec = ds["spec"]["template"]["spec"]
    labels = ds["spec"]["template"]["metadata"].get("labels") or {}
    selector = ds["spec"]["selector"].get("matchLabels") or {}
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        problems.append("the DaemonSet's selector %r does not match its pods' labels %r" % (selector, labels))
    if spec.get("hostPID") is not True:
        problems.append("hostPID is %r, not true" % spec.get("hostPID"))
    containers = spec["containers"]
    if len(containers) != 1:
        return problems + ["%d containers, one expected" % len(containers)]
    c = containers[0]
    if c.get("image") != image_name():
        problems.append("image %r, build-image.sh makes %r" % (c.get("image"), image_name()))
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    mounts = {m["name"]: m for m in c.get("volumeMounts") or []}
    for name in mounts:
        if name not in volumes:
            problems.append("volumeMount %s has no volume" % name)
    # host path -> where the container sees it
    host = {}
    for name, v in volumes.items():
        path = (v.get("hostPath") or {}).get("path")
        if path is None:
            continue
        m = mounts.get(name)
        if m is None:
            problems.append("hostPath volume %s (%s) is not mounted" % (name, path))
            continue
        if m.get("readOnly") is not True:
            problems.append("the host's %s is mounted at %s without readOnly: true" % (path, m["mountPath"]))
        host[os.path.normpath(path)] = m["mountPath"]
    for path in ROOT_OPTIONS:
        if path not in host:
            problems.append("the host's %s is not mounted (hostPath)" % path)
    # The ConfigMap the image reads as its collectd.conf.
    conf_mount = [m for m in mounts.values() if m["mountPath"] == CONF_PATH]
    cm = None
    if len(conf_mount) != 1:
        problems.append("nothing (or more than one thing) mounted at %s" % CONF_PATH)
    else:
        m = conf_mount[0]
        cm_name = (volumes.get(m["name"], {}).get("configMap") or {}).get("name")
        cms = [o for o in by_kind.get("ConfigMap", []) if o["metadata"]["name"] == cm_name]
        if not cms:
            problems.append("%s is not from a ConfigMap of this bundle (volume %s)" % (CONF_PATH, m["name"]))
        else:
            cm = cms[0]
            key = m.get("subPath")
            conf = (cm.get("data") or {}).get(key)
            if conf is None:
                problems.append("ConfigMap %s has no key %r" % (cm_name, key))
            else:
                opts = kepler_block(conf)
                for path, option in ROOT_OPTIONS.items():
                    got = opts.get(option)
                    if path in host and got != [[host[path]]]:
                        problems.append("%s is %r, the host's %s is mounted at %s"
                                        % (option, got, path, host[path]))
    sc = c.get("securityContext") or {}
    if want_privileged:
        if sc.get("privileged") is not True:
            problems.append("privileged asked for, securityContext %r" % sc)
    else:
        if sc.get("privileged"):
            problems.append("a privileged container where capabilities were to do")
        caps = sc.get("capabilities") or {}
        missing = required_capabilities() - set(caps.get("add") or [])
        if missing:
            problems.append("capabilities %s not added (securityContext %r)" % (sorted(missing), sc))
        if "ALL" not in (caps.get("drop") or []):
            problems.append("capabilities not dropped first (drop: [ALL])")
        # Added capabilities are effective for root only (no ambient ones).
        if sc.get("runAsUser") != 0:
            problems.append("runAsUser %r: added capabilities work for root only" % sc.get("runAsUser"))
    sas = [o["metadata"]["name"] for o in by_kind.get("ServiceAccount", [])]
    if spec.get("serviceAccountName") not in sas:
        problems.append("serviceAccountName %r is not in the bundle (%s)" % (spec.get("serviceAccountName"), sas))
    port_names = {p.get("name") for p in c.get("ports") or []}
    for svc in by_kind.get("Service", []):
        sel = svc["spec"].get("selector") or {}
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            problems.append("Service %s selects %r, not the pods (%r)" % (svc["metadata"]["name"], sel, labels))
        for p in svc["spec"].get("ports") or []:
            if isinstance(p.get("targetPort"), str) and p["targetPort"] not in port_names:
                problems.append("Service port %r targets no container port" % p)
    return problems


# -------------------------------------------- Helm, the part the chart uses
class TemplateError(Exception):
    pass


_ACTION = re.compile(r"\{\{(-)?\s*(.*?)\s*(-)?\}\}", re.S)


def _tokens(text):
    """Text and actions, with {{- and -}} trimming done."""
    out = []
    pos = 0
    for m in _ACTION.finditer(text):
        out.append(["text", text[pos:m.start()]])
        if m.group(1):
            out[-1][1] = out[-1][1].rstrip(" \t\r\n")
        out.append(["action", m.group(2), bool(m.group(3))])
        pos = m.end()
    out.append(["text", text[pos:]])
    for i, t in enumerate(out):
        if t[0] == "action" and t[2]:
            out[i + 1][1] = out[i + 1][1].lstrip(" \t\r\n")
    return [(t[0], t[1]) for t in out]


def _parse(tokens, i=0, closers=()):
    """[(kind, ...)] nodes until one of closers; returns (nodes, i, closer)."""
    nodes = []
    while i < len(tokens):
        kind, s = tokens[i]
        i += 1
        if kind == "text":
            nodes.append(("text", s))
            continue
        word = s.split(None, 1)[0] if s else ""
        if word in ("end", "else") and s == word:
            if word not in closers:
                raise TemplateError("unexpected {{%s}}" % s)
            return nodes, i, word
        if word == "if":
            then, i, closer = _parse(tokens, i, ("else", "end"))
            other = []
            if closer == "else":
                other, i, _ = _parse(tokens, i, ("end",))
            nodes.append(("if", s[2:].strip(), then, other))
        elif word == "range":
            body, i, _ = _parse(tokens, i, ("end",))
            nodes.append(("range", s[5:].strip(), body))
        elif word in ("with", "define", "template", "include", "block", "else", "end") or \
                s.startswith("/*") or ":=" in s or s.startswith("$"):
            raise TemplateError("{{%s}}: not in the part of Helm this test renders" % s)
        else:
            nodes.append(("print", s))
    if closers:
        raise TemplateError("missing {{end}}")
    return nodes, i, None


def _empty(v):
    return v is None or v is False or v == 0 and not isinstance(v, bool) or v in ("", [], {})


def _to_string(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        raise TemplateError("printing a map or list: %r (toYaml it)" % (v,))
    return "" if v is None else str(v)


def _indent(n, s):
    pad = " " * n
    return pad + s.replace("\n", "\n" + pad)


_FUNCS = {
    "quote": lambda *a: " ".join(json.dumps(_to_string(x), ensure_ascii=False) for x in a),
    "default": lambda d, v=None: d if _empty(v) else v,
    "not": lambda v: _empty(v),
    "toYaml": lambda v: yaml.safe_dump(v, default_flow_style=False, sort_keys=True).rstrip("\n")
    if v not in ({}, []) else json.dumps(v),
    "nindent": lambda n, s: "\n" + _indent(int(n), _to_string(s)),
    "indent": lambda n, s: _indent(int(n), _to_string(s)),
}


def _arg(word, dot):
    if word.startswith('"'):
        return json.loads(word)
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    if word == ".":
        return dot
    if word.startswith("."):
        v = dot
        for part in word[1:].split("."):
            if not isinstance(v, dict) or part not in v:
                raise TemplateError("%s: no such value" % word)
            v = v[part]
        return v
    raise TemplateError("%r: not a value this test knows" % word)


def _eval(pipeline, dot):
    value = None
    first = True
    for cmd in pipeline.split("|"):
        words = re.findall(r'"(?:[^"\\]|\\.)*"|[^\s"]+', cmd.strip())
        if not words:
            raise TemplateError("empty command in %r" % pipeline)
        if words[0] in _FUNCS:
            args = [_arg(w, dot) for w in words[1:]] + ([] if first else [value])
            try:
                value = _FUNCS[words[0]](*args)
            except TypeError as e:
                raise TemplateError("%s in %r: %s" % (words[0], pipeline, e))
        elif len(words) == 1 and first:
            value = _arg(words[0], dot)
        else:
            raise TemplateError("%r: not a function this test knows" % cmd)
        first = False
    return value


def _render(nodes, dot):
    out = []
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "print":
            out.append(_to_string(_eval(node[1], dot)))
        elif node[0] == "if":
            out.append(_render(node[2] if not _empty(_eval(node[1], dot)) else node[3], dot))
        elif node[0] == "range":
            items = _eval(node[1], dot)
            if not isinstance(items, list):
                raise TemplateError("range over %r: lists only" % (items,))
            out.extend(_render(node[2], item) for item in items)
    return "".join(out)


def render_template(text, context):
    nodes, _, _ = _parse(_tokens(text))
    return _render(nodes, context)


def merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


RELEASE = "collectd-kepler"
NAMESPACE = "monitoring"


def render_chart(overrides):
    """The chart's objects for values.yaml merged with overrides."""
    with open(os.path.join(CHART, "Chart.yaml")) as f:
        chart = yaml.safe_load(f)
    with open(os.path.join(CHART, "values.yaml")) as f:
        values = yaml.safe_load(f)
    ctx = {
        "Values": merge(values, overrides),
        "Release": {"Name": RELEASE, "Namespace": NAMESPACE, "Service": "Helm"},
        # Helm's .Chart fields are Chart.yaml's keys, capitalised.
        "Chart": {k[:1].upper() + k[1:]: v for k, v in chart.items()},
    }
    objs = []
    tdir = os.path.join(CHART, "templates")
    for name in sorted(os.listdir(tdir)):
        with open(os.path.join(tdir, name)) as f:
            text = f.read()
        try:
            out = render_template(text, ctx)
        except TemplateError as e:
            raise AssertionError("%s: %s" % (name, e))
        if not name.endswith(".yaml"):
            continue  # NOTES.txt: rendered (above), not an object
        try:
            objs += [o for o in yaml.safe_load_all(out) if o is not None]
        except yaml.YAMLError as e:
            raise AssertionError("%s renders to invalid YAML: %s\n%s" % (name, e, out))
    return objs


def helm_template(overrides):
    """`helm template`'s objects for the same values, or None without helm."""
    helm = shutil.which("helm")
    if not helm:
        return None
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(overrides, f)
        f.flush()
        out = subprocess.run([helm, "template", RELEASE, CHART, "--namespace", NAMESPACE,
                              "-f", f.name], capture_output=True, text=True, check=True).stdout
    return [o for o in yaml.safe_load_all(out) if o is not None]


def by_identity(objs):
    return sorted(objs, key=lambda o: (o["kind"], o["metadata"]["name"]))


# ------------------------------------------------------------------ tests
def load_manifests():
    files = sorted(f for f in os.listdir(K8S_DIR) if f.endswith((".yaml", ".yml")))
    objs = []
    for name in files:
        with open(os.path.join(K8S_DIR, name)) as f:
            objs += [o for o in yaml.safe_load_all(f) if o is not None]
    return files, objs


def find(objs, kind):
    return [o for o in objs if o["kind"] == kind]


class ChecksCanFail(unittest.TestCase):
    """The checks reject broken copies of the plain manifest: a check that
    passes everything would pass these too."""

    def breaks(self, mutate, expect):
        _, objs = load_manifests()
        objs = copy.deepcopy(objs)
        mutate(objs)
        problems = check_bundle(objs)
        print("  %s -> %s" % (expect, problems[:2]), flush=True)
        self.assertTrue(any(expect in p for p in problems), problems)

    def ds(self, objs):
        return find(objs, "DaemonSet")[0]["spec"]["template"]["spec"]

    def test_misspelt_field(self):
        def mutate(objs):
            spec = self.ds(objs)
            spec["hostPid"] = spec.pop("hostPID")
        self.breaks(mutate, "has no field 'hostPid'")

    def test_wrong_type(self):
        self.breaks(lambda objs: self.ds(objs).update(hostPID="yes"), "bool expected")

    def test_missing_required_field(self):
        self.breaks(lambda objs: self.ds(objs)["containers"][0].pop("name"), "must not be `None`")

    def test_no_host_pid(self):
        self.breaks(lambda objs: self.ds(objs).update(hostPID=False), "hostPID is False")

    def test_writable_host_mount(self):
        def mutate(objs):
            for m in self.ds(objs)["containers"][0]["volumeMounts"]:
                if m["mountPath"] == "/host/proc":
                    m["readOnly"] = False
        self.breaks(mutate, "without readOnly: true")

    def test_root_option_off_its_mount(self):
        def mutate(objs):
            cm = find(objs, "ConfigMap")[0]
            cm["data"]["collectd.conf"] = cm["data"]["collectd.conf"].replace(
                'SysfsRoot "/host/sys"', 'SysfsRoot "/sys"')
        self.breaks(mutate, "SysfsRoot is [['/sys']]")

    def test_missing_capability(self):
        def mutate(objs):
            self.ds(objs)["containers"][0]["securityContext"]["capabilities"]["add"].remove("PERFMON")
        self.breaks(mutate, "capabilities ['PERFMON'] not added")

    def test_privileged(self):
        self.breaks(lambda objs: self.ds(objs)["containers"][0]["securityContext"].update(privileged=True),
                    "a privileged container")

    def test_other_image(self):
        self.breaks(lambda objs: self.ds(objs)["containers"][0].update(image="collectd-kepler:latest"),
                    "build-image.sh makes")

    def test_renderer_refuses_the_unknown(self):
        with self.assertRaises(TemplateError):
            render_template("{{ include \"x\" . }}", {})
        with self.assertRaises(TemplateError):
            render_template("{{ .Values.nope }}", {"Values": {}})
        self.assertEqual(render_template("a\n  {{- if .x }}\n  y: {{ .x | quote }}\n  {{- end }}\nb",
                                         {"x": 5}), 'a\n  y: "5"\nb')


class PlainManifests(unittest.TestCase):
    def test_manifests_valid_and_complete(self):
        files, objs = load_manifests()
        print("files %s: %s" % (files, [(o["kind"], o["metadata"]["name"]) for o in objs]), flush=True)
        self.assertEqual(check_bundle(objs), [])

    def test_configmap_is_the_image_configuration(self):
        """The ConfigMap's collectd.conf says what deploy/image/collectd.conf
        says (comments aside): the image run by test_container.py."""
        _, objs = load_manifests()
        with open(IMAGE_CONF) as f:
            want = conf_lines(f.read())
        self.assertEqual(conf_lines(find(objs, "ConfigMap")[0]["data"]["collectd.conf"]), want)


class HelmChart(unittest.TestCase):
    def check(self, overrides, want_privileged=False):
        objs = render_chart(overrides)
        print("values %s: %s" % (overrides, [(o["kind"], o["metadata"]["name"]) for o in objs]),
              flush=True)
        self.assertEqual(check_bundle(objs, want_privileged), [])
        helm = helm_template(overrides)
        if helm is None:
            print("  (no helm on PATH: rendered by this test only)", flush=True)
        else:
            self.assertEqual(by_identity(helm), by_identity(objs), "helm template differs")
        return objs

    def test_chart_metadata(self):
        with open(os.path.join(CHART, "Chart.yaml")) as f:
            chart = yaml.safe_load(f)
        self.assertEqual(chart["apiVersion"], "v2")
        self.assertEqual(chart["name"], "collectd-kepler")
        # The default tag is appVersion: the image build-image.sh names.
        self.assertEqual("localhost/collectd-kepler:" + chart["appVersion"], image_name())

    def test_defaults(self):
        objs = self.check({})
        self.assertEqual(find(objs, "Secret"), [])
        conf = find(objs, "ConfigMap")[0]["data"]["collectd.conf"]
        self.assertEqual(kepler_block(conf).get("ContainerInstance"), [["name"]])
        # With the defaults, what the image's own configuration says.
        with open(IMAGE_CONF) as f:
            self.assertEqual(conf_lines(conf), conf_lines(f.read()))

    def test_other_roots_follow(self):
        self.check({"hostRoots": {"sys": "/node/sys", "proc": "/node/proc", "root": "/node"}})

    def test_aggregator(self):
        objs = self.check({"aggregator": {"enabled": True, "host": "agg.example", "port": 25827,
                                          "securityLevel": "Sign", "password": "s3cr\"et"}})
        secrets = find(objs, "Secret")
        self.assertEqual(len(secrets), 1)
        net = secrets[0]["stringData"]["network.conf"]
        self.assertIn('<Server "agg.example" "25827">', net)
        self.assertIn('SecurityLevel "Sign"', net)
        self.assertIn('Password "s3cr\\"et"', net)
        vol = [v for v in find(objs, "DaemonSet")[0]["spec"]["template"]["spec"]["volumes"]
               if v["name"] == "network"][0]
        self.assertEqual(vol["secret"]["secretName"], secrets[0]["metadata"]["name"])

    def test_existing_secret(self):
        objs = self.check({"aggregator": {"enabled": True, "existingSecret": "my-network"}})
        self.assertEqual(find(objs, "Secret"), [])
        vol = [v for v in find(objs, "DaemonSet")[0]["spec"]["template"]["spec"]["volumes"]
               if v["name"] == "network"][0]
        self.assertEqual(vol["secret"]["secretName"], "my-network")

    def test_privileged_only_when_asked(self):
        objs = self.check({"privileged": True}, want_privileged=True)
        sc = find(objs, "DaemonSet")[0]["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        self.assertNotIn("capabilities", sc)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
