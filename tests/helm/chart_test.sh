#!/usr/bin/env bash
# Tests of the Helm chart charts/opscopilot, without a cluster:
#   1. helm lint --strict, with the default values and each values file
#   2. golden: `helm template` byte for byte against tests/helm/golden/*.yaml
#      (default values, and each tests/helm/values/*.yaml); the values in
#      tests/helm/accepted/ (edge values) must render, without a golden
#   3. every values file in tests/helm/invalid/ is refused with the message
#      its first line names ("# expect: <substring>")
#   4. the rendered operator.yaml passes the operator binary's own config
#      validation (it validates --config before it reads a kubeconfig)
#   5. the chart's CRDs are byte-identical to crds/
#   6. properties of each rendering (check_rendered.py): Pod Security
#      "restricted", least-privilege RBAC, config / Deployment / RBAC agree,
#      and a changed value changes the pods' checksum annotation
#   7. the Grafana dashboard and alert rules (check_dashboard.py), and the
#      ConfigMap and PrometheusRule that carry them
#
#   tests/helm/chart_test.sh                   # helm from hack/lib/controlplane-build.sh, or $HELM
#   UPDATE_GOLDEN=1 tests/helm/chart_test.sh   # rewrite tests/helm/golden/ from the chart
#   OPSCOPILOT_OPERATOR=build/opscopilot-operator tests/helm/chart_test.sh
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/helm"
CHART="$ROOT/charts/opscopilot"
RELEASE=opscopilot
NAMESPACE=opscopilot-system
# helm built from the Go module has no Kubernetes version stamped in (it
# would assume v1.20 and refuse the chart's kubeVersion); render for the
# version the local control plane is pinned to.
KUBE_VERSION="${KUBE_VERSION:-v1.35.4}"
OPERATOR="${OPSCOPILOT_OPERATOR:-$ROOT/build/opscopilot-operator}"

pass=0
fail=0
ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
skip() { echo "SKIP $*"; }
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}

if [ -z "${HELM:-}" ]; then
  if dir="$(bash "$ROOT/hack/lib/controlplane-build.sh")" && [ -x "$dir/helm" ]; then
    HELM="$dir/helm"
  else
    bad "helm: hack/lib/controlplane-build.sh gave no helm binary (set HELM to use another)"
    finish
  fi
fi
echo "helm: $HELM ($("$HELM" version --short 2>/dev/null))"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

render() {  # render [helm template flags...]: the chart as installed in $NAMESPACE
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" "$@"
}

