#!/usr/bin/env bash
# Set everything up, then run the whole test suite: the fast tests and the slow
# regression tests against the tutorials' returns. `--fast` runs the fast tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
markers="slow or not slow"
if [ "${1:-}" = "--fast" ]; then markers="not slow"; shift; fi
exec "${TFA_VENV:-.venv}/bin/python" -m pytest -m "$markers" --durations=15 "$@"
