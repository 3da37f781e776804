#!/usr/bin/env bash
# Local quick start: the whole pipeline on the shipped example data, no servers needed.
#   bash examples/quickstart.sh            # from the repository root, after `npm install`
# Settings for a fast first run (2 epochs, 32 units); with a profile named, that profile's own: FLTS_PROFILE=default
# for flts's defaults (up to 30 epochs, 64 units), FLTS_PROFILE=reference for the reference configuration (10 epochs,
# 2 x 128 units). EPOCHS and HIDDEN_SIZE, when set, win either way.
# Everything it writes goes to FLTS_HOME (default .flts-quickstart/); it stops the server it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
FLTS=${FLTS:-"node bin/run.js"}
export FLTS_HOME=${FLTS_HOME:-.flts-quickstart}
if [ -z "${FLTS_PROFILE:-}" ]; then export EPOCHS=${EPOCHS:-2} HIDDEN_SIZE=${HIDDEN_SIZE:-32}; fi
# --dataset NAME reads NAME.csv and NAME_test.csv from the data directory FLTS_DATA_DIR: here the example data,
# which `npm run examples:data` generates (unset, flts would look in the working directory, then there).
export FLTS_DATA_DIR=${FLTS_DATA_DIR:-examples/data}
PORT=${PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);process.stdout.write(String(process.argv[1].split(".").reduce((o,k)=>o[k],v)))})' "$1"; }

echo "1. Preprocess the example data (a second run would say 'cached')"
$FLTS preprocess --dataset example

echo "2. Train the persistence baseline and two recurrent models"
$FLTS train --model NAIVE,LSTM,GRU

echo "3. Compare them on the held-out test file"
$FLTS eval

echo "4. Promote the winner"
promoted=$($FLTS promote --best --reason "quick start" --json | json result.record.run_id)
echo "promoted run $promoted"

echo "5. Serve it and ask for a forecast"
mkdir -p "$FLTS_HOME"
$FLTS serve --port "$PORT" > "$FLTS_HOME/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$FLTS_HOME/serve.log"; exit 1; }
  sleep 0.5
done
echo "forecast from the latest stored window:"
latest=$(curl -fsS -X POST "http://127.0.0.1:$PORT/predict" -H 'content-type: application/json' -d '{}')
echo "$latest"
echo "forecast from raw rows sent in the request (the last 12 rows of the test file):"
raw=$(node examples/request-from-csv.mjs "$FLTS_DATA_DIR/example_test.csv" 12 |
  curl -fsS -X POST "http://127.0.0.1:$PORT/predict?inference_length=3" -H 'content-type: application/json' --data-binary @-)
echo "$raw"
served=$(printf '%s' "$raw" | json run_id)
[ "$served" = "$promoted" ] || { echo "the server answered with run $served, not the promoted run $promoted"; exit 1; }
