#!/usr/bin/env bash
# Installs the Python side of an MLflow user who loads flts's models: mlflow-skinny (the client, the same
# version as the server of scripts/mlflow) with pandas and numpy, which mlflow.pyfunc needs, and onnx and
# onnxruntime, which the `onnx` flavour's loader imports; from PyPI into a cached venv outside the work tree.
# Prints the venv's python on stdout.
set -euo pipefail
source "$(dirname "$0")/../mlflow/common.sh"
# The versions the model directory's requirements name (MLFLOW_MODEL_ENV in src/core/registry/mlflow-model.ts, which
# the MLflow model test checks against this venv): change both together.
onnx=1.23.2
onnxruntime=1.32.0
venv="${FLTS_MLFLOW_CLIENT_VENV:-$HOME/.cache/flts-mlflow-client/venv}"
stamp="mlflow-skinny==$MLFLOW_VERSION onnx==$onnx onnxruntime==$onnxruntime pandas==3.1.1 numpy==2.4.6"
# shellcheck disable=SC2086 # the stamp is the requirement list
FLTS_PYTHON="$MLFLOW_PYTHON" bash "$(dirname "$0")/../python/venv.sh" "$venv" "$stamp" $stamp >&2
echo "$venv/bin/python"
