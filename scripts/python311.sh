#!/usr/bin/env bash
# Print the path of a Python 3.11 interpreter (TensorFlow 2.15 has no wheels for others),
# fetching one when the host has none. stdout is the path alone; what it does goes to stderr.
# In order: $PYTHON (must be 3.11); python3.11 or python3 on PATH; pyenv's 3.11 builds
# ($PYENV_ROOT, default ~/.pyenv); uv's managed 3.11 (`uv python find`, else
# `uv python install 3.11`, with uv installed from PyPI by whatever python3 exists).
# When all of that fails it prints the commands that install one and exits 1.
set -euo pipefail

is311() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; }
say() { echo "setup: $*" >&2; }

if [ -n "${PYTHON:-}" ]; then
  if is311 "$PYTHON"; then command -v "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not a working Python 3.11" >&2
  exit 1
fi

for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && is311 "$candidate"; then
    command -v "$candidate"; exit 0
  fi
done

pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
if [ -d "$pyenv_root/versions" ]; then
  newest=""
  while IFS= read -r candidate; do
    if is311 "$candidate"; then newest=$candidate; fi
  done < <(printf '%s\n' "$pyenv_root"/versions/3.11*/bin/python3.11 | sort -V)
  if [ -n "$newest" ]; then
    say "no Python 3.11 on PATH; using pyenv's $newest"
    echo "$newest"; exit 0
  fi
fi

# uv: on PATH, or installed from PyPI into a tools directory by any python3 there is.
tools=${TFA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tfa_recipes}
uv=$(command -v uv 2>/dev/null || true)
if [ -z "$uv" ] && [ -x "$tools/uv/bin/uv" ]; then uv=$tools/uv/bin/uv; fi
if [ -z "$uv" ]; then
  for host in python3 python3.13 python3.12 python; do
    command -v "$host" >/dev/null 2>&1 || continue
    version=$("$host" -c 'import platform; print(platform.python_version())' 2>/dev/null) ||
      continue
    say "no Python 3.11 found; installing uv (pip install uv, with $host $version) into $tools/uv to fetch one"
    if "$host" -m venv "$tools/uv" >/dev/null 2>&1 &&
       "$tools/uv/bin/python" -m pip install --quiet --disable-pip-version-check uv >&2; then
      uv=$tools/uv/bin/uv
    elif "$host" -m pip install --quiet --disable-pip-version-check --target "$tools/uv-pip" \
         uv >&2; then
      uv=$tools/uv-pip/bin/uv  # a python3 without venv (Debian's, without python3-venv)
    fi
    break
  done
fi
if [ -n "$uv" ]; then
  # --system: not a virtualenv's python (uv would report the checkout's .venv first).
  if found=$("$uv" python find --system 3.11 2>/dev/null) && is311 "$found"; then
    say "no Python 3.11 on PATH; using uv's $found"
    echo "$found"; exit 0
  fi
  say "fetching Python 3.11 with $uv python install 3.11"
  if "$uv" python install 3.11 >&2 && found=$("$uv" python find --python-preference only-managed 3.11) &&
     is311 "$found"; then
    echo "$found"; exit 0
  fi
fi

cat >&2 <<'EOF'
error: no Python 3.11 found, and none could be fetched (TensorFlow 2.15 needs 3.11).
Install one with one of these, then run the same command again:
  Debian 12, Ubuntu 22.04 (deadsnakes PPA):  sudo apt-get install python3.11 python3.11-venv
  Fedora:                                    sudo dnf install python3.11
  macOS (Homebrew):                          brew install python@3.11
  pyenv:                                     pyenv install 3.11
  uv (any platform):                         pip install uv && uv python install 3.11
or name an interpreter: PYTHON=/path/to/python3.11 bash scripts/setup.sh
EOF
exit 1
