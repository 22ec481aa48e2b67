#!/usr/bin/env bash
# Set everything up, then run the whole test suite: the fast tests and the slow
# regression tests against the tutorials' returns. `--fast` runs the fast tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
markers="slow or not slow"
if [ "${1:-}" = "--fast" ]; then markers="not slow"; shift; fi
# Two workers, a test file each at a time (files share their tiny runs): most of a test's
# time is a subprocess starting TensorFlow, so two overlap well even on two cores. Files go
# out in collection order (tests/conftest.py puts the longest slow tests first), not
# xdist's default of most tests first, which started the one-test pixel regression last.
exec "${TFA_VENV:-.venv}/bin/python" -m pytest -m "$markers" -n "${TFA_TEST_WORKERS:-2}" \
    --dist loadfile --no-loadscope-reorder --durations=15 "$@"
