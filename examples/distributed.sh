#!/usr/bin/env bash
# Distributed mode on one machine: a real Kafka and S3 server on loopback (no Docker), the daemon running the
# pipeline by itself, and a serving replica that follows promotions.
#   bash examples/distributed.sh
# With KAFKA_BOOTSTRAP_SERVERS and MINIO_ENDPOINT set (e.g. `set -a; . .infra/env; set +a` after
# `npm run infra:up`) it uses those servers; otherwise it starts its own and stops them again at the end. On servers
# whose store already serves newer processed data, give the example a data version of its own (EXTRA_HASH_SALT=...).
# Ports on 127.0.0.1: DAEMON_PORT (9100) and SERVE_PORT (8766) for flts; for the servers it starts itself,
# FLTS_INFRA_KAFKA_PORT (19092), FLTS_INFRA_KAFKA_CONTROLLER_PORT (19093) and FLTS_INFRA_S3_PORT (19000).
set -euo pipefail
cd "$(dirname "$0")/.."
FLTS=${FLTS:-"node bin/run.js"}
export FLTS_HOME=${FLTS_HOME:-.flts-distributed}
mkdir -p "$FLTS_HOME"

pids=()
own_infra=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$own_infra" ]; then FLTS_INFRA_DIR="$own_infra" bash scripts/infra/infra.sh down >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

echo "1. Kafka 3.9.1 (KRaft) and S3Proxy on 127.0.0.1"
if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ] && [ -n "${MINIO_ENDPOINT:-}" ]; then
  echo "using Kafka at $KAFKA_BOOTSTRAP_SERVERS and S3 at $MINIO_ENDPOINT"
else
  # The first run resolves both from Maven Central (cached in ~/.cache/flts-infra).
  own_infra="$(cd "$FLTS_HOME" && pwd)/infra"
  FLTS_INFRA_DIR="$own_infra" bash scripts/infra/infra.sh up >/dev/null
  set -a; . "$own_infra/env"; set +a
  echo "started Kafka at $KAFKA_BOOTSTRAP_SERVERS and S3 at $MINIO_ENDPOINT"
fi

echo "2. Point flts at them: the same commands, now distributed"
export FLTS_STORE=s3 FLTS_BUS=kafka
export FLTS_TRAINER_MODELS=${FLTS_TRAINER_MODELS:-NAIVE,LSTM} EXPECTED_MODEL_TYPES=${EXPECTED_MODEL_TYPES:-NAIVE,LSTM}
export EPOCHS=${EPOCHS:-2} HIDDEN_SIZE=${HIDDEN_SIZE:-32}
# The daemon re-checks the latest data this often besides its messages (default 5 min): a re-run on data whose runs
# exist trains nothing, so no model-training message wakes the promoter, and only this check decides.
export FLTS_DAEMON_RESYNC_INTERVAL_MS=${FLTS_DAEMON_RESYNC_INTERVAL_MS:-10000}
DAEMON_PORT=${DAEMON_PORT:-9100} SERVE_PORT=${SERVE_PORT:-8766}

echo "3. The daemon (trainer + promoter) and a serving replica"
$FLTS daemon --roles trainer,promoter --port "$DAEMON_PORT" > "$FLTS_HOME/daemon.log" 2>&1 &
pids+=($!)
$FLTS serve --port "$SERVE_PORT" > "$FLTS_HOME/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$DAEMON_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done

echo "4. Preprocess: the claims it publishes start everything else"
config_hash=$($FLTS preprocess --train examples/data/example.csv --test examples/data/example_test.csv --force --json |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).result.config_hash))')
echo "config_hash $config_hash"

echo "5. Wait until the serving replica forecasts with a run trained on that config_hash"
forecast=""
for _ in $(seq 1 600); do
  response=$(curl -fs -X POST "http://127.0.0.1:$SERVE_PORT/predict" -H 'content-type: application/json' -d '{}' 2>/dev/null || true)
  served=$(printf '%s' "$response" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{process.stdout.write(JSON.parse(s).config_hash??"")}catch{}})')
  if [ "$served" = "$config_hash" ]; then forecast=$response; break; fi
  # On servers that already serve newer processed data the promoter never goes back to this one: say so at once.
  superseded=$(grep -F "\"config_hash\":\"$config_hash\"" "$FLTS_HOME/daemon.log" | grep -F '"result":"superseded"' | tail -n 1 || true)
  if [ -n "$superseded" ]; then
    echo "the store already serves newer processed data, and automatic promotion only moves forward (docs/promotion.md):"
    printf '%s' "$superseded" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log("  " + JSON.parse(s).reason))'
    echo "run again with EXTRA_HASH_SALT=<any text> for a data version of its own"
    exit 1
  fi
  sleep 0.5
done
[ -n "$forecast" ] || { echo "no run of config_hash $config_hash reached the serving replica; see $FLTS_HOME/*.log"; exit 1; }
run_id=$(printf '%s' "$forecast" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).run_id))')
echo "serving run $run_id"
echo "$forecast"
echo "daemon status:"
curl -fsS "http://127.0.0.1:$DAEMON_PORT/status"
echo
