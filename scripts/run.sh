#!/usr/bin/env bash
# Set everything up, then run a recipe (default: dqn_cartpole with the tutorial's values).
# Usage: scripts/run.sh [recipe] [flags...]   e.g. scripts/run.sh dqn_cartpole --seed 3
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
recipe=dqn_cartpole
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then recipe=$1; shift; fi
exec "${TFA_VENV:-.venv}/bin/python" -m "tfa_recipes.$recipe" "$@"
