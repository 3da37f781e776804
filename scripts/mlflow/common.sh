# Shared paths for the MLflow helper scripts. The venv lives outside the work tree so a fresh clone reuses a
# cached install; the server state is .mlflow/ of the checkout (git-ignored).
MLFLOW_VERSION="${FLTS_MLFLOW_VERSION:-3.17.2}"
MLFLOW_CACHE="${FLTS_MLFLOW_CACHE:-$HOME/.cache/flts-mlflow}"
MLFLOW_VENV="$MLFLOW_CACHE/venv"
# Server state (pid, URI, sqlite, artifacts) per checkout, like .infra/: two checkouts run servers of their own.
MLFLOW_STATE="${FLTS_MLFLOW_STATE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.mlflow}"
MLFLOW_PYTHON="${FLTS_MLFLOW_PYTHON:-python3}"

# Written only after pip succeeded, so an interrupted install is redone rather than trusted.
MLFLOW_MARKER="$MLFLOW_VENV/.flts-installed"

mlflow_installed_version() {
  [ -f "$MLFLOW_MARKER" ] && [ -x "$MLFLOW_VENV/bin/mlflow" ] && cat "$MLFLOW_MARKER"
}
