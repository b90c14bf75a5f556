# shellcheck shell=bash
# The real node of hack/cluster.sh: containerd (own root, state and socket),
# a kubelet and kube-proxy built from the pinned Kubernetes module, and a
# bridge CNI network. Sourced by hack/cluster.sh, which provides STATE_DIR,
# RUN, LOGS, PKI, BIN_DIR, the process helpers (start, stop, running,
# wait_for), sign, write_kubeconfig, kubectl_admin, log and die.
#
# Network (all of it on this machine, in network namespaces we create):
#   NODE_IP     10.245.0.1/32 on the port-less bridge opsc-node0: the node's
#               InternalIP (a kubelet refuses a loopback node IP); kubelet and
#               kube-proxy bind it, and it is the kubernetes Service endpoint
#   POD_SUBNET  10.245.1.0/24 on the bridge opsc-cni0 (CNI bridge + host-local,
#               no masquerade: pods reach this machine and each other, nothing else)
# Pods reach the API server through the kubernetes Service (10.96.0.1:443),
# which kube-proxy (iptables mode) sends to NODE_IP:APISERVER_PORT.
#
# Workloads land on the real node only if they tolerate its taint:
#   tolerations: [{key: opscopilot.io/real-node, operator: Exists, effect: NoSchedule}]
#   nodeSelector: {kubernetes.io/hostname: opscopilot-node}
# so the simulated (kwok) scenarios never do.

NODE_NAME="opscopilot-node"
NODE_IP="10.245.0.1"
NODE_LINK="opsc-node0"
POD_BRIDGE="opsc-cni0"
POD_SUBNET="10.245.1.0/24"
NODE_TAINT_KEY="opscopilot.io/real-node"
NODE_DIR="$STATE_DIR/node"
CONTAINERD_SOCK="$RUN/containerd.sock"
NODE_COMPONENTS=(containerd kubelet kube-proxy)
# Kernel settings the kubelet changes (it has no protectKernelDefaults here):
# recorded at `up`, restored at `down`.
NODE_SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
T_NODE=90

# real_node_enabled: OPSCOPILOT_REAL_NODE=0 leaves the real node out (a
# machine without root or containerd still gets the control plane and kwok).
real_node_enabled() { [ "${OPSCOPILOT_REAL_NODE:-1}" != 0 ]; }

node_check_prerequisites() {
  [ "$(id -u)" = 0 ] || die "the real node needs root (containerd, kubelet, bridges); run as root or set OPSCOPILOT_REAL_NODE=0"
  local tool
  for tool in containerd containerd-shim-runc-v2 runc ctr iptables ip nft conntrack; do
    command -v "$tool" >/dev/null || die "$tool is needed for the real node (run hack/install-deps.sh)"
  done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] ||
    die "the CNI plugins are needed in /usr/lib/cni (containernetworking-plugins; run hack/install-deps.sh)"
  [ -x "$BIN_DIR/kubelet" ] && [ -x "$BIN_DIR/kube-proxy" ] || die "kubelet/kube-proxy missing from $BIN_DIR"
  # Teardown kills every process in the kubepods cgroups and removes them:
  # never on a machine where another kubelet already runs pods.
  if compgen -G "/sys/fs/cgroup/*/kubepods" >/dev/null || [ -d /sys/fs/cgroup/kubepods ] ||
    compgen -G "/sys/fs/cgroup/kubepods.slice" >/dev/null; then
    die "kubepods cgroups exist: another kubelet runs on this machine; set OPSCOPILOT_REAL_NODE=0"
  fi
  if ip link show "$NODE_LINK" >/dev/null 2>&1 || ip link show "$POD_BRIDGE" >/dev/null 2>&1; then
    die "network links $NODE_LINK/$POD_BRIDGE exist: another hack/cluster.sh runs on this machine (one real node per machine)"
  fi
}

node_pki() {
  sign kubelet-serving "/CN=$NODE_NAME" serverAuth "IP:$NODE_IP,DNS:$NODE_NAME"
  sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  sign kube-proxy "/CN=system:kube-proxy" clientAuth
}

node_write_config() {
  PAUSE_IMAGE="$(bash "$HACK_DIR/lib/node-images.sh" | awk '$1 ~ /pause/ { print $1 }')"
  [ -n "$PAUSE_IMAGE" ] || die "hack/lib/node-images.sh built no pause image"
  mkdir -p "$NODE_DIR"/{containerd/root,containerd/state,kubelet,pod-logs,cni/net.d,cni/ipam}
  chmod 700 "$NODE_DIR/containerd/root" "$NODE_DIR/kubelet"
  write_kubeconfig "$STATE_DIR/kubeconfig-kubelet" "system:node:$NODE_NAME" kubelet
  write_kubeconfig "$STATE_DIR/kubeconfig-kube-proxy" system:kube-proxy kube-proxy

  cat >"$NODE_DIR/containerd/config.toml" <<EOF
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Root here lacks CAP_SYS_RESOURCE: without this runc fails to start any
  # container ("can't get final child's PID from pipe: EOF").
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
EOF

  cat >"$NODE_DIR/cni/net.d/10-opscopilot.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "opscopilot",
  "plugins": [{
    "type": "bridge",
    "bridge": "$POD_BRIDGE",
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": "$POD_SUBNET"}]],
      "routes": [{"dst": "0.0.0.0/0"}],
      "dataDir": "$NODE_DIR/cni/ipam"
    }
  }]
}
EOF

  cat >"$NODE_DIR/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
