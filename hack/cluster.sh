#!/usr/bin/env bash
# hack/cluster.sh: a real, local Kubernetes control plane on loopback.
#
#   hack/cluster.sh up                 start it (builds the binaries the first time)
#   hack/cluster.sh down               stop it and remove its state
#   hack/cluster.sh env                print eval-able exports (KUBECONFIG, PATH, ...)
#   hack/cluster.sh status             show what runs; exit status 0 only when up
#   hack/cluster.sh restart-apiserver  restart kube-apiserver (same flags, same port), then
#                                      the controller-manager, scheduler and kwok
#   hack/cluster.sh import-image FILE  load an OCI or Docker image archive onto the real node
#
#   eval "$(hack/cluster.sh env)"; kubectl get nodes
#
# Components, all bound to 127.0.0.1 on free ports picked at `up`: etcd (TLS,
# client certificates), kube-apiserver (RBAC and Node authorization, service
# account tokens), kube-controller-manager, kube-scheduler and kwok, which
# simulates the kubelet of two nodes, kwok-node-0 and kwok-node-1, and serves
# the kubelet API so that `kubectl logs` works through the apiserver; plus one
# real node, opscopilot-node: containerd, a kubelet and kube-proxy running real
# containers (hack/lib/node.sh says how it is wired; OPSCOPILOT_REAL_NODE=0
# leaves it out). The binaries come from hack/lib/controlplane-build.sh (pinned
# Go modules, cached in ~/.cache/opscopilot/controlplane).
#
# State lives in ${OPSCOPILOT_CLUSTER_DIR:-$HOME/.cache/opscopilot/cluster}:
#   kubeconfig            admin (O=system:masters)
#   kubeconfig-alice      user alice, no groups and no permissions granted
#   kubeconfig-bob        user bob, no groups and no permissions granted
#   pki/                  CA, serving and client certificates, service-account keys
#   logs/<component>.log  each component's output
#   run/                  pid files and command lines; ports.env holds the ports
#   etcd/                 etcd data
# `down` removes all of it; the binaries stay cached.
#
# Simulated pods: a pod on a kwok node runs and is Ready, unless it has the
# label sim.opscopilot.io/state=<CrashLoopBackOff|OOMKilled|ErrImagePull|
# ImagePullBackOff|NotReady|CreateContainerConfigError|InitCrashLoop|Failed|
# Completed>; see hack/kwok/stages/README.md for the states and the
# annotations that tune them (sim.opscopilot.io/container, exit-code,
# restart-count, message).
#
# Container logs: kwok serves `kubectl logs` from files named by kwok.x-k8s.io
# Logs objects (one per pod, same name and namespace as the pod) or
# ClusterLogs objects (cluster-scoped, selected by namespace and pod name):
#
#   apiVersion: kwok.x-k8s.io/v1alpha1
#   kind: Logs
#   metadata: {name: web-0, namespace: demo}        # the pod's name
#   spec:
#     logs:
#     - containers: [app]                           # omit: every container
#       logsFile: config/samples/logs/app.log       # kubectl logs
#       previousLogsFile: /abs/path/app-prev.log    # kubectl logs --previous
#
#   apiVersion: kwok.x-k8s.io/v1alpha1
#   kind: ClusterLogs
#   metadata: {name: demo-logs}
#   spec:
#     selector: {matchNamespaces: [demo], matchNames: [web-0]}  # both optional
#     logs:
#     - containers: [app]
#       logsFile: /abs/path/app.log
#
# The files are read by the kwok process when the logs are requested (so they
# may change later). A relative logsFile/previousLogsFile is resolved against
# the repository root (kwok runs with that working directory: the checkout that
# ran `up`); an absolute path always works. The files must be in the kubelet's
# CRI log format, one line per entry:
#   2025-01-01T00:00:00.000000000Z stdout F the message
# (stream stdout or stderr, F for a full line, P for a partial one); Docker's
# JSON lines format works too. tailLines, limitBytes, sinceTime and timestamps
# are applied by kwok as the kubelet would.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HACK_DIR="$REPO_ROOT/hack"
KWOK_DIR="$HACK_DIR/kwok"
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
STATE_DIR="${OPSCOPILOT_CLUSTER_DIR:-$HOME/.cache/opscopilot/cluster}"
case "$STATE_DIR" in /*) ;; *) STATE_DIR="$PWD/$STATE_DIR" ;; esac
STATE_DIR="${STATE_DIR%/}"
PKI="$STATE_DIR/pki"
RUN="$STATE_DIR/run"
LOGS="$STATE_DIR/logs"
MARKER="$STATE_DIR/.opscopilot-cluster"

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
# shellcheck source=hack/lib/node.sh
. "$HACK_DIR/lib/node.sh"
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1"
POD_CIDR="10.244.0.1/16"
CLUSTER_NAME="opscopilot"

# Deadlines, in seconds.
T_ETCD=30 T_APISERVER=60 T_COMPONENT=60 T_NODES=60 T_STOP=15

log() { echo "cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- state ----

load_state() {
  [ -f "$RUN/cluster.env" ] || return 1
  # shellcheck disable=SC1091
  . "$RUN/cluster.env"
  if [ "${REAL_NODE:-0}" = 1 ] && [[ " ${COMPONENTS[*]} " != *" kubelet "* ]]; then
    COMPONENTS+=("${NODE_COMPONENTS[@]}")
  fi
}

port_of() {
  case "$1" in
    etcd) echo "${ETCD_PORT:-}" ;;
    kube-apiserver) echo "${APISERVER_PORT:-}" ;;
    kube-controller-manager) echo "${CONTROLLER_MANAGER_PORT:-}" ;;
    kube-scheduler) echo "${SCHEDULER_PORT:-}" ;;
    kwok) echo "${KWOK_PORT:-}" ;;
    kubelet) echo "${KUBELET_PORT:-}" ;;
    kube-proxy) echo "${KUBE_PROXY_HEALTHZ_PORT:-}" ;;
  esac
}

# The state directory is removed by `down`: only ever remove one that this
# script created.
check_state_dir_is_ours() {
  if [ -d "$STATE_DIR" ] && [ ! -f "$MARKER" ] && [ -n "$(ls -A "$STATE_DIR" 2>/dev/null)" ]; then
    die "$STATE_DIR exists, is not empty and was not created by hack/cluster.sh; refusing to use it"
  fi
}

remove_state() {
  check_state_dir_is_ours
  case "$STATE_DIR" in "" | / | "$HOME" | "$REPO_ROOT") die "refusing to remove $STATE_DIR" ;; esac
  rm -rf "$STATE_DIR"
}

lock() {
  mkdir -p "$(dirname "$STATE_DIR")"
  exec 9>"$STATE_DIR.lock"
  flock -w 1800 9 || die "another hack/cluster.sh holds $STATE_DIR.lock"
}

# ---------------------------------------------------------------- ports ----

pick_ports() { # count -> prints that many distinct free loopback ports
  local n="$1"
  if command -v python3 >/dev/null 2>&1; then
    python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$n"
    return
  fi
  local ports=() p tries=0
  while ((${#ports[@]} < n)); do
    ((++tries < 1000)) || die "could not find $n free ports"
    p=$((20000 + RANDOM % 12000))
    [[ " ${ports[*]} " == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then ports+=("$p"); fi
  done
  echo "${ports[*]}"
}

# ----------------------------------------------------------------- pki -----

OPENSSL_CNF=""
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

# sign NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
sign() {
  local name="$1" subj="$2" eku="$3" san="${4:-}"
  new_key "$PKI/$name.key"
  {
    echo "[leaf]"
    echo "basicConstraints = critical,CA:FALSE"
    echo "keyUsage = critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage = $eku"
    echo "authorityKeyIdentifier = keyid"
    [ -z "$san" ] || echo "subjectAltName = $san"
  } >"$PKI/$name.ext"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -config "$OPENSSL_CNF" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/${CA_NAME:-ca}.crt" -CAkey "$PKI/${CA_NAME:-ca}.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 \
    -extfile "$PKI/$name.ext" -extensions leaf -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

generate_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  OPENSSL_CNF="$PKI/openssl.cnf"
  cat >"$OPENSSL_CNF" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
EOF
  new_key "$PKI/ca.key"
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=opscopilot-local-ca" -days 3650 -sha256 \
    -config "$OPENSSL_CNF" -extensions ca -out "$PKI/ca.crt" 2>/dev/null

  local local_san="IP:127.0.0.1,DNS:localhost"
  sign etcd-server "/CN=etcd-server" serverAuth,clientAuth "$local_san"
  sign apiserver "/CN=kube-apiserver" serverAuth \
    "$local_san${REAL_NODE:+,IP:$NODE_IP},IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign apiserver-etcd-client "/CN=kube-apiserver-etcd-client" clientAuth
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  sign kwok-serving "/CN=kwok-kubelet" serverAuth "$local_san,DNS:kwok-node-0,DNS:kwok-node-1"
  sign admin "/O=system:masters/CN=opscopilot-admin" clientAuth
  sign controller-manager "/CN=system:kube-controller-manager" clientAuth
  sign scheduler "/CN=system:kube-scheduler" clientAuth
  sign kwok "/O=system:masters/CN=kwok-controller" clientAuth
  sign alice "/CN=alice" clientAuth
  sign bob "/CN=bob" clientAuth
  [ "${REAL_NODE:-0}" != 1 ] || node_pki

  # Aggregation layer (front proxy): its own CA and client certificate.
  new_key "$PKI/front-proxy-ca.key"
  openssl req -x509 -new -key "$PKI/front-proxy-ca.key" -subj "/CN=opscopilot-front-proxy-ca" -days 3650 -sha256 \
    -config "$OPENSSL_CNF" -extensions ca -out "$PKI/front-proxy-ca.crt" 2>/dev/null
  CA_NAME=front-proxy-ca sign front-proxy-client "/CN=front-proxy-client" clientAuth

  # Service-account token signing key pair.
  new_key "$PKI/sa.key"
  openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  rm -f "$OPENSSL_CNF"
}

b64() { base64 -w0 <"$1"; }

# write_kubeconfig FILE USER CERT_NAME
write_kubeconfig() {
  local file="$1" user="$2" cert="$3" context
  context="$user@$CLUSTER_NAME"
  [ "$user" != admin ] || context="$CLUSTER_NAME"
  (
    umask 077
    cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $CLUSTER_NAME
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(b64 "$PKI/$cert.crt")
    client-key-data: $(b64 "$PKI/$cert.key")
contexts:
- name: $context
  context:
    cluster: $CLUSTER_NAME
    user: $user
    namespace: default
current-context: $context
EOF
  )
}

# ------------------------------------------------------------ processes ----

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# alive PID: the process exists and is not a zombie.
alive() {
  local pid="$1" state
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || true
  [ "$state" != Z ]
}

# running NAME: the recorded pid is alive and still runs the recorded binary
# (guards against a recycled pid).
running() {
  local name="$1" pid expected actual
  pid="$(pid_of "$name")"
  alive "$pid" || return 1
  expected="$(head -z -n1 "$RUN/$name.args" 2>/dev/null | tr -d '\0')"
  actual="$(head -z -n1 "/proc/$pid/cmdline" 2>/dev/null | tr -d '\0')" || true
  [ -n "$expected" ] && [ "$expected" = "$actual" ]
}

# launch NAME: start the command line recorded in run/NAME.args in its own
# session, detached from this script, output appended to logs/NAME.log.
launch() {
  local name="$1" args=() i
  mapfile -d '' -t args <"$RUN/$name.args"
  rm -f "$RUN/$name.pid"
  echo "==== $(date -u +%Y-%m-%dT%H:%M:%SZ) starting: ${args[*]}" >>"$LOGS/$name.log"
  (
    cd "$REPO_ROOT"
    exec setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$RUN/$name.pid" "${args[@]}" \
      </dev/null >>"$LOGS/$name.log" 2>&1 9>&-
  ) &
  # Wait until the pid file exists and the process runs the binary (the pid
  # first belongs to the bash that execs it), or has already died.
  for ((i = 0; i < 200; i++)); do
    if [ -s "$RUN/$name.pid" ]; then
      running "$name" && return 0
      alive "$(pid_of "$name")" || return 0
    fi
    sleep 0.05
  done
  die "$name did not start"
}

# start NAME ARGS...: record the command line, then launch it.
start() {
  local name="$1"
  shift
  printf '%s\0' "$@" >"$RUN/$name.args"
  CURRENT="$name"
  launch "$name"
}

# stop NAMES...: SIGTERM, wait up to T_STOP seconds, then SIGKILL.
stop() {
  local name pid deadline left
  local pids=()
  for name in "$@"; do
    if running "$name"; then
      pid="$(pid_of "$name")"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  if ((${#pids[@]} == 0)); then
    for name in "$@"; do rm -f "$RUN/$name.pid"; done
    return 0
  fi
  deadline=$((SECONDS + T_STOP))
  while :; do
    left=()
    for pid in "${pids[@]}"; do alive "$pid" && left+=("$pid"); done
    ((${#left[@]})) || break
    if ((SECONDS >= deadline)); then
      log "killing ${left[*]} (still running ${T_STOP}s after SIGTERM)"
      kill -KILL "${left[@]}" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.1
  done
  for name in "$@"; do rm -f "$RUN/$name.pid"; done
}

stop_all() {
  [ -d "$RUN" ] || return 0
  node_stop
  stop kwok kube-scheduler kube-controller-manager
  stop kube-apiserver
  stop etcd
}

log_tail() {
  local name="$1"
  [ -f "$LOGS/$name.log" ] || return 0
  log "last lines of $LOGS/$name.log:"
  tail -n 40 "$LOGS/$name.log" | sed 's/^/    /' >&2
}

# ------------------------------------------------------------ readiness ----

# wait_for NAME TIMEOUT WHAT COMMAND...: poll COMMAND until it succeeds; fail
# when NAME dies or after TIMEOUT seconds.
wait_for() {
  local name="$1" timeout="$2" what="$3"
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! running "$name"; then
      log "error: $name exited while waiting for $what"
      log_tail "$name"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "error: timed out after ${timeout}s waiting for $what"
      log_tail "$name"
      exit 1
    fi
    sleep 0.2
  done
}

curl_ca() { curl -sf --max-time 5 --cacert "$PKI/ca.crt" "$@"; }
etcd_healthy() {
  curl_ca --cert "$PKI/apiserver-etcd-client.crt" --key "$PKI/apiserver-etcd-client.key" \
    "https://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'
}
apiserver_ready() {
  curl_ca --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://127.0.0.1:$APISERVER_PORT/readyz" | grep -qx ok
}
# The controller-manager and the scheduler serve /healthz with a self-signed
# certificate; /healthz needs no credentials.
component_healthy() { curl -skf --max-time 5 "https://127.0.0.1:$1/healthz" | grep -qx ok; }
kwok_healthy() { curl_ca "https://127.0.0.1:$KWOK_PORT/healthz" >/dev/null; }

kubectl_admin() { "$BIN_DIR/kubectl" --kubeconfig "$STATE_DIR/kubeconfig" --request-timeout=10s "$@"; }

nodes_ready() {
  local out
  out="$(kubectl_admin get nodes -l type=kwok -o \
    'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.status.daemonEndpoints.kubeletEndpoint.Port} {.spec.taints}{"\n"}{end}')" || return 1
  [ "$(grep -c . <<<"$out")" = 2 ] || return 1
  # Ready, kubelet endpoint is kwok's port, and the node lifecycle controller
  # removed the not-ready taint (so pods schedule at once).
  ! grep -qv "^kwok-node-[01] True $KWOK_PORT \$" <<<"$out"
}

default_service_account() { kubectl_admin -n default get serviceaccount default; }

crds_established() {
  kubectl_admin wait --for=condition=Established --timeout=5s \
    crd/logs.kwok.x-k8s.io crd/clusterlogs.kwok.x-k8s.io
}

is_up() {
  load_state || return 1
  local name
  for name in "${COMPONENTS[@]}"; do running "$name" || return 1; done
  apiserver_ready
}

# ----------------------------------------------------------- commands ------

apiserver_args() {
  local args=(
    "$BIN_DIR/kube-apiserver"
    --secure-port="$APISERVER_PORT"
    --etcd-servers="https://127.0.0.1:$ETCD_PORT"
    --etcd-cafile="$PKI/ca.crt"
    --etcd-certfile="$PKI/apiserver-etcd-client.crt"
    --etcd-keyfile="$PKI/apiserver-etcd-client.key"
    --tls-cert-file="$PKI/apiserver.crt"
    --tls-private-key-file="$PKI/apiserver.key"
    --client-ca-file="$PKI/ca.crt"
    --authorization-mode=Node,RBAC
    --enable-admission-plugins=NodeRestriction
    --service-account-issuer="https://kubernetes.default.svc.cluster.local"
    --service-account-key-file="$PKI/sa.pub"
    --service-account-signing-key-file="$PKI/sa.key"
    --service-cluster-ip-range="$SERVICE_CIDR"
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt"
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key"
    --kubelet-certificate-authority="$PKI/ca.crt"
    --kubelet-preferred-address-types=InternalIP
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt"
    --requestheader-allowed-names=front-proxy-client
    --requestheader-username-headers=X-Remote-User
    --requestheader-group-headers=X-Remote-Group
    --requestheader-extra-headers-prefix=X-Remote-Extra-
    --proxy-client-cert-file="$PKI/front-proxy-client.crt"
    --proxy-client-key-file="$PKI/front-proxy-client.key"
    # On SIGTERM, drain in-flight requests and then close the watches within
    # 2s (instead of waiting up to --request-timeout, 60s, for them to end).
    --shutdown-send-retry-after=true
    --allow-privileged=true
    # /debug/pprof for benchmarks (tests/bench/apiserver_profile.sh); off
    # unless asked for.
    --profiling="${OPSCOPILOT_APISERVER_PROFILING:-false}"
    # MutatingAdmissionPolicy (beta in 1.34 and 1.35, off by default; GA in
    # 1.36): OpsCopilot's chart uses it, where served, to stamp who created
    # a DiagnosticRun into spec.requester.
    --feature-gates=MutatingAdmissionPolicy=true
    --runtime-config=admissionregistration.k8s.io/v1beta1=true
  )
  if [ "${REAL_NODE:-0}" = 1 ]; then
    # Pods on the real node reach the API server through the kubernetes
    # Service, whose endpoint is the node IP: listen there too.
    args+=(--bind-address=0.0.0.0 --advertise-address="$NODE_IP")
  else
    # No endpoints for the kubernetes Service: Endpoints may not hold a
    # loopback address, and no pod could use them.
    args+=(--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --endpoint-reconciler-type=none)
  fi
  printf '%s\0' "${args[@]}"
}

cmd_up() {
  lock
  check_state_dir_is_ours
  if is_up; then
    log "already up (API server https://127.0.0.1:$APISERVER_PORT, state in $STATE_DIR)"
    return 0
  fi
  if [ -e "$MARKER" ]; then
    log "cleaning stale state in $STATE_DIR (the cluster was not stopped cleanly)"
    load_state || true
    stop_all
    remove_state
  fi

  local t0=$SECONDS
  BIN_DIR="$("$HACK_DIR/lib/controlplane-build.sh")"
  [ -x "$BIN_DIR/kube-apiserver" ] || die "controlplane-build.sh gave no binaries in '$BIN_DIR'"
  for tool in openssl curl base64 setsid flock; do
    command -v "$tool" >/dev/null || die "$tool is needed (run hack/install-deps.sh)"
  done

  REAL_NODE=0
  if real_node_enabled; then
    REAL_NODE=1
    node_check_prerequisites
  fi

  mkdir -p "$STATE_DIR"
  touch "$MARKER"
  mkdir -p "$RUN" "$LOGS" "$STATE_DIR/etcd" "$STATE_DIR/kwok"
  chmod 700 "$STATE_DIR" "$STATE_DIR/etcd"

  # From here on a failure stops whatever was started.
  CURRENT=""
  UP_IN_PROGRESS=1
  trap on_up_exit EXIT
  trap 'exit 130' INT TERM

  local ports picked
  picked="$(pick_ports 10)"
  read -r -a ports <<<"$picked"
  ((${#ports[@]} == 10)) || die "could not pick free ports (got '$picked')"
  ETCD_PORT="${ports[0]}" ETCD_PEER_PORT="${ports[1]}" APISERVER_PORT="${ports[2]}"
  CONTROLLER_MANAGER_PORT="${ports[3]}" SCHEDULER_PORT="${ports[4]}" KWOK_PORT="${ports[5]}"
  KUBELET_PORT="${ports[6]}" KUBELET_HEALTHZ_PORT="${ports[7]}"
  KUBE_PROXY_HEALTHZ_PORT="${ports[8]}" KUBE_PROXY_METRICS_PORT="${ports[9]}"
  {
    echo "BIN_DIR=$(printf '%q' "$BIN_DIR")"
    echo "KWOK_CWD=$(printf '%q' "$REPO_ROOT")"
    echo "REAL_NODE=$REAL_NODE"
    for v in ETCD_PORT ETCD_PEER_PORT APISERVER_PORT CONTROLLER_MANAGER_PORT SCHEDULER_PORT KWOK_PORT \
      KUBELET_PORT KUBELET_HEALTHZ_PORT KUBE_PROXY_HEALTHZ_PORT KUBE_PROXY_METRICS_PORT; do
      echo "$v=${!v}"
    done
  } >"$RUN/cluster.env"
  grep PORT "$RUN/cluster.env" >"$STATE_DIR/ports.env"

  generate_pki
  write_kubeconfig "$STATE_DIR/kubeconfig" admin admin
  write_kubeconfig "$STATE_DIR/kubeconfig-alice" alice alice
  write_kubeconfig "$STATE_DIR/kubeconfig-bob" bob bob
  write_kubeconfig "$STATE_DIR/kubeconfig-controller-manager" system:kube-controller-manager controller-manager
  write_kubeconfig "$STATE_DIR/kubeconfig-scheduler" system:kube-scheduler scheduler
  write_kubeconfig "$STATE_DIR/kubeconfig-kwok" kwok-controller kwok
  if [ "$REAL_NODE" = 1 ]; then
    COMPONENTS+=("${NODE_COMPONENTS[@]}")
    node_save_host_state
    node_write_config
    CURRENT=network
    node_network_up
  fi

  start etcd "$BIN_DIR/etcd" \
    --name=opscopilot \
    --data-dir="$STATE_DIR/etcd" \
    --listen-client-urls="https://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="https://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="opscopilot=http://127.0.0.1:$ETCD_PEER_PORT" \
    --cert-file="$PKI/etcd-server.crt" --key-file="$PKI/etcd-server.key" \
    --trusted-ca-file="$PKI/ca.crt" --client-cert-auth \
    --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) \
    --auto-compaction-mode=periodic --auto-compaction-retention=5m \
    --snapshot-count=10000 \
    --unsafe-no-fsync \
    --log-level=warn
  wait_for etcd "$T_ETCD" "etcd to be healthy" etcd_healthy

  local apiserver
  mapfile -d '' -t apiserver < <(apiserver_args)
  start kube-apiserver "${apiserver[@]}"
  wait_for kube-apiserver "$T_APISERVER" "kube-apiserver /readyz" apiserver_ready

  start kube-controller-manager "$BIN_DIR/kube-controller-manager" \
    --kubeconfig="$STATE_DIR/kubeconfig-controller-manager" \
    --authentication-kubeconfig="$STATE_DIR/kubeconfig-controller-manager" \
    --authorization-kubeconfig="$STATE_DIR/kubeconfig-controller-manager" \
    --bind-address=127.0.0.1 --secure-port="$CONTROLLER_MANAGER_PORT" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --cluster-name="$CLUSTER_NAME" \
    --profiling=false
  start kube-scheduler "$BIN_DIR/kube-scheduler" \
    --kubeconfig="$STATE_DIR/kubeconfig-scheduler" \
    --authentication-kubeconfig="$STATE_DIR/kubeconfig-scheduler" \
    --authorization-kubeconfig="$STATE_DIR/kubeconfig-scheduler" \
    --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" \
    --leader-elect=false \
    --profiling=false

  # kwok needs its CRDs (Logs, ClusterLogs) before it starts, and manages the
  # nodes that carry kwok.x-k8s.io/node=fake.
  CURRENT=kube-apiserver
  kubectl_admin apply -f "$KWOK_DIR/crds" >/dev/null
  kubectl_admin apply -f "$KWOK_DIR/nodes.yaml" >/dev/null
  wait_for kube-apiserver 30 "the kwok CRDs to be established" crds_established

  local kwok_args=(
    "$BIN_DIR/kwok"
    --kubeconfig="$STATE_DIR/kubeconfig-kwok"
    --manage-all-nodes=false
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake
    --node-ip=127.0.0.1
    --node-port="$KWOK_PORT"
    --server-address="127.0.0.1:$KWOK_PORT"
    --tls-cert-file="$PKI/kwok-serving.crt"
    --tls-private-key-file="$PKI/kwok-serving.key"
    --cidr="$POD_CIDR"
    --enable-crds=Logs,ClusterLogs
    # Renew a Lease per node in kube-node-lease, as a kubelet does; without
    # it the node lifecycle controller marks the nodes NotReady after its
    # grace period and flips their pods' Ready condition to False.
    --node-lease-duration-seconds=40
  )
  local stage
  for stage in "$KWOK_DIR"/stages/*.yaml; do kwok_args+=(--config="$stage"); done
  # KWOK_WORKDIR keeps kwok from reading a user's ~/.kwok/kwok.yaml.
  export KWOK_WORKDIR="$STATE_DIR/kwok"
  start kwok "${kwok_args[@]}"

  wait_for kube-controller-manager "$T_COMPONENT" "kube-controller-manager /healthz" component_healthy "$CONTROLLER_MANAGER_PORT"
  wait_for kube-scheduler "$T_COMPONENT" "kube-scheduler /healthz" component_healthy "$SCHEDULER_PORT"
  wait_for kwok "$T_COMPONENT" "kwok /healthz" kwok_healthy
  wait_for kwok "$T_NODES" "nodes kwok-node-0 and kwok-node-1 to be Ready and untainted" nodes_ready
  wait_for kube-controller-manager "$T_COMPONENT" "the default service account in namespace default" default_service_account
  if [ "$REAL_NODE" = 1 ]; then
    CURRENT=kubelet
    node_start
  fi

  UP_IN_PROGRESS=0
  trap - EXIT INT TERM
  log "up in $((SECONDS - t0))s: API server https://127.0.0.1:$APISERVER_PORT, state in $STATE_DIR"
  log "use it with: eval \"\$(hack/cluster.sh env)\""
}

on_up_exit() {
  local rc=$?
  if [ "${UP_IN_PROGRESS:-0}" = 1 ]; then
    if ((rc == 0)); then rc=1; fi
    log "up failed${CURRENT:+ while starting $CURRENT}; stopping what was started (logs kept in $LOGS)"
    stop_all
  fi
  exit "$rc"
}

cmd_down() {
  lock
  check_state_dir_is_ours
  if [ ! -e "$STATE_DIR" ]; then
    log "not up (no $STATE_DIR)"
    return 0
  fi
  load_state || true
  stop_all
  remove_state
  log "down: stopped and removed $STATE_DIR"
}

cmd_env() {
  local bin
  if load_state && [ -x "$BIN_DIR/kubectl" ]; then
    bin="$BIN_DIR"
  else
    bin="$("$HACK_DIR/lib/controlplane-build.sh")"
  fi
  printf 'export OPSCOPILOT_CLUSTER_DIR=%q\n' "$STATE_DIR"
  printf 'export KUBECONFIG=%q\n' "$STATE_DIR/kubeconfig"
  printf 'export PATH=%q:"$PATH"\n' "$bin"
}

cmd_status() {
  if ! load_state; then
    echo "not up: no cluster state in $STATE_DIR"
    return 1
  fi
  local name pid port state ok=0
  echo "state: $STATE_DIR"
  printf '%-24s %-8s %-6s %s\n' COMPONENT PID PORT STATE
  for name in "${COMPONENTS[@]}"; do
    pid="$(pid_of "$name")"
    port="$(port_of "$name")"
    if running "$name"; then state=running; else state="not running"; ok=1; fi
    printf '%-24s %-8s %-6s %s\n' "$name" "${pid:--}" "$port" "$state"
  done
  if apiserver_ready; then
    echo "API server: https://127.0.0.1:$APISERVER_PORT ready"
  else
    echo "API server: https://127.0.0.1:$APISERVER_PORT not ready"
    ok=1
  fi
  echo "kubeconfigs: $STATE_DIR/kubeconfig (admin), $STATE_DIR/kubeconfig-alice, $STATE_DIR/kubeconfig-bob"
  echo "logs: $LOGS/<component>.log"
  return "$ok"
}

cmd_restart_apiserver() {
  lock
  load_state || die "not up: no cluster state in $STATE_DIR"
  running etcd || die "etcd is not running; use hack/cluster.sh up"
  local t0=$SECONDS
  stop kube-apiserver
  CURRENT=kube-apiserver
  launch kube-apiserver
  wait_for kube-apiserver "$T_APISERVER" "kube-apiserver /readyz" apiserver_ready
  # The controllers' and kwok's informers meet "forbidden" from a
  # kube-apiserver whose authorizer has not synced yet and back off for about
  # a minute, during which no Deployment gets a ReplicaSet and kwok serves no
  # new logs; restarted, they start afresh.
  stop kube-controller-manager kube-scheduler kwok
  export KWOK_WORKDIR="$STATE_DIR/kwok"
  local c
  for c in kube-controller-manager kube-scheduler kwok; do
    CURRENT="$c"
    launch "$c"
  done
  wait_for kube-controller-manager "$T_COMPONENT" "kube-controller-manager /healthz" component_healthy "$CONTROLLER_MANAGER_PORT"
  wait_for kube-scheduler "$T_COMPONENT" "kube-scheduler /healthz" component_healthy "$SCHEDULER_PORT"
  wait_for kwok "$T_COMPONENT" "kwok /healthz" kwok_healthy
  CURRENT=""
  log "kube-apiserver restarted in $((SECONDS - t0))s (pid $(pid_of kube-apiserver), port $APISERVER_PORT), then the controllers and kwok"
}

cmd_import_image() {
  local archive="${1:-}"
  [ -n "$archive" ] || die "usage: hack/cluster.sh import-image FILE (an OCI or Docker image archive)"
  [ -f "$archive" ] || die "$archive: no such file"
  load_state || die "not up: no cluster state in $STATE_DIR"
  [ "${REAL_NODE:-0}" = 1 ] && running containerd || die "the real node is not running (OPSCOPILOT_REAL_NODE=0?)"
  local names
  names="$(import_image "$archive")" || die "ctr could not import $archive"
  [ -n "$names" ] || die "$archive holds no named image (an OCI archive needs an io.containerd.image.name or org.opencontainers.image.ref.name annotation)"
  log "imported onto $NODE_NAME: $(echo $names)"
}

main() {
  [ $# -ge 1 ] || usage
  case "$1" in
    up) cmd_up ;;
    down) cmd_down ;;
    env) cmd_env ;;
    status) cmd_status ;;
    restart-apiserver) cmd_restart_apiserver ;;
    import-image) shift; cmd_import_image "$@" ;;
    -h | --help | help) usage ;;
    *) log "unknown command: $1"; usage ;;
  esac
}

main "$@"
