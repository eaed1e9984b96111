#!/usr/bin/env python3
"""Checks every manifest under deploy/ against the binaries it runs.

Reads the Kubernetes kustomizations (rendered here by a small kustomize subset, and also by
`kubectl kustomize` when it is installed), the Compose files, the systemd units with their
environment files and the Dockerfile; collects every invocation of expertise-registry,
expertise-directory, expertise-importer and expertctl, and checks that:

- each --flag (or --flag=value) is in that binary's --help, and after a subcommand (such as
  `expertise-registry migrate`) in that subcommand's --help;
- each EXPERTISE_*/EXPERTCTL_* variable is in --help as "(Env:NAME)"; libpq's variables are
  allowed for expertise-registry; any other variable must be used on the command line
  (Kubernetes $(NAME), systemd ${NAME}), or it fails;
- Deployments have gRPC liveness and readiness probes on a declared container port that is the
  health listener's, resources requests and limits, a locked-down securityContext, scrape
  annotations on the metrics port, and a PodDisruptionBudget; Services select no Job's pods;
  Compose services running a server have a healthcheck; systemd units carry the hardening
  options; the Dockerfile's last stage runs as a non-root user.

Usage: manifests_test.py --registry BIN --directory BIN [--importer BIN] [--expertctl BIN]
                         [--deploy-dir DIR]
Exit 0 when everything passes, 1 with one line per problem otherwise. A self-check first runs
the checker on a small broken tree and fails if it misses any of the planted problems.
"""

import argparse
import copy
import fnmatch
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import yaml

BINARIES = ("expertise-registry", "expertise-directory", "expertise-importer", "expertctl")
# libpq's environment variables (PostgreSQL 15 documentation, "Environment Variables").
LIBPQ_ENV = {
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE",
    "PGCHANNELBINDING", "PGSERVICE", "PGSERVICEFILE", "PGOPTIONS", "PGAPPNAME", "PGSSLMODE",
    "PGREQUIRESSL", "PGSSLCOMPRESSION", "PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT", "PGSSLCRL",
    "PGSSLCRLDIR", "PGSSLSNI", "PGREQUIREPEER", "PGSSLMINPROTOCOLVERSION",
    "PGSSLMAXPROTOCOLVERSION", "PGGSSENCMODE", "PGKRBSRVNAME", "PGGSSLIB", "PGCONNECT_TIMEOUT",
    "PGCLIENTENCODING", "PGTARGETSESSIONATTRS", "PGDATESTYLE", "PGTZ", "PGGEQO", "PGSYSCONFDIR",
    "PGLOCALEDIR",
}
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")
SERVERS = ("expertise-registry", "expertise-directory")
SYSTEMD_HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": None, "PrivateTmp": "yes",
    "CapabilityBoundingSet": "", "RestrictAddressFamilies": None, "SystemCallFilter": None,
    "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes", "RestrictNamespaces": "yes",
}


# ---------------------------------------------------------------- the binaries' --help

class Help:
    """Options, environment variables and subcommands of one CLI11 --help text."""

    def __init__(self, text):
        self.options, self.takes_value, self.subcommands = set(), set(), set()
        self.envs = set(re.findall(r"\(Env:([A-Za-z0-9_]+)\)", text))
        self.positionals = False
        section = None
        for line in text.splitlines():
            if re.match(r"^[A-Z][A-Za-z ]*:$", line.strip()) and not line.startswith(" "):
                section = line.strip()[:-1]
                continue
            m = re.match(r"^\s{2}(\S+)(.*)$", line)
            if not m:
                continue
            token, rest = m.groups()
            if section == "Options" and token.startswith("-"):
                names = re.split(r"[{=]", token, maxsplit=1)[0].split(",")
                value = re.match(r"\s+[A-Z]+\b", rest) is not None or (
                    "=" in token and "{" not in token)
                for name in names:
                    self.options.add(name)
                    if value:
                        self.takes_value.add(name)
            elif section == "Positionals":
                self.positionals = True
            elif section == "Subcommands":
                self.subcommands.add(token)


