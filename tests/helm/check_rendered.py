#!/usr/bin/env python3
"""Checks a `helm template` rendering of charts/opscopilot for properties a
golden diff would not explain: the pod passes the Pod Security Standard
"restricted", the operator's RBAC stays least privilege, and the operator
config agrees with the Deployment, the RBAC and the reader bindings.

  check_rendered.py RENDERED.yaml RELEASE_NAMESPACE

Prints one line per check, "ok <what>" or "bad <what>: <why>"; exits 0.
"""
import hashlib
import re
import sys

import yaml

rendered, release_ns = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(rendered)) if d]


def report(ok, what, why=""):
    print(("ok " if ok else "bad ") + what + ("" if ok else ": " + why))


def of_kind(kind):
    return [d for d in docs if d.get("kind") == kind]


def one(kind):
    found = of_kind(kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


# --- Pod Security Standard "restricted" (baseline checks included) ----------
# https://kubernetes.io/docs/concepts/security/pod-security-standards/
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret"}


def restricted_violations(pod):
    v = []
    psc = pod.get("securityContext", {})
    for f in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(f):
            v.append(f)
    for vol in pod.get("volumes", []):
        kinds = set(vol) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            v.append(f"volume {vol['name']} type {kinds - ALLOWED_VOLUMES}")
    if psc.get("runAsUser") == 0:
        v.append("pod runAsUser 0")
    if psc.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
        v.append("pod seccompProfile not RuntimeDefault")
    for c in pod.get("initContainers", []) + pod.get("containers", []):
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("privileged"):
            v.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            v.append(f"{name}: allowPrivilegeEscalation is not false")
        if not (sc.get("runAsNonRoot") is True or (psc.get("runAsNonRoot") is True and sc.get("runAsNonRoot") is not False)):
            v.append(f"{name}: runAsNonRoot is not true")
        if sc.get("runAsUser", psc.get("runAsUser")) in (0, None):
            v.append(f"{name}: no non-zero runAsUser")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            v.append(f"{name}: capabilities do not drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            v.append(f"{name}: adds capabilities {caps['add']}")
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            v.append(f"{name}: seccompProfile {seccomp}")
        for p in c.get("ports", []):
            if p.get("hostPort"):
                v.append(f"{name}: hostPort")
        if sc.get("readOnlyRootFilesystem") is not True:  # not in the standard; required here
            v.append(f"{name}: readOnlyRootFilesystem is not true")
        if sc.get("runAsUser", psc.get("runAsUser")) != 65532:
            v.append(f"{name}: runAsUser is not 65532")
    return v


deploy = one("Deployment")
pod = deploy["spec"]["template"]["spec"]
viol = restricted_violations(pod)
report(not viol, "pod passes Pod Security 'restricted'", "; ".join(viol))

container = pod["containers"][0]
image = container["image"]
report(":" in image and not image.endswith(":latest") and "@" not in image.split(":")[0],
       "image is pinned (repository:tag, never latest)", image)
report(container.get("imagePullPolicy") in ("IfNotPresent", "Always"), "imagePullPolicy set",
       str(container.get("imagePullPolicy")))
req = container.get("resources", {}).get("requests", {})
report(req.get("memory") == "64Mi", "requests memory 64Mi", str(req))
report(pod.get("terminationGracePeriodSeconds", 30) >= 30,
       "terminationGracePeriodSeconds leaves the operator its 25 s shutdown deadline",
       str(pod.get("terminationGracePeriodSeconds")))

# --- The operator config and how the Deployment uses it ----------------------
cm = [d for d in of_kind("ConfigMap") if "operator.yaml" in d.get("data", {})]
report(len(cm) == 1, "one ConfigMap holds operator.yaml", str(len(cm)))
text = cm[0]["data"]["operator.yaml"]
cfg = yaml.safe_load(text)

args = container.get("args", [])
mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
config_vol = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == cm[0]["metadata"]["name"]]
ok = (len(config_vol) == 1 and config_vol[0]["name"] in mounts
      and f"--config={mounts[config_vol[0]['name']]['mountPath']}/operator.yaml" in args)
report(ok, "the ConfigMap is mounted and passed with --config", str(args))

checksum = deploy["spec"]["template"]["metadata"]["annotations"].get("checksum/config", "")
report(checksum == hashlib.sha256(text.rstrip("\n").encode()).hexdigest(),
       "checksum/config is the sha256 of the rendered config", checksum)

port = {p["name"]: p["containerPort"] for p in container["ports"]}.get("http-metrics")
addr = cfg["health"]["address"]
host, _, cport = addr.rpartition(":")
report(host in ("0.0.0.0", "::") and int(cport) == port,
       "the operator listens on all addresses at the container port", f"{addr} vs port {port}")
probes_ok = (container["livenessProbe"]["httpGet"]["path"] == "/healthz"
             and container["readinessProbe"]["httpGet"]["path"] == "/readyz"
             and container["livenessProbe"]["httpGet"]["port"] in ("http-metrics", port)
             and container["readinessProbe"]["httpGet"]["port"] in ("http-metrics", port))
report(probes_ok, "probes: liveness /healthz, readiness /readyz on the health port")

services = [s for s in of_kind("Service") if any(p.get("name") == "http-metrics" for p in s["spec"]["ports"])]
if services:
    sel = services[0]["spec"]["selector"]
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    report(all(labels.get(k) == v for k, v in sel.items()), "the metrics Service selects the operator pods", str(sel))

replicas = deploy["spec"]["replicas"]
le = cfg["leaderElection"]
report(replicas == 1 or le["enabled"] is True,
       "leader election is on whenever replicas > 1", f"replicas {replicas}, enabled {le['enabled']}")
report(le["namespace"] == release_ns, "the Lease lives in the release namespace", le["namespace"])
strategy = deploy["spec"]["strategy"]["type"]
report((strategy == "Recreate") != bool(le["enabled"]),
       "without leader election the Deployment never runs two pods (Recreate)", strategy)

# --- RBAC: least privilege ---------------------------------------------------
sa = deploy["spec"]["template"]["spec"]["serviceAccountName"]
roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d
         for d in docs if d.get("kind") in ("Role", "ClusterRole")}
