#!/usr/bin/env bash
# Installs everything the tests and the example need on a fresh Debian bookworm machine (as root):
# the real tools the end-to-end tests run (etcd 3.4, restic 0.14, busybox as the restic image's
# shell, util-linux for unshare/setpriv, shellcheck) and the npm packages from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# prometheus: for promtool (Debian has no promtool-only package; the server is not needed)
# postgresql/mariadb: real servers and clients for the database-dump tests; the tests start their
# own servers in temp dirs (test/support/postgres.ts, mariadb.ts), the packages' services never run
debs=(etcd-server etcd-client restic busybox shellcheck util-linux openssl procps time prometheus
  postgresql postgresql-client mariadb-server mariadb-client)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Packages with services (prometheus, postgresql, mariadb-server) must not try to start them
  # here (no init system in containers; tests start what they need themselves, in temp dirs).
  tmp_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    tmp_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ -z "$tmp_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
  # The prometheus package starts a server where systemd runs; the tests only use promtool.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in prometheus postgresql mariadb; do
      $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
fi

# npm ci replaces node_modules: only when it was not installed from this very lock file (a second
# run must not pull node_modules away from under running tests).
stamp=node_modules/.setup-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