clusterDomain: cluster.local
clusterDNS: [10.96.0.10]
podLogsDir: $NODE_DIR/pod-logs
# Imported images cannot be pulled again: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%}
maxPods: 50
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
shutdownGracePeriod: 0s
EOF

  cat >"$NODE_DIR/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $STATE_DIR/kubeconfig-kube-proxy
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
mode: iptables
clusterCIDR: $POD_SUBNET
detectLocalMode: ClusterCIDR
nodePortAddresses: ["$NODE_IP/32"]
iptables:
  localhostNodePorts: false
  masqueradeAll: false
  minSyncPeriod: 0s
  syncPeriod: 30s
# Leave the machine's conntrack settings alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
}

# node_network_up: the node IP on its own port-less bridge, before the API
# server starts (it advertises that address).
node_network_up() {
  ip link add "$NODE_LINK" type bridge
  ip addr add "$NODE_IP/32" dev "$NODE_LINK"
  ip link set "$NODE_LINK" up
}

node_save_host_state() {
  local s
  for s in "${NODE_SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done >"$RUN/sysctls.before"
  # The kubelet puts its device-plugin socket in /var/lib/kubelet whatever
  # --root-dir says: remove that directory at `down` only if we made it.
  # So do a few other fixed paths and the iptables-nft tables: whatever of
  # them did not exist before goes again at `down`.
  local path
  for path in /var/lib/kubelet /var/log/containers /run/containerd /var/lib/cni; do
    [ -e "$path" ] || echo "$path"
  done >"$RUN/remove-paths"
  nft list tables 2>/dev/null >"$RUN/nft-tables.before" || true
  # The kubepods cgroups are ours (node_check_prerequisites found none).
  touch "$RUN/kubepods-ours"
}