operator_rules = []  # (binding scope namespace or None, rule)
for b in docs:
    if b.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
        continue
    if not any(s.get("kind") == "ServiceAccount" and s["name"] == sa and s.get("namespace") == release_ns
               for s in b["subjects"]):
        continue
    ref = b["roleRef"]
    ns = b["metadata"].get("namespace")
    role = roles.get((ref["kind"], ns if ref["kind"] == "Role" else None, ref["name"]))
    report(role is not None, f"{b['kind']} {b['metadata']['name']} refers to a role in the chart", str(ref))
    for r in (role or {}).get("rules", []):
        operator_rules.append((ns, r))

WRITE = {"create", "update", "patch", "delete", "deletecollection", "impersonate", "escalate", "bind", "*"}
problems = []
for ns, r in operator_rules:
    groups, res, verbs = set(r.get("apiGroups", [])), set(r.get("resources", [])), set(r.get("verbs", []))
    names = r.get("resourceNames")
    if "*" in groups | res | verbs:
        problems.append(f"wildcard in {r}")
    if "secrets" in res and (not names or verbs - {"get"}):
        problems.append(f"secrets beyond get of named Secrets: {r}")
    if "impersonate" in verbs and (res != {"serviceaccounts"} or not names):
        problems.append(f"impersonation beyond named serviceaccounts: {r}")
    if groups - {"opscopilot.io", "", "coordination.k8s.io", "authorization.k8s.io", "admissionregistration.k8s.io"}:
        problems.append(f"API group outside the operator's needs: {r}")
    if "authorization.k8s.io" in groups and (res != {"subjectaccessreviews"} or verbs != {"create"}):
        problems.append(f"authorization beyond creating SubjectAccessReviews: {r}")
    if "admissionregistration.k8s.io" in groups and (
            verbs != {"get"} or not names
            or res - {"validatingadmissionpolicies", "validatingadmissionpolicybindings"}):
        problems.append(f"admission policies beyond getting the named requester policy: {r}")
    if "" in groups and res - {"events", "serviceaccounts", "secrets"}:
        problems.append(f"core resources beyond events, reader impersonation and the key Secret: {r}")
    if "" in groups and "events" in res and verbs - {"create", "patch"}:
        problems.append(f"events beyond create: {r}")
    if "coordination.k8s.io" in groups and (ns != release_ns or (verbs - {"create"} and not names)):
        problems.append(f"leases outside the release namespace or unnamed: {r}")
    if res & {"pods", "pods/log", "configmaps", "deployments"}:
        problems.append(f"direct workload read (must go through the reader): {r}")
report(not problems, "operator RBAC is least privilege", "; ".join(problems))

# The requester policy the operator trusts is the one the chart installs, and
# the operator may read exactly it.
binding = cfg["requester"]["policyBinding"]
report(any(d["metadata"]["name"] == binding for d in of_kind("ValidatingAdmissionPolicyBinding")),
       "config requester.policyBinding is a binding the chart installs", binding)
adm = [r for _, r in operator_rules if "admissionregistration.k8s.io" in r.get("apiGroups", [])]
report(len(adm) == 1 and adm[0].get("resourceNames") == [binding],
       "the operator may get exactly the requester policy and binding", str(adm))

