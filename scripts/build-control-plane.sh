#!/usr/bin/env bash
# Build the real Kubernetes control plane the tests run (kube-apiserver, kube-controller-manager
# and etcd) from the Go modules pinned in tests/control-plane/*/go.mod, once per version: the
# binaries are cached in $WARROOM_CONTROL_PLANE_CACHE (default ~/.cache/warroom/control-plane)
# under a directory named by the versions, so a later run starts at once. Prints that directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
k8s_mod="$root/tests/control-plane/kubernetes"
etcd_mod="$root/tests/control-plane/etcd"

k8s_version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$k8s_mod/go.mod")
etcd_version=$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" {print $3}' "$etcd_mod/go.mod")
[ -n "$k8s_version" ] && [ -n "$etcd_version" ] || { echo "build-control-plane: cannot read the versions from go.mod" >&2; exit 1; }

cache="${WARROOM_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/warroom/control-plane}"
dir="$cache/kubernetes-$k8s_version-etcd-$etcd_version"
if [ -f "$dir/complete" ]; then
  echo "$dir"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; else
    echo "build-control-plane: Go is missing (install Go 1.26 or newer)" >&2; exit 1
  fi
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$dir/complete" ]; then echo "$dir"; exit 0; fi   # another run built it while we waited

start=$(date +%s)
tmp="$dir.tmp"
rm -rf "$tmp" && mkdir -p "$tmp"
minor=${k8s_version#v1.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
echo "build-control-plane: building kube-apiserver and kube-controller-manager $k8s_version, etcd $etcd_version (first time only, several minutes)" >&2
(cd "$k8s_mod" && go build -trimpath -ldflags "$ldflags" -o "$tmp/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager) >&2
(cd "$etcd_mod" && go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" .) >&2
touch "$tmp/complete"
rm -rf "$dir" && mv "$tmp" "$dir"
echo "build-control-plane: built in $(( $(date +%s) - start )) s" >&2
echo "$dir"
