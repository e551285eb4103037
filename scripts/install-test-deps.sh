#!/usr/bin/env bash
# Install what the test suite needs on a fresh Debian/Ubuntu machine (idempotent, quiet when
# everything is already there): tmux, PostgreSQL 15 server binaries, Redis + Sentinel, moto,
# libfaketime.
set -euo pipefail

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need_apt+=(redis-sentinel)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15 postgresql-client-15)
command -v runuser >/dev/null 2>&1 || need_apt+=(util-linux)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)   # the control plane's certificates (tests/support/control_plane)
command -v flock >/dev/null 2>&1 || need_apt+=(util-linux)
command -v strace >/dev/null 2>&1 || need_apt+=(strace)   # the fsync-before-return check of the incident log
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || need_apt+=(faketime)   # wall-clock steps (tests/fault_clock.rs)
command -v knotd >/dev/null 2>&1 || need_apt+=(knot)   # authoritative DNS for the DNS verification (tests/dns_*.rs)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Debian starts the packaged services on install on some machines: the tests start their own.
for svc in redis-server redis-sentinel postgresql knot; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
done

if ! command -v moto_server >/dev/null 2>&1 && ! python3 -c 'import moto.server' >/dev/null 2>&1; then
  echo "install-test-deps: pip install moto[server]"
  python3 -m pip install -q 'moto[server]'
fi

if ! command -v kubectl >/dev/null 2>&1; then
  echo "install-test-deps: kubectl is missing; the Kubernetes fidelity tests need the real client" >&2
  exit 1
fi
echo "install-test-deps: tmux $(tmux -V | cut -d' ' -f2), $(redis-server --version | cut -d' ' -f3), postgres $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), kubectl ok"
