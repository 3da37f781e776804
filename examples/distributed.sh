#!/usr/bin/env bash
# Distributed mode on one machine: a real Kafka and S3 server on loopback (no Docker), the daemon running the
# pipeline by itself, and a serving replica that follows promotions.
#   bash examples/distributed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FLTS=${FLTS:-"node bin/run.js"}
export FLTS_HOME=${FLTS_HOME:-.flts-distributed}
mkdir -p "$FLTS_HOME"

echo "1. Start Kafka 3.9.1 (KRaft) and S3Proxy on 127.0.0.1 (first run resolves them from Maven Central)"
bash scripts/infra/infra.sh up
set -a; . .infra/env; set +a

echo "2. Point flts at them: the same commands, now distributed"
export FLTS_STORE=s3 FLTS_BUS=kafka
export FLTS_TRAINER_MODELS=${FLTS_TRAINER_MODELS:-NAIVE,LSTM} EXPECTED_MODEL_TYPES=${EXPECTED_MODEL_TYPES:-NAIVE,LSTM}
export EPOCHS=${EPOCHS:-2} HIDDEN_SIZE=${HIDDEN_SIZE:-32}
DAEMON_PORT=${DAEMON_PORT:-9100} SERVE_PORT=${SERVE_PORT:-8766}

echo "3. The daemon (trainer + promoter) and a serving replica"
$FLTS daemon --roles trainer,promoter --port "$DAEMON_PORT" > "$FLTS_HOME/daemon.log" 2>&1 &
daemon=$!
$FLTS serve --port "$SERVE_PORT" > "$FLTS_HOME/serve.log" 2>&1 &
server=$!
trap 'kill $daemon $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$DAEMON_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done

echo "4. Preprocess: the claims it publishes start everything else"
$FLTS preprocess --train examples/data/example.csv --test examples/data/example_test.csv --force

echo "5. Wait until the serving replica has switched to the promoted run"
run_id=""
for _ in $(seq 1 600); do
  run_id=$(curl -fs "http://127.0.0.1:$SERVE_PORT/healthz" 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{process.stdout.write(JSON.parse(s).run_id??"")}catch{}})')
  [ -n "$run_id" ] && break
  sleep 0.5
done
[ -n "$run_id" ] || { echo "no promotion reached the serving replica; see $FLTS_HOME/*.log"; exit 1; }
echo "serving run $run_id"
curl -fsS -X POST "http://127.0.0.1:$SERVE_PORT/predict" -H 'content-type: application/json' -d '{}'
echo
echo "daemon status:"
curl -fsS "http://127.0.0.1:$DAEMON_PORT/status"
echo
# `npm run infra:down` stops Kafka and S3 again (their data is gone with them).
