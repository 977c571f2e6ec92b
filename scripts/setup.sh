#!/usr/bin/env bash
# Installs everything the tests and the example need on a fresh Debian bookworm machine (as root):
# the real tools the end-to-end tests run, at the versions of the images the library renders
# (etcd 3.5.16 and 3.5.30 with etcdutl, restic 0.18.0, busybox 1.37.0: see "Tool versions" below),
# util-linux for unshare/setpriv, shellcheck, and the npm packages from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# prometheus: for promtool (Debian has no promtool-only package; the server is not needed)
# postgresql/mariadb: real servers and clients for the database-dump tests; the tests start their
# own servers in temp dirs (test/support/postgres.ts, mariadb.ts), the packages' services never run
debs=(shellcheck util-linux openssl procps time prometheus
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

# Tool versions. The tests run the exact versions of the tools in the images we render, from
# Debian's newer suites (same mirror; pinned, so a new upload never changes what the tests run):
#   restic 0.18.0 (trixie): the restic of docker.io/restic/restic:0.18.0, installed
#   busybox-static 1.37.0 (trixie): Alpine 3.22's busybox, the restic image's shell, installed
#     (Debian's dynamic busybox 1.37 needs glibc 2.38; the static one runs on bookworm)
#   etcd-server/etcd-client 3.5.16 (trixie) and 3.5.30 (sid): etcd, etcdctl and etcdutl, unpacked
#     into $TOOLS_DIR/etcd-<version>/usr/bin (test/support/tools.ts), not installed: their
#     postinst needs a newer systemd-sysusers than bookworm's, and the tests start etcd themselves
# restic and busybox-static depend on nothing bookworm lacks (libc6 >= 2.34). A private apt list
# keeps the system's sources bookworm only.
PINNED=(restic=0.18.0-1+b4 busybox-static=1:1.37.0-6+b9)
EXTRACTED=(etcd-server=3.5.16-4 etcd-client=3.5.16-4 etcd-server=3.5.30-2 etcd-client=3.5.30-2)
TOOLS_DIR=/opt/cdk8s-backup-tools
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_newer() {
  local dir=/var/cache/cdk8s-backup-apt
  if [ ! -f "$dir/sources.list" ]; then
    $SUDO mkdir -p "$dir/lists/partial" "$dir/archives/partial"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' trixie sid \
      | $SUDO tee "$dir/sources.list.new" >/dev/null
    $SUDO mv "$dir/sources.list.new" "$dir/sources.list"
  fi
  $SUDO apt-get -qq -o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache::archives="$dir/archives" -o APT::Sandbox::User=root "$@"
}
# The .deb of package=version, as apt-get download names it (an epoch's ':' becomes %3a).
deb_of() { local v=${1#*=}; echo "${1%%=*}_${v/:/%3a}_amd64.deb"; }
pinned_missing=()
for pv in "${PINNED[@]}"; do
  [ "$(dpkg-query -W -f='${Version}' "${pv%%=*}" 2>/dev/null || true)" = "${pv#*=}" ] || pinned_missing+=("$pv")
done
extracted_missing=()
for pv in "${EXTRACTED[@]}"; do
  [ -f "$TOOLS_DIR/.${pv%%=*}-${pv#*=}.done" ] || extracted_missing+=("$pv")
done
if [ ${#pinned_missing[@]} -gt 0 ] || [ ${#extracted_missing[@]} -gt 0 ]; then
  apt_newer update
  work=$(mktemp -d)
  chmod 755 "$work"
  (cd "$work" && apt_newer download "${pinned_missing[@]}" "${extracted_missing[@]}")
  if [ ${#pinned_missing[@]} -gt 0 ]; then
    debs_pinned=()
    for pv in "${pinned_missing[@]}"; do debs_pinned+=("$work/$(deb_of "$pv")"); done
    # bookworm's busybox (1.35) gives way to busybox-static (Conflicts/Replaces: busybox)
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends --allow-downgrades "${debs_pinned[@]}"
  fi
  for pv in "${extracted_missing[@]}"; do
    v=${pv#*=}
    dest="$TOOLS_DIR/etcd-${v%%-*}"
    $SUDO mkdir -p "$dest"
    $SUDO dpkg-deb -x "$work/$(deb_of "$pv")" "$dest"
    $SUDO touch "$TOOLS_DIR/.${pv%%=*}-${pv#*=}.done"
  done
  rm -rf "$work"
fi
for pv in "${PINNED[@]}"; do
  got=$(dpkg-query -W -f='${Version}' "${pv%%=*}")
  [ "$got" = "${pv#*=}" ] || { echo "setup: ${pv%%=*} is $got, the tests need ${pv#*=}" >&2; exit 1; }
done
for v in 3.5.16 3.5.30; do
  for b in etcd etcdctl etcdutl; do
    # grep without -q reads all of it: -q would exit first and, under pipefail, fail the pipe.
    "$TOOLS_DIR/etcd-$v/usr/bin/$b" --version 2>/dev/null | grep "$v" >/dev/null \
      || "$TOOLS_DIR/etcd-$v/usr/bin/$b" version | grep "$v" >/dev/null \
      || { echo "setup: $TOOLS_DIR/etcd-$v/usr/bin/$b is not etcd $v" >&2; exit 1; }
  done
done

# npm ci replaces node_modules: only when it was not installed from this very lock file (a second
# run must not pull node_modules away from under running tests).
stamp=node_modules/.setup-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
