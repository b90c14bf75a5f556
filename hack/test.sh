#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit tests, then the
# integration tests against a real local control plane (hack/cluster.sh),
# which this script brings up if needed and takes down again at the end.
#
#   hack/test.sh                 # everything
#   SANITIZE=address,undefined hack/test.sh
#   TEST_LABEL=unit hack/test.sh # only one label (unit, integration, e2e)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
started=$SECONDS
phase() { echo; echo "==> $* (at $((SECONDS - started))s)"; }

# ccache shares objects between checkouts in different folders (CI clones
# afresh each time): paths under the checkout are hashed relative to it.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"

phase "dependencies"
bash hack/install-deps.sh

BUILD_DIR="${BUILD_DIR:-$ROOT/build${SANITIZE:+-san}}"
phase "build ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DSANITIZE="${SANITIZE:-}" >/dev/null
build_start=$SECONDS
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "C++ build took $((SECONDS - build_start))s"

# The cluster's binaries (etcd, Kubernetes, kwok, helm) from pinned Go
# modules: about 15 minutes the first time on 2 cores, then cached.
phase "cluster binaries"
bash hack/lib/controlplane-build.sh >/dev/null
# Prometheus for the query_metrics tests: about 2 minutes the first time.
bash hack/lib/prometheus-build.sh >/dev/null
# LiteLLM's proxy for the streaming test, from PyPI into a cached venv.
bash hack/lib/litellm-install.sh >/dev/null

label="${TEST_LABEL:-}"
export CTEST_OUTPUT_ON_FAILURE=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

ctest_args=(--test-dir "$BUILD_DIR" --timeout 300)

# The integration tests and the e2e suites with the most concurrency and the
# most untrusted input, against the cluster, with sanitized builds: the
# ThreadSanitizer tree (build-tsan) and the ASan+UBSan tree (build-fuzz, see
# the fuzzing phase). Reports go to files, whoever wrote them (a test binary
# or an operator an e2e script started); any report fails the run.
sanitized_suites() {
  local reports="$ROOT/build-sanitizer-reports" failed=0 tree e2e
  rm -rf "$reports"
  mkdir -p "$reports/logs"
  for tree in tsan asan; do
    local dir="$ROOT/build-$tree" suites=(diagnosticrun_test.sh)
    [ "$tree" = asan ] && { dir="$ROOT/build-fuzz"; suites=(llm_test.sh approval_forgery_test.sh secrets_test.sh); }
    [ -x "$dir/opscopilot-operator" ] && [ -x "$dir/tests/integration_tests" ] || {
      echo "sanitized suites: $dir has no operator or integration tests (TSAN=0 or FUZZ=0?); skipped"
      continue
    }
    phase "integration and e2e tests under $tree ($(basename "$dir"))"
    export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 log_path=$reports/tsan"
    # Full stacks at malloc (OpenSSL has no frame pointers), so that the
    # suppressions of OpenSSL's per-thread state match (tests/lsan-suppressions.txt).
    export ASAN_OPTIONS="detect_leaks=1 fast_unwind_on_malloc=0 log_path=$reports/asan"
    export UBSAN_OPTIONS="print_stacktrace=1 log_path=$reports/ubsan"
    export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan-suppressions.txt print_suppressions=0"
    "$dir/tests/integration_tests" --gtest_brief=1 || failed=1
    for e2e in "${suites[@]}"; do
      local log="$reports/logs/$tree-$e2e.log"
      OPSCOPILOT_OPERATOR="$dir/opscopilot-operator" bash "tests/e2e/$e2e" >"$log" 2>&1 || {
        echo "FAIL $e2e with the $tree operator:"; tail -30 "$log"; failed=1
      }
      echo "$e2e with the $tree operator: $(tail -1 "$log")"
    done
    unset TSAN_OPTIONS LSAN_OPTIONS
    export ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1"
  done
  if compgen -G "$reports/[atu]*san.*" >/dev/null; then
    echo "FAIL sanitizer reports:"
    for f in "$reports"/[atu]*san.*; do echo "--- $f"; head -40 "$f"; done
    failed=1
  else
    echo "PASS no sanitizer report from the integration tests or the sanitized operators"
  fi
  [ "$failed" = 0 ]
}
if [ -z "$label" ] || [ "$label" = unit ]; then
  phase "unit tests"
  ctest "${ctest_args[@]}" -L unit -j "$(nproc)"
fi

