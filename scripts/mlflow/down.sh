#!/usr/bin/env bash
# Stops the server started by up.sh (its whole process group) and waits for it to exit.
set -uo pipefail
source "$(dirname "$0")/common.sh"

[ -f "$MLFLOW_STATE/pid" ] || { echo "no mlflow server recorded in $MLFLOW_STATE"; exit 0; }
pid="$(cat "$MLFLOW_STATE/pid")"
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
fi
rm -f "$MLFLOW_STATE/pid"
echo "mlflow server stopped"
