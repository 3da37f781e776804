#!/usr/bin/env bash
# Property-based round against the OpenAPI document a real `flts serve` publishes (/openapi.json), with schemathesis:
# its stateless (coverage, fuzzing) and stateful phases, checking not_a_server_error, status_code_conformance,
# content_type_conformance, response_headers_conformance and response_schema_conformance. Four rounds, one server each
# time on 127.0.0.1 with an admin and an API token set:
#   tokens     the right token on every route (the admin one on the admin routes)
#   no-token   no Authorization header
#   wrong      a wrong bearer token everywhere
#   no-model   a server with nothing promoted (its 503s are declared answers: not_a_server_error is left out)
# Besides schemathesis's checks, every response body is searched for a token and for a stack frame. Prints one line
# per round and exits 1 when a round found anything.
#
# Usage: bash bench/fuzz-openapi.sh [max-examples=50] [seed=1]      (from the repository root, after `npm run build`)
#   FLTS                 the CLI (default: node bin/run.js)
#   FLTS_FUZZ_CACHE      where the schemathesis venv lives, made on first use with python3 -m venv and pip (default
#                        ~/.cache/flts-schemathesis; never inside the repository)
#   FLTS_FUZZ_HOME       a FLTS home with a promoted run to serve (default: a NAIVE run trained on
#                        ../shared/datasets/PobleSec.csv into a temporary home, a few seconds)
#   FLTS_FUZZ_CHECKS     schemathesis --checks (default the five above; `all` adds its heuristics, e.g. positive_data_acceptance,
#                        whose findings left are rules JSON Schema cannot say, given in the routes' descriptions)
#   FLTS_FUZZ_ROUNDS     which rounds to run (default: tokens no-token wrong no-model)
#   PORT                 the port to serve on (default: a free one)
# The same seed and max-examples against two builds give counts to compare; reports stay in the printed directory.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_EXAMPLES=${1:-50}
SEED=${2:-1}
FLTS=${FLTS:-"node bin/run.js"}
SCHEMATHESIS_VERSION=4.32.5
CACHE=${FLTS_FUZZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flts-schemathesis}
VENV="$CACHE/venv-$SCHEMATHESIS_VERSION"
CHECKS=${FLTS_FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance}
ROUNDS=${FLTS_FUZZ_ROUNDS:-tokens no-token wrong no-model}
DATASETS=${FLTS_FUZZ_DATASETS:-../shared/datasets}
ADMIN_TOKEN="fuzz-admin-$RANDOM$RANDOM"
API_TOKEN="fuzz-api-$RANDOM$RANDOM"

if [ ! -x "$VENV/bin/st" ]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/flts-fuzz-openapi.XXXXXX")
server=
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; fi
}
trap stop_server EXIT

HOME_READY=${FLTS_FUZZ_HOME:-}
if [ -z "$HOME_READY" ]; then
  HOME_READY="$WORK/home"
  echo "training a NAIVE run on PobleSec into $HOME_READY" >&2
  FLTS_HOME="$HOME_READY" FLTS_DATA_DIR="$DATASETS" $FLTS preprocess --dataset PobleSec > "$WORK/train.log" 2>&1
  FLTS_HOME="$HOME_READY" $FLTS train --model NAIVE >> "$WORK/train.log" 2>&1
  FLTS_HOME="$HOME_READY" $FLTS promote --best --reason "openapi fuzz" >> "$WORK/train.log" 2>&1
fi
mkdir -p "$WORK/empty-home"

