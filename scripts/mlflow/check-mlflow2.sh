#!/usr/bin/env bash
# Runs flts's MLflow flow against a real MLflow 2 tracking server, which has no logged models (flts then keeps
# MLflow 2's layout: the model in the run's model/ folder, registered from there): train with tracking, an idle
# sync, `flts promote --run` twice (model versions 1 and 2, alias champion), `flts eval --source mlflow`, and
# mlflow.pyfunc.load_model of the registered and the run's model from an MLflow 2 client. Not part of CI: a cold
# install of the server and the client venvs takes some five minutes each (cached afterwards under
# FLTS_MLFLOW2_CACHE, default ~/.cache/flts-mlflow2).
# Usage: scripts/mlflow/check-mlflow2.sh [port]   (FLTS_MLFLOW2_VERSION picks the 2.x release, default 2.22.5)
# Needs `npm run build` first. Stops the server it starts and removes its home; prints "mlflow2 check: ok" at the end.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
export FLTS_MLFLOW_VERSION="${FLTS_MLFLOW2_VERSION:-2.22.5}"
export FLTS_MLFLOW_CACHE="${FLTS_MLFLOW2_CACHE:-$HOME/.cache/flts-mlflow2}"
export FLTS_MLFLOW_CLIENT_VENV="$FLTS_MLFLOW_CACHE/client"
work="$(mktemp -d "${TMPDIR:-/tmp}/flts-mlflow2-check-XXXXXX")"
export FLTS_MLFLOW_STATE="$work/server"
cleanup() { bash scripts/mlflow/down.sh >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

python="$(bash scripts/mlflow-client/install.sh)"
uri="$(bash scripts/mlflow/up.sh "${1:-}" | tail -n 1)"
echo "MLflow $FLTS_MLFLOW_VERSION at $uri"

export FLTS_HOME="$work/home" MLFLOW_TRACKING_URI="$uri" FLTS_DATA_DIR=examples/data EPOCHS=2 HIDDEN_SIZE=32
export FLTS_MLFLOW_REGISTERED_MODEL=flts-mlflow2-check FLTS_LOG_LEVEL=warn
flts() { node bin/run.js "$@"; }
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=process.argv[1].split(".").reduce((o,k)=>o?.[k],JSON.parse(s));process.stdout.write(typeof v==="string"?v:JSON.stringify(v))})' "$1"; }
fail() { echo "mlflow2 check: FAILED: $*" >&2; exit 1; }

flts preprocess --dataset example >/dev/null
echo "1. train NAIVE, LSTM and GRU, mirrored to MLflow"
flts train --model NAIVE,LSTM,GRU --json >"$work/train.json" 2>"$work/train.log"
[ "$(field result.tracking.status <"$work/train.json")" = ok ] || fail "the mirror: $(field result.tracking <"$work/train.json")"
[ "$(grep -c '"msg":"mlflow_logged_models_unsupported"' "$work/train.log")" = 1 ] || fail "mlflow_logged_models_unsupported not said once: $(cat "$work/train.log")"
lstm="$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).result;console.log(r.runs.find((x)=>x.model_type===process.argv[2]).run_id)' "$work/train.json" LSTM)"
gru="$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).result;console.log(r.runs.find((x)=>x.model_type===process.argv[2]).run_id)' "$work/train.json" GRU)"
mirrors="$(field result.tracking.value.mirrored <"$work/train.json")"
for run in "$lstm" "$gru"; do
  node -e 'const m=JSON.parse(process.argv[1]).find((x)=>x.run_id===process.argv[2]); if (m?.model?.kind!=="onnx"||m.model.artifact_path!=="model") process.exit(1)' "$mirrors" "$run" || fail "run $run has no MLflow model at model/: $mirrors"
done