containerd_ready() { ctr --address "$CONTAINERD_SOCK" version; }
kubelet_healthy() { curl -sf --max-time 5 "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" | grep -qx ok; }
kube_proxy_healthy() { curl -sf --max-time 5 "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz" >/dev/null; }
real_node_ready() {
  [ "$(kubectl_admin get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

# import_image ARCHIVE: load an OCI or Docker image archive into the real
# node's containerd (namespace k8s.io, where the kubelet looks).
import_image() {
  ctr --address "$CONTAINERD_SOCK" -n k8s.io images import --no-unpack=false "$1" 2>&1 |
    sed -n 's/^unpacking \([^ ]*\) .*/\1/p'
}

node_start() {
  local name archive
  start containerd containerd --config "$NODE_DIR/containerd/config.toml" --log-level warn
  wait_for containerd "$T_COMPONENT" "containerd to answer on $CONTAINERD_SOCK" containerd_ready
  while read -r name archive; do
    import_image "$archive" >/dev/null || die "could not import $name from $archive"
  done < <(bash "$HACK_DIR/lib/node-images.sh")

  start kubelet "$BIN_DIR/kubelet" \
    --config="$NODE_DIR/kubelet-config.yaml" \
    --kubeconfig="$STATE_DIR/kubeconfig-kubelet" \
    --root-dir="$NODE_DIR/kubelet" \
    --hostname-override="$NODE_NAME" \
    --node-ip="$NODE_IP" \
    --node-labels="type=real,opscopilot.io/node=real" \
    --register-with-taints="$NODE_TAINT_KEY=true:NoSchedule" \
    --v=1
  start kube-proxy "$BIN_DIR/kube-proxy" --config="$NODE_DIR/kube-proxy-config.yaml" --v=1
  wait_for kubelet "$T_COMPONENT" "kubelet /healthz" kubelet_healthy
  wait_for kube-proxy "$T_COMPONENT" "kube-proxy /healthz" kube_proxy_healthy
  wait_for kubelet "$T_NODE" "node $NODE_NAME to be Ready" real_node_ready
}

# ------------------------------------------------------------- teardown ----

# node_drain: delete the pods bound to the real node while the kubelet still
# runs, so that it stops their containers and releases their network (CNI DEL).
node_drain() {
  running kubelet || return 0
  running kube-apiserver || return 0
  local pods deadline
  pods="$(kubectl_admin get pods -A --field-selector "spec.nodeName=$NODE_NAME" \
    -o 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' 2>/dev/null)" || return 0
  [ -n "$pods" ] || return 0
  # Cordoned first, or their controllers' replacements land here again.
  kubectl_admin cordon "$NODE_NAME" >/dev/null 2>&1 || true
  while IFS=/ read -r ns name; do
    kubectl_admin -n "$ns" delete pod "$name" --grace-period=2 --wait=false >/dev/null 2>&1 || true
  done <<<"$pods"
  deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    [ -z "$(kubectl_admin get pods -A --field-selector "spec.nodeName=$NODE_NAME" -o name 2>/dev/null)" ] && return 0
    sleep 0.5
  done
  log "pods still on $NODE_NAME after 30s; their containers are killed directly"
}

# Every process of a container lives in a kubepods cgroup.
node_kill_containers() {
  local hier procs i
  for ((i = 0; i < 50; i++)); do
    procs=""
    for hier in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
      [ -d "$hier" ] || continue
      procs+=" $(find "$hier" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')"
    done
    [ -n "${procs// /}" ] || return 0
    # shellcheck disable=SC2086
    kill -KILL $procs 2>/dev/null || true
    sleep 0.1
  done
  log "warning: container processes survive SIGKILL:$procs"
}

node_kill_shims() {
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# Mounts under PREFIX, deepest first.
mounts_under() {
  awk -v p="$1" '{ m = $5; gsub(/\\040/, " ", m); if (m == p || index(m, p "/") == 1) print m }' /proc/self/mountinfo |
    awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

node_unmount() {
  local m i
  for ((i = 0; i < 3; i++)); do
    while read -r m; do
      [ -n "$m" ] && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
    done < <(mounts_under "$NODE_DIR")
  done
  [ -z "$(mounts_under "$NODE_DIR")" ] || log "warning: mounts remain under $NODE_DIR"
}

node_remove_cgroups() {
  local root
  for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$root" ] && find "$root" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# Chains the kubelet, kube-proxy and the CNI plugins create: KUBE-*, CNI-*.
# The jumps into them from the built-in chains go first, then the chains.
node_remove_iptables() {
  local cmd table chain rule saved
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle; do
      saved="$("$cmd"-save -t "$table" 2>/dev/null)" || continue
      while read -r rule; do
        [[ "$rule" =~ ^-A\ ([A-Z]+)\ .*-j\ (KUBE|CNI)- ]] || continue
        [[ "${BASH_REMATCH[1]}" =~ ^(KUBE|CNI)- ]] && continue
        eval "$cmd -w -t $table -D ${rule#-A }" 2>/dev/null || true
      done <<<"$saved"
      for chain in $(sed -n 's/^:\(\(KUBE\|CNI\)-[^ ]*\) .*/\1/p' <<<"$saved"); do
        "$cmd" -w -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $(sed -n 's/^:\(\(KUBE\|CNI\)-[^ ]*\) .*/\1/p' <<<"$saved"); do
        "$cmd" -w -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
  local family name
  for family in ip ip6; do nft delete table "$family" kube-proxy 2>/dev/null || true; done
  # Tables iptables-nft created for the chains above (now empty).
  [ -f "$RUN/nft-tables.before" ] || return 0
  while read -r _ family name; do
    grep -qx "table $family $name" "$RUN/nft-tables.before" || nft delete table "$family" "$name" 2>/dev/null || true
  done < <(nft list tables 2>/dev/null)
}

node_restore_sysctls() {
  [ -f "$RUN/sysctls.before" ] || return 0
  local line
  while read -r line; do sysctl -q -w "$line" >/dev/null 2>&1 || true; done <"$RUN/sysctls.before"
}

# node_stop: everything the real node started or changed, undone. Safe to
# call when the node never started or was half started.
# Teardown is best effort: every step runs even when an earlier one failed.
node_stop() {
  ( set +e; node_teardown ) || true
}

node_teardown() {
  [ -d "$RUN" ] || return 0
  [ -f "$RUN/kubelet.args" ] || [ -f "$RUN/containerd.args" ] || ip link show "$NODE_LINK" >/dev/null 2>&1 || return 0
  node_drain
  stop kubelet
  if running kube-proxy; then
    stop kube-proxy
  fi
  [ -x "${BIN_DIR:-}/kube-proxy" ] && "$BIN_DIR/kube-proxy" --cleanup >/dev/null 2>&1 || true
  [ -f "$RUN/kubepods-ours" ] && node_kill_containers
  stop containerd
  node_kill_shims
  node_unmount
  [ -f "$RUN/kubepods-ours" ] && node_remove_cgroups
  ip link del "$POD_BRIDGE" 2>/dev/null || true
  ip link del "$NODE_LINK" 2>/dev/null || true
  node_remove_iptables
  node_restore_sysctls
  # The kubelet links /var/log/containers/* to our pod logs (a fixed path).
  local link
  for link in /var/log/containers/*.log; do
    [ -L "$link" ] && [[ "$(readlink "$link")" == "$NODE_DIR/"* ]] && rm -f "$link"
  done
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock
  local path
  if [ -f "$RUN/remove-paths" ]; then
    while read -r path; do
      case "$path" in /var/lib/kubelet | /var/log/containers | /run/containerd | /var/lib/cni) rm -rf "$path" ;; esac
    done <"$RUN/remove-paths"
  fi
}
