#!/usr/bin/env bash
# Starts an MLflow tracking server on 127.0.0.1 (sqlite backend, local artifact root served through the
# server's artifact proxy) and waits until it answers /health. Prints the tracking URI on stdout; the URI
# and pid are also kept in $MLFLOW_STATE for `down.sh` and for tests run outside CI.
# Usage: up.sh [port]   (default: a free port chosen by the OS)
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [ -f "$MLFLOW_STATE/pid" ] && kill -0 "$(cat "$MLFLOW_STATE/pid")" 2>/dev/null; then
  cat "$MLFLOW_STATE/uri"
  exit 0
fi
bash "$(dirname "$0")/install.sh" >&2

port="${1:-$("$MLFLOW_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')}"
rm -rf "$MLFLOW_STATE"
mkdir -p "$MLFLOW_STATE/artifacts"
uri="http://127.0.0.1:$port"

# setsid gives the server its own process group, so down.sh can stop it and its workers by that id alone.
# The job runner (GenAI evaluation jobs, a dozen worker processes, over 1 GB) is not needed for tracking.
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$MLFLOW_VENV/bin/mlflow" server \
  --host 127.0.0.1 --port "$port" --workers 1 \
  --backend-store-uri "sqlite:///$MLFLOW_STATE/mlflow.db" \
  --artifacts-destination "$MLFLOW_STATE/artifacts" --serve-artifacts \
  >"$MLFLOW_STATE/server.log" 2>&1 </dev/null &
echo $! >"$MLFLOW_STATE/pid"
echo "$uri" >"$MLFLOW_STATE/uri"

deadline=$(( $(date +%s) + ${FLTS_MLFLOW_START_TIMEOUT:-180} ))
ready() { "$MLFLOW_VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/health", timeout=2)' "$uri" >/dev/null 2>&1; }
until ready; do
  if ! kill -0 "$(cat "$MLFLOW_STATE/pid")" 2>/dev/null; then
    echo "mlflow server exited during startup; log:" >&2; tail -n 40 "$MLFLOW_STATE/server.log" >&2; exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "mlflow server not ready at $uri after ${FLTS_MLFLOW_START_TIMEOUT:-180} s; log:" >&2
    tail -n 40 "$MLFLOW_STATE/server.log" >&2
    bash "$(dirname "$0")/down.sh" >&2
    exit 1
  fi
  sleep 1
done
echo "mlflow server ready at $uri (state in $MLFLOW_STATE)" >&2
echo "$uri"