serve() { # serve HOME PROBE: starts `flts serve` on $PORT and waits until PROBE answers 200 (/readyz: the model is warm)
  PORT=${PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
  FLTS_HOME="$1" FLTS_SERVE_ADMIN_TOKEN="$ADMIN_TOKEN" FLTS_SERVE_API_TOKEN="$API_TOKEN" FLTS_PREDICTION_LOG_RETENTION_DAYS=30 \
    $FLTS serve --host 127.0.0.1 --port "$PORT" > "$WORK/serve-$round.log" 2>&1 &
  server=$!
  for _ in $(seq 1 240); do
    curl -fs "http://127.0.0.1:$PORT$2" > /dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || { cat "$WORK/serve-$round.log" >&2; exit 1; }
    sleep 0.25
  done
  echo "flts serve did not answer $2 within a minute" >&2
  exit 1
}

config() { # config ROUND: the schemathesis.toml of a round (headers by path, so it works whatever the document declares)
  case "$1" in
    tokens | no-model)
      printf 'headers = { Authorization = "Bearer %s" }\n\n[[operations]]\ninclude-path-regex = "^/(reload_latest|prune_logs)$"\nheaders = { Authorization = "Bearer %s" }\n' "$API_TOKEN" "$ADMIN_TOKEN" ;;
    wrong) printf 'headers = { Authorization = "Bearer wrong-%s" }\n' "$API_TOKEN" ;;
    no-token) : ;;
  esac
}

status=0
printf '%-9s %5s %6s %9s %8s %7s %4s %5s %6s  %s\n' round ops cases responses failures errors 5xx leaks stacks result
for round in $ROUNDS; do
  dir="$WORK/$round"
  mkdir -p "$dir"
  config "$round" > "$dir/schemathesis.toml"
  checks=$CHECKS
  if [ "$round" = no-model ]; then
    serve "$WORK/empty-home" /healthz
    checks=$(printf '%s' "$CHECKS" | sed 's/not_a_server_error,\{0,1\}//')
    [ "$checks" = all ] && checks="all --exclude-checks not_a_server_error"
  else
    serve "$HOME_READY" /readyz
  fi
  # Run from the round's directory: schemathesis keeps a cache (.schemathesis/) in its working directory.
  # shellcheck disable=SC2086 # `checks` may carry --exclude-checks
  (cd "$dir" && "$VENV/bin/st" --config-file "$dir/schemathesis.toml" run "http://127.0.0.1:$PORT/openapi.json" \
    --checks $checks --phases examples,coverage,fuzzing,stateful --seed "$SEED" --max-examples "$MAX_EXAMPLES" \
    --workers 1 --request-timeout 10 --report har,junit --report-dir "$dir" --no-color > "$dir/schemathesis.txt" 2>&1) || true
  stop_server
  line=$(ADMIN_TOKEN="$ADMIN_TOKEN" API_TOKEN="$API_TOKEN" "$VENV/bin/python" - "$dir" "$round" <<'PY'
import glob, json, os, re, sys
import xml.etree.ElementTree as ET
directory, round_name = sys.argv[1], sys.argv[2]
text = open(os.path.join(directory, 'schemathesis.txt'), encoding='utf-8').read()
cases = re.search(r'(\d+) generated', text)
last = ([line for line in text.splitlines() if re.match(r'^=+ .* =+$', line)] or [''])[-1]
count = lambda word: int((re.search(rf'(\d+) {word}', last) or [0, 0])[1])
found, errors = count('failure'), count('error')
ops = re.search(r'Tested: (\d+)', text)
responses = server_errors = leaks = stacks = 0
secrets = [os.environ['ADMIN_TOKEN'], os.environ['API_TOKEN']]
stack = re.compile(r'\bat \S+ \(?\S+\.(?:js|ts|mjs):\d+:\d+|node:internal|\w+Error: .*\n\s+at ')
for har in glob.glob(os.path.join(directory, 'har-*.json')):
    for entry in json.load(open(har, encoding='utf-8'))['log']['entries']:
        response = entry['response']
        responses += 1
        body = response.get('content', {}).get('text') or ''
        server_errors += response['status'] >= 500 and round_name != 'no-model'
        leaks += any(secret in body for secret in secrets)
        stacks += bool(stack.search(body))
clean = found == 0 and errors == 0 and leaks == 0 and stacks == 0 and server_errors == 0 and responses > 0
print(f"{round_name:<9} {ops.group(1) if ops else '?':>5} {cases.group(1) if cases else '?':>6} {responses:>9} {found:>8} {errors:>7} {server_errors:>4} {leaks:>5} {stacks:>6}  {'ok' if clean else 'FOUND'}")
PY
)
  echo "$line"
  case "$line" in *FOUND) status=1 ;; esac
done
echo "reports and schemathesis output: $WORK (seed $SEED, $MAX_EXAMPLES examples per operation, checks $CHECKS)"
exit "$status"
