#!/usr/bin/env bash
# Servers kept up between test runs while iterating. `npm test` reuses them when they answer (its global setup,
# test/setup/test-servers.ts, otherwise starts and stops servers of its own on every run).
#   npm run dev:infra          Kafka + S3Proxy (state in .infra/), the Kafka with TLS and SASL listeners
#                              (.infra/kafka-secure/), MLflow (.mlflow/), the deployment tools
#   npm run dev:infra:down     stops the Kafkas, S3Proxy and MLflow and deletes their state
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  up)
    bash scripts/deploy/install-tools.sh >/dev/null &
    tools=$!
    bash scripts/mlflow/up.sh >/dev/null &
    mlflow=$!
    bash scripts/infra/infra.sh up >/dev/null
    bash scripts/infra/infra.sh start kafka-secure >/dev/null
    wait "$mlflow"
    wait "$tools"
    echo "Kafka + S3:     $(grep -Ev 'USER|PASSWORD' .infra/env | paste -sd ' ')"
    echo "Kafka TLS/SASL: $(grep -E 'SERVERS' .infra/kafka-secure/env | paste -sd ' ')"
    echo "MLflow:         $(cat .mlflow/uri)"
    echo "stop them with: npm run dev:infra:down"
    ;;
  down)
    bash scripts/infra/infra.sh down
    bash scripts/mlflow/down.sh
    # up.sh starts from an empty state directory anyway; down.sh alone keeps it (for a look at the runs).
    rm -rf .mlflow
    ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac
