#!/usr/bin/env bash
# Shared by the end-to-end tests and the benchmarks: polling with deadlines
# and the readiness of the broken scenarios in tests/e2e/scenarios.

wait_until() {  # wait_until SECONDS COMMAND...: poll a condition with a deadline
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

# True once the scenario's broken state is visible the way the kubelet,
# scheduler and controllers report it.
scenario_ready() {  # scenario_ready NS NAME
  local ns=$1 name=$2
  case "$name" in
    job) [ "$(kubectl -n "$ns" get job migrate -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}')" = True ] ;;
    quota) kubectl -n "$ns" get events --field-selector reason=FailedCreate -o name | grep -q . ;;
    unschedulable) kubectl -n "$ns" get pods -o jsonpath='{.items[*].status.conditions[?(@.type=="PodScheduled")].reason}' | grep -q Unschedulable ;;
    service|healthy) [ "$(kubectl -n "$ns" get pods -o jsonpath='{.items[*].status.phase}' | wc -w)" -ge 2 ] &&
      ! kubectl -n "$ns" get pods -o jsonpath='{.items[*].status.phase}' | grep -q Pending ;;
    *) kubectl -n "$ns" get pods -o jsonpath='{.items[*].status.containerStatuses[*].state.waiting.reason}' | grep -q . ;;
  esac
}
