#!/usr/bin/env bash
# Installs LiteLLM's proxy (hack/tools/litellm/requirements.txt) from PyPI
# into a virtual environment cached outside the tree, keyed by the pin and
# the Python version, for the streaming test against a third-party
# OpenAI-compatible server. Prints the path of its `litellm` command.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$HACK_DIR/tools/litellm/requirements.txt"
CACHE_ROOT="${OPSCOPILOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opscopilot}"
PY=/usr/bin/python3  # Debian's, with python3-venv (hack/install-deps.sh)

key="$({ "$PY" --version; cat "$REQ" "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
dir="$CACHE_ROOT/tools/litellm-$key"
# A venv records its own path, so it is built where it stays; .complete
# marks one whose install finished.
if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir"
  start=$SECONDS
  echo "litellm-install: installing $(grep -v '^#' "$REQ" | tr '\n' ' ')" >&2
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$REQ" >&2
  touch "$dir/.complete"
  echo "litellm-install: installed in $((SECONDS - start))s into $dir" >&2
fi
echo "$dir/bin/litellm"