class Binaries:
    def __init__(self, paths):
        self.paths = {name: os.path.abspath(path) for name, path in paths.items() if path}
        self._cache = {}

    def help(self, binary, path=()):
        key = (binary, tuple(path))
        if key not in self._cache:
            argv = [self.paths[binary], *path, "--help"]
            run = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
            if run.returncode != 0:
                raise SystemExit(f"`{' '.join(argv)}` exited {run.returncode}: {run.stderr.strip()}")
            self._cache[key] = Help(run.stdout)
        return self._cache[key]


class Invocation:
    """One run of one of our binaries: argv, the environment set for it, where it is."""

    def __init__(self, where, argv, env, refs=()):
        self.where, self.argv, self.env, self.refs = where, list(argv), dict(env), set(refs)
        self.binary = os.path.basename(self.argv[0])

    def value(self, flag, env=None):
        """The value given to --flag (or, failing that, to the variable env), or None."""
        for i, arg in enumerate(self.argv):
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
            if arg == flag and i + 1 < len(self.argv):
                return self.argv[i + 1]
        return self.env.get(env) if env else None


def port_of(address):
    m = re.search(r":(\d+)$", address or "")
    return int(m.group(1)) if m else None


def check_invocation(inv, bins):
    """What is wrong with one invocation, as messages that do not name the place (the same
    mistake in nine regions' manifests is reported once, with the places)."""
    found = []
    if inv.binary not in bins.paths:
        return [f"{inv.binary}: no binary given to check it against (--{inv.binary.split('-')[-1]})"]
    path, help_ = [], bins.help(inv.binary)
    envs = set(help_.envs)
    args = inv.argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        shown = " ".join([inv.binary, *path])
        if arg == "--":
            break
        if arg.startswith("-") and not re.match(r"^-\d", arg):
            name = arg.split("=", 1)[0]
            if name not in help_.options:
                found.append(f"{inv.binary}: flag {name} is not accepted (not in `{shown} --help`)")
            elif "=" not in arg and name in help_.takes_value:
                i += 1
        elif arg in help_.subcommands:
            path.append(arg)
            help_ = bins.help(inv.binary, path)
            envs |= help_.envs
        elif not help_.positionals:
            found.append(f"{inv.binary}: argument {arg!r} is neither a subcommand nor a value "
                         f"(`{shown} --help` lists no such subcommand)")
        i += 1
    shown = " ".join([inv.binary, *path])
    for name in sorted(inv.env):
        if re.match(r"^(EXPERTISE|EXPERTCTL)_", name):
            if name not in envs:
                found.append(f"{inv.binary}: environment variable {name} is not read "
                             f"(no (Env:{name}) in `{shown} --help`)")
        elif name in LIBPQ_ENV and inv.binary == "expertise-registry":
            continue
        elif name not in inv.refs:
            found.append(f"{inv.binary}: environment variable {name} is neither one of "
                         f"{inv.binary}'s, nor libpq's, nor used on its command line")
    return found


# ---------------------------------------------------------------- Dockerfile

def read_dockerfile(path):
    """(instructions per stage, default argv of the last stage)."""
    text = re.sub(r"\\\n", " ", open(path, encoding="utf-8").read())
    stages, argv = [], []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, rest.strip()))
    entrypoint, cmd = [], []
    for word, rest in stages[-1] if stages else []:
        if word in ("ENTRYPOINT", "CMD"):
            value = yaml.safe_load(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]
            if word == "ENTRYPOINT":
                entrypoint, cmd = value, []
            else:
                cmd = value
    return stages, entrypoint + cmd


