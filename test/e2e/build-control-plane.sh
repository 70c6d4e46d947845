#!/usr/bin/env bash
# Builds the real control-plane binaries used by the e2e tests (kube-apiserver,
# kubectl, etcd) from their published Go modules, into a per-machine cache
# outside the repo. Binaries already in the cache are reused, so only the first
# run on a machine pays the (multi-minute) cold build.
#
#   stdout: KUBE_APISERVER=/abs/path  KUBECTL=/abs/path  ETCD=/abs/path  (one per line)
#   stderr: progress
#
# Env: EPP_WEBHOOK_CACHE (default $HOME/.cache/epp-webhook). GOCACHE/GOMODCACHE
# are left at Go's defaults so a rebuild (e.g. after a version bump) is fast.
# See test/e2e/toolchain/README.md.
set -euo pipefail

# Single source of truth for the versions; must match the wrapper go.mod files
# (test/e2e/toolchain/kubernetes/update-gomod.sh regenerates the k8s one).
K8S_VERSION="v1.36.5"   # k8s.io/kubernetes; staging modules k8s.io/* pinned to v0.36.5
ETCD_VERSION="v3.6.16"  # go.etcd.io/etcd/server/v3 (and api/v3, client/*, pkg/v3)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLCHAIN_DIR="${SCRIPT_DIR}/toolchain"
CACHE_ROOT="${EPP_WEBHOOK_CACHE:-${HOME}/.cache/epp-webhook}"
mkdir -p "${CACHE_ROOT}/bin"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd -P)"  # absolute, so the printed paths are too
K8S_BIN_DIR="${CACHE_ROOT}/bin/k8s-${K8S_VERSION}"
ETCD_BIN_DIR="${CACHE_ROOT}/bin/etcd-${ETCD_VERSION}"