reader_user = cfg["tools"]["readerUser"]
m = re.fullmatch(r"system:serviceaccount:\{namespace\}:([a-z0-9-]+)", reader_user)
report(m is not None, "readerUser is a per-namespace ServiceAccount", reader_user)
reader_sa = m.group(1) if m else ""
imp = [r for _, r in operator_rules if "impersonate" in r.get("verbs", [])]
report(len(imp) == 1 and imp[0].get("resourceNames") == [reader_sa],
       "the operator may impersonate exactly the reader ServiceAccount", str(imp))
if cfg.get("watchNamespace"):
    report(all(ns == cfg["watchNamespace"] for ns, r in operator_rules if "impersonate" in r.get("verbs", [])),
           "with watchNamespace the operator's role is namespaced")

secret_names = {s["metadata"]["name"] for s in of_kind("Secret")}
key_refs = {(p["apiKeySecret"]["namespace"], p["apiKeySecret"]["name"])
            for p in cfg["models"].values() if "apiKeySecret" in p}
prom = cfg.get("metrics", {}).get("prometheus", {})
if "bearerTokenSecret" in prom:
    key_refs.add((prom["bearerTokenSecret"]["namespace"], prom["bearerTokenSecret"]["name"]))
for d in cfg.get("actions", {}).get("destinations", []):
    for ref in ("urlSecret", "tokenSecret"):
        if ref in d:
            key_refs.add((d[ref]["namespace"], d[ref]["name"]))
readable = {(ns, n) for ns, r in operator_rules if "secrets" in r.get("resources", []) for n in r.get("resourceNames") or ["*"]}
report(key_refs == readable, "the operator may read exactly the Secrets its profiles, Prometheus and action destinations name",
       f"named {sorted(key_refs)}, RBAC {sorted(readable)}")
for ns, name in key_refs:
    report(ns == release_ns, f"key Secret {name} is in the release namespace", ns)

reader_roles = [d for d in of_kind("ClusterRole") if d["metadata"]["labels"].get("app.kubernetes.io/component") == "reader"]
report(len(reader_roles) == 1, "one reader ClusterRole")
reader_role = reader_roles[0]["metadata"]["name"]
reader_verbs = {v for r in reader_roles[0]["rules"] for v in r["verbs"]}
report(reader_verbs <= {"get", "list", "watch"}, "the reader ClusterRole is read-only", str(reader_verbs))
report(not [b for b in of_kind("ClusterRoleBinding") if b["roleRef"]["name"] == reader_role],
       "the reader ClusterRole is never bound cluster-wide")
runbook_ns = (cfg.get("tools") or {}).get("runbookNamespace") or ""
reader_ns = sorted(d["metadata"]["namespace"] for d in of_kind("ServiceAccount") if d["metadata"]["name"] == reader_sa)
# The shared runbook namespace's reader may read ConfigMaps there and nothing else.
runbook_roles = [d for d in of_kind("Role") if d["metadata"]["name"].endswith("-runbooks")]
if runbook_ns:
    rules = runbook_roles[0]["rules"] if len(runbook_roles) == 1 else []
    report(rules == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
           and runbook_roles[0]["metadata"]["namespace"] == runbook_ns,
           "the shared runbook namespace's reader may only get and list ConfigMaps there", str(runbook_roles))
    report(any(b["metadata"]["namespace"] == runbook_ns and b["roleRef"]["name"] == runbook_roles[0]["metadata"]["name"]
               and b["subjects"] == [{"kind": "ServiceAccount", "name": reader_sa, "namespace": runbook_ns}]
               for b in of_kind("RoleBinding")) if runbook_roles else False,
           "the runbook Role is bound to that namespace's reader only")
    report(any(d["metadata"]["namespace"] == runbook_ns and d["metadata"]["name"] == reader_sa
               for d in of_kind("ServiceAccount")), "the runbook namespace has the reader ServiceAccount")
else:
    report(not runbook_roles, "no runbook Role without a runbook namespace")
bound = sorted(b["metadata"]["namespace"] for b in of_kind("RoleBinding")
               if b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": reader_role}
               and b["subjects"] == [{"kind": "ServiceAccount", "name": reader_sa, "namespace": b["metadata"]["namespace"]}])
if runbook_ns and runbook_ns not in bound:
    reader_ns = [n for n in reader_ns if n != runbook_ns]  # its reader has the runbook Role only (checked above)
report(reader_ns == bound, "every reader namespace has the reader ServiceAccount bound to the reader role",
       f"service accounts in {reader_ns}, bindings in {bound}")
report(all(d.get("automountServiceAccountToken") is False for d in of_kind("ServiceAccount")
           if d["metadata"]["name"] == reader_sa), "reader ServiceAccounts mount no token")
