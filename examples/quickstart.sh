#!/usr/bin/env bash
# Local quick start: the whole pipeline on the shipped example data, no servers needed.
#   bash examples/quickstart.sh            # from the repository root, after `npm install`
# Settings for a fast first run; drop them for the reference configuration (EPOCHS=10, HIDDEN_SIZE=128).
set -euo pipefail
cd "$(dirname "$0")/.."
FLTS=${FLTS:-"node bin/run.js"}
export FLTS_HOME=${FLTS_HOME:-.flts-quickstart}
export EPOCHS=${EPOCHS:-2} HIDDEN_SIZE=${HIDDEN_SIZE:-32}
PORT=${PORT:-8765}

echo "1. Preprocess the example data (a second run would say 'cached')"
$FLTS preprocess --train examples/data/example.csv --test examples/data/example_test.csv

echo "2. Train the persistence baseline and two recurrent models"
$FLTS train --model NAIVE,LSTM,GRU

echo "3. Compare them on the held-out test file"
$FLTS eval

echo "4. Promote the winner"
$FLTS promote --best --reason "quick start"

echo "5. Serve it and ask for a forecast"
$FLTS serve --port "$PORT" > "$FLTS_HOME/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
echo "forecast from the latest stored window:"
curl -fsS -X POST "http://127.0.0.1:$PORT/predict" -H 'content-type: application/json' -d '{}'
echo
echo "forecast from raw rows sent in the request (the last 12 rows of the test file):"
node examples/request-from-csv.mjs examples/data/example_test.csv 12 |
  curl -fsS -X POST "http://127.0.0.1:$PORT/predict?inference_length=3" -H 'content-type: application/json' --data-binary @-
echo
