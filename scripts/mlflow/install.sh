#!/usr/bin/env bash
# Installs the MLflow tracking server from PyPI into a cached venv (skipped when the pinned version is there).
set -euo pipefail
source "$(dirname "$0")/common.sh"
FLTS_PYTHON="$MLFLOW_PYTHON" exec bash "$(dirname "$0")/../python/venv.sh" "$MLFLOW_VENV" "$MLFLOW_VERSION" "mlflow==$MLFLOW_VERSION"