def check_dockerfile(path, rel, problems, invocations):
    stages, argv = read_dockerfile(path)
    if not stages:
        problems.append(f"{rel}: no FROM")
        return []
    for stage in stages:
        base = stage[0][1].split()[0]
        if not re.match(r"^debian:(12|bookworm)", base):
            problems.append(f"{rel}: stage FROM {base} is not Debian 12 (bookworm)")
    users = [rest for word, rest in stages[-1] if word == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append(f"{rel}: the last stage must end with a USER that is not root")
    if argv and os.path.basename(argv[0]) in BINARIES:
        invocations.append(Invocation(f"{rel} (CMD/ENTRYPOINT)", argv, {}))
    return argv


# ---------------------------------------------------------------- Kubernetes

def load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def strategic_merge(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = strategic_merge(out[key], value) if key in out else copy.deepcopy(value)
        return out
    if (isinstance(base, list) and isinstance(patch, list) and base and patch
            and all(isinstance(x, dict) and "name" in x for x in base + patch)):
        out = [copy.deepcopy(x) for x in base]
        for item in patch:
            match = [j for j, x in enumerate(out) if x["name"] == item["name"]]
            if match:
                out[match[0]] = strategic_merge(out[match[0]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def json_patch(doc, ops):
    for op in ops:
        keys = [k.replace("~1", "/").replace("~0", "~") for k in op["path"].split("/")[1:]]
        parent = doc
        for key in keys[:-1]:
            parent = parent[int(key)] if isinstance(parent, list) else parent.setdefault(key, {})
        last = keys[-1]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op["op"] == "add":
                parent.insert(index, op["value"])
            elif op["op"] == "replace":
                parent[index] = op["value"]
            elif op["op"] == "remove":
                del parent[index]
        elif op["op"] in ("add", "replace"):
            parent[last] = op["value"]
        elif op["op"] == "remove":
            parent.pop(last, None)
    return doc


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selects(target, doc):
    if target.get("kind") and target["kind"] != doc.get("kind"):
        return False
    if target.get("name") and not re.fullmatch(target["name"], doc["metadata"]["name"]):
        return False
    if target.get("labelSelector"):
        wanted = dict(p.split("=", 1) for p in target["labelSelector"].split(","))
        return labels_match(wanted, doc["metadata"].get("labels", {}))
    return True


def pod_spec(doc):
    spec = doc.get("spec", {})
    if doc["kind"] == "Pod":
        return spec, doc["metadata"]
    if doc["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template", {})
    return template.get("spec", {}), template.setdefault("metadata", {})


def add_labels(doc, pairs, selectors, templates):
    doc["metadata"].setdefault("labels", {}).update(pairs)
    if doc["kind"] in POD_KINDS and doc["kind"] != "Pod" and (selectors or templates):
        pod_spec(doc)[1].setdefault("labels", {}).update(pairs)
    if not selectors:
        return
    if doc["kind"] == "Service":
        doc.setdefault("spec", {}).setdefault("selector", {}).update(pairs)
    elif doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "PodDisruptionBudget"):
        doc["spec"].setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)


def kustomization_file(folder):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def render(folder, used, problems, rel):
    """The objects a kustomization produces (a subset of kustomize: resources, generators,
    strategic-merge and JSON 6902 patches, labels, name prefix/suffix, namespace, images,
    replicas). Every file read is added to used."""
    kfile = kustomization_file(folder)
    used.add(kfile)
    k = load_yaml_docs(kfile)[0]
    objects = []
    for res in k.get("resources", []) + k.get("components", []):
        path = os.path.normpath(os.path.join(folder, res))
        if os.path.isdir(path) and kustomization_file(path):
            objects += render(path, used, problems, rel)
        elif os.path.isfile(path):
            used.add(path)
            objects += copy.deepcopy(load_yaml_docs(path))
        else:
            problems.append(f"{rel(kfile)}: resource {res} does not exist")
    for gen in k.get("configMapGenerator", []):
        data = dict(item.split("=", 1) for item in gen.get("literals", []))
        for spec in gen.get("files", []):
            key, _, name = spec.rpartition("=")
            path = os.path.normpath(os.path.join(folder, name))
            if not os.path.isfile(path):
                problems.append(f"{rel(kfile)}: configMapGenerator file {name} does not exist")
                continue
            used.add(path)
            data[key or os.path.basename(name)] = open(path, encoding="utf-8").read()
        existing = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == gen["name"]]
        if gen.get("behavior") == "merge" and existing:
            existing[0].setdefault("data", {}).update(data)
        else:
            objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": gen["name"]}, "data": data})
    for patch in k.get("patches", []) + [{"path": p} for p in k.get("patchesStrategicMerge", [])]:
        if "path" in patch:
            path = os.path.normpath(os.path.join(folder, patch["path"]))
            if not os.path.isfile(path):
                problems.append(f"{rel(kfile)}: patch {patch['path']} does not exist")
                continue
            used.add(path)
            body = load_yaml_docs(path)
        else:
            body = list(yaml.safe_load_all(patch["patch"]))
        for doc in body:
            ops = doc if isinstance(doc, list) else None
            target = patch.get("target") or {"kind": doc.get("kind"), "name": doc["metadata"]["name"]}
            hits = [o for o in objects if selects(target, o)]
            if not hits:
                problems.append(f"{rel(kfile)}: patch {patch.get('path', '(inline)')} matches no object")
            for j, o in enumerate(objects):
                if o in hits:
                    if ops is not None:
                        objects[j] = json_patch(o, copy.deepcopy(ops))
                    else:
                        keep = o["metadata"]["name"]
                        objects[j] = strategic_merge(o, doc)
                        objects[j]["metadata"]["name"] = keep
    for entry in k.get("labels", []):
        for o in objects:
            add_labels(o, entry["pairs"], entry.get("includeSelectors", False),
                       entry.get("includeTemplates", False))
    for o in objects:
        add_labels(o, k.get("commonLabels", {}), True, True)
        if o["kind"] != "Namespace":
            o["metadata"]["name"] = k.get("namePrefix", "") + o["metadata"]["name"] + k.get("nameSuffix", "")
            if k.get("namespace"):
                o["metadata"]["namespace"] = k["namespace"]
    for r in k.get("replicas", []):
        hits = [o for o in objects if o["metadata"]["name"] == r["name"] and "replicas" in o.get("spec", {})]
        if not hits:
            problems.append(f"{rel(kfile)}: replicas for {r['name']}, which is not a workload here")
        for o in hits:
            o["spec"]["replicas"] = r["count"]
    for image in k.get("images", []):
        for o in objects:
            if o["kind"] in POD_KINDS:
                for c in containers(o):
                    m = re.fullmatch(re.escape(image["name"]) + r"([:@].*)?", c.get("image", ""))
                    if m:
                        tag = ":" + str(image["newTag"]) if "newTag" in image else (m.group(1) or "")
                        c["image"] = image.get("newName", image["name"]) + tag
    return objects


def containers(doc):
    spec = pod_spec(doc)[0]
    return spec.get("initContainers", []) + spec.get("containers", [])


def k8s_invocations(o, default_argv, where, problems, invocations):
    found = []
    for c in containers(o):
        argv = list(c.get("command") or [])
        argv += c["args"] if "args" in c else ([] if argv else list(default_argv))
        if not argv or os.path.basename(argv[0]) not in BINARIES:
            continue
        if c.get("envFrom"):
            problems.append(f"{where}/{c['name']}: envFrom is not checked; list the variables in env")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        text = " ".join(argv + [str(v) for v in env.values() if v])
        inv = Invocation(f"{where}/{c['name']}", argv, env, re.findall(r"\$\(([A-Za-z0-9_]+)\)", text))
        invocations.append(inv)
        found.append((c, inv))
    return found


def check_rendering(objects, where_root, default_argv, root, problems, invocations):
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    for o in by_kind.get("Secret", []):
        if o.get("data") or o.get("stringData"):
            problems.append(f"{where_root}: Secret {o['metadata']['name']} carries values; reference Secrets only")
    for o in objects:
        if o["kind"] not in POD_KINDS:
            continue
        where = f"{where_root}: {o['kind']} {o['metadata']['name']}"
        spec, meta = pod_spec(o)
        labels = meta.get("labels", {})
        ours = k8s_invocations(o, default_argv, where, problems, invocations)
        if not ours:
            continue
        psc = spec.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod securityContext needs runAsNonRoot and seccompProfile RuntimeDefault")
        for c, inv in ours:
            csc = c.get("securityContext", {})
            if (csc.get("readOnlyRootFilesystem") is not True or csc.get("allowPrivilegeEscalation") is not False
                    or "ALL" not in csc.get("capabilities", {}).get("drop", [])):
                problems.append(f"{where}/{c['name']}: securityContext needs readOnlyRootFilesystem, "
                                "allowPrivilegeEscalation false and capabilities drop ALL")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                if not all(res.get(part, {}).get(r) for r in ("cpu", "memory")):
                    problems.append(f"{where}/{c['name']}: resources.{part} needs cpu and memory")
            if root:
                for e in c.get("env", []):
                    field = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "")
                    m = re.match(r"metadata\.labels\['([^']+)'\]", field)
                    if m and m.group(1) not in labels:
                        problems.append(f"{where}/{c['name']}: {e['name']} reads label {m.group(1)}, "
                                        "which the pod does not have")
            if o["kind"] != "Deployment" or inv.binary not in SERVERS:
                continue
            ports = {p["containerPort"] for p in c.get("ports", [])}
            health = port_of(inv.value("--health-listen", "EXPERTISE_HEALTH_LISTEN"))
            for probe in ("livenessProbe", "readinessProbe"):
                port = c.get(probe, {}).get("grpc", {}).get("port")
                if port is None:
                    problems.append(f"{where}/{c['name']}: {probe} must be a grpc probe")
                elif port not in ports or port != health:
                    problems.append(f"{where}/{c['name']}: {probe} port {port} is not a declared "
                                    f"container port serving --health-listen (port {health})")
            metrics = port_of(inv.value("--metrics-listen", "EXPERTISE_METRICS_LISTEN"))
            notes = meta.get("annotations", {})
            if (notes.get("prometheus.io/scrape") != "true" or metrics not in ports
                    or notes.get("prometheus.io/port") != str(metrics)):
                problems.append(f"{where}/{c['name']}: prometheus.io/scrape and prometheus.io/port "
                                f"must name the declared metrics port (--metrics-listen port {metrics})")
        if o["kind"] == "Deployment" and not any(
                labels_match(p["spec"].get("selector", {}).get("matchLabels"), labels)
                for p in by_kind.get("PodDisruptionBudget", [])):
            problems.append(f"{where}: no PodDisruptionBudget selects its pods")
    for s in by_kind.get("Service", []):
        selector = s.get("spec", {}).get("selector", {})
        pods = [(o, pod_spec(o)[1].get("labels", {})) for o in objects if o["kind"] in POD_KINDS]
        if selector and not any(o["kind"] == "Deployment" and labels_match(selector, l) for o, l in pods):
            problems.append(f"{where_root}: Service {s['metadata']['name']} selects no Deployment's pods")
        for o, l in pods:
            if o["kind"] in ("Job", "CronJob") and labels_match(selector, l):
                problems.append(f"{where_root}: Service {s['metadata']['name']} also selects "
                                f"{o['kind']} {o['metadata']['name']}'s pods")
    if root:
        check_k8s_references(objects, where_root, problems)


