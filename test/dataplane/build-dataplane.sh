#!/usr/bin/env bash
# Builds the real data-plane parts the data-plane tests run, from their published Go modules, into the
# per-machine cache beside the control plane (test/e2e/build-control-plane.sh); reused when cached:
#   - the Endpoint Picker: sigs.k8s.io/gateway-api-inference-extension cmd/epp
#   - istiod: istio.io/istio pilot/cmd/pilot-discovery
# and installs Envoy (scripts/install-envoy.sh).
#
#   stdout: EPP=  PILOT_DISCOVERY=  ENVOY=  GATEWAY_API_CRDS=<dir>  ISTIO_CRDS=<file>  (absolute paths, one per line)
#   stderr: progress
set -euo pipefail

# Single source of truth for the versions; must match the wrapper go.mod files under toolchain/.
GAIE_VERSION="v1.5.0"                                    # sigs.k8s.io/gateway-api-inference-extension
ISTIO_VERSION="v0.0.0-20260827124520-eed52ebb66ad"       # istio.io/istio

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${SCRIPT_DIR}/../.." && pwd)"
TOOLCHAIN_DIR="${SCRIPT_DIR}/toolchain"
CACHE_ROOT="${EPP_WEBHOOK_CACHE:-${HOME}/.cache/epp-webhook}"
mkdir -p "${CACHE_ROOT}/bin"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd -P)"
EPP_OUT="${CACHE_ROOT}/bin/epp-${GAIE_VERSION}/epp"
PILOT_OUT="${CACHE_ROOT}/bin/istio-${ISTIO_VERSION}/pilot-discovery"

log() { printf '[build-dataplane] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH (need Go >= 1.26)"

required() { awk -v mod="$2" '{ sub(/^require[ \t]+/, ""); if ($1 == mod) { print $2; exit } }' "$1"; }
got="$(required "${TOOLCHAIN_DIR}/epp/go.mod" sigs.k8s.io/gateway-api-inference-extension)"
[[ "$got" == "$GAIE_VERSION" ]] || die "toolchain/epp/go.mod requires gateway-api-inference-extension ${got:-<nothing>}, this script pins ${GAIE_VERSION}"
got="$(required "${TOOLCHAIN_DIR}/istio/go.mod" istio.io/istio)"
[[ "$got" == "$ISTIO_VERSION" ]] || die "toolchain/istio/go.mod requires istio.io/istio ${got:-<nothing>}, this script pins ${ISTIO_VERSION}"

mkdir -p "$(dirname "$EPP_OUT")" "$(dirname "$PILOT_OUT")"
if command -v flock >/dev/null 2>&1; then
  exec 9>"${CACHE_ROOT}/bin/.build-dataplane.lock"
  flock -n 9 || { log "another build-dataplane.sh is running; waiting for it..."; flock 9; }
fi

export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"

# build NAME MODULE_DIR OUT VERSION_CHECK_ARGS...
build() {
  local name="$1" moddir="$2" out="$3"
  shift 3
  if [[ -x "$out" && -s "$out" ]]; then
    log "${name}: cached at ${out}"
    return 0
  fi
  local tmp="${out}.tmp.$$" start=$SECONDS
  log "building ${name} (first run on this machine, minutes)..."
  (cd "$moddir" && go build -trimpath -ldflags "-s -w" -o "$tmp" .) || { rm -f "$tmp"; die "go build of ${name} failed"; }
  "$tmp" "$@" >/dev/null 2>&1 || { rm -f "$tmp"; die "${name}: '$*' failed"; }
  mv -f "$tmp" "$out"
  log "built ${name} in $((SECONDS - start))s -> ${out}"
}

build "epp ${GAIE_VERSION}" "${TOOLCHAIN_DIR}/epp" "$EPP_OUT" --help
build "pilot-discovery ${ISTIO_VERSION}" "${TOOLCHAIN_DIR}/istio" "$PILOT_OUT" version

# The Gateway API CRDs of the release this Istio is built against (its go.mod pins sigs.k8s.io/gateway-api).
crds="$(cd "${TOOLCHAIN_DIR}/istio" && go mod download -json sigs.k8s.io/gateway-api | awk -F'"' '$2 == "Dir" { print $4 }')"
[[ -d "${crds}/config/crd/standard" ]] || die "no Gateway API CRDs under ${crds}"

# Istio's own CRDs (the harness installs WorkloadEntry from them).
istio_dir="$(cd "${TOOLCHAIN_DIR}/istio" && go mod download -json istio.io/istio | awk -F'"' '$2 == "Dir" { print $4 }')"
istio_crds="${istio_dir}/manifests/charts/base/files/crd-all.gen.yaml"
[[ -f "$istio_crds" ]] || die "no Istio CRDs at ${istio_crds}"

envoy="$(bash "${ROOT}/scripts/install-envoy.sh")"
printf 'EPP=%s\n' "$EPP_OUT"
printf 'PILOT_DISCOVERY=%s\n' "$PILOT_OUT"
printf '%s\n' "$envoy"
printf 'GATEWAY_API_CRDS=%s\n' "${crds}/config/crd/standard"
printf 'ISTIO_CRDS=%s\n' "$istio_crds"
