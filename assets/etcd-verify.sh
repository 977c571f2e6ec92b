#!/bin/sh
# Verifies an etcd snapshot before anything is uploaded, and records what it contains.
#
# Runs in the etcd image (registry.k8s.io/etcd): its /bin/sh is a static bash and it has NO
# coreutils, so this script uses shell builtins and the etcd tools only.
#
# Environment (set by EtcdSnapshotBackup):
#   SNAPSHOT_FILE   the snapshot written by `etcdctl snapshot save`
#   SNAPSHOT_META   where to write the metadata (KEY=value lines, read by the upload step)
#   SCRATCH_DIR     empty scratch space for the verification restore
#   ETCDCTL_*       how to reach the live etcd (for the key count at the snapshot's revision)
# shellcheck disable=SC3040 # pipefail: bash (etcd image) and busybox ash (restic image) have it
set -euo pipefail

: "${SNAPSHOT_FILE:?}" "${SNAPSHOT_META:?}" "${SCRATCH_DIR:?}"

# etcd 3.6 removed `etcdctl snapshot status/restore`; etcdutl (3.5+) replaces them.
if command -v etcdutl >/dev/null 2>&1; then
  snapshot_tool=etcdutl
else
  snapshot_tool=etcdctl
fi

# `snapshot status` alone accepts a snapshot with flipped bytes; a restore checks the sha256
# that `snapshot save` appended and rebuilds the whole database, so it rejects corruption.
echo "verify: restoring ${SNAPSHOT_FILE} into scratch space with ${snapshot_tool}"
"${snapshot_tool}" snapshot restore "${SNAPSHOT_FILE}" \
  --data-dir "${SCRATCH_DIR}/verify-restore" \
  --name verify --initial-cluster verify=http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 >/dev/null

status=$("${snapshot_tool}" snapshot status "${SNAPSHOT_FILE}" -w json)
revision=${status#*\"revision\":}
revision=${revision%%[,\}]*}
case "${revision}" in
  '' | *[!0-9]*) echo "verify: cannot read the revision from: ${status}" >&2; exit 1 ;;
esac

# totalKey counts every revision and etcd's internal keys; the number of live keys at the
# snapshot's revision comes from the live etcd (3.4 has no --count-only: read `count`).
keys=$(etcdctl get "" --prefix --keys-only --limit=1 --rev="${revision}" -w json)
case "${keys}" in
  *\"count\":*) count=${keys#*\"count\":}; count=${count%%[,\}]*} ;;
  *) count=0 ;;
esac
case "${count}" in
  '' | *[!0-9]*) echo "verify: cannot read the key count from: ${keys}" >&2; exit 1 ;;
esac

printf 'ETCD_REVISION=%s\nETCD_KEYS=%s\n' "${revision}" "${count}" > "${SNAPSHOT_META}"
echo "verify: ok, revision ${revision}, ${count} keys"
