#!/usr/bin/env bash
# Prints what hack/cluster.sh's real node may leave on this machine, in a
# stable form: processes of the cluster's binaries, mounts of its state,
# network links and namespaces, iptables rules and nft tables, kubepods
# cgroups, the kernel settings the kubelet changes, and the fixed paths the
# kubelet and containerd use. hack/test.sh compares it before `up` and after
# `down`: they must be equal.
set -uo pipefail
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
STATE_DIR="${OPSCOPILOT_CLUSTER_DIR:-$HOME/.cache/opscopilot/cluster}"
echo "## processes of this cluster (their command line names its state directory), and any pause or shim"
{
  pgrep -f -- "$STATE_DIR" || true
  pgrep -x pause || true
  pgrep -f '^containerd-shim' || true
} | sort -u | while read -r pid; do
  [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] || cat "/proc/$pid/comm" 2>/dev/null
done | sort
echo "## mounts"
awk '{ print $5 }' /proc/self/mountinfo | grep -E 'opscopilot|containerd|kubelet|netns' | sort
echo "## links"
ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort
echo "## netns"
ls /run/netns /var/run/netns 2>/dev/null | sort
echo "## iptables"
for c in iptables-save ip6tables-save; do command -v "$c" >/dev/null && "$c" 2>/dev/null | grep -v -e '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; done
echo "## nft"
nft list tables 2>/dev/null | sort
echo "## cgroups"
ls -d /sys/fs/cgroup/*/kubepods* /sys/fs/cgroup/kubepods* 2>/dev/null | sort
echo "## sysctls"
sysctl vm.overcommit_memory kernel.panic kernel.panic_on_oops 2>/dev/null
echo "## paths"
for p in /var/lib/kubelet /var/log/containers /var/log/pods /run/containerd /etc/cni/net.d /var/lib/cni; do
  [ -e "$p" ] && echo "$p $(find "$p" 2>/dev/null | wc -l)"
done
exit 0
