#!/usr/bin/env bash
# Installs the MLflow tracking server from PyPI into a cached venv (skipped when the pinned version is there).
set -euo pipefail
source "$(dirname "$0")/common.sh"

# One install at a time per cache (test suites of several checkouts may ask at once); the second one then
# finds the venv ready. The lock goes with this process, so the server started after it does not hold it.
mkdir -p "$MLFLOW_CACHE"
if command -v flock >/dev/null; then exec 8>"$MLFLOW_CACHE/.lock"; flock 8; fi

if [ "$(mlflow_installed_version || true)" = "$MLFLOW_VERSION" ]; then
  echo "mlflow $MLFLOW_VERSION already installed in $MLFLOW_VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$MLFLOW_VENV"
"$MLFLOW_PYTHON" -m venv "$MLFLOW_VENV"
"$MLFLOW_VENV/bin/python" -m pip install --quiet --upgrade pip
"$MLFLOW_VENV/bin/python" -m pip install --quiet "mlflow==$MLFLOW_VERSION"
echo "$MLFLOW_VERSION" >"$MLFLOW_MARKER"
echo "mlflow $(mlflow_installed_version) installed in $MLFLOW_VENV in $(( $(date +%s) - start )) s"
