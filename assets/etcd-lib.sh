# shellcheck shell=sh
# Functions shared by the etcd scripts: etcd-snapshot.sh reads etcd's JSON answers; etcd-drill.sh
# restores a snapshot, starts a throwaway etcd on the copy and asks that etcd what the snapshot
# holds, always at the revision the backup counted at.
#
# Sourced, not run. Never in the etcd image (distroless from etcd 3.6: no shell at all): in the
# restic image (busybox ash) with the etcd image mounted and ETCD_TOOLS_DIR naming its binaries,
# or in a shell image that has the etcd tools on its PATH (EtcdTools.shellImage). Shell builtins,
# POSIX utilities and the etcd tools only.

if [ -n "${ETCD_TOOLS_DIR:-}" ]; then
  PATH="${ETCD_TOOLS_DIR}:${PATH}"
  export PATH
fi
# etcd 3.6 removed `etcdctl snapshot status/restore`: etcdutl (3.5+) does them.
snapshot_tool=etcdutl

# Value of a string JSON field: json_string FIELD TEXT (empty when absent; no escapes expected).
json_string() {
  case "$2" in
    *\""$1"\":\"*)
      v=${2#*\""$1"\":\"}
      printf '%s' "${v%%\"*}"
      ;;
  esac
}

# The version of a tool, e.g. 3.5.30: tool_version etcdutl (first line `etcdutl version: 3.5.30`).
tool_version() {
  v=$("$1" version 2>/dev/null) || return 1
  v=${v#*version: }
  printf '%s' "${v%%[!0-9.]*}"
}

# Value of a numeric JSON field: json_number FIELD TEXT (empty when absent).
json_number() {
  case "$2" in
    *\""$1"\":*)
      v=${2#*\""$1"\":}
      printf '%s' "${v%%[,\}]*}"
      ;;
  esac
}

# The revision a snapshot file was taken at (from its own header: no etcd needed).
snapshot_revision() {
  json_number revision "$("${snapshot_tool}" snapshot status "$1" -w json)"
}

# Restores snapshot FILE into a new data directory DIR as member NAME with peer URL PEER. The
# restore checks the sha256 that `snapshot save` appended and rebuilds the whole database, so it
# rejects flipped and truncated snapshots (`snapshot status` alone does not).
restore_snapshot() {
  "${snapshot_tool}" snapshot restore "$1" --data-dir "$2" \
    --name "$3" --initial-cluster "$3=$4" --initial-advertise-peer-urls "$4" >/dev/null
}

# Starts a throwaway etcd on data directory DIR (restored as member NAME with peer URL PEER),
# listening on CLIENT and PEER_LISTEN, logging to LOG; waits until it answers. Sets
# local_endpoint and local_etcd_pid; stop_local_etcd stops it (the caller traps EXIT).
#   start_local_etcd DIR NAME PEER CLIENT PEER_LISTEN LOG
start_local_etcd() {
  local_endpoint=$4
  etcd --name "$2" --data-dir "$1" \
    --listen-client-urls "$4" --advertise-client-urls "$4" \
    --listen-peer-urls "$5" --initial-advertise-peer-urls "$3" \
    --initial-cluster "$2=$3" --log-level warn > "$6" 2>&1 &
  local_etcd_pid=$!
  # A health check against a socket not yet listening waits out its dial timeout, which paces
  # the loop (no sleep needed, whatever the image has).
  attempt=0
  while [ "${attempt}" -lt 60 ]; do
    attempt=$((attempt + 1))
    if etcdctl --endpoints "${local_endpoint}" --dial-timeout 1s --command-timeout 2s endpoint health >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "${local_etcd_pid}" 2>/dev/null || break
  done
  echo "the throwaway etcd on the restored snapshot did not become healthy; its log:" >&2
  while IFS= read -r line; do echo "  ${line}" >&2; done < "$6"
  return 1
}

stop_local_etcd() {
  if [ -n "${local_etcd_pid:-}" ]; then
    kill "${local_etcd_pid}" 2>/dev/null || true
    wait "${local_etcd_pid}" 2>/dev/null || true
  fi
}

# Live keys at revision REV of the throwaway etcd. At REV, not "now": on a restored etcd, leases
# that expire after it starts (kube-apiserver's /registry/masterleases/*, 15 s TTL) are revoked
# and move the revision and the key count on (`count` of a one-key page: the same in every etcdctl).
keys_at_revision() {
  out=$(etcdctl --endpoints "${local_endpoint}" get "" --prefix --keys-only --limit=1 --rev="$1" -w json)
  n=$(json_number count "${out}")
  printf '%s' "${n:-0}"
}

# Whether KEY existed at revision REV. `--` ends the options: a key starting with '-' is a key,
# not a flag (`get --help` would otherwise print the help and "find" it).
key_exists_at_revision() {
  out=$(etcdctl --endpoints "${local_endpoint}" get --rev="$1" --keys-only -w json -- "$2")
  n=$(json_number count "${out}")
  [ "${n:-0}" -gt 0 ]
}