def check_k8s_references(objects, where_root, problems):
    configmaps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    for o in objects:
        if o["kind"] not in POD_KINDS:
            continue
        spec = pod_spec(o)[0]
        refs = [v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v]
        refs += [e["valueFrom"]["configMapKeyRef"]["name"] for c in containers(o) for e in c.get("env", [])
                 if "configMapKeyRef" in e.get("valueFrom", {})]
        for name in refs:
            if name not in configmaps:
                problems.append(f"{where_root}: {o['kind']} {o['metadata']['name']} uses ConfigMap "
                                f"{name}, which is not part of the kustomization")
    # The directory's regions file names registries by their Services.
    for cm in configmaps.values():
        for key, text in cm.get("data", {}).items():
            if key.startswith("regions"):
                check_regions_text(text, f"{where_root}: ConfigMap {cm['metadata']['name']}",
                                   {n: [p["port"] for p in s["spec"]["ports"]] for n, s in services.items()},
                                   problems)


def check_regions_text(text, where, endpoints, problems):
    """endpoints: host -> ports it serves (None: any)."""
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if len(fields) != 2:
            continue
        host, _, port = fields[1].removeprefix("dns:///").rpartition(":")
        if host not in endpoints:
            problems.append(f"{where} line {n}: endpoint {fields[1]} is not a service defined here")
        elif endpoints[host] is not None and int(port) not in endpoints[host]:
            problems.append(f"{where} line {n}: {host} does not serve port {port}")


