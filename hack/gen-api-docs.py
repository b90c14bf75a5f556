#!/usr/bin/env python3
"""Writes docs/api-reference.md, the field reference of every CRD in crds/,
from the CRDs' own OpenAPI schemas: each field's path, type, whether it is
required, its default, its limits (enum, bounds, length, pattern, list and map
types), its description and the CEL rules that guard it. The reference cannot
drift from what the API server enforces: `--check` (run by ctest as
api_reference_docs) fails when the file differs from what this script writes.

Usage: hack/gen-api-docs.py [--check]
"""
import glob
import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "api-reference.md")
ORDER = ["DiagnosticRun", "DiagnosticSchedule", "ApprovalRequest", "DiagnosticBudget"]


def one_line(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def code(v):
    s = v if isinstance(v, str) else json.dumps(v)
    return "`" + s.replace("|", "\\|").replace("`", "'") + "`"


def type_of(s):
    t = s.get("type", "")
    if s.get("x-kubernetes-int-or-string"):
        t = "int or string"
    elif s.get("x-kubernetes-preserve-unknown-fields") and not t:
        t = "any"
    if t == "array":
        item = s.get("items", {})
        t = "[]" + (type_of(item) or "any")
    elif t == "object" and "additionalProperties" in s and "properties" not in s:
        t = "map[string]" + (type_of(s["additionalProperties"]) or "any")
    if s.get("format"):
        t += " (" + s["format"] + ")"
    return t


def limits(s):
    out = []
    if "enum" in s:
        out.append("one of " + ", ".join(code(v) for v in s["enum"]))
    for key, word in (("minimum", "≥"), ("maximum", "≤")):
        if key in s:
            out.append(f"{word} {s[key]}")
    for key, word in (("minLength", "at least {} character"), ("maxLength", "at most {} character"),
                      ("minItems", "at least {} item"), ("maxItems", "at most {} item"),
                      ("minProperties", "at least {} entr"), ("maxProperties", "at most {} entr")):
        if key in s:
            n = s[key]
            plural = ("ies" if n != 1 else "y") if word.endswith("entr") else ("s" if n != 1 else "")
            out.append(word.format(n) + plural)
    if "pattern" in s:
        out.append("matches " + code(s["pattern"]))
    if s.get("x-kubernetes-list-type"):
        lt = s["x-kubernetes-list-type"]
        if lt == "map":
            out.append("list map keyed by " + ", ".join(code(k) for k in s.get("x-kubernetes-list-map-keys", [])))
        else:
            out.append(f"{lt} list")
    if s.get("x-kubernetes-map-type"):
        out.append(s["x-kubernetes-map-type"] + " map")
    if s.get("x-kubernetes-preserve-unknown-fields"):
        out.append("fields not checked")
    return "; ".join(out)


def walk(s, path, required, rows, rules):
    """Rows for s (at path) and everything under it, depth first in schema order."""
    for r in s.get("x-kubernetes-validations", []):
        rules.append((path or "(object)", r))
    if path:
        default = code(s["default"]) if "default" in s else ""
        rows.append((path, type_of(s), "yes" if required else "", default, limits(s),
                     one_line(s.get("description", ""))))
    if "properties" in s:
        req = set(s.get("required", []))
        for name, sub in s["properties"].items():
            walk(sub, f"{path}.{name}" if path else name, name in req, rows, rules)
    elif s.get("type") == "array" and "items" in s:
        item = s["items"]
        if "properties" in item or item.get("x-kubernetes-validations"):
            for r in item.get("x-kubernetes-validations", []):
                rules.append((path + "[]", r))
            req = set(item.get("required", []))
            for name, sub in item.get("properties", {}).items():
                walk(sub, f"{path}[].{name}", name in req, rows, rules)
    elif s.get("type") == "object" and isinstance(s.get("additionalProperties"), dict):
        walk_values = s["additionalProperties"]
        req = set(walk_values.get("required", []))
        for name, sub in walk_values.get("properties", {}).items():
            walk(sub, f"{path}.*.{name}", name in req, rows, rules)


def crd_section(crd):
    names = crd["spec"]["names"]
    group = crd["spec"]["group"]
    lines = [f"## {names['kind']}", ""]
    for v in crd["spec"]["versions"]:
        schema = v["schema"]["openAPIV3Schema"]
        facts = [f"`{group}/{v['name']}`", crd["spec"]["scope"].lower()]
        if names.get("shortNames"):
            facts.append("short names " + ", ".join(f"`{n}`" for n in names["shortNames"]))
        if names.get("categories"):
            facts.append("categories " + ", ".join(f"`{n}`" for n in names["categories"]))
        if "status" in v.get("subresources", {}):
            facts.append("status subresource")
        lines += ["; ".join(facts) + ".", ""]
        if schema.get("description"):
            lines += [one_line(schema["description"]), ""]
        cols = v.get("additionalPrinterColumns", [])
        if cols:
            lines += ["`kubectl get` columns (`-o wide` adds those of priority 1):", "",
                      "| column | from | description |", "|---|---|---|"]
            for c in cols:
                name = c["name"] + (" (wide)" if c.get("priority", 0) else "")
                lines.append(f"| {name} | `{c['jsonPath']}` | {one_line(c.get('description', ''))} |")
            lines.append("")
        if v.get("selectableFields"):
            lines += ["Field selectors: " + ", ".join(f"`{f['jsonPath'].lstrip('.')}`" for f in v["selectableFields"]) + ".", ""]
        rows, rules = [], []
        props = schema.get("properties", {})
        req = set(schema.get("required", []))
        for r in schema.get("x-kubernetes-validations", []):
            rules.append(("(object)", r))
        for top in ("spec", "status"):
            if top not in props:
                continue
            part_rows = []
            walk(props[top], top, top in req, part_rows, rules)
            lines += [f"### {top}", "",
                      "| field | type | required | default | limits | description |",
                      "|---|---|---|---|---|---|"]
            for row in part_rows:
                lines.append("| `" + row[0] + "` | " + " | ".join(row[1:]) + " |")
            lines.append("")
        if rules:
            lines += ["### Validation rules (CEL, checked at admission)", "",
                      "| on | rule | message |", "|---|---|---|"]
            for where, r in rules:
                msg = r.get("message") or r.get("messageExpression", "")
                lines.append(f"| `{where}` | {code(one_line(r['rule']))} | {one_line(msg)} |")
            lines.append("")
    return lines


def render():
    crds = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "crds", "*.yaml"))):
        with open(path) as f:
            crd = yaml.safe_load(f)
        crds[crd["spec"]["names"]["kind"]] = crd
    kinds = [k for k in ORDER if k in crds] + sorted(k for k in crds if k not in ORDER)
    lines = ["<!-- Generated by hack/gen-api-docs.py from crds/*.yaml; do not edit. -->", "",
             "# API reference: `opscopilot.io/v1alpha1`", "",
             "Every field of every OpsCopilot resource, generated from the CRDs the",
             "API server enforces (so it cannot drift from them). What the fields",
             "mean together, and how the controller uses them, is in",
             "[DESIGN.md](DESIGN.md). Users write `spec`; the controller writes",
             "`status`. Paths use `[]` for list items and `*` for map values.", "",
             "Resources: " + ", ".join(f"[{k}](#{k.lower()})" for k in kinds) + ".", ""]
    for k in kinds:
        lines += crd_section(crds[k])
    return "\n".join(lines).rstrip() + "\n"


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        try:
            with open(OUT) as f:
                current = f.read()
        except FileNotFoundError:
            current = ""
        if current != text:
            print(f"{os.path.relpath(OUT, ROOT)} is out of date with crds/: run hack/gen-api-docs.py", file=sys.stderr)
            return 1
        print(f"{os.path.relpath(OUT, ROOT)} matches crds/")
        return 0
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
