#!/usr/bin/env bash
# Builds the real helm CLI used by the chart tests and `npm run cluster` from its
# published Go module, into the same per-machine cache as kubectl. A cached
# binary is reused, so only the first run on a machine pays the cold build.
#
#   stdout: HELM=/abs/path
#   stderr: progress
#
# Env: EPP_WEBHOOK_CACHE (default $HOME/.cache/epp-webhook). See test/e2e/toolchain/README.md.
set -euo pipefail

# Single source of truth for the version; must match toolchain/helm/go.mod.
HELM_VERSION="v4.3.2"   # helm.sh/helm/v4, cmd/helm

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HELM_MOD_DIR="${SCRIPT_DIR}/toolchain/helm"
CACHE_ROOT="${EPP_WEBHOOK_CACHE:-${HOME}/.cache/epp-webhook}"
mkdir -p "${CACHE_ROOT}/bin"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd -P)"
HELM_BIN_DIR="${CACHE_ROOT}/bin/helm-${HELM_VERSION}"
OUT="${HELM_BIN_DIR}/helm"

log() { printf '[build-helm] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

got="$(awk '$1 == "require" && $2 == "helm.sh/helm/v4" { print $3 }' "${HELM_MOD_DIR}/go.mod")"
[[ "$got" == "$HELM_VERSION" ]] || die "version mismatch: build-helm.sh has HELM_VERSION=${HELM_VERSION} but ${HELM_MOD_DIR}/go.mod requires helm.sh/helm/v4 ${got:-<nothing>}. Edit the require there and run 'go mod tidy' (or fix HELM_VERSION)."

if [[ -x "$OUT" && -s "$OUT" ]]; then
  log "helm ${HELM_VERSION}: cached at ${OUT}"
  printf 'HELM=%s\n' "$OUT"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH (need Go >= 1.26 to build helm)"
mkdir -p "$HELM_BIN_DIR"

# Serialise concurrent runs so the second waits and then finds the binary.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${HELM_BIN_DIR}/.build.lock"
  if ! flock -n 9; then
    log "another build-helm.sh is running; waiting for it..."
    flock 9
  fi
  if [[ -x "$OUT" && -s "$OUT" ]]; then
    printf 'HELM=%s\n' "$OUT"
    exit 0
  fi
fi

tmp="${OUT}.tmp.$$"
trap 'rm -f "$tmp"' EXIT
export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"

# The same stamp helm's own Makefile sets for a tagged release build (gitCommit is
# unknown from a module zip and stays empty).
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}"
ldflags+=" -X helm.sh/helm/v4/internal/version.metadata="
ldflags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"

log "building helm ${HELM_VERSION} (first run on this machine, a few minutes)..."
start=$SECONDS
(cd "$HELM_MOD_DIR" && go build -trimpath -ldflags "$ldflags" -o "$tmp" helm.sh/helm/v4/cmd/helm) \
  || die "go build of helm ${HELM_VERSION} failed"
reported="$("$tmp" version --short 2>&1)" || die "helm ${HELM_VERSION}: 'version --short' failed: ${reported}"
[[ "$reported" == "${HELM_VERSION}"* ]] || die "helm reports an unexpected version (wanted ${HELM_VERSION}): ${reported}"
chmod 0755 "$tmp"
mv -f "$tmp" "$OUT"
log "built helm ${HELM_VERSION} in $((SECONDS - start))s -> ${OUT}"
printf 'HELM=%s\n' "$OUT"