# The golden cases: "default" and one per values file.
cases=(default)
for f in "$HERE"/values/*.yaml; do cases+=("$(basename "$f" .yaml)"); done
# Further cases that must render, be valid and pass the checks, without a golden.
accepted=()
for f in "$HERE"/accepted/*.yaml; do [ -e "$f" ] && accepted+=("accepted-$(basename "$f" .yaml)"); done
case_flags() {
  case "$1" in
    default) ;;
    accepted-*) echo "--values=$HERE/accepted/${1#accepted-}.yaml" ;;
    *) echo "--values=$HERE/values/$1.yaml" ;;
  esac
}

# --- 1. lint ------------------------------------------------------------------
for c in "${cases[@]}" "${accepted[@]}"; do
  # shellcheck disable=SC2046
  if out="$("$HELM" lint --strict "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" $(case_flags "$c") 2>&1)"; then
    ok "lint --strict ($c)"
  else
    bad "lint --strict ($c):"
    echo "$out" | sed 's/^/    /'
  fi
done

# --- 2. golden ----------------------------------------------------------------
for c in "${cases[@]}"; do
  golden="$HERE/golden/$c.yaml"
  # shellcheck disable=SC2046
  if ! render $(case_flags "$c") >"$WORK/$c.yaml" 2>"$WORK/$c.err"; then
    bad "template ($c): $(cat "$WORK/$c.err")"
    continue
  fi
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    mkdir -p "$HERE/golden"
    cp "$WORK/$c.yaml" "$golden"
    ok "golden $c (updated tests/helm/golden/$c.yaml)"
  elif [ ! -f "$golden" ]; then
    bad "golden $c: tests/helm/golden/$c.yaml is missing (UPDATE_GOLDEN=1 writes it)"
  elif cmp -s "$golden" "$WORK/$c.yaml"; then
    ok "golden $c"
  else
    bad "golden $c differs from tests/helm/golden/$c.yaml (UPDATE_GOLDEN=1 rewrites it if the change is intended):"
    diff -u "$golden" "$WORK/$c.yaml" | head -60 | sed 's/^/    /'
  fi
done
for c in "${accepted[@]}"; do
  # shellcheck disable=SC2046
  if render $(case_flags "$c") >"$WORK/$c.yaml" 2>"$WORK/$c.err"; then
    ok "template ($c) renders"
  else
    bad "template ($c): $(cat "$WORK/$c.err")"
  fi
done
# Every golden file belongs to a case (a renamed values file leaves none behind).
for g in "$HERE"/golden/*.yaml; do
  [ -e "$g" ] || continue
  n="$(basename "$g" .yaml)"
  [[ " ${cases[*]} " == *" $n "* ]] || bad "golden/$n.yaml has no case (no tests/helm/values/$n.yaml)"
done

# The requester MutatingAdmissionPolicy follows what the cluster serves: v1
# (Kubernetes >= 1.36), else v1beta1 (1.34-1.35 with the gate on), else none;
# and never with requester.stamp=false. The validating policy is always there.
map_version() {  # map_version [helm template flags...]: the apiVersion of the MutatingAdmissionPolicy, or "none"
  render "$@" | python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
vap = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicy" and d["metadata"]["name"].endswith("-diagnosticrun-requester")]
maps = [d["apiVersion"] for d in docs if d["kind"] in ("MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding")]
print(("vap " if vap else "novap ") + (" ".join(sorted(set(maps))) + " x" + str(len(maps)) if maps else "none"))'
}
for c in "none||vap none" \
         "v1beta1|--api-versions=admissionregistration.k8s.io/v1beta1/MutatingAdmissionPolicy|vap admissionregistration.k8s.io/v1beta1 x2" \
         "v1|--api-versions=admissionregistration.k8s.io/v1/MutatingAdmissionPolicy --api-versions=admissionregistration.k8s.io/v1beta1/MutatingAdmissionPolicy|vap admissionregistration.k8s.io/v1 x2" \
         "stamp=false|--api-versions=admissionregistration.k8s.io/v1/MutatingAdmissionPolicy --set requester.stamp=false|vap none"; do
  IFS='|' read -r name flags want <<<"$c"
  # shellcheck disable=SC2086
  got="$(map_version $flags 2>&1)"
  if [ "$got" = "$want" ]; then ok "requester policies ($name served): $got"; else bad "requester policies ($name): got '$got', want '$want'"; fi
done

# --- 3. invalid values --------------------------------------------------------
n_invalid=0
for f in "$HERE"/invalid/*.yaml; do
  name="invalid/$(basename "$f")"
  expect="$(sed -n '1s/^# expect: //p' "$f")"
  if [ -z "$expect" ]; then
    bad "$name: the first line must be '# expect: <part of the error message>'"
    continue
  fi
  n_invalid=$((n_invalid + 1))
  if render --values "$f" >"$WORK/out" 2>"$WORK/err"; then
    bad "$name was accepted (expected: $expect)"
  elif grep -qF -- "$expect" "$WORK/err"; then
    ok "$name refused: $expect"
  else
    bad "$name refused, but not with '$expect':"
    sed 's/^/    /' "$WORK/err"
  fi
done
[ "$n_invalid" -ge 20 ] || bad "only $n_invalid invalid cases found in tests/helm/invalid"

# --- 4. the operator's own config validation ----------------------------------
# The config in the ConfigMap: the indented block under "operator.yaml: |".
extract_config() {
  awk '/^  operator.yaml: \|$/ {on = 1; next}
       on && /^    / {print substr($0, 5); next}
       on {exit}' "$1"
}
# opscopilot-operator validates --config first and exits 1 with "invalid
# configuration: ..." when it is bad; with a kubeconfig that does not exist it
# then stops at reading that, so a valid config never reaches a cluster.
operator_check() {  # operator_check CONFIG: prints the operator's stderr; status 0 when the config was accepted
  local err
  err="$("$OPERATOR" --config "$1" --kubeconfig "$WORK/absent-kubeconfig" 2>&1 >/dev/null)"
  echo "$err"
  [[ "$err" == *"kubeconfig $WORK/absent-kubeconfig cannot be read"* ]] && [[ "$err" != *"invalid configuration"* ]]
}
if [ ! -x "$OPERATOR" ]; then
  skip "operator config validation: no operator binary at $OPERATOR (build it, or set OPSCOPILOT_OPERATOR)"
else
  for c in "${cases[@]}" "${accepted[@]}"; do
    [ -s "$WORK/$c.yaml" ] || continue
    extract_config "$WORK/$c.yaml" >"$WORK/$c.operator.yaml"
    if [ ! -s "$WORK/$c.operator.yaml" ]; then
      bad "operator config ($c): no operator.yaml in the rendered ConfigMap"
    elif out="$(operator_check "$WORK/$c.operator.yaml")"; then
      ok "operator accepts the rendered config ($c)"
    else
      bad "operator refuses the rendered config ($c): $out"
    fi
  done
  # The check can tell: a config the operator must refuse is refused.
  { extract_config "$WORK/default.yaml"; echo "unknownKey: 1"; } >"$WORK/bad.operator.yaml"
  out="$(operator_check "$WORK/bad.operator.yaml")"
  if [[ "$out" == *'invalid configuration'*'unknown field "unknownKey"'* ]]; then
    ok "operator refuses a config with an unknown key (the check can fail)"
  else
    bad "operator did not refuse a config with an unknown key: $out"
  fi
fi

# --- 5. CRDs in the chart = crds/ ---------------------------------------------
for src in "$ROOT"/crds/*.yaml; do
  n="$(basename "$src")"
  if cmp -s "$src" "$CHART/crds/$n"; then
    ok "CRD $n is identical in the chart"
  else
    bad "CRD $n: charts/opscopilot/crds/$n differs from crds/$n (sync: cp crds/*.yaml charts/opscopilot/crds/)"
  fi
done
for c in "$CHART"/crds/*; do
  [ -e "$ROOT/crds/$(basename "$c")" ] || bad "charts/opscopilot/crds/$(basename "$c") has no source in crds/ (remove it)"
done

# --- 6. properties of the renderings --------------------------------------------
if ! python3 -c 'import yaml' 2>/dev/null; then
  skip "rendering checks: python3 with PyYAML (python3-yaml) is not installed"
else
  for c in "${cases[@]}" "${accepted[@]}"; do
    [ -s "$WORK/$c.yaml" ] || continue
    python3 "$HERE/check_rendered.py" "$WORK/$c.yaml" "$NAMESPACE" >"$WORK/$c.checks" 2>&1 ||
      bad "$c: check_rendered.py failed (exit $?):"
    while IFS= read -r line; do
      case "$line" in
        "ok "*) ok "$c: ${line#ok }" ;;
        "bad "*) bad "$c: ${line#bad }" ;;
        *) echo "    $line" ;;
      esac
    done <"$WORK/$c.checks"
  done
fi
# --- 7. the Grafana dashboard and the alert rules -------------------------------
# (check_dashboard.py; with the rendering that enables both, the ConfigMap and
# the PrometheusRule carry them unchanged)
if python3 -c 'import yaml' 2>/dev/null; then
  python3 "$HERE/check_dashboard.py" "$WORK/watch-namespace.yaml" >"$WORK/dashboard.checks" 2>&1 ||
    bad "check_dashboard.py failed (exit $?):"
  while IFS= read -r line; do
    case "$line" in
      "ok "*) ok "${line#ok }" ;;
      "bad "*) bad "${line#bad }" ;;
      *) echo "    $line" ;;
    esac
  done <"$WORK/dashboard.checks"
  grep -q "^ok the dashboard ConfigMap" "$WORK/dashboard.checks" || bad "watch-namespace: no dashboard ConfigMap rendered"
  grep -q "^ok the PrometheusRule" "$WORK/dashboard.checks" || bad "watch-namespace: no PrometheusRule rendered"
fi

# NOTES.txt (helm template does not print it): rendered through a copy of the
# chart that exposes it as a ConfigMap.
cp -a "$CHART" "$WORK/notes-chart"
{ echo '{{- define "test.notes" }}'; cat "$CHART/templates/NOTES.txt"; echo '{{- end }}'; } >"$WORK/notes-chart/templates/_test_notes.tpl"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: {{ include "test.notes" . | toJson }}\n' \
  >"$WORK/notes-chart/templates/test-notes.yaml"
notes() {  # notes [helm template flags...]: the NOTES text, JSON-escaped on one line
  "$HELM" template "$RELEASE" "$WORK/notes-chart" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" \
    --show-only templates/test-notes.yaml "$@" | sed -n 's/^  notes: //p'
}
n="$(notes --values "$HERE/values/ha-model.yaml")"
if [[ "$n" == *'  - shop\n  - payments\n'* && "$n" == *'kubectl apply -f -'*'kind: DiagnosticRun'*'namespace: shop'* &&
      "$n" == *'kubectl -n shop get dr'* && "$n" == *'leader election on'* ]]; then
  ok "NOTES: reader namespaces, how to ask a first question and see it (kubectl apply, get dr)"
else
  bad "NOTES with two reader namespaces: $n"
fi
n="$(notes)"
if [[ "$n" == *'(none yet)'*'readerNamespaces'* ]]; then
  ok "NOTES: says when no namespace has a reader, and how to add one"
else
  bad "NOTES without reader namespaces: $n"
fi
n="$(notes --set config.watchNamespace=other --set 'readerNamespaces={shop}')"
if [[ "$n" == *'WARNING: other is not in readerNamespaces'* && "$n" == *'namespace: other'* ]]; then
  ok "NOTES: warns when the watched namespace has no reader, and asks there"
else
  bad "NOTES with watchNamespace outside readerNamespaces: $n"
fi

checksum() { grep -m1 'checksum/config:' | awk '{print $2}'; }
a="$(render | checksum)"
b="$(render --set config.workers=5 | checksum)"
c2="$(render --set readerNamespaces='{shop}' | checksum)"
if [ -n "$a" ] && [ "$a" != "$b" ] && [ "$a" = "$c2" ]; then
  ok "a changed config value changes checksum/config (pods roll); an unrelated value does not"
else
  bad "checksum/config: default $a, workers=5 $b, readerNamespaces=[shop] $c2"
fi
a="$(render --set modelKey.create=true --set modelKey.value=k1 | grep -m1 'checksum/model-key:')"
b="$(render --set modelKey.create=true --set modelKey.value=k2 | grep -m1 'checksum/model-key:')"
if [ -n "$a" ] && [ "$a" != "$b" ]; then
  ok "a changed model key changes checksum/model-key (pods roll)"
else
  bad "checksum/model-key: '$a' vs '$b'"
fi
if render --set modelKey.create=true --set modelKey.value=sk-secret-value | grep -q 'sk-secret-value'; then
  bad "the model key appears in clear text in the rendering"
else
  ok "the model key appears only base64-encoded in the Secret"
fi

finish
