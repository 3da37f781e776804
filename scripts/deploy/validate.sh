#!/usr/bin/env bash
# Validates the deployment artifacts without a cluster or a Docker engine:
#   1. helm lint --strict           charts/flts with values-dev.yaml, values-prod.yaml and ci/platform-values.yaml
#                                   (every option the other two leave out: IRSA, SASL over TLS, gRPC, network policies),
#                                   each checked against values.schema.json first, as helm install and template do
#   2. helm template                the same three profiles, rendered to $OUT_DIR/<profile>-<version>.yaml
#   3. kubeconform -strict          the rendered manifests against the Kubernetes JSON schemas of each
#                                   version in K8S_SCHEMA_VERSIONS (schemas unpacked by install-tools.sh)
#   4. docker-compose config        compose/docker-compose.yml
#   5. hadolint                     Dockerfile
#   6. haproxy -c                   compose/haproxy/haproxy.cfg
#   7. promtool check rules         the alerting rules of compose/prometheus/rules and charts/flts/rules
#   8. line endings                 no CRLF or BOM in the deployment files (a CRLF breaks `sh -c` scripts)
# Tools come from scripts/deploy/install-tools.sh (run it first, or pass --install).
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TOOLS_DIR="${FLTS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flts-tools}"
BIN_DIR="$TOOLS_DIR/bin"
SCHEMA_DIR="$TOOLS_DIR/kubernetes-json-schema"
K8S_SCHEMA_VERSIONS="${K8S_SCHEMA_VERSIONS:-1.25.0 1.36.0}"
# Rendered manifests and tool logs; kept only when OUT_DIR is given.
if [ -n "${OUT_DIR:-}" ]; then
  mkdir -p "$OUT_DIR"
else
  OUT_DIR="$(mktemp -d)"
  trap 'rm -rf "$OUT_DIR"' EXIT
fi
CHART="$ROOT/charts/flts"

if [ "${1:-}" = "--install" ]; then
  "$ROOT/scripts/deploy/install-tools.sh" >/dev/null || exit 1
fi

HELM="$BIN_DIR/helm"
KUBECONFORM="$BIN_DIR/kubeconform"
PROMTOOL="$BIN_DIR/promtool"
HADOLINT="$BIN_DIR/hadolint"
failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

for tool in "$HELM" "$KUBECONFORM" "$PROMTOOL"; do
  [ -x "$tool" ] || { echo "missing $tool: run scripts/deploy/install-tools.sh" >&2; exit 1; }
done
newest_k8s="${K8S_SCHEMA_VERSIONS##* }"

profile_values() {
  case "$1" in
    platform) echo "$CHART/ci/platform-values.yaml" ;;
    *) echo "$CHART/values-$1.yaml" ;;
  esac
}

for profile in dev prod platform; do
  values="$(profile_values "$profile")"
  if "$HELM" lint "$CHART" --strict -f "$values" --kube-version "$newest_k8s" >"$OUT_DIR/lint-$profile.log" 2>&1; then
    pass "helm lint --strict ($profile)"
  else
    fail "helm lint --strict ($profile)"; cat "$OUT_DIR/lint-$profile.log"
  fi
  for version in $K8S_SCHEMA_VERSIONS; do
    rendered="$OUT_DIR/$profile-$version.yaml"
    if ! "$HELM" template flts "$CHART" -f "$values" --kube-version "$version" >"$rendered" 2>"$OUT_DIR/template-$profile.err"; then
      fail "helm template ($profile, Kubernetes $version)"; cat "$OUT_DIR/template-$profile.err"
      continue
    fi
    pass "helm template ($profile, Kubernetes $version): $(grep -c '^kind:' "$rendered") objects"
    # ServiceMonitor and PrometheusRule are Prometheus Operator CRDs: no schema ships with Kubernetes, so they are
    # skipped by name instead of letting unknown kinds pass silently (-ignore-missing-schemas is not used).
    if "$KUBECONFORM" -strict -summary -output text \
        -kubernetes-version "$version" \
        -schema-location "$SCHEMA_DIR/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        -skip ServiceMonitor,PrometheusRule \
        "$rendered" >"$OUT_DIR/kubeconform-$profile-$version.log" 2>&1; then
      pass "kubeconform -strict ($profile, Kubernetes $version): $(tail -n 1 "$OUT_DIR/kubeconform-$profile-$version.log")"
    else
      fail "kubeconform -strict ($profile, Kubernetes $version)"; cat "$OUT_DIR/kubeconform-$profile-$version.log"
    fi
  done
done

if command -v docker-compose >/dev/null 2>&1; then
  if (cd "$ROOT/compose" && docker-compose -f docker-compose.yml config -q) >"$OUT_DIR/compose.log" 2>&1; then
    pass "docker-compose config ($(docker-compose version --short))"
  else
    fail "docker-compose config"; cat "$OUT_DIR/compose.log"
  fi
else
  fail "docker-compose config: docker-compose not installed"
fi

if [ -x "$HADOLINT" ]; then
  if "$HADOLINT" --no-color "$ROOT/Dockerfile" >"$OUT_DIR/hadolint.log" 2>&1; then
    pass "hadolint Dockerfile"
  else
    fail "hadolint Dockerfile"; cat "$OUT_DIR/hadolint.log"
  fi
else
  echo "SKIP hadolint Dockerfile: no hadolint binary for this platform"
fi

HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
if [ -x "$HAPROXY" ]; then
  # Replica addresses resolve only inside the compose network; unresolved names are warnings, not errors.
  if "$HAPROXY" -c -q -f "$ROOT/compose/haproxy/haproxy.cfg" >"$OUT_DIR/haproxy.log" 2>&1; then
    pass "haproxy -c compose/haproxy/haproxy.cfg ($("$HAPROXY" -v | awk 'NR == 1 { print $3 }'))"
  else
    fail "haproxy -c compose/haproxy/haproxy.cfg"; cat "$OUT_DIR/haproxy.log"
  fi
else
  fail "haproxy -c: haproxy not installed"
fi

rule_files=("$ROOT"/compose/prometheus/rules/*.yaml "$CHART"/rules/*.yaml)
if "$PROMTOOL" check rules "${rule_files[@]}" >"$OUT_DIR/promtool.log" 2>&1; then
  pass "promtool check rules ($("$PROMTOOL" --version | awk 'NR == 1 { print $3 }')): $(grep -c SUCCESS "$OUT_DIR/promtool.log") files"
else
  fail "promtool check rules"; cat "$OUT_DIR/promtool.log"
fi

bad_endings=$(cd "$ROOT" && grep -rlI --exclude-dir=datasets $'\r' Dockerfile .dockerignore compose charts scripts/deploy 2>/dev/null; \
  cd "$ROOT" && grep -rlI --exclude-dir=datasets $'^\xEF\xBB\xBF' Dockerfile .dockerignore compose charts scripts/deploy 2>/dev/null)
if [ -z "$bad_endings" ]; then
  pass "line endings (no CRLF, no BOM)"
else
  fail "line endings: $bad_endings"
fi

echo "$failures check(s) failed"
[ "$failures" -eq 0 ]
