#!/usr/bin/env bash
# Builds the Istio oracle (test/oracle/istio: istiod's own EnvoyFilter validation and translation code)
# into the per-machine cache beside the control-plane binaries. The binary's directory is named after the
# Istio version and a hash of the oracle's sources, so an edit rebuilds and an unchanged tree reuses.
#
#   stdout: ISTIO_ORACLE=/abs/path
#   stderr: progress
# Env: EPP_WEBHOOK_CACHE (default $HOME/.cache/epp-webhook).
set -euo pipefail

ISTIO_VERSION="v0.0.0-20260827124520-eed52ebb66ad"  # istio.io/istio; must match istio/go.mod

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD_DIR="${SCRIPT_DIR}/istio"
CACHE_ROOT="${EPP_WEBHOOK_CACHE:-${HOME}/.cache/epp-webhook}"
mkdir -p "${CACHE_ROOT}/bin"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd -P)"

log() { printf '[build-istio-oracle] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH (need Go >= 1.26 to build the Istio oracle)"
got="$(awk '$1 == "require" && $2 == "istio.io/istio" { print $3 } $1 == "istio.io/istio" { print $2 }' "${MOD_DIR}/go.mod" | head -n1)"
[[ "$got" == "$ISTIO_VERSION" ]] || die "version mismatch: ISTIO_VERSION=${ISTIO_VERSION} but ${MOD_DIR}/go.mod requires istio.io/istio ${got:-<nothing>}"

sources_hash="$(cat "${MOD_DIR}/go.mod" "${MOD_DIR}/go.sum" "${MOD_DIR}"/*.go | sha256sum | cut -c1-12)"
out_dir="${CACHE_ROOT}/bin/istio-oracle-${ISTIO_VERSION##*-}-${sources_hash}"
out="${out_dir}/istio-oracle"

if [[ -x "$out" ]]; then
  log "istio oracle: cached at ${out}"
else
  mkdir -p "$out_dir"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"${out_dir}/.build.lock"
    flock 9
  fi
  if [[ ! -x "$out" ]]; then
    log "building the istio oracle against istio.io/istio ${ISTIO_VERSION} (first run on this machine: a few minutes)..."
    start=$SECONDS
    tmp="${out}.tmp.$$"
    (cd "$MOD_DIR" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$tmp" .) \
      || { rm -f "$tmp"; die "go build of the istio oracle failed"; }
    echo '' | "$tmp" >/dev/null || { rm -f "$tmp"; die "the istio oracle does not run"; }
    mv -f "$tmp" "$out"
    log "built the istio oracle in $((SECONDS - start))s -> ${out}"
  fi
fi
printf 'ISTIO_ORACLE=%s\n' "$out"
