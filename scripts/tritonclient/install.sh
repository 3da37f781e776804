#!/usr/bin/env bash
# Installs tritonclient (HTTP and gRPC), the Open Inference Protocol client the serve tests drive flts with,
# from PyPI into a cached venv outside the work tree. Prints the venv's python on stdout.
set -euo pipefail
version="${FLTS_TRITONCLIENT_VERSION:-2.73.0}"
venv="${FLTS_TRITONCLIENT_VENV:-$HOME/.cache/flts-tritonclient/venv}"
bash "$(dirname "$0")/../python/venv.sh" "$venv" "$version" "tritonclient[http,grpc]==$version" >&2
echo "$venv/bin/python"