def kubectl_render(folder):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return None
    run = subprocess.run([kubectl, "kustomize", folder], capture_output=True, text=True, timeout=120,
                         check=False)
    if run.returncode != 0:
        return run.stderr.strip() or "kubectl kustomize failed"
    return [d for d in yaml.safe_load_all(run.stdout) if d]


def check_kubernetes(top, deploy, default_argv, problems, invocations, notes):
    rel = lambda p: os.path.relpath(p, deploy)
    folders = sorted(os.path.dirname(p) for p in glob.glob(f"{top}/**/kustomization.y*ml", recursive=True))
    referenced, used = set(), set()
    for folder in folders:
        k = load_yaml_docs(kustomization_file(folder))[0]
        for res in k.get("resources", []) + k.get("components", []):
            referenced.add(os.path.normpath(os.path.join(folder, res)))
    for folder in folders:
        root = folder not in referenced
        objects = render(folder, used, problems, rel)
        check_rendering(objects, rel(folder), default_argv, root, problems, invocations)
        if root:
            rendered = kubectl_render(folder)
            if isinstance(rendered, str):
                problems.append(f"{rel(folder)}: kubectl kustomize: {rendered}")
            elif rendered is None:
                notes.append(f"kubectl not found: {rel(folder)} checked with the built-in renderer only")
            else:
                check_rendering(rendered, rel(folder) + " (kubectl kustomize)", default_argv, True,
                                problems, invocations)
    for path in sorted(glob.glob(f"{top}/**/*", recursive=True)):
        if os.path.isfile(path) and path not in used:
            problems.append(f"{rel(path)}: not used by any kustomization, so never deployed or checked")


