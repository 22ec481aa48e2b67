#!/usr/bin/env bash
# Create .venv (Python 3.11: TensorFlow 2.15 has no wheels for newer Pythons), install the
# pinned stack and the package, and register the notebooks' Jupyter kernel. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${TFA_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  # Finds (or fetches, with uv) a Python 3.11 and says so in one line when it is not on PATH.
  PYTHON=$(bash scripts/python311.sh)
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat requirements.txt setup.cfg | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r requirements.txt
  # setuptools' "Editable installation ... be careful with folders" banner: nothing to act on.
  PYTHONWARNINGS="ignore:Editable installation" \
    "$VENV/bin/python" -m pip install --quiet --no-deps -e .
  "$VENV/bin/python" -m ipykernel install --user --name tfa-recipes \
    --display-name "Python 3.11 (tfa-recipes)" >/dev/null
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
