#!/usr/bin/env bash
# Installs everything the tests and the example need on a fresh Debian bookworm machine (as root):
# the real tools the end-to-end tests run, at the versions of the images the library renders
# (etcd 3.5.16 and 3.5.30 with etcdutl, restic 0.18.0, busybox 1.37.0: see "Tool versions" below),
# util-linux for unshare/setpriv, shellcheck, and the npm packages from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# prometheus: for promtool (Debian has no promtool-only package; the server is not needed)
# debootstrap: the database images' root file systems (see "Databases" below); bookworm's own
# PostgreSQL 15 and MariaDB 10.11 are older than the images and no longer used
# rclone: bookworm's 1.60.1, checked below; the runbook's "Backups deleted or overwritten" copies
# S3 object versions with it (version_at and --s3-versions need rclone >= 1.59)
debs=(shellcheck util-linux openssl procps time prometheus debootstrap rclone)
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
# Servers that refuse deletes, for backup keys that cannot delete backups (test/support/moto.ts,
# test/support/rest-server.ts):
#   python3-moto 5.1.1 (trixie): moto's S3 server with IAM enforced (INITIAL_NO_AUTH_ACTION_COUNT):
#     SigV4-checked requests and IAM user policies, Object Lock and versioning; run as
#     /usr/bin/python3 /usr/bin/moto_server. Installed; pure Python (Architecture: all), it runs on
#     bookworm's python3 3.11 with bookworm's boto3, botocore, flask, werkzeug, responses, antlr4 ...
#     (its Depends, resolved from bookworm by apt). Not moto from pip: 5.2 breaks restic's prefixed
#     listings (moto#5948).
#   python3-flask-cors 6.0.1 (trixie): moto_server imports flask_cors at start but the package does
#     not declare it (bookworm has no python3-flask-cors). Installed.
#   restic-rest-server 0.13.0 (trixie): restic's REST server (--append-only refuses deletes), a
#     static Go binary, unpacked into $TOOLS_DIR/rest-server-0.13.0/usr/bin (test/support/tools.ts),
#     not installed: its postinst adds a system user and its unit would start a server.
# restic and busybox-static depend on nothing bookworm lacks (libc6 >= 2.34). A private apt list
# keeps the system's sources bookworm only.
PINNED=(restic=0.18.0-1+b4 busybox-static=1:1.37.0-6+b9 python3-moto=5.1.1-4 python3-flask-cors=6.0.1-1)
EXTRACTED=(etcd-server=3.5.16-4 etcd-client=3.5.16-4 etcd-server=3.5.30-2 etcd-client=3.5.30-2
  restic-rest-server=0.13.0-2)
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
# The .deb of package=version in $work, as apt-get download names it (an epoch's ':' becomes %3a;
# amd64 or all).
deb_of() {
  local v=${1#*=} f
  for f in "$work/${1%%=*}_${v/:/%3a}"_{amd64,all}.deb; do
    [ ! -f "$f" ] || { echo "$f"; return; }
  done
  echo "setup: apt-get download gave no .deb for $1" >&2
  exit 1
}
# Where an EXTRACTED package=version is unpacked: etcd-<upstream version> for both etcd packages,
# rest-server-<upstream version> for restic-rest-server.
extract_dir() {
  local v=${1#*=} name=${1%%=*}
  case $name in etcd-*) name=etcd ;; restic-rest-server) name=rest-server ;; esac
  echo "$TOOLS_DIR/$name-${v%%-*}"
}
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
    for pv in "${pinned_missing[@]}"; do debs_pinned+=("$(deb_of "$pv")"); done
    # The .debs' own dependencies (python3-moto's) come from bookworm: its lists must be current.
    $SUDO apt-get update -qq
    # bookworm's busybox (1.35) gives way to busybox-static (Conflicts/Replaces: busybox)
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends --allow-downgrades "${debs_pinned[@]}"
  fi
  for pv in "${extracted_missing[@]}"; do
    dest=$(extract_dir "$pv")
    $SUDO mkdir -p "$dest"
    $SUDO dpkg-deb -x "$(deb_of "$pv")" "$dest"
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
# moto_server must start on the system python (not a pyenv one), with flask_cors, as moto 5.1.1.
env -i PATH=/usr/bin:/bin /usr/bin/python3 -c 'import moto, moto.server, flask_cors; print(moto.__version__)' 2>&1 \
  | grep -x '5.1.1' >/dev/null \
  || { echo "setup: /usr/bin/python3 cannot import moto 5.1.1 with moto.server and flask_cors" >&2; exit 1; }