# ---------------------------------------------------------------- Compose

def read_env_file(path):
    env = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key.strip()] = value.strip().strip('"')
    return env


def check_compose(path, deploy, default_argv, problems, invocations):
    rel = os.path.relpath(path, deploy)
    doc = load_yaml_docs(path)[0]
    services = doc.get("services", {})
    folder = os.path.dirname(path)
    for name, svc in services.items():
        where = f"{rel}: service {name}"
        for dep in svc.get("depends_on", []):
            if dep not in services:
                problems.append(f"{where}: depends on {dep}, which is not a service")
        argv = []
        for key in ("entrypoint", "command"):
            value = svc.get(key)
            argv += shlex.split(value) if isinstance(value, str) else list(value or [])
        if not argv and "expertise" in str(svc.get("image", "")):
            argv = list(default_argv)
        if not argv or os.path.basename(argv[0]) not in BINARIES:
            continue
        env = {}
        for f in [svc["env_file"]] if isinstance(svc.get("env_file"), str) else svc.get("env_file", []):
            env.update(read_env_file(os.path.join(folder, f if isinstance(f, str) else f["path"])))
        raw = svc.get("environment", {})
        env.update(raw if isinstance(raw, dict) else dict(e.partition("=")[::2] for e in raw))
        inv = Invocation(where, argv, env)
        invocations.append(inv)
        if inv.binary in SERVERS and "migrate" not in argv:
            if not svc.get("healthcheck") or svc["healthcheck"].get("disable"):
                problems.append(f"{where}: a long-running {inv.binary} needs a healthcheck")
            if svc.get("restart") in (None, "no"):
                problems.append(f"{where}: a long-running {inv.binary} needs a restart policy")
        regions = inv.value("--regions") if inv.binary == "expertise-directory" else None
        for volume in svc.get("volumes", []) if regions else []:
            src, _, dst = str(volume).partition(":")
            if dst.split(":")[0] == regions:
                check_regions_text(open(os.path.join(folder, src), encoding="utf-8").read(),
                                   f"{rel}: {src}", dict.fromkeys(services), problems)


# ---------------------------------------------------------------- systemd

def read_unit(path):
    sections, section = {}, None
    text = re.sub(r"\\\n", " ", open(path, encoding="utf-8").read())
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), [])
        elif section is not None:
            key, _, value = line.partition("=")
            section.append((key.strip(), value.strip()))
    return sections


