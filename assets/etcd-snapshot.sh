#!/bin/sh
# Takes the etcd snapshot, bounded in time, says what to check when it cannot, and records the
# key count and the revision it was counted at (the snapshot holds that revision), and the
# version of the etcd server that took it.
#
# Runs in the restic image (alpine: busybox ash) with the cluster's etcd image mounted
# (ETCD_TOOLS_DIR: its etcdctl), or in a shell image with etcdctl on its PATH; never in the etcd
# image, which has no shell from etcd 3.6. Environment (set by EtcdSnapshotBackup):
#   SNAPSHOT_FILE           where to write the snapshot
#   SNAPSHOT_META           where to write the metadata (KEY=value lines, read by the upload step)
#   ETCD_TOOLS_DIR          optional: the directory of etcdctl (the mounted etcd image)
#   ETCDCTL_*               how to reach the live etcd (endpoint, certificates)
#   ETCD_REACH_TIMEOUT      bound of the first question to etcd (is it there at all?)
#   ETCD_SNAPSHOT_TIMEOUT   bound of the whole `snapshot save`, sized for the largest database
#   SUMMARY_*               what the summary line names (summary-lib.sh); SUMMARY_START_FILE
#                           on the volume the upload step shares, so its line has the job's time
#
# ETCDCTL_DIAL_TIMEOUT does not bound `snapshot save` (etcd-io/etcd#10298): against an endpoint
# that accepts connections and never answers it hangs until the Job's deadline, with no error.
# ETCDCTL_COMMAND_TIMEOUT does bound it (it then fails with "context deadline exceeded"), but it
# bounds the whole transfer, so it must leave room for a large database.
# shellcheck disable=SC3040 # pipefail: busybox ash (restic image) has it
set -euo pipefail

: "${SNAPSHOT_FILE:?}" "${SNAPSHOT_META:?}" "${ETCDCTL_ENDPOINTS:?}" "${ETCD_REACH_TIMEOUT:?}" "${ETCD_SNAPSHOT_TIMEOUT:?}"
# shellcheck source-path=SCRIPTDIR source=etcd-lib.sh
. "${0%/*}/etcd-lib.sh"
# shellcheck source-path=SCRIPTDIR source=summary-lib.sh
. "${0%/*}/summary-lib.sh"
summary_begin
# The upload step ends the job with its summary line; this step prints one only when the job
# ends here, failed.
metadata_json=''
trap 'summary_exit_if_failed "$?" snapshot summary_add_backup "" "" "" "" "${metadata_json}"' EXIT

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
# The server's own version, recorded with the snapshot (tag etcd-version): the drill and the
# runbook restore with the tools of that version, and the upload fails when it is not the
# etcdVersion the construct was given.
server_version=$(json_string version "${status}")
case "${server_version}" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "snapshot: cannot read the etcd server's version from: ${status}" >&2; exit 1 ;;
esac

# The key count, and the revision it is exact for, in one range request (the header's revision
# and the count are of the same read): taken just before the save, so the snapshot holds that
# revision in its history and a restore answers for it exactly (the drill counts again there).
# Reading either from the snapshot file instead would map the whole database: `snapshot status`
# of a 1.1 GiB snapshot under this container's 256Mi limit took 20 s instead of 0.4 s, the
# kernel evicting and re-reading the mapped pages. kube-apiserver compacts only revisions one
# compaction interval old (k8s.io/apiserver pkg/storage/etcd3/compact.go), never this one.
rc=0
out=$(ETCDCTL_COMMAND_TIMEOUT="${ETCD_REACH_TIMEOUT}" etcdctl get "" --prefix --keys-only --limit=1 -w json 2>&1) || rc=$?
if [ "${rc}" -ne 0 ]; then
  echo "${out}" >&2
  echo "snapshot: cannot count the keys on ${ETCDCTL_ENDPOINTS} (see above). Nothing was uploaded or pruned." >&2
  exit 1
fi
# The header's revision comes first; JSON omits a zero count.
revision=$(json_number revision "${out}")
count=$(json_number count "${out}")
count=${count:-0}
case "${revision}:${count}" in
  :* | *[!0-9:]*) echo "snapshot: cannot read the revision and key count from: ${out}" >&2; exit 1 ;;
esac

metadata_json="{\"etcd-revision\":${revision},\"etcd-keys\":${count},\"etcd-version\":\"${server_version}\"}"
echo "snapshot: etcd ${server_version} at ${ETCDCTL_ENDPOINTS} answers, database ${size}, ${count} keys at revision ${revision}; saving (bound: ${ETCD_SNAPSHOT_TIMEOUT})"
rc=0
# Its output is short (a few lines): kept to tell a full volume from a slow etcd.
out=$(ETCDCTL_COMMAND_TIMEOUT="${ETCD_SNAPSHOT_TIMEOUT}" etcdctl snapshot save "${SNAPSHOT_FILE}" 2>&1) || rc=$?
printf '%s\n' "${out}"
if [ "${rc}" -ne 0 ]; then
  case "${out}" in
    *'no space left on device'*)
      # The kubelet enforces an emptyDir's sizeLimit by evicting the pod, not with ENOSPC: this
      # is the node's disk under the volume.
      echo "snapshot: etcdctl snapshot save failed (exit ${rc}): no space left on the disk under ${SNAPSHOT_FILE%/*} for this ${size} database. Free space on this node's kubelet disk (the snapshot needs the database size plus 32 MiB); workspaceSize is that volume's limit, enforced by eviction. Nothing was uploaded or pruned." >&2 ;;
    *)
      echo "snapshot: etcdctl snapshot save failed (exit ${rc}, see above) for a ${size} database. \"context deadline exceeded\" means it did not finish within ${ETCD_SNAPSHOT_TIMEOUT}: check etcd's health and disk on this node (etcd logs, etcdctl endpoint status), and if the database is that large and etcd is healthy, raise the job's snapshotTimeout. Nothing was uploaded or pruned." >&2 ;;
  esac
  exit "${rc}"
fi

printf 'ETCD_REVISION=%s\nETCD_KEYS=%s\nETCD_VERSION=%s\n' "${revision}" "${count}" "${server_version}" > "${SNAPSHOT_META}"
echo "snapshot: saved, ${count} keys at revision ${revision} (counted just before the save), taken by etcd ${server_version}"