echo "2. two idle syncs sharing their server state: nothing pending, MLflow 2's lack of logged models said at most once"
node --input-type=module -e '
  const dist = (path) => import(new URL(`dist/core/${path}`, `file://${process.cwd()}/`).href);
  const { resolveSettings } = await dist("config/settings.js");
  const { createFsStore } = await dist("storage/index.js");
  const { syncRunsToTracking } = await dist("workflows/sync-runs-to-tracking.js");
  const { createMlflowServers } = await dist("tracking/mlflow-servers.js");
  const { settings } = resolveSettings({ env: process.env });
  const said = [];
  const logger = { trace() {}, debug() {}, info() {}, error() {}, warn: (_fields, message) => said.push(message), child: () => logger };
  const servers = createMlflowServers();
  for (let sync = 0; sync < 2; sync += 1) {
    const synced = await syncRunsToTracking(createFsStore(`${process.env.FLTS_HOME}/store`), settings, {}, { logger, servers });
    if (synced.status !== "ok" || synced.value.pending.length > 0 || synced.value.failed.length > 0) throw new Error(`sync ${sync}: ${JSON.stringify(synced)}`);
  }
  if (said.filter((message) => message === "mlflow_logged_models_unsupported").length > 1 || said.some((message) => message !== "mlflow_logged_models_unsupported")) throw new Error(`said: ${said}`);
'

echo "3. promote LSTM, then GRU: model versions 1 and 2, champion on 2"
for run in "$lstm" "$gru"; do
  flts promote --run "$run" --reason "mlflow2 check" --json >"$work/promote.json" 2>>"$work/promote.log"
  [ "$(field result.tracking.status <"$work/promote.json")" = ok ] && [ "$(field result.tracking.marker.marker <"$work/promote.json")" = alias ] ||
    fail "promotion of $run not marked by an alias: $(field result.tracking <"$work/promote.json")"
done
versions="$(curl -fsS "$uri/api/2.0/mlflow/model-versions/search?filter=name%3D%27$FLTS_MLFLOW_REGISTERED_MODEL%27")"
champion="$(curl -fsS "$uri/api/2.0/mlflow/registered-models/alias?name=$FLTS_MLFLOW_REGISTERED_MODEL&alias=champion" | field model_version)"
node -e '
  const [versions, champion, gru] = [JSON.parse(process.argv[1]).model_versions, JSON.parse(process.argv[2]), process.argv[3]];
  const tag = (v) => v.tags.find((t) => t.key === "flts.run_id")?.value;
  if (versions.length !== 2 || champion.version !== "2" || tag(champion) !== gru || !champion.source.endsWith("/artifacts/model")) throw new Error(`versions ${JSON.stringify(versions)}, champion ${JSON.stringify(champion)}`);
' "$versions" "$champion" "$gru"
gru_mirror="$(field run_id <<<"$champion")"

echo "4. flts eval --source mlflow ranks the three mirrors"
flts eval --source mlflow >"$work/eval.txt" 2>>"$work/eval.log"
for model in NAIVE LSTM GRU; do grep -q " $model " "$work/eval.txt" || fail "eval --source mlflow lacks $model: $(cat "$work/eval.txt")"; done

echo "5. mlflow.pyfunc.load_model from an MLflow $FLTS_MLFLOW_VERSION client"
node -e '
  const [features, window] = [13, 10];
  const values = Array.from({ length: 2 * window * features }, (_, i) => (i % 7) / 7);
  console.log(JSON.stringify({ tracking_uri: process.argv[1], window: values, shape: [2, window, features], loads: [`models:/${process.argv[2]}@champion`, `models:/${process.argv[2]}/1`, `runs:/${process.argv[3]}/model`] }));
' "$uri" "$FLTS_MLFLOW_REGISTERED_MODEL" "$gru_mirror" | "$python" test/fixtures/mlflow/pyfunc_load.py >"$work/loads.json" 2>"$work/loads.log" || fail "pyfunc: $(tail -n 20 "$work/loads.log")"
node -e '
  const { loads, versions } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const [uri, loaded] of Object.entries(loads)) {
    if (loaded.error || loaded.forecast.length !== 2 || !loaded.forecast.every(Number.isFinite) || loaded.flavors.join() !== "onnx,python_function") throw new Error(`${uri}: ${JSON.stringify(loaded).slice(0, 400)}`);
  }
  const [champion, , run] = Object.values(loads);
  if (JSON.stringify(champion.forecast) !== JSON.stringify(run.forecast)) throw new Error("the champion and its run forecast apart");
  console.log(`   loaded ${Object.keys(loads).join(", ")} with mlflow-skinny ${versions["mlflow-skinny"]}`);
' "$work/loads.json"
echo "mlflow2 check: ok"
