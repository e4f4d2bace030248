#!/usr/bin/env bash
# Create (or reuse) the virtualenv and install requirements.txt into it, torch first.
# Re-running is cheap: nothing is installed while requirements.txt is unchanged.
#   HW2_VENV  the virtualenv's folder (default .venv)
#   PYTHON    the interpreter that creates it (default python3; the kit targets 3.11)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${HW2_VENV:-.venv}
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating virtualenv $venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi
stamp="$venv/.hw2-requirements"
wanted=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  torch_line=$(grep -E '^torch==' requirements.txt)
  echo "setup: installing $torch_line, then requirements.txt"
  "${pip[@]}" "$torch_line"
  "${pip[@]}" -r requirements.txt
  echo "$wanted" > "$stamp"
fi
