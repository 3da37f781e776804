#!/usr/bin/env bash
# Installs Python packages from PyPI into a cached venv, skipped when the venv already holds the same stamp.
# Usage: venv.sh VENV STAMP REQUIREMENT...
# The stamp (usually the pinned version) is written to VENV/.flts-installed only after pip succeeded, so an
# interrupted install is redone rather than trusted. FLTS_PYTHON picks the interpreter (default python3).
set -euo pipefail
venv="$1"; stamp="$2"; shift 2
marker="$venv/.flts-installed"

# One install at a time per venv (test suites of several checkouts may ask at once); the second one then
# finds the venv ready. The lock goes with this process, so a server started after it does not hold it.
mkdir -p "$(dirname "$venv")"
if command -v flock >/dev/null; then exec 8>"$venv.lock"; flock 8; fi

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ] && [ -x "$venv/bin/python" ]; then
  echo "$stamp already installed in $venv"
  exit 0
fi
start=$(date +%s)
rm -rf "$venv"
"${FLTS_PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
echo "$stamp" >"$marker"
echo "$stamp installed in $venv in $(( $(date +%s) - start )) s"
