#!/usr/bin/env python3
"""opscopilot-eval: how good is OpsCopilot's answer on broken workloads?

Brings each scenario of eval/scenarios up in a scratch namespace of the
cluster kubectl points at, waits until it is broken the way the scenario says
(as the kubelet, scheduler and controllers report it), asks the operator
already watching that cluster with a DiagnosticRun per repeat, and scores every
answer deterministically against the scenario's facts:

  finished     the run reached Succeeded
  rootCause    every root-cause pattern appears in the answer (what the
               person who asked reads; with the built-in model it leads with
               the root-cause finding and lists the others)
  citations    every cited evidence ID exists; every Medium+ finding and the
               answer of a broken scenario cite evidence; every expected
               evidence pattern appears in evidence that is cited
  noInvented   no Medium+ finding matches a claim the facts rule out, and a
               healthy workload gets no High or Critical finding
  noSecret     no secret the scenario planted appears in the run's status,
               its Events, the namespace's ApprovalRequests, the operator's
               log (--operator-log) or the model's requests (--model-requests)

A run passes when all five hold. Prints a table per scenario and per category,
writes a JSON report, and exits 1 when the pass rate is below --min-score or
a category passes fewer runs than the --baseline file records, 2 when the
harness itself could not do its job (a scenario never became broken, kubectl
failed).

Needs: kubectl, Python 3 with PyYAML. See eval/README.md.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEVERE = ("Critical", "High", "Medium")
HIGH = ("Critical", "High")
CHECKS = ("finished", "rootCause", "citations", "noInvented", "noSecret")
IMAGE_PLACEHOLDER = "EVAL_IMAGE"
LABEL = "eval.opscopilot.io/session"


class HarnessError(Exception):
    """The harness could not do its job (not a low score)."""


# --- kubectl ---------------------------------------------------------------

class Kube:
    def __init__(self, kubeconfig, context):
        self.base = ["kubectl"]
        if kubeconfig:
            self.base += ["--kubeconfig", kubeconfig]
        if context:
            self.base += ["--context", context]

    def run(self, args, stdin=None, check=True):
        p = subprocess.run(self.base + args, input=stdin, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise HarnessError(f"kubectl {' '.join(args)}: {p.stderr.strip()}")
        return p

    def json(self, args):
        out = self.run(args + ["-o", "json"]).stdout
        return json.loads(out) if out.strip() else {"items": []}

    def apply(self, namespace, docs):
        stream = "\n---\n".join(json.dumps(d) for d in docs)
        ns = ["-n", namespace] if namespace else []
        return self.run(ns + ["apply", "-f", "-"], stdin=stream)


# --- scenarios -------------------------------------------------------------

class Scenario:
    """One file of eval/scenarios: the facts, then the manifests."""

    def __init__(self, path):
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        if not docs or docs[0].get("kind") != "Scenario":
            raise HarnessError(f"{path}: the first document must be kind: Scenario")
        facts = docs[0]
        spec = facts.get("spec") or {}
        self.path = path
        self.name = (facts.get("metadata") or {}).get("name") or ""
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?", self.name):
            raise HarnessError(f"{path}: metadata.name must be a DNS label of at most 40 characters")
        self.category = spec.get("category") or ""
        self.description = " ".join((spec.get("description") or "").split())
        self.runs_on = spec.get("runsOn", "any")  # any | real | kwok
        if self.runs_on not in ("any", "real", "kwok"):
            raise HarnessError(f"{path}: runsOn must be any, real or kwok")
        self.question = spec.get("question") or ""
        self.target = spec.get("target")
        self.steps = spec.get("steps") or []
        if spec.get("ready"):
            self.steps = [{"wait": spec["ready"]}] + self.steps
        expect = spec.get("expect") or {}
        self.healthy = bool(expect.get("healthy", False))
        self.root_cause = list(expect.get("rootCause") or [])
        self.evidence = list(expect.get("evidence") or [])
        self.must_not = list(expect.get("mustNot") or [])
        self.secrets = list(spec.get("secrets") or [])
        self.manifests = docs[1:]
        if not self.question or not self.category:
            raise HarnessError(f"{path}: spec.question and spec.category are required")
        if not self.healthy and not self.root_cause:
            raise HarnessError(f"{path}: a broken scenario needs expect.rootCause")
        for pattern in self.root_cause + self.evidence + self.must_not:
            re.compile(pattern)
        for step in self.steps:
            if not ("wait" in step or "patch" in step):
                raise HarnessError(f"{path}: each step is a wait or a patch")

    def cluster_scoped(self):
        return [d for d in self.manifests if d.get("kind") in CLUSTER_KINDS]

    def namespaced(self):
        return [d for d in self.manifests if d.get("kind") not in CLUSTER_KINDS]


CLUSTER_KINDS = {
    "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "PriorityClass",
    "IngressClass", "Namespace",
}


def load_scenarios(directory, only, categories):
    """The scenarios of the directory; a file is named after its scenario, so
    --only reads just the files it names."""
    paths = []
    for dirpath, _, files in os.walk(directory):
        paths += [os.path.join(dirpath, f) for f in files if f.endswith(".yaml")]
    stems = [os.path.basename(p)[:-5] for p in paths]
    dupes = {n for n in stems if stems.count(n) > 1}
    if dupes:
        raise HarnessError(f"scenario names used twice: {', '.join(sorted(dupes))}")
    if only:
        unknown = set(only) - set(stems)
        if unknown:
            raise HarnessError(f"no such scenario: {', '.join(sorted(unknown))}")
        paths = [p for p in paths if os.path.basename(p)[:-5] in only]
    found = [Scenario(p) for p in paths]
    for s in found:
        if os.path.basename(s.path) != s.name + ".yaml":
            raise HarnessError(f"{s.path}: the file must be named after the scenario ({s.name}.yaml)")
    if categories:
        found = [s for s in found if s.category in categories]
    return sorted(found, key=lambda s: (s.category, s.name))


def pod_specs(obj):
    """The pod specs inside a manifest (Pod, workloads, Job, CronJob)."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return [spec]
    if kind == "CronJob":
        return [((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec", {})]
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        return [template["spec"]]
    return []


def prepare(doc, namespace, session, opts, pin):
    """A manifest as applied: the image placeholder filled, the pods of a
    scenario that needs real containers placed on --real-node."""
    text = json.dumps(doc).replace(IMAGE_PLACEHOLDER, opts.image)
    text = text.replace("EVAL_NAMESPACE", namespace)
    obj = json.loads(text)
    meta = obj.setdefault("metadata", {})
    meta.setdefault("labels", {})[LABEL] = session
    if pin and opts.real_node and obj.get("kind") not in CLUSTER_KINDS:
        for spec in pod_specs(obj):
            if spec.get("nodeName") or spec.get("nodeSelector") or spec.get("affinity"):
                continue  # the scenario places its pods itself
            spec["nodeSelector"] = {"kubernetes.io/hostname": opts.real_node}
            tolerations = spec.setdefault("tolerations", [])
            for t in opts.real_node_toleration:
                tolerations.append({"key": t, "operator": "Exists", "effect": "NoSchedule"})
            spec.setdefault("terminationGracePeriodSeconds", 1)
    return obj


# --- conditions on live objects --------------------------------------------

def values_at(obj, path):
    """Leaves of obj at a dotted path; `[*]` walks a list, `[N]` indexes it,
    `["a.b/c"]` is a key with dots (labels)."""
    current = [obj]
    for part in re.findall(r'\["[^"]+"\]|[^.\[\]]+|\[\*\]|\[\d+\]', path):
        nxt = []
        for value in current:
            if part.startswith('["'):
                if isinstance(value, dict) and part[2:-2] in value:
                    nxt.append(value[part[2:-2]])
            elif part == "[*]":
                if isinstance(value, list):
                    nxt.extend(value)
            elif part.startswith("["):
                i = int(part[1:-1])
                if isinstance(value, list) and i < len(value):
                    nxt.append(value[i])
            elif isinstance(value, dict) and part in value:
                nxt.append(value[part])
        current = nxt
    return [v if isinstance(v, str) else json.dumps(v) for v in current]


def holds(cond, objects):
    """cond = {kind, name?, path, matches? | equals?}: some object of that
    kind (and name) in the namespace has a value at path that matches."""
    kind = cond["kind"]
    for obj in objects.get(kind, []):
        if cond.get("name") and obj["metadata"]["name"] != cond["name"]:
            continue
        if cond.get("namePrefix") and not obj["metadata"]["name"].startswith(cond["namePrefix"]):
            continue
        want = cond.get("equals")
        want = json.dumps(want) if isinstance(want, bool) else str(want)  # YAML true is JSON true
        for value in values_at(obj, cond.get("path", "metadata.name")):
            if "equals" in cond and value == want:
                return True
            if "matches" in cond and re.search(cond["matches"], value):
                return True
            if "equals" not in cond and "matches" not in cond:
                return True
    return False


KIND_RESOURCE = {
    "Pod": "pods", "Event": "events", "Deployment": "deployments.apps", "ReplicaSet": "replicasets.apps",
    "StatefulSet": "statefulsets.apps", "DaemonSet": "daemonsets.apps", "Job": "jobs.batch",
    "CronJob": "cronjobs.batch", "Service": "services", "EndpointSlice": "endpointslices.discovery.k8s.io",
    "PersistentVolumeClaim": "persistentvolumeclaims", "HorizontalPodAutoscaler": "horizontalpodautoscalers.autoscaling",
    "Ingress": "ingresses.networking.k8s.io", "ResourceQuota": "resourcequotas", "Node": "nodes",
}


# --- scoring ---------------------------------------------------------------

def score_run(scenario, run, events, approvals, leak_texts):
    """The five checks of one run, each (bool, why)."""
    status = run.get("status") or {}
    findings = status.get("findings") or []
    evidence = {e.get("id"): e for e in status.get("evidence") or []}
    answer = status.get("answer") or ""
    severe = [f for f in findings if f.get("severity") in SEVERE]
    result = {}

    phase = status.get("phase")
    result["finished"] = (phase == "Succeeded", f"phase {phase} {status.get('reason', '')}".strip())

    missing = [p for p in scenario.root_cause if not re.search(p, answer, re.I)]
    if scenario.healthy and not scenario.root_cause:
        high = any(f.get("severity") in HIGH for f in findings)
        result["rootCause"] = (not high, "a High finding on a healthy workload" if high else "healthy")
    else:
        result["rootCause"] = (not missing, "named" if not missing else f"missing /{'/, /'.join(missing)}/")

    cited_answer = re.findall(r"\[([ER]\d+)\]", answer)
    cited = set(cited_answer)
    for f in findings:
        cited.update(f.get("evidence") or [])
    for s in status.get("steps") or []:
        cited.update(s.get("evidence") or [])
    problems = [f"dangling {c}" for c in sorted(cited) if c not in evidence]
    problems += [f"uncited finding {f.get('id')}" for f in severe if not f.get("evidence")]
    if not scenario.healthy and not cited_answer and not any(f.get("evidence") for f in severe):
        problems.append("nothing cited")
    cited_texts = [f"{evidence[c].get('ref', '')}\n{evidence[c].get('excerpt', '')}" for c in cited if c in evidence]
    for p in scenario.evidence:
        if not any(re.search(p, t, re.I) for t in cited_texts):
            problems.append(f"no cited evidence shows /{p}/")
    result["citations"] = (not problems, "; ".join(problems) or "valid")

    invented = []
    for f in severe:
        text = f"{f.get('title', '')}\n{f.get('remediation', '')}"
        invented += [f"{f.get('id')} /{p}/" for p in scenario.must_not if re.search(p, text, re.I)]
    if scenario.healthy:
        invented += [f"{f.get('id')} {f.get('severity')}: {f.get('title')}" for f in findings if f.get("severity") in HIGH]
    result["noInvented"] = (not invented, "; ".join(invented) or "none")

    places = {"status": json.dumps(status), "events": json.dumps(events), "approvalrequests": json.dumps(approvals)}
    places.update(leak_texts)
    leaks = [f"{where}" for where, text in places.items() for s in scenario.secrets if s and s in text]
    result["noSecret"] = (not leaks, "leaked into " + ", ".join(sorted(set(leaks))) if leaks else "none")
    return result


def usage_of(run):
    status = run.get("status") or {}
    usage = status.get("usage") or {}
    return {
        "steps": len(status.get("steps") or []),
        "toolCalls": usage.get("toolCalls", 0),
        "llmCalls": usage.get("llmCalls", 0),
        "tokens": int(usage.get("promptTokens", 0)) + int(usage.get("completionTokens", 0)),
        "costUSD": float(usage.get("costUSD", "0") or 0),
        "durationMs": usage.get("durationMs", 0),
    }


# --- the harness -----------------------------------------------------------

class Eval:
    def __init__(self, opts, scenarios):
        self.opts = opts
        self.kube = Kube(opts.kubeconfig, opts.context)
        self.session = uuid.uuid4().hex[:8]
        self.scenarios = scenarios
        self.state = {}  # name -> dict(ns, step, runs, error, skipped)
        self.cluster_objects = []

    def namespace(self, s):
        return f"{self.opts.namespace_prefix}{s.name}-{self.session}"[:63].rstrip("-")

    def log(self, msg):
        if not self.opts.quiet:
            print(msg, file=sys.stderr, flush=True)

    def has_kwok(self):
        nodes = self.kube.json(["get", "nodes"])["items"]
        return any((n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") == "fake" for n in nodes)

    def setup(self):
        kwok = self.has_kwok()
        for s in self.scenarios:
            st = {"ns": self.namespace(s), "step": 0, "runs": [], "error": None, "skipped": None,
                  "created": None, "readyAt": None}
            self.state[s.name] = st
            if s.runs_on == "kwok" and not kwok:
                st["skipped"] = "needs kwok nodes (kwok.x-k8s.io/node=fake)"
                continue
            if s.runs_on == "real" and not self.opts.real_containers:
                st["skipped"] = "needs real containers (--no-real-containers)"
                continue
            try:
                self.kube.run(["create", "namespace", st["ns"]])
                self.kube.run(["label", "namespace", st["ns"], f"{LABEL}={self.session}"])
                reader = list(yaml.safe_load_all(open(self.opts.reader_rbac)))
                for d in reader:
                    if d and d.get("kind") == "RoleBinding":
                        for subj in d.get("subjects") or []:
                            subj["namespace"] = st["ns"]
                        if self.opts.reader_clusterrole:
                            d["roleRef"]["name"] = self.opts.reader_clusterrole
                self.kube.apply(st["ns"], [d for d in reader if d])
                cluster = [prepare(d, st["ns"], self.session, self.opts, s.runs_on == "real") for d in s.cluster_scoped()]
                if cluster:
                    self.kube.apply(None, cluster)
                    self.cluster_objects += cluster
                docs = [prepare(d, st["ns"], self.session, self.opts, s.runs_on == "real") for d in s.namespaced()]
                if docs:
                    self.kube.apply(st["ns"], docs)
                st["created"] = time.time()
            except HarnessError as e:
                st["error"] = f"setup: {e}"
        self.log(f"eval: {len(self.scenarios)} scenarios applied (session {self.session})")

    def snapshot(self, kinds):
        """Objects of these kinds in this session's namespaces: {ns: {kind: [obj]}}."""
        out = {}
        if not kinds:
            return out
        resources = ",".join(KIND_RESOURCE[k] for k in sorted(kinds))
        for obj in self.kube.json(["get", resources, "-A"])["items"]:
            ns = obj["metadata"].get("namespace", "")
            if obj["kind"] == "Node":
                for st in self.state.values():
                    out.setdefault(st["ns"], {}).setdefault("Node", []).append(obj)
                continue
            out.setdefault(ns, {}).setdefault(obj["kind"], []).append(obj)
        return out

    def create_runs(self, s, st):
        docs = []
        for i in range(1, self.opts.repeat + 1):
            spec = {"question": s.question}
            if s.target:
                spec["target"] = s.target
            if self.opts.model:
                spec["model"] = self.opts.model
            docs.append({"apiVersion": "opscopilot.io/v1alpha1", "kind": "DiagnosticRun",
                         "metadata": {"name": f"eval-{i}", "labels": {LABEL: self.session}}, "spec": spec})
        self.kube.apply(st["ns"], docs)
        st["runs"] = [d["metadata"]["name"] for d in docs]
        st["readyAt"] = time.time()

    def advance(self):
        """Waits for broken states, applies patches, creates runs; returns when
        every scenario has its runs (or failed to get there)."""
        deadline = time.time() + self.opts.ready_timeout
        while True:
            pending = [s for s in self.scenarios
                       if not self.state[s.name]["runs"] and not self.state[s.name]["error"]
                       and not self.state[s.name]["skipped"]]
            if not pending:
                return
            if time.time() > deadline:
                for s in pending:
                    st = self.state[s.name]
                    st["error"] = f"never became broken as described (step {st['step'] + 1}: {json.dumps(s.steps[st['step']])})"
                return
            kinds = set()
            for s in pending:
                step = s.steps[self.state[s.name]["step"]] if self.state[s.name]["step"] < len(s.steps) else None
                if step and "wait" in step:
                    kinds.update(c["kind"] for c in step["wait"])
            snap = self.snapshot(kinds)
            for s in pending:
                st = self.state[s.name]
                try:
                    while st["step"] < len(s.steps):
                        step = json.loads(json.dumps(s.steps[st["step"]]).replace("EVAL_NAMESPACE", st["ns"]))
                        if "wait" in step:
                            objs = snap.get(st["ns"], {})
                            if not all(holds(c, objs) for c in step["wait"]):
                                break
                        else:
                            p = step["patch"]
                            self.kube.run(["-n", st["ns"], "patch", p["kind"], p["name"], "--type", p.get("type", "strategic"),
                                           "-p", json.dumps(p["patch"]).replace(IMAGE_PLACEHOLDER, self.opts.image)])
                            st["step"] += 1
                            snap = {}  # what was true before the patch says nothing after it
                            break
                        st["step"] += 1
                    if st["step"] >= len(s.steps):
                        self.create_runs(s, st)
                        self.log(f"eval: {s.name} is broken after {st['readyAt'] - st['created']:.0f}s; runs created")
                except HarnessError as e:
                    st["error"] = str(e)
            time.sleep(self.opts.poll)

    def wait_runs(self):
        deadline = time.time() + self.opts.run_timeout
        while True:
            items = self.kube.json(["get", "diagnosticruns.opscopilot.io", "-A", "-l", f"{LABEL}={self.session}"])["items"]
            self.runs = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in items}
            waiting = [k for k, r in self.runs.items() if (r.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            if not waiting or time.time() > deadline:
                return
            time.sleep(self.opts.poll)

    def collect_and_score(self):
        events = self.kube.json(["get", "events", "-A", "--field-selector", "involvedObject.kind=DiagnosticRun"])["items"]
        approvals = self.kube.json(["get", "approvalrequests.opscopilot.io", "-A"])["items"]
        leak_texts = {}
        if self.opts.operator_log and os.path.exists(self.opts.operator_log):
            with open(self.opts.operator_log, errors="replace") as f:
                leak_texts["operator log"] = f.read()
        if self.opts.model_requests:
            import urllib.request
            with urllib.request.urlopen(self.opts.model_requests, timeout=30) as r:
                leak_texts["model requests"] = r.read().decode("utf-8", "replace")
        self.searched = ["status", "events", "approvalrequests"] + sorted(leak_texts)
        results = []
        for s in self.scenarios:
            st = self.state[s.name]
            base = {"scenario": s.name, "category": s.category, "namespace": st["ns"]}
            if st["skipped"]:
                results.append(dict(base, skipped=st["skipped"]))
                continue
            if st["error"]:
                results.append(dict(base, error=st["error"]))
                continue
            for name in st["runs"]:
                run = self.runs.get((st["ns"], name), {})
                ev = [e for e in events if e["metadata"]["namespace"] == st["ns"]]
                ap = [a for a in approvals if a["metadata"]["namespace"] == st["ns"]]
                checks = score_run(s, run, ev, ap, leak_texts)
                status = run.get("status") or {}
                results.append(dict(base, run=name, passed=all(ok for ok, _ in checks.values()),
                                    checks={k: {"ok": ok, "detail": why} for k, (ok, why) in checks.items()},
                                    usage=usage_of(run), reason=status.get("reason", ""),
                                    findings=[f"{f.get('severity')}: {f.get('title')}" for f in status.get("findings") or []],
                                    answer=(status.get("answer") or "")[:600]))
        return results

    def cleanup(self):
        if self.opts.keep:
            return
        for obj in self.cluster_objects:
            self.kube.run(["delete", obj["kind"], obj["metadata"]["name"], "--ignore-not-found", "--wait=false"], check=False)
        names = [st["ns"] for st in self.state.values() if st["created"] or st["error"]]
        if names:
            self.kube.run(["delete", "namespace", "--wait=false", "--ignore-not-found"] + names, check=False)


# --- report ----------------------------------------------------------------

def summarize(results):
    cats = {}
    for r in results:
        c = cats.setdefault(r["category"], {"runs": 0, "passed": 0, "errors": 0, "skipped": 0,
                                            **{k: 0 for k in CHECKS}})
        if "skipped" in r:
            c["skipped"] += 1
        elif "error" in r:
            c["errors"] += 1
        else:
            c["runs"] += 1
            c["passed"] += r["passed"]
            for k in CHECKS:
                c[k] += r["checks"][k]["ok"]
    total = {"runs": 0, "passed": 0, "errors": 0, "skipped": 0, **{k: 0 for k in CHECKS}}
    for c in cats.values():
        for k in total:
            total[k] += c[k]
    return cats, total


def pct(n, d):
    return f"{100.0 * n / d:5.1f}%" if d else "    -"


def print_report(results, cats, total, out):
    w = max([len(r["scenario"]) for r in results] + [8])
    print(f"{'scenario':<{w}}  {'category':<12} run     result  steps tokens   cost$  secs  detail", file=out)
    for r in results:
        if "skipped" in r:
            print(f"{r['scenario']:<{w}}  {r['category']:<12} -       SKIP    {r['skipped']}", file=out)
            continue
        if "error" in r:
            print(f"{r['scenario']:<{w}}  {r['category']:<12} -       ERROR   {r['error']}", file=out)
            continue
        u = r["usage"]
        failed = [f"{k}: {v['detail']}" for k, v in r["checks"].items() if not v["ok"]]
        print(f"{r['scenario']:<{w}}  {r['category']:<12} {r['run']:<7} {'PASS' if r['passed'] else 'FAIL':<7} "
              f"{u['steps']:>5} {u['tokens']:>6} {u['costUSD']:>7.4f} {u['durationMs'] / 1000:>5.1f}  "
              f"{'; '.join(failed)}", file=out)
    print(file=out)
    print(f"{'category':<14} {'passed':>9} {'score':>7} {'cause':>7} {'cited':>7} {'no-inv':>7} {'no-sec':>7}", file=out)
    for name in sorted(cats):
        c = cats[name]
        print(f"{name:<14} {c['passed']:>4}/{c['runs']:<4} {pct(c['passed'], c['runs']):>7} {pct(c['rootCause'], c['runs']):>7} "
              f"{pct(c['citations'], c['runs']):>7} {pct(c['noInvented'], c['runs']):>7} {pct(c['noSecret'], c['runs']):>7}"
              + (f"  ({c['errors']} errors)" if c["errors"] else "") + (f"  ({c['skipped']} skipped)" if c["skipped"] else ""),
              file=out)
    t = total
    print(f"{'total':<14} {t['passed']:>4}/{t['runs']:<4} {pct(t['passed'], t['runs']):>7} {pct(t['rootCause'], t['runs']):>7} "
          f"{pct(t['citations'], t['runs']):>7} {pct(t['noInvented'], t['runs']):>7} {pct(t['noSecret'], t['runs']):>7}", file=out)


def compare_baseline(path, cats, total, repeat):
    """Categories passing fewer runs than the recorded baseline (scaled by
    repeats); returns the complaints."""
    with open(path) as f:
        base = json.load(f)
    complaints = []
    for name, b in sorted((base.get("categories") or {}).items()):
        c = cats.get(name)
        if not c:
            complaints.append(f"category {name} is recorded but was not run")
            continue
        want = b["passed"] * repeat
        if c["passed"] < want:
            complaints.append(f"{name}: {c['passed']} runs passed, the baseline records {want}")
    return complaints


def main(argv=None):
    ap = argparse.ArgumentParser(prog="opscopilot-eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", default=os.path.join(HERE, "scenarios"), help="directory of scenario files")
    ap.add_argument("--only", action="append", default=[], metavar="NAME", help="run only this scenario (repeatable)")
    ap.add_argument("--category", action="append", default=[], help="run only this category (repeatable)")
    ap.add_argument("--model", default="", help="model profile for spec.model (default: the operator's default)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario (models vary; repeat them)")
    ap.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""))
    ap.add_argument("--context", default="")
    ap.add_argument("--image", default="busybox:1.36", help="the image scenarios run (sh, sleep, tail, nc)")
    ap.add_argument("--real-node", default="", help="pin pods of scenarios to this node (the local real node)")
    ap.add_argument("--real-node-toleration", action="append", default=[], help="taint key the pinned pods tolerate")
    ap.add_argument("--no-real-containers", dest="real_containers", action="store_false",
                    help="skip scenarios whose containers must really run")
    ap.add_argument("--reader-rbac", default=os.path.join(ROOT, "config/rbac/namespace-reader.yaml"),
                    help="applied in each scratch namespace: the reader identity the operator impersonates")
    ap.add_argument("--reader-clusterrole", default="",
                    help="the reader ClusterRole those bind to (the Helm chart's is RELEASE-reader; default: as the file says)")
    ap.add_argument("--namespace-prefix", default="eval-")
    ap.add_argument("--ready-timeout", type=float, default=240, help="seconds for every scenario to become broken")
    ap.add_argument("--run-timeout", type=float, default=300, help="seconds for every run to finish")
    ap.add_argument("--poll", type=float, default=1.0)
    ap.add_argument("--operator-log", default="", help="the operator's log, searched for leaked secrets")
    ap.add_argument("--model-requests", default="", help="URL listing what the model server received, searched for secrets")
    ap.add_argument("--report", default="eval-report.json", help="where the JSON report goes")
    ap.add_argument("--min-score", type=float, default=0.0, help="exit 1 below this pass rate (percent)")
    ap.add_argument("--baseline", default="", help="exit 1 if a category passes fewer runs than this file records")
    ap.add_argument("--write-baseline", default="", help="record this result as the baseline file")
    ap.add_argument("--keep", action="store_true", help="leave the namespaces for inspection")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--quiet", action="store_true")
    opts = ap.parse_args(argv)
    if opts.repeat < 1:
        ap.error("--repeat must be at least 1")

    try:
        scenarios = load_scenarios(opts.scenarios, opts.only, opts.category)
    except (HarnessError, re.error, yaml.YAMLError) as e:
        print(f"opscopilot-eval: {e}", file=sys.stderr)
        return 2
    if opts.list:
        for s in scenarios:
            print(f"{s.category:<12} {s.name:<36} {'healthy' if s.healthy else 'broken ':<8} {s.runs_on:<5} {s.description}")
        return 0

    ev = Eval(opts, scenarios)
    started = time.time()
    try:
        ev.setup()
        ev.advance()
        ev.wait_runs()
        results = ev.collect_and_score()
    except HarnessError as e:
        print(f"opscopilot-eval: {e}", file=sys.stderr)
        ev.cleanup()
        return 2
    ev.cleanup()

    cats, total = summarize(results)
    print_report(results, cats, total, sys.stdout)
    score = 100.0 * total["passed"] / total["runs"] if total["runs"] else 0.0
    report = {"session": ev.session, "model": opts.model or "(operator default)", "repeat": opts.repeat,
              "seconds": round(time.time() - started, 1), "score": round(score, 1),
              "searched": ev.searched,
              "total": total, "categories": cats, "results": results}
    with open(opts.report, "w") as f:
        json.dump(report, f, indent=2)
    print(f"\nscore {score:.1f}% ({total['passed']} of {total['runs']} runs passed) in {report['seconds']}s; "
          f"report: {opts.report}")
    if opts.write_baseline:
        with open(opts.write_baseline, "w") as f:
            json.dump({"model": report["model"], "score": report["score"],
                       "categories": {k: {"passed": v["passed"] // opts.repeat, "runs": v["runs"] // opts.repeat}
                                      for k, v in sorted(cats.items())}}, f, indent=2)
            f.write("\n")
    status = 0
    if total["errors"]:
        print(f"opscopilot-eval: {total['errors']} scenarios never became broken as described", file=sys.stderr)
        status = 2
    if score < opts.min_score:
        print(f"opscopilot-eval: score {score:.1f}% is below --min-score {opts.min_score}", file=sys.stderr)
        status = status or 1
    if opts.baseline:
        complaints = compare_baseline(opts.baseline, cats, total, opts.repeat)
        for c in complaints:
            print(f"opscopilot-eval: below the baseline: {c}", file=sys.stderr)
        if complaints:
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
