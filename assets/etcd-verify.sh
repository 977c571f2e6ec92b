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
#
# It never asks the live etcd: kube-apiserver compacts etcd every 5 minutes, so a question about
# the snapshot's revision to the live etcd fails with "required revision has been compacted" once
# snapshot and verify take longer than that. Everything is read from the snapshot itself.
# shellcheck disable=SC3040 # pipefail: bash (etcd image) and busybox ash (restic image) have it
set -euo pipefail

: "${SNAPSHOT_FILE:?}" "${SNAPSHOT_META:?}" "${SCRATCH_DIR:?}"
# shellcheck source-path=SCRIPTDIR source=etcd-lib.sh
. "${0%/*}/etcd-lib.sh"   # no coreutils: no dirname

echo "verify: restoring ${SNAPSHOT_FILE} into scratch space with ${snapshot_tool}"
restore_snapshot "${SNAPSHOT_FILE}" "${SCRATCH_DIR}/verify-restore" verify http://127.0.0.1:2380

revision=$(snapshot_revision "${SNAPSHOT_FILE}")
case "${revision}" in
  '' | *[!0-9]*) echo "verify: cannot read the revision of ${SNAPSHOT_FILE}" >&2; exit 1 ;;
esac

# totalKey of `snapshot status` counts every revision and etcd's internal keys; the live keys at
# the snapshot's revision come from a throwaway etcd on the restored copy. It listens on unix
# sockets in the scratch directory: no TCP port, so nothing collides with the node's etcd when
# the job shares the host network (k3s, RKE2).
cd "${SCRATCH_DIR}"
trap stop_local_etcd EXIT
start_local_etcd "${SCRATCH_DIR}/verify-restore" verify http://127.0.0.1:2380 \
  unix://localhost:2379 unix://localhost:2380 "${SCRATCH_DIR}/verify-etcd.log"
count=$(keys_at_revision "${revision}")
case "${count}" in
  '' | *[!0-9]*) echo "verify: cannot read the key count at revision ${revision}" >&2; exit 1 ;;
esac

printf 'ETCD_REVISION=%s\nETCD_KEYS=%s\n' "${revision}" "${count}" > "${SNAPSHOT_META}"
echo "verify: ok, revision ${revision}, ${count} keys"
