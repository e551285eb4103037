#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs and starts what the tests need (the tests
# start their own PostgreSQL, Redis/Sentinel, moto, etcd + kube-apiserver + kube-controller-manager
# and Kubernetes test servers on loopback),
# then checks formatting and lints and runs every test and a quick pass of the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
# One full build: incremental compilation would only take disk (CI machines have little).
export CARGO_INCREMENTAL=0

scripts/install-test-deps.sh
# The real Kubernetes control plane (kube-apiserver, kube-controller-manager, etcd), built from
# the Go modules pinned in tests/control-plane/ once per version and cached (~7 min the first time).
scripts/build-control-plane.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked --no-fail-fast
