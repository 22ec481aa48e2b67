#!/usr/bin/env bash
# Create .venv (Python 3.11: TensorFlow 2.15 has no wheels for newer Pythons), install the
# pinned stack and the package, and register the notebooks' Jupyter kernel. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TFA_VENV:-.venv}
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON=$candidate; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "error: Python 3.11 is required (TensorFlow 2.15 has no wheels for other versions); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat requirements.txt setup.cfg | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r requirements.txt
  "$VENV/bin/python" -m pip install --quiet --no-deps -e .
  "$VENV/bin/python" -m ipykernel install --user --name tfa-recipes \
    --display-name "Python 3.11 (tfa-recipes)" >/dev/null
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