if { [ -z "$label" ] || [ "$label" = unit ]; } && [ -z "${SANITIZE:-}" ] && [ "${TSAN:-1}" != 0 ]; then
  # The unit tests again under ThreadSanitizer (workers share analyzers,
  # gateways, queues and caches); any data race report fails the run.
  # The same tree's operator and integration tests run later against the
  # cluster (the sanitized suites below).
  phase "unit tests under ThreadSanitizer (TSAN=0 skips)"
  cmake -S . -B "$ROOT/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANITIZE=thread >/dev/null
  cmake --build "$ROOT/build-tsan" --target unit_tests integration_tests opscopilot-operator -j "$(nproc)" >/dev/null
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$ROOT/build-tsan/tests/unit_tests" --gtest_brief=1
fi

if { [ -z "$label" ] || [ "$label" = unit ]; } && [ "${FUZZ:-1}" != 0 ]; then
  # Every libFuzzer target (tests/fuzz) for FUZZ_SECONDS (60) on its seed
  # corpus, two at a time; any crash fails the run.
  phase "fuzzing (FUZZ=0 skips)"
  bash hack/fuzz.sh
  # The fuzz tree's libraries carry ASan and UBSan (clang): the unit tests,
  # and later the integration tests and an operator for the e2e suites, are
  # built there too, at the cost of their own files only.
  phase "unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
  cmake --build "$ROOT/build-fuzz" --target unit_tests integration_tests opscopilot-operator -j "$(nproc)" >/dev/null
  ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1" "$ROOT/build-fuzz/tests/unit_tests" --gtest_brief=1
fi

if [ -z "$label" ] || [ "$label" = integration ] || [ "$label" = e2e ]; then
  phase "local control plane"
  we_started_cluster=0
  if ! bash hack/cluster.sh status >/dev/null 2>&1; then
    # A cluster whose processes were killed (a demo left up, then its session
    # ended) leaves its cgroups, sysctls and paths behind. `down` clears them
    # before the baseline is taken, or the comparison below would count that
    # stale state as part of the machine and blame this run's `down` for
    # removing it.
    bash hack/cluster.sh down >/dev/null 2>&1 || true
    bash hack/lib/host-state.sh >"$BUILD_DIR/host-state.before"
    bash hack/cluster.sh up
    we_started_cluster=1
  fi
  if [ "$we_started_cluster" = 1 ] && [ -z "${KEEP_CLUSTER:-}" ]; then
    trap 'bash "$ROOT/hack/cluster.sh" down >/dev/null 2>&1 || true' EXIT
  fi
  eval "$(bash hack/cluster.sh env)"
  if [ -z "$label" ] || [ "$label" = e2e ]; then
    # Watched by the last e2e test (kwok_stability): five minutes of health
    # that overlap the other tests instead of adding to them.
    kubectl create namespace e2e-stability >/dev/null 2>&1 || true
    kubectl apply -f tests/e2e/stability/healthy.yaml >/dev/null
  fi
  if [ -z "$label" ] || [ "$label" = integration ]; then
    phase "integration tests"
    ctest "${ctest_args[@]}" -L integration
  fi
  if [ -z "$label" ] || [ "$label" = e2e ]; then
    phase "end-to-end tests (kubectl)"
    ctest "${ctest_args[@]}" -L e2e -E '^e2e_kwok_stability$'
    if [ -z "${SANITIZE:-}" ] && [ "${SANITIZED_E2E:-1}" != 0 ]; then
      sanitized_suites
    fi
    # Last, so that its five minutes overlap the others.
    ctest "${ctest_args[@]}" -R '^e2e_kwok_stability$'
  fi
fi

if [ "${we_started_cluster:-0}" = 1 ] && [ -z "${KEEP_CLUSTER:-}" ]; then
  # `down` must leave the machine as `up` found it: no process, mount, link,
  # network namespace, iptables rule, nft table, cgroup or changed sysctl.
  phase "cluster down, machine state compared with before up"
  trap - EXIT
  bash hack/cluster.sh down
  bash hack/lib/host-state.sh >"$BUILD_DIR/host-state.after"
  if diff "$BUILD_DIR/host-state.before" "$BUILD_DIR/host-state.after"; then
    echo "PASS hack/cluster.sh down left nothing behind"
  else
    echo "FAIL hack/cluster.sh down left the differences above"
    exit 1
  fi
fi

phase "done in $((SECONDS - started))s"
