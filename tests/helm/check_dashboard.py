#!/usr/bin/env python3
"""Checks the Grafana dashboard and the alert rules the chart ships
(charts/opscopilot/files/dashboard.json, alerts.yaml), without Grafana or a
cluster; tests/e2e/metrics_test.sh runs their queries against a real
Prometheus scraping a real operator.

  - the dashboard is a Grafana dashboard: title, uid, schemaVersion, a
    Prometheus datasource variable every panel and target uses, unique panel
    ids, unique refIds per panel, panels that do not overlap on the grid;
  - every query names only metrics the operator serves (docs/metrics.md), and
    each of those metrics is charted somewhere;
  - every counter is read through rate() or increase(), never raw; every
    histogram through its _bucket series in histogram_quantile();
  - the alert rules: each has expr, for, a severity and a summary, and names
    only metrics the operator serves;
  - with a rendering (argument), the chart's ConfigMap carries the dashboard
    byte for byte and its PrometheusRule carries the alert groups.

Usage: check_dashboard.py [RENDERED.yaml]. Prints "ok ..." / "bad ..." lines.
"""
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(ROOT, "charts", "opscopilot", "files")
failures = 0


def ok(msg):
    print("ok " + msg)


def bad(msg):
    global failures
    failures += 1
    print("bad " + msg)


def served_metrics():
    """The metric names and types docs/metrics.md lists (its table: | `name` | type | ...)."""
    out = {}
    with open(os.path.join(ROOT, "docs", "metrics.md")) as f:
        for line in f:
            m = re.match(r"\|\s*`([a-z_:]+)`\s*\|\s*(counter|gauge|histogram)\s*\|", line)
            if m:
                out[m.group(1)] = m.group(2)
    return out


def names_in(expr):
    """Metric names an expression reads (identifiers followed by { or [ or a space, not functions or keywords)."""
    expr = re.sub(r'"[^"]*"', '""', expr)
    words = set(re.findall(r"\b([a-z_:][a-z0-9_:]*)\b\s*(?=[{\[)]|$|\s*[*/+-])", expr))
    keywords = {"sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "histogram_quantile",
                "le", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}
    return {w for w in words if w not in keywords and "_" in w and not w.startswith("__")}


def base_name(name, served):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and served.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)]
    return name


def check_queries(where, expr, served, used):
    names = names_in(expr)
    if not names:
        bad(f"{where}: reads no metric: {expr}")
    for n in names:
        b = base_name(n, served)
        if b not in served:
            bad(f"{where}: {n} is not a metric the operator serves (docs/metrics.md)")
            continue
        used.add(b)
        kind = served[b]
        if kind == "counter" and not re.search(r"(rate|increase)\(\s*" + re.escape(n) + r"\b", expr):
            bad(f"{where}: counter {n} read without rate() or increase()")
        if kind == "histogram" and (n == b or "histogram_quantile" not in expr) and not n.endswith(("_sum", "_count")):
            bad(f"{where}: histogram {b} read other than through histogram_quantile over {b}_bucket")


def check_dashboard(served):
    with open(os.path.join(FILES, "dashboard.json")) as f:
        d = json.load(f)
    for key in ("title", "uid", "schemaVersion", "panels", "templating"):
        if key not in d:
            bad(f"dashboard has no {key}")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource" or variables["datasource"].get("query") != "prometheus":
        bad("dashboard has no Prometheus datasource variable named datasource")
    ids, used, cells, n_targets = set(), set(), set(), 0
    for p in d.get("panels", []):
        if p.get("id") in ids:
            bad(f"panel id {p.get('id')} appears twice")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
            for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
                if (x, y) in cells:
                    bad(f"panel {p.get('title')!r} overlaps another at ({x}, {y})")
                    break
                cells.add((x, y))
        if g.get("x", 0) + g.get("w", 0) > 24:
            bad(f"panel {p.get('title')!r} is wider than the grid")
        if p.get("type") == "row":
            continue
        where = f"panel {p.get('title')!r}"
        if p.get("datasource", {}).get("uid") != "${datasource}":
            bad(f"{where}: does not use the datasource variable")
        if not p.get("description"):
            bad(f"{where}: has no description")
        refs = [t.get("refId") for t in p.get("targets", [])]
        if len(refs) != len(set(refs)) or not refs:
            bad(f"{where}: targets' refIds are missing or repeated: {refs}")
        for t in p.get("targets", []):
            n_targets += 1
            expr = t.get("expr", "")
            if t.get("datasource", {}).get("uid") != "${datasource}":
                bad(f"{where}: a target does not use the datasource variable")
            if '{job=~"$job"' not in expr:
                bad(f"{where}: {expr} is not filtered by the job variable")
            check_queries(where, expr, served, used)
    unused = sorted(set(served) - used)
    if unused:
        bad("metrics the dashboard does not chart: " + ", ".join(unused))
    if failures == 0:
        ok(f"dashboard: {len(ids)} panels, {n_targets} queries over all {len(used)} metrics the operator serves, "
           "each counter through rate(), each histogram through histogram_quantile()")
    return d


def check_alerts(served):
    with open(os.path.join(FILES, "alerts.yaml")) as f:
        rules = yaml.safe_load(f)
    n, before = 0, failures
    for g in rules.get("groups", []):
        for r in g.get("rules", []):
            n += 1
            where = f"alert {r.get('alert')!r}"
            for key in ("alert", "expr", "for"):
                if not r.get(key):
                    bad(f"{where}: no {key}")
            if not r.get("labels", {}).get("severity") or not r.get("annotations", {}).get("summary"):
                bad(f"{where}: no severity label or summary annotation")
            check_queries(where, r.get("expr", ""), served, set())
    if n == 0:
        bad("alerts.yaml has no rules")
    elif failures == before:
        ok(f"alerts: {n} rules, each with for, severity and summary, over metrics the operator serves")
    return rules


def check_rendering(path, dashboard, rules):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    cms = [d for d in docs if d.get("kind") == "ConfigMap" and "opscopilot.json" in d.get("data", {})]
    prs = [d for d in docs if d.get("kind") == "PrometheusRule"]
    if cms:
        cm = cms[0]
        if json.loads(cm["data"]["opscopilot.json"]) != dashboard:
            bad("the dashboard ConfigMap does not carry files/dashboard.json")
        elif cm["metadata"].get("labels", {}).get("grafana_dashboard") != "1":
            bad("the dashboard ConfigMap lacks Grafana's sidecar label grafana_dashboard: \"1\"")
        else:
            ok("the dashboard ConfigMap carries files/dashboard.json, labelled for Grafana's sidecar")
    if prs:
        if prs[0].get("spec", {}).get("groups") != rules["groups"]:
            bad("the PrometheusRule does not carry files/alerts.yaml's groups")
        else:
            ok("the PrometheusRule carries files/alerts.yaml's groups")


def main():
    served = served_metrics()
    if len(served) < 10:
        bad(f"docs/metrics.md lists {len(served)} metrics; its table could not be read")
        return 1
    dashboard = check_dashboard(served)
    rules = check_alerts(served)
    if len(sys.argv) > 1:
        check_rendering(sys.argv[1], dashboard, rules)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
