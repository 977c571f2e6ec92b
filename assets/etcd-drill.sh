#!/bin/sh
# Restore drill: restores a fetched etcd snapshot into scratch space, starts a throwaway etcd on
# it bound to 127.0.0.1 inside the pod, and checks revision, key count and required keys against
# what the backup job recorded. Stops that etcd so the Job completes; any mismatch fails it.
#
# Runs in the etcd image (registry.k8s.io/etcd): /bin/sh is a static bash, NO coreutils (no
# sleep, no rm): shell builtins and the etcd tools only. Environment (set by RestoreDrill):
#   SNAPSHOT_FILE     the fetched snapshot
#   EXPECTED_FILE     KEY=value lines written by the fetch step (ETCD_REVISION, ETCD_KEYS)
#   DRILL_DIR         empty scratch space for the restored data directory
#   DRILL_PORT        client port of the throwaway etcd (peer: DRILL_PORT + 1)
#   REQUIRED_KEYS     file listing keys that must exist, one per line (optional)
# shellcheck disable=SC3040 # pipefail: bash (etcd image) has it
set -euo pipefail

: "${SNAPSHOT_FILE:?}" "${EXPECTED_FILE:?}" "${DRILL_DIR:?}" "${DRILL_PORT:?}"
# shellcheck disable=SC1090 # written by the fetch step: three KEY=digits lines
. "${EXPECTED_FILE}"
: "${ETCD_REVISION:?}" "${ETCD_KEYS:?}"

if command -v etcdutl >/dev/null 2>&1; then snapshot_tool=etcdutl; else snapshot_tool=etcdctl; fi
client="http://127.0.0.1:${DRILL_PORT}"
peer="http://127.0.0.1:$((DRILL_PORT + 1))"

echo "drill: restoring the snapshot with ${snapshot_tool}"
"${snapshot_tool}" snapshot restore "${SNAPSHOT_FILE}" --data-dir "${DRILL_DIR}/data" \
  --name drill --initial-cluster "drill=${peer}" --initial-advertise-peer-urls "${peer}" >/dev/null

etcd --name drill --data-dir "${DRILL_DIR}/data" \
  --listen-client-urls "${client}" --advertise-client-urls "${client}" \
  --listen-peer-urls "${peer}" --initial-advertise-peer-urls "${peer}" \
  --initial-cluster "drill=${peer}" --log-level warn > "${DRILL_DIR}/etcd.log" 2>&1 &
etcd_pid=$!
stop_etcd() {
  kill "${etcd_pid}" 2>/dev/null || true
  wait "${etcd_pid}" 2>/dev/null || true
}
trap stop_etcd EXIT

# No sleep binary here: a health check against a port not yet listening waits out its dial
# timeout, which paces the loop.
ready=0
attempt=0
while [ "${attempt}" -lt 60 ]; do
  attempt=$((attempt + 1))
  if etcdctl --endpoints "${client}" --dial-timeout 1s --command-timeout 2s endpoint health >/dev/null 2>&1; then
    ready=1
    break
  fi
  kill -0 "${etcd_pid}" 2>/dev/null || break
done
if [ "${ready}" -ne 1 ]; then
  echo "drill: the restored etcd did not become healthy; its log:" >&2
  while IFS= read -r line; do echo "  ${line}" >&2; done < "${DRILL_DIR}/etcd.log"
  exit 1
fi

json() { # value of a numeric JSON field: json FIELD TEXT
  v=${2#*\""$1"\":}
  case "$2" in *\"$1\":*) printf '%s' "${v%%[,\}]*}" ;; *) printf '0' ;; esac
}
status=$(etcdctl --endpoints "${client}" endpoint status -w json)
revision=$(json revision "${status}")
keys=$(json count "$(etcdctl --endpoints "${client}" get "" --prefix --keys-only --limit=1 -w json)")

failed=0
if [ "${revision}" != "${ETCD_REVISION}" ]; then
  echo "drill: revision ${revision} after restore, the backup recorded ${ETCD_REVISION}" >&2
  failed=1
fi
if [ "${keys}" != "${ETCD_KEYS}" ]; then
  echo "drill: ${keys} keys after restore, the backup recorded ${ETCD_KEYS}" >&2
  failed=1
fi
if [ -n "${REQUIRED_KEYS:-}" ]; then
  while IFS= read -r key; do
    [ -n "${key}" ] || continue
    found=$(etcdctl --endpoints "${client}" get "${key}" --keys-only)
    if [ -z "${found}" ]; then
      echo "drill: required key ${key} is missing after restore" >&2
      failed=1
    fi
  done < "${REQUIRED_KEYS}"
fi
if [ "${failed}" -ne 0 ]; then
  echo "drill: FAILED: the latest backup does not restore to what was backed up" >&2
  exit 1
fi
echo "drill: ok, revision ${revision}, ${keys} keys"
