#!/usr/bin/env bash
# The style check, as CI runs it: ruff's lint, ruff's formatter (--check) and mypy, with the
# settings in pyproject.toml and the tools of requirements-dev.txt (installed into the
# virtualenv when that file changes).
#   bash scripts/style.sh             check; exit 1 on any finding
#   bash scripts/style.sh --fix       apply ruff's safe fixes and format, then check
#   bash scripts/style.sh --baseline  print the mypy overrides that let today's tree pass (the
#                                     non-strict modules' error codes), for pyproject.toml
#   HW2_VENV  the virtualenv's folder (default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
venv=${HW2_VENV:-.venv}
stamp="$venv/.hw2-dev-requirements"
wanted=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "style: installing requirements-dev.txt"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$wanted" > "$stamp"
fi
case "${1:-}" in
  --fix)
    "$venv/bin/ruff" check --fix .
    "$venv/bin/ruff" format . ;;
  --baseline)
    # the modules that fail today, grouped by the error codes each has
    "$venv/bin/mypy" --no-error-summary | "$venv/bin/python" -c '
import collections, re, sys
codes = collections.defaultdict(set)
for line in sys.stdin:
    if m := re.match(r"(\S+?)\.py:\d+: error: .*\[([a-z-]+)\]$", line.strip()):
        path = m.group(1)
        name = path.split("/", 1)[1] if path.startswith(("scripts/", "tests/")) else path
        codes[name.replace("/", ".")].add(m.group(2))
by_codes = collections.defaultdict(list)
for name, found in sorted(codes.items()):
    by_codes[tuple(sorted(found))].append(name)
quote = lambda names: ", ".join(chr(34) + n + chr(34) for n in names)
for found, names in sorted(by_codes.items()):
    print(f"[[tool.mypy.overrides]]\nmodule = [{quote(names)}]\ndisable_error_code = [{quote(found)}]\n")
'
    exit 0 ;;
  "") ;;
  *) echo "usage: bash scripts/style.sh [--fix|--baseline]" >&2; exit 2 ;;
esac
status=0
echo "style: ruff check"
"$venv/bin/ruff" check . || status=1
echo "style: ruff format --check"
"$venv/bin/ruff" format --check --output-format concise . || status=1
echo "style: mypy"
"$venv/bin/mypy" || status=1
exit $status
