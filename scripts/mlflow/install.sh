#!/usr/bin/env bash
# Installs the MLflow tracking server from PyPI into a cached venv (skipped when the pinned version is there).
# FLTS_MLFLOW_VERSION picks another version, an MLflow 2 one included (scripts/mlflow/check-mlflow2.sh).
set -euo pipefail
source "$(dirname "$0")/common.sh"
requirements=("mlflow==$MLFLOW_VERSION")
# MLflow 2 imports sqlalchemy.pool.FallbackAsyncAdaptedQueuePool, which SQLAlchemy 2.1 removed, while it lets pip
# take any SQLAlchemy before 3: its server then fails at startup ("Error initializing backend store").
case "$MLFLOW_VERSION" in 2.*) requirements+=("sqlalchemy<2.1") ;; esac
stamp="$MLFLOW_VERSION${requirements[1]:+ ${requirements[1]}}"
FLTS_PYTHON="$MLFLOW_PYTHON" exec bash "$(dirname "$0")/../python/venv.sh" "$MLFLOW_VENV" "$stamp" "${requirements[@]}"
