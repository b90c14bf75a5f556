#!/usr/bin/env bash
# Where kube-apiserver's CPU goes while tests/bench/bench.sh runs (by default
# its 200-run burst): a CPU profile from kube-apiserver's /debug/pprof taken
# over the benchmark, printed as the share of a few request paths.
#
#   OPSCOPILOT_APISERVER_PROFILING=true bash hack/cluster.sh up
#   eval "$(bash hack/cluster.sh env)"
#   bash tests/bench/apiserver_profile.sh          # PHASES=burst, 25 s
#
# PHASES and the other bench.sh settings pass through; PROFILE_SECONDS sets
# how long the profile runs (it starts with the benchmark, so it covers the
# benchmark's setup too); PROFILE_OUT keeps the profile for `go tool pprof`.
# The paths overlap where one runs inside another (authorization inside every
# request); garbage collection is the collector's own work, not the
# allocations that caused it.
set -euo pipefail
cd "$(dirname "$0")/../.."

SECONDS_TO_PROFILE="${PROFILE_SECONDS:-25}"
OUT="${PROFILE_OUT:-$(mktemp -t apiserver-XXXXXX.pprof)}"
if ! kubectl get --raw '/debug/pprof/' >/dev/null 2>&1; then
  echo "kube-apiserver has no /debug/pprof: start the cluster with OPSCOPILOT_APISERVER_PROFILING=true hack/cluster.sh up" >&2
  exit 1
fi

kubectl get --raw "/debug/pprof/profile?seconds=$SECONDS_TO_PROFILE" >"$OUT" &
PROFILER=$!
PHASES="${PHASES:-burst}" bash tests/bench/bench.sh
wait "$PROFILER"

TOP="$(go tool pprof -top -cum -nodecount=5000 "$OUT" 2>/dev/null)"
total="$(sed -n 's/.*Total samples = \([0-9.]*\)s.*/\1/p' <<<"$TOP")"
echo
echo "== kube-apiserver CPU over ${SECONDS_TO_PROFILE} s: ${total} s (profile: $OUT)"
share() {  # share LABEL REGEX: the largest cumulative time of a frame matching REGEX
  local label="$1" regex="$2" secs  # (the pattern goes through ENVIRON: awk -v would eat its backslashes)
  secs="$(RE="$regex" awk '$6 ~ ENVIRON["RE"] { v = $4; sub(/ms$/, "", v); if ($4 ~ /ms$/) v /= 1000; else sub(/s$/, "", v);
                                          if (v + 0 > best) best = v + 0 }
                              END { printf "%.2f", best + 0 }' <<<"$TOP")"
  awk -v l="$label" -v s="$secs" -v t="$total" 'BEGIN { printf "  %-40s %6.2f s  %5.1f%%\n", l, s, (t > 0 ? 100 * s / t : 0) }'
}
share "status writes (PUT .../status)" '^k8s\.io/apiextensions-apiserver/pkg/registry/customresource\.\(\*StatusREST\)\.Update$'
share "creates" '^k8s\.io/apiserver/pkg/registry/generic/registry\.\(\*Store\)\.Create$'
share "lists" '^k8s\.io/apiserver/pkg/endpoints/handlers\.ListResource\.func1$'
share "gets" '^k8s\.io/apiserver/pkg/endpoints/handlers\.GetResource\.getResourceHandler\.func2$'
share "pod logs (through the kubelet)" '^k8s\.io/apiserver/pkg/endpoints/handlers\.GetResourceWithOptions\.getResourceHandler\.func2$'
share "watches served" '^k8s\.io/apiserver/pkg/endpoints/handlers\.\(\*WatchServer\)\.HandleHTTP$'
share "watch cache fed from etcd" '^k8s\.io/apiserver/pkg/storage/etcd3\.\(\*watchChan\)\.prepareObjs$'
share "authentication" '^k8s\.io/apiserver/pkg/authentication/request/union\.\(\*unionAuthRequestHandler\)\.AuthenticateRequest$'
share "authorization (incl. impersonation)" '^k8s\.io/kubernetes/pkg/kubeapiserver/authorizer\.\(\*reloadableAuthorizerResolver\)\.Authorize$'
share "etcd calls (gRPC)" '^google\.golang\.org/grpc\.\(\*ClientConn\)\.Invoke$'
share "TLS writes" '^crypto/tls\.\(\*Conn\)\.Write$'
share "garbage collection (background)" '^runtime\.gcBgMarkWorker$'