def check_systemd(folder, deploy, bins, problems, invocations, notes):
    rel = lambda p: os.path.relpath(p, deploy)
    env_files = set(glob.glob(f"{folder}/*.env"))
    used_env, units = set(), []
    for path in sorted(glob.glob(f"{folder}/*.service")):
        service = dict(read_unit(path)).get("Service", [])
        env, instances = {}, [None]
        for key, value in service:
            if key == "Environment":
                env.update(dict(a.partition("=")[::2] for a in shlex.split(value)))
            elif key == "EnvironmentFile":
                pattern = os.path.basename(value.lstrip("-")).replace("%i", "*").replace("%I", "*")
                hits = [p for p in env_files if fnmatch.fnmatch(os.path.basename(p), pattern)]
                if not hits:
                    problems.append(f"{rel(path)}: no example in {rel(folder)} for EnvironmentFile={value}")
                for hit in sorted(hits):
                    used_env.add(hit)
                    env.update(read_env_file(hit))
                if "*" in pattern:
                    regex = re.escape(pattern).replace(r"\*", "(.+)")
                    instances = [re.fullmatch(regex, os.path.basename(h)).group(1) for h in sorted(hits)]
        # The environment is the unit's, so a variable used by any of its command lines counts.
        exec_lines = [(key, value) for key, value in service if key.startswith("Exec")]
        refs = re.findall(r"\$\{?([A-Za-z0-9_]+)\}?", " ".join(v for _, v in exec_lines))
        ours = False
        for key, value in exec_lines:
            argv = shlex.split(value.lstrip("@-:+!"))
            if argv and os.path.basename(argv[0]) in BINARIES:
                ours = True
                invocations.append(Invocation(f"{rel(path)}: {key}", argv, env, refs))
        if not ours:
            continue
        units.append((path, instances))
        settings = dict(service)
        for key, wanted in SYSTEMD_HARDENING.items():
            if key not in settings or (wanted is not None and settings[key] != wanted):
                problems.append(f"{rel(path)}: hardening option {key}={wanted or '...'} is missing")
        if settings.get("DynamicUser") != "yes" and settings.get("User", "root") in ("root", "0"):
            problems.append(f"{rel(path)}: needs DynamicUser=yes or a dedicated User=")
    for path in sorted(env_files - used_env):
        problems.append(f"{rel(path)}: not an EnvironmentFile of any unit, so never checked")
    verify_units(units, bins, problems, notes, rel)


def verify_units(units, bins, problems, notes, rel):
    """systemd-analyze verify, with the binaries' paths put in place of the installed ones."""
    analyze = shutil.which("systemd-analyze")
    if not analyze or not units:
        if units:
            notes.append("systemd-analyze not found: units checked without it")
        return
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for path, instances in units:
            text = open(path, encoding="utf-8").read()
            for binary, real in bins.paths.items():
                text = re.sub(r"(?<![\w/.-])/\S*/" + re.escape(binary) + r"(?=\s)", real, text)
            for instance in instances:
                name = os.path.basename(path).replace("@.", f"@{instance}.") if instance else os.path.basename(path)
                open(os.path.join(tmp, name), "w", encoding="utf-8").write(text)
                names.append(name)
        run = subprocess.run([analyze, "verify", *names], cwd=tmp, capture_output=True, text=True,
                             timeout=120, check=False)
        for line in (run.stderr + run.stdout).splitlines():
            if line.strip():
                problems.append(f"systemd-analyze verify: {line.strip()}")
        if run.returncode != 0 and not (run.stderr + run.stdout).strip():
            problems.append(f"systemd-analyze verify exited {run.returncode}")


# ---------------------------------------------------------------- the whole tree

def check_tree(deploy, bins):
    """Returns (problems, invocations, notes) for the deploy folder."""
    problems, invocations, notes = [], [], []
    dockerfiles = sorted(p for p in glob.glob(f"{deploy}/**/Dockerfile*", recursive=True)
                         if not p.endswith(".dockerignore"))
    default_argv = []
    for path in dockerfiles:
        default_argv = check_dockerfile(path, os.path.relpath(path, deploy), problems, invocations) or default_argv
    if os.path.isdir(f"{deploy}/kubernetes"):
        check_kubernetes(f"{deploy}/kubernetes", deploy, default_argv, problems, invocations, notes)
    for path in sorted(glob.glob(f"{deploy}/compose/**/*.y*ml", recursive=True)):
        if "services" in (load_yaml_docs(path) or [{}])[0]:
            check_compose(path, deploy, default_argv, problems, invocations)
    if os.path.isdir(f"{deploy}/systemd"):
        check_systemd(f"{deploy}/systemd", deploy, bins, problems, invocations, notes)
    places = {}
    for inv in invocations:
        for message in check_invocation(inv, bins):
            places.setdefault(message, []).append(inv.where)
    for message, where in places.items():
        more = f" and {len(where) - 3} more" if len(where) > 3 else ""
        problems.append(f"{message}; in {'; '.join(where[:3])}{more}")
    return list(dict.fromkeys(problems)), invocations, notes