"$TOOLS_DIR/rest-server-0.13.0/usr/bin/restic-rest-server" --version 2>&1 | grep '0\.13\.0' >/dev/null \
  || { echo "setup: $TOOLS_DIR/rest-server-0.13.0/usr/bin/restic-rest-server is not rest-server 0.13.0" >&2; exit 1; }
# The rclone the runbook test runs (test/e2e/delete-protection.e2e.test.ts): bookworm's 1.60.1.
rclone version 2>&1 | grep '^rclone v1\.60\.1' >/dev/null \
  || { echo "setup: rclone is not bookworm's 1.60.1 (the runbook's version_at copy needs >= 1.59)" >&2; exit 1; }

# npm ci replaces node_modules: only when it was not installed from this very lock file (a second
# run must not pull node_modules away from under running tests).
stamp=node_modules/.setup-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

# Databases (DatabaseDumpBackup tests). The default images carry PostgreSQL 18 (postgres:18.x-trixie)
# and MariaDB 11.8; pg_dump refuses servers newer than itself, so the tests must run the images'
# versions, not bookworm's 15 and 10.11. Those builds need glibc >= 2.41 and libraries bookworm lacks,
# so each image gets a root file system of its own: a minimal Debian trixie (debootstrap minbase)
# with the database packages installed by apt inside it, pinned; the pod runner uses it read-only as
# the image's root (ImageProfile.rootfs); the test harness runs its servers and clients with the
# root's /usr and /etc mounted over the host's (test/support/images.ts rootProgram()).
#   postgres-18:  postgresql-18 18.6-3 (only in sid; with the sid libraries it needs: glibc 2.43,
#                 libicu78), the postgres image's layout: /usr/lib/postgresql/18/bin, uid/gid 999
#   postgres-17:  postgresql-17 17.12 (trixie): an older server for the 18 client to dump
#   mariadb-11.8: mariadb-server/mariadb-client 11.8.9 (trixie), uid/gid 999 mysql
# The users are made before the packages so that they get the images' uid 999. The packages'
# own clusters are never created (createcluster.conf) and no service starts (policy-rc.d).
# A root is built as <name>.new and renamed when complete; its .setup-spec file names what it
# holds (DB_LAYOUT counts changes to the steps below: bump it to rebuild), so a second run only
# compares that file.
DB_ROOTS=$TOOLS_DIR/rootfs
DB_LAYOUT=1
DB_MIRROR=http://deb.debian.org/debian
DB_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
declare -A DB_ROOT_PACKAGES=(
  [postgres-18]="sid:postgresql-18=18.6-3 postgresql-client-18=18.6-3"
  [postgres-17]="trixie:postgresql-17=17.12-0+deb13u1 postgresql-client-17=17.12-0+deb13u1"
  [mariadb-11.8]="trixie:mariadb-server=1:11.8.9+ds-0+deb13u1 mariadb-client=1:11.8.9+ds-0+deb13u1"
)
# What the root must answer once built (a binary of the pinned version).
declare -A DB_ROOT_CHECK=(
  [postgres-18]="/usr/lib/postgresql/18/bin/pg_dump --version|pg_dump (PostgreSQL) 18.6"
  [postgres-17]="/usr/lib/postgresql/17/bin/postgres --version|postgres (PostgreSQL) 17.12"
  [mariadb-11.8]="/usr/sbin/mariadbd --version|11.8.9-MariaDB"
)
# chroot with /proc and /dev in a private mount namespace: nothing stays mounted afterwards
db_chroot() {
  local root=$1; shift
  # shellcheck disable=SC2016 # expanded by the inner sh
  $SUDO unshare --mount --propagation private -- sh -c \
    'r=$1; shift; mount -t proc proc "$r/proc" && mount --bind /dev "$r/dev" && exec chroot "$r" "$@"' \
    sh "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
db_build_root() {
  local name=$1 suite=${2%%:*} pkgs=${2#*:} root="$DB_ROOTS/$1.new" base="$DB_ROOTS/.trixie-base"
  if [ ! -f "$base/.setup-done" ]; then
    $SUDO rm -rf "$base"
    $SUDO mkdir -p "$DB_ROOTS"
    $SUDO debootstrap --variant=minbase --keyring="$DB_KEYRING" trixie "$base" "$DB_MIRROR" >/dev/null
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$base/usr/sbin/policy-rc.d" >/dev/null
    $SUDO chmod 755 "$base/usr/sbin/policy-rc.d"
    $SUDO mkdir -p "$base/etc/postgresql-common"
    echo 'create_main_cluster = false' | $SUDO tee "$base/etc/postgresql-common/createcluster.conf" >/dev/null
    printf 'deb [signed-by=%s] %s trixie main\ndeb [signed-by=%s] %s sid main\n' "$DB_KEYRING" "$DB_MIRROR" "$DB_KEYRING" "$DB_MIRROR" \
      | $SUDO tee "$base/etc/apt/sources.list" >/dev/null
    # sid only where asked for (apt-get -t sid): trixie stays the default release. The mirror may
    # serve sid's Release past its Valid-Until (seen here: a mirror frozen for a month); the
    # signatures are still checked.
    printf 'APT::Default-Release "trixie";\nAcquire::Check-Valid-Until "false";\n' \
      | $SUDO tee "$base/etc/apt/apt.conf.d/99cdk8s-backup" >/dev/null
    $SUDO cp "$DB_KEYRING" "$base/usr/share/keyrings/"
    # what a container runtime gives an image (debootstrap writes none): mariadb-install-db must resolve localhost
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' | $SUDO tee "$base/etc/hosts" >/dev/null
    $SUDO rm -rf "$base/var/cache/apt/archives"/*.deb
    $SUDO touch "$base/.setup-done"
  fi
  $SUDO rm -rf "$root"
  $SUDO cp -a "$base" "$root"
  $SUDO rm -f "$root/.setup-done"
  db_chroot "$root" apt-get update -qq
  case $name in
    postgres-*)
      db_chroot "$root" sh -c 'groupadd -r -g 999 postgres && useradd -r -g postgres -u 999 -d /var/lib/postgresql -s /bin/bash postgres && mkdir -p /var/lib/postgresql && chown postgres:postgres /var/lib/postgresql' ;;
    mariadb-*)
      db_chroot "$root" sh -c 'groupadd -r -g 999 mysql && useradd -r -g mysql -u 999 -d /var/lib/mysql -s /usr/sbin/nologin mysql' ;;
  esac
  # shellcheck disable=SC2086 # $pkgs is a list of package=version words
  db_chroot "$root" apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold -t "$suite" $pkgs >/dev/null
  case $name in
    postgres-*)
      # the postgres image generates en_US.UTF-8 (its LANG); /var/run/postgresql is 3777 there
      db_chroot "$root" localedef -i en_US -c -f UTF-8 en_US.UTF-8
      db_chroot "$root" sh -c 'mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql && chmod 3777 /var/run/postgresql' ;;
    mariadb-*)
      # The mariadb image has no mysql-named tools since 11.0 (MariaDB ships them in *-compat
      # packages it does not install); Debian's packages still link them: removed, so that a script
      # calling mysqldump fails here as in the image.
      # shellcheck disable=SC2016 # expanded by the root's sh
      db_chroot "$root" sh -c 'mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld && chmod 1777 /run/mysqld
        for f in /usr/bin/*mysql* /usr/sbin/*mysql*; do
          if [ -L "$f" ]; then case $(readlink "$f") in mariadb*) rm "$f" ;; esac; fi
        done' ;;
  esac
  db_chroot "$root" apt-get clean
  $SUDO rm -rf "$root/var/lib/apt/lists"/*_Packages* "$root/var/cache/apt"/*.bin
  local check=${DB_ROOT_CHECK[$name]}
  # shellcheck disable=SC2086 # the check command is words
  db_chroot "$root" ${check%%|*} | grep -F "${check#*|}" >/dev/null \
    || { echo "setup: $DB_ROOTS/$name does not answer '${check#*|}' to ${check%%|*}" >&2; exit 1; }
  echo "layout$DB_LAYOUT:$suite:$pkgs" | $SUDO tee "$root/.setup-spec" >/dev/null
  $SUDO rm -rf "${DB_ROOTS:?}/$name"
  $SUDO mv "$root" "$DB_ROOTS/$name"
}
for name in "${!DB_ROOT_PACKAGES[@]}"; do
  spec=${DB_ROOT_PACKAGES[$name]}
  [ "$(cat "$DB_ROOTS/$name/.setup-spec" 2>/dev/null)" = "layout$DB_LAYOUT:$spec" ] || db_build_root "$name" "$spec"
done
