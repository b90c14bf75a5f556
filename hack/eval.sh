#!/usr/bin/env bash
# hack/eval.sh: the eval of eval/README.md on the local cluster, or on yours.
#
#   hack/eval.sh [OPTIONS]                 local: installs what is missing, builds the
#                                          operator, starts hack/cluster.sh (and takes it
#                                          down after, if it started it), runs the
#                                          operator binary with config/operator.yaml (or
#                                          --operator-config FILE), then the eval
#   hack/eval.sh --kubeconfig FILE [...]   your cluster: the operator installed there
#                                          answers; nothing is built or started
#
# Every other option goes to eval/opscopilot_eval.py (--model, --repeat,
# --only, --category, --baseline, --min-score, --report, --image, ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
args=()
config="$ROOT/config/operator.yaml"
external=""
while (($#)); do
  case "$1" in
    --operator-config) config="$2"; shift 2 ;;
    --kubeconfig) external="$2"; args+=("$1" "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
# Debian's python3 carries python3-yaml (hack/install-deps.sh).
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

if [ -n "$external" ] || [[ " ${args[*]} " == *" --list "* ]]; then
  exec "$PY" "$ROOT/eval/opscopilot_eval.py" "${args[@]}"
fi

# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
bash "$ROOT/hack/install-deps.sh"
OPERATOR="${OPSCOPILOT_OPERATOR:-$ROOT/build/opscopilot-operator}"
if [ -z "${OPSCOPILOT_OPERATOR:-}" ]; then
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$ROOT/build" --target opscopilot-operator >/dev/null
fi
e2e_setup || exit 1
LOG="$WORK/operator.log"
OPERATOR_PID=""
trap 'e2e_cleanup' EXIT
install_crds_and_policies || { echo "eval: the CRDs and admission policies are not ready" >&2; exit 2; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null

local_args=(--operator-log "$LOG")
image="$(bash "$ROOT/hack/lib/node-images.sh" | awk '/busybox/ {print $1}')"
if kubectl get node opscopilot-node >/dev/null 2>&1; then
  local_args+=(--image "$image" --real-node opscopilot-node --real-node-toleration opscopilot.io/real-node)
else
  local_args+=(--no-real-containers)
fi

"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$config" --health-address 127.0.0.1:0 >"$LOG" 2>&1 &
OPERATOR_PID=$!
wait_until 30 grep -q . "$LOG" && kill -0 "$OPERATOR_PID" || { echo "eval: the operator did not start:" >&2; cat "$LOG" >&2; exit 2; }

status=0
"$PY" "$ROOT/eval/opscopilot_eval.py" "${local_args[@]}" "${args[@]}" || status=$?
if [ -n "${EVAL_OPERATOR_LOG:-}" ]; then cp "$LOG" "$EVAL_OPERATOR_LOG"; fi
exit "$status"