BROKEN_TREE = {
    "docker/Dockerfile": "FROM debian:bookworm-slim\nUSER root\nCMD [\"expertise-registry\", \"--help\"]\n",
    "kubernetes/base/kustomization.yaml": "resources: [deployment.yaml]\n",
    "kubernetes/base/deployment.yaml": """
apiVersion: apps/v1
kind: Deployment
metadata: {name: registry}
spec:
  selector: {matchLabels: {app: r}}
  template:
    metadata: {labels: {app: r}}
    spec:
      containers:
        - name: registry
          image: expertise-directory
          command: [expertise-registry]
          args: [--listen=0.0.0.0:50051, --bogus-flag, not-a-subcommand]
          env:
            - {name: EXPERTISE_BOGUS, value: "1"}
            - {name: STRAY_VARIABLE, value: "1"}
            - {name: PGPASSWORD, value: "allowed"}
          ports: [{containerPort: 50051}]
          livenessProbe: {grpc: {port: 9999}}
---
apiVersion: v1
kind: Service
metadata: {name: registry}
spec: {selector: {app: r}, ports: [{port: 50051}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    metadata: {labels: {app: r}}
    spec: {containers: [{name: migrate, image: busybox, command: [sleep, "1"]}]}
""",
    "kubernetes/stray.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray}\n",
    "compose/compose.yaml": """
services:
  directory:
    image: expertise-directory:dev
    command: [expertise-directory, --nope=1, --listen, 0.0.0.0:50050]
""",
    "systemd/x.service": """
[Service]
EnvironmentFile=/etc/expertise/x.env
ExecStart=/usr/local/bin/expertise-registry --also-bogus
""",
    "systemd/x.env": "EXPERTISE_WRONG=1\n",
    "systemd/unused.env": "EXPERTISE_LOG_FORMAT=json\n",
}
# Planted problems the checker must report (substrings of its messages).
EXPECTED = ["USER that is not root", "--bogus-flag", "'not-a-subcommand'", "EXPERTISE_BOGUS",
            "STRAY_VARIABLE", "livenessProbe port 9999", "readinessProbe must be a grpc probe",
            "resources.requests", "PodDisruptionBudget", "also selects Job migrate",
            "stray.yaml", "--nope", "needs a healthcheck", "--also-bogus", "EXPERTISE_WRONG",
            "NoNewPrivileges", "unused.env", "runAsNonRoot"]
# Correct usages among them that must not be reported.
UNEXPECTED = ["--listen", "PGPASSWORD"]


def self_check(bins):
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in BROKEN_TREE.items():
            os.makedirs(os.path.dirname(f"{tmp}/{name}"), exist_ok=True)
            open(f"{tmp}/{name}", "w", encoding="utf-8").write(text)
        problems, _, _ = check_tree(tmp, bins)
    text = "\n".join(problems)
    missed = [e for e in EXPECTED if e not in text]
    wrong = [u for u in UNEXPECTED if f" {u} is " in text]
    if missed or wrong:
        print("SELF-CHECK FAILED: the checker, run on a broken tree, "
              + (f"missed {missed}" if missed else "") + (f" wrongly reported {wrong}" if wrong else ""))
        print("its report was:\n  " + text.replace("\n", "\n  "))
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for binary in BINARIES:
        parser.add_argument("--" + binary.split("-")[-1], help=f"path of {binary}")
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--deploy-dir", default=os.path.normpath(os.path.join(here, "../../deploy")))
    args = parser.parse_args()
    bins = Binaries({b: getattr(args, b.split("-")[-1]) for b in BINARIES})
    if not self_check(bins):
        return 1
    problems, invocations, notes = check_tree(args.deploy_dir, bins)
    for note in notes:
        print("note:", note)
    counts = {}
    for inv in invocations:
        counts[inv.binary] = counts.get(inv.binary, 0) + 1
    print("checked invocations:", ", ".join(f"{n} of {b}" for b, n in sorted(counts.items())))
    if not invocations:
        problems.append("no invocation of any binary found under " + args.deploy_dir)
    for p in problems:
        print("FAIL:", p)
    print(f"{len(problems)} problem(s)" if problems else "all manifests agree with the binaries")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
