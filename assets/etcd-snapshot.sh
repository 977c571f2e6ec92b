#!/bin/sh
# Takes the etcd snapshot, bounded in time, says what to check when it cannot, and records what
# the snapshot holds (its revision, and the live key count at that revision).
#
# Runs in the etcd image (registry.k8s.io/etcd): its /bin/sh is a static bash and it has NO
# coreutils. Environment (set by EtcdSnapshotBackup):
#   SNAPSHOT_FILE           where to write the snapshot
#   SNAPSHOT_META           where to write the metadata (KEY=value lines, read by the upload step)
#   ETCDCTL_*               how to reach the live etcd (endpoint, certificates)
#   ETCD_REACH_TIMEOUT      bound of the first question to etcd (is it there at all?)
#   ETCD_SNAPSHOT_TIMEOUT   bound of the whole `snapshot save`, sized for the largest database
#
# ETCDCTL_DIAL_TIMEOUT does not bound `snapshot save` (etcd-io/etcd#10298): against an endpoint
# that accepts connections and never answers it hangs until the Job's deadline, with no error.
# ETCDCTL_COMMAND_TIMEOUT does bound it (it then fails with "context deadline exceeded"), but it
# bounds the whole transfer, so it must leave room for a large database.
# shellcheck disable=SC3040 # pipefail: bash (etcd image) has it
set -euo pipefail

: "${SNAPSHOT_FILE:?}" "${SNAPSHOT_META:?}" "${ETCDCTL_ENDPOINTS:?}" "${ETCD_REACH_TIMEOUT:?}" "${ETCD_SNAPSHOT_TIMEOUT:?}"
# shellcheck source-path=SCRIPTDIR source=etcd-lib.sh
. "${0%/*}/etcd-lib.sh"   # no coreutils: no dirname

# One quick question first, so an unreachable etcd fails in seconds with a message rather than
# after the whole snapshot bound; it also tells how large the database is.
rc=0
status=$(ETCDCTL_COMMAND_TIMEOUT="${ETCD_REACH_TIMEOUT}" etcdctl endpoint status -w json 2>&1) || rc=$?
if [ "${rc}" -ne 0 ]; then
  echo "${status}" >&2
  echo "snapshot: etcd at ${ETCDCTL_ENDPOINTS} did not answer within ${ETCD_REACH_TIMEOUT}. Check on this node that etcd runs and listens there (the etcd static pod / k3s or rke2 service), that the endpoint and port are right, and that it accepts the client certificate ${ETCDCTL_CERT:-} (issued by ${ETCDCTL_CACERT:-}). Nothing was uploaded or pruned." >&2
  exit 1
fi
size=${status#*\"dbSize\":}
size=${size%%[,\}]*}
case "${size}" in '' | *[!0-9]*) size='?' ;; *) size="$((size / 1048576)) MiB" ;; esac
echo "snapshot: etcd at ${ETCDCTL_ENDPOINTS} answers, database ${size}; saving (bound: ${ETCD_SNAPSHOT_TIMEOUT})"

rc=0
ETCDCTL_COMMAND_TIMEOUT="${ETCD_SNAPSHOT_TIMEOUT}" etcdctl snapshot save "${SNAPSHOT_FILE}" || rc=$?
if [ "${rc}" -ne 0 ]; then
  echo "snapshot: etcdctl snapshot save failed (exit ${rc}, see above) for a ${size} database. \"context deadline exceeded\" means it did not finish within ${ETCD_SNAPSHOT_TIMEOUT}: check etcd's health and disk on this node (etcd logs, etcdctl endpoint status), and if the database is that large and etcd is healthy, raise the job's snapshotTimeout. Nothing was uploaded or pruned." >&2
  exit "${rc}"
fi

# The snapshot's revision, from its own data (the newest key revision in it).
revision=$(snapshot_revision "${SNAPSHOT_FILE}")
case "${revision}" in
  '' | *[!0-9]*) echo "snapshot: cannot read the revision of ${SNAPSHOT_FILE}; nothing was uploaded or pruned" >&2; exit 1 ;;
esac

# The key count at that revision, from the etcd that just produced the snapshot: it holds the
# same history, so the count is exact, and it costs one range request instead of restoring the
# whole database (which took as long as the save, twice its disk and a file-backed resident set
# the size of the database). The revision is seconds old here. kube-apiserver compacts every 5
# minutes, and always to the revision it read one interval earlier (k8s.io/apiserver
# pkg/storage/etcd3/compact.go: each round compacts to the revision the previous round returned),
# so a revision stays readable for at least one interval after it was current: the count fails
# only when the save took longer than that, and then it says so. The drill restores the snapshot
# and counts again, against this number.
rc=0
out=$(ETCDCTL_COMMAND_TIMEOUT="${ETCD_REACH_TIMEOUT}" etcdctl get "" --prefix --keys-only --limit=1 --rev="${revision}" -w json 2>&1) || rc=$?
if [ "${rc}" -ne 0 ]; then
  echo "${out}" >&2
  case "${out}" in
    *compacted*) echo "snapshot: etcd compacted the snapshot's revision ${revision} before its keys could be counted: the save took longer than the compaction interval (kube-apiserver --etcd-compaction-interval, default 5m). The next run retries; if it happens every time, check etcd's disk or lengthen the interval. Nothing was uploaded or pruned." >&2 ;;
    *) echo "snapshot: cannot count the keys at revision ${revision} on ${ETCDCTL_ENDPOINTS} (see above). Nothing was uploaded or pruned." >&2 ;;
  esac
  exit 1
fi
# JSON omits a zero count.
count=$(json_number count "${out}")
count=${count:-0}
case "${count}" in
  *[!0-9]*) echo "snapshot: cannot read the key count at revision ${revision}: ${out}" >&2; exit 1 ;;
esac

printf 'ETCD_REVISION=%s\nETCD_KEYS=%s\n' "${revision}" "${count}" > "${SNAPSHOT_META}"
echo "snapshot: saved, revision ${revision}, ${count} keys"
