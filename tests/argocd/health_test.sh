#!/usr/bin/env bash
# The DiagnosticRun health check as Argo CD runs it: the script from
# config/argocd/argocd-cm-patch.yaml, in gopher-lua with Argo CD's libraries
# (hack/tools/argocd-health), against runs in every state
# (tests/argocd/cases.json, each naming the health it wants in its "want"
# annotation). Also checks that the harness is as strict as Argo CD: a script
# reaching for a closed library fails, an unknown status reads as Unknown.
# Real runs are read by the same harness in tests/e2e/actions_test.sh.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CM="$ROOT/config/argocd/argocd-cm-patch.yaml"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
HEALTH="$(bash "$ROOT/hack/lib/go-tool-build.sh" argocd-health)" || { echo "FAIL hack/tools/argocd-health did not build"; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if "$HEALTH" --argocd-cm "$CM" "$ROOT/tests/argocd/cases.json" >"$WORK/got" 2>"$WORK/err"; then
  while IFS=$'\t' read -r name want; do
    line="$(grep -P "^\Q$name\E\t" "$WORK/got")"
    IFS=$'\t' read -r _ status message <<<"$line"
    if [ "$status" = "$want" ] && [ -n "$message" ]; then ok "$name: $status ($message)"; else bad "$name: got '$line', want $want with a message"; fi
  done < <(jq -r '.items[] | [.metadata.namespace + "/" + .metadata.name, .metadata.annotations.want] | @tsv' "$ROOT/tests/argocd/cases.json")
else
  bad "the health check failed: $(cat "$WORK/err")"
fi

# The harness's sandbox is Argo CD's: no string library unless useOpenLibs.
one='{"apiVersion":"opscopilot.io/v1alpha1","kind":"DiagnosticRun","metadata":{"name":"x"},"status":{"phase":"Running"}}'
cat >"$WORK/cm.yaml" <<'YAML'
data:
  resource.customizations.health.opscopilot.io_DiagnosticRun: |
    return {status = string.format("%s", "Healthy")}
YAML
if ! "$HEALTH" --argocd-cm "$WORK/cm.yaml" <<<"$one" >/dev/null 2>&1; then ok "a script using the string library fails, as in Argo CD"; else bad "the string library was open"; fi
printf '  resource.customizations.useOpenLibs.opscopilot.io_DiagnosticRun: "true"\n' >>"$WORK/cm.yaml"
if [ "$("$HEALTH" --argocd-cm "$WORK/cm.yaml" <<<"$one" | cut -f2)" = Healthy ]; then
  ok "useOpenLibs opens it"
else
  bad "useOpenLibs did not open the string library"
fi
cat >"$WORK/cm.yaml" <<'YAML'
data:
  resource.customizations.health.opscopilot.io_DiagnosticRun: |
    return {status = "Fine", message = "made up"}
YAML
if [ "$("$HEALTH" --argocd-cm "$WORK/cm.yaml" <<<"$one" | cut -f2-)" = $'Unknown\tLua returned an invalid health status' ]; then
  ok "a status Argo CD does not know reads as Unknown"
else
  bad "an invalid status was accepted"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