log() { printf '[build-control-plane] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH (need Go >= 1.26 to build the control plane)"

[[ "$K8S_VERSION" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "K8S_VERSION '$K8S_VERSION' is not v1.MINOR.PATCH"
K8S_MINOR="${BASH_REMATCH[1]}"
K8S_STAGING_VERSION="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

# --- version consistency checks against the wrapper go.mod files -------------
k8s_mod="${TOOLCHAIN_DIR}/kubernetes/go.mod"
etcd_mod="${TOOLCHAIN_DIR}/etcd/go.mod"
[[ -f "$k8s_mod" ]] || die "missing $k8s_mod"
[[ -f "$etcd_mod" ]] || die "missing $etcd_mod"

# Prints the required version of module $2 in go.mod $1 (require lines only).
required_version() {
  awk -v mod="$2" '
    /^replace[ \t]*\(/ { inrep = 1; next }
    inrep && /^\)/     { inrep = 0; next }
    inrep || /^replace[ \t]/ { next }
    { sub(/^require[ \t]+/, ""); if ($1 == mod) { print $2; exit } }
  ' "$1"
}

got="$(required_version "$k8s_mod" k8s.io/kubernetes)"
[[ "$got" == "$K8S_VERSION" ]] || die "version mismatch: build-control-plane.sh has K8S_VERSION=${K8S_VERSION} but ${k8s_mod} requires k8s.io/kubernetes ${got:-<nothing>}. Run test/e2e/toolchain/kubernetes/update-gomod.sh ${K8S_VERSION} (or fix K8S_VERSION)."
bad_replaces="$(grep -E '^[[:space:]]*k8s\.io/[^[:space:]]+[[:space:]]+=>' "$k8s_mod" | grep -v -E "=>[[:space:]]+k8s\.io/[^[:space:]]+[[:space:]]+${K8S_STAGING_VERSION//./\\.}[[:space:]]*$" || true)"
[[ -z "$bad_replaces" ]] || die "in ${k8s_mod}, these staging replaces are not pinned to ${K8S_STAGING_VERSION}:
${bad_replaces}
Run test/e2e/toolchain/kubernetes/update-gomod.sh ${K8S_VERSION}."
grep -q -E "=>[[:space:]]+k8s\.io/apiserver[[:space:]]+${K8S_STAGING_VERSION//./\\.}" "$k8s_mod" \
  || die "${k8s_mod} has no replace for k8s.io/apiserver => ${K8S_STAGING_VERSION}; run test/e2e/toolchain/kubernetes/update-gomod.sh ${K8S_VERSION}."

for m in go.etcd.io/etcd/server/v3 go.etcd.io/etcd/api/v3; do
  got="$(required_version "$etcd_mod" "$m")"
  [[ "$got" == "$ETCD_VERSION" ]] || die "version mismatch: build-control-plane.sh has ETCD_VERSION=${ETCD_VERSION} but ${etcd_mod} requires ${m} ${got:-<nothing>}. Edit the require in ${etcd_mod} and run 'go mod tidy' there (or fix ETCD_VERSION)."
done

# --- build helpers ----------------------------------------------------------
mkdir -p "$K8S_BIN_DIR" "$ETCD_BIN_DIR"

# Serialise concurrent runs (e.g. parallel test workers) so the second one
# waits and then finds the binaries instead of building them again.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${CACHE_ROOT}/bin/.build.lock"
  if ! flock -n 9; then
    log "another build-control-plane.sh is running; waiting for it..."
    flock 9
  fi
fi

TMP_FILES=()
cleanup() { ((${#TMP_FILES[@]})) && rm -f "${TMP_FILES[@]}"; return 0; }
trap cleanup EXIT

# Module-mode build knobs. GOWORK=off: never pick up a go.work from a parent dir.
# -mod=readonly: fail (don't silently edit go.mod/go.sum) if they are stale.
export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"

BUILD_DATE="$(date -u +'%Y-%m-%dT%H:%M:%SZ')"

# build NAME VERSION MODULE_DIR OUT PACKAGE LDFLAGS VERSION_CHECK_CMD...
build() {
  local name="$1" version="$2" moddir="$3" out="$4" pkg="$5" ldflags="$6"
  shift 6
  if [[ -x "$out" && -s "$out" ]]; then
    log "${name} ${version}: cached at ${out}"
    return 0
  fi
  local tmp="${out}.tmp.$$"
  TMP_FILES+=("$tmp")
  log "building ${name} ${version} (first run on this machine, several minutes)..."
  local start=$SECONDS
  (cd "$moddir" && go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg") \
    || die "go build of ${name} ${version} failed"
  # Sanity-check the version stamp before publishing the binary.
  local reported
  reported="$("$tmp" "$@" 2>&1)" || die "${name} ${version}: '$* ' failed: ${reported}"
  grep -q -F "${version#v}" <<<"$reported" \
    || die "${name} reports an unexpected version (wanted ${version}): ${reported}"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$out"
  log "built ${name} ${version} in $((SECONDS - start))s -> ${out}"
}

k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X ${pkg}.gitVersion=${K8S_VERSION}"
  k8s_ldflags+=" -X ${pkg}.gitMajor=1"
  k8s_ldflags+=" -X ${pkg}.gitMinor=${K8S_MINOR}"
  k8s_ldflags+=" -X ${pkg}.gitTreeState=clean"
  k8s_ldflags+=" -X ${pkg}.buildDate=${BUILD_DATE}"
done
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=go-module-${ETCD_VERSION}"

build kube-apiserver "$K8S_VERSION" "${TOOLCHAIN_DIR}/kubernetes" "${K8S_BIN_DIR}/kube-apiserver" \
  k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags" --version
build kubectl "$K8S_VERSION" "${TOOLCHAIN_DIR}/kubernetes" "${K8S_BIN_DIR}/kubectl" \
  k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags" version --client
build etcd "$ETCD_VERSION" "${TOOLCHAIN_DIR}/etcd" "${ETCD_BIN_DIR}/etcd" \
  go.etcd.io/etcd/server/v3 "$etcd_ldflags" --version

printf 'KUBE_APISERVER=%s\n' "${K8S_BIN_DIR}/kube-apiserver"
printf 'KUBECTL=%s\n' "${K8S_BIN_DIR}/kubectl"
printf 'ETCD=%s\n' "${ETCD_BIN_DIR}/etcd"
