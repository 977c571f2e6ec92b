#!/bin/sh
# Restore drill: restores a fetched etcd snapshot into scratch space, starts a throwaway etcd on
# it bound to 127.0.0.1 inside the pod, and checks revision, key count and required keys against
# what the backup job recorded. Stops that etcd so the Job completes; any mismatch fails it.
#
# Runs in the restic image (alpine: busybox ash) with the cluster's etcd image mounted
# (ETCD_TOOLS_DIR: its etcd, etcdctl and etcdutl), or in a shell image with those on its PATH;
# never in the etcd image, which has no shell from etcd 3.6. It restores only a snapshot of its
# own etcd minor: the drill proves the restore the runbook will run, with the same tools.
# Environment (set by RestoreDrill):
#   SNAPSHOT_FILE     the fetched snapshot
#   EXPECTED_FILE     KEY=value lines written by the fetch step (ETCD_REVISION, ETCD_KEYS, ETCD_VERSION)
#   ETCD_TOOLS_DIR    optional: the directory of etcd, etcdctl and etcdutl (the mounted etcd image)
#   DRILL_DIR         empty scratch space for the restored data directory
#   DRILL_PORT        client port of the throwaway etcd (peer: DRILL_PORT + 1)
#   REQUIRED_KEYS     file listing keys that must exist, one per line (optional)
#   SUMMARY_*         what the summary line names (summary-lib.sh)
#
# Its last line on stdout is the job's summary (summary-lib.sh): what it restored and counted.
# shellcheck disable=SC3040 # pipefail: busybox ash (restic image) has it
set -euo pipefail

: "${SNAPSHOT_FILE:?}" "${EXPECTED_FILE:?}" "${DRILL_DIR:?}" "${DRILL_PORT:?}"
# shellcheck disable=SC1090 # written by the fetch step: three KEY=digits lines
. "${EXPECTED_FILE}"
: "${ETCD_REVISION:?}" "${ETCD_KEYS:?}" "${ETCD_VERSION:?}"
# shellcheck source-path=SCRIPTDIR source=etcd-lib.sh
. "${0%/*}/etcd-lib.sh"
# shellcheck source-path=SCRIPTDIR source=summary-lib.sh
. "${0%/*}/summary-lib.sh"
summary_begin
# What the summary reports, filled in as the checks run. It names the first check that failed,
# or the step that was running when one ended the script (set -e).
step=''
running='etcd-version'
revision=''
keys=''
checked=0
missing=0
fail() {
  [ -n "${step}" ] || step=$1
  failed=1
}
drill_exit() {
  drill_rc=$1
  set +eu
  trap - EXIT
  stop_local_etcd
  summary_add_etcd_drill "${SNAPSHOT_ID:-}" "${ETCD_REVISION}" "${revision}" "${ETCD_KEYS}" "${keys}" "${checked}" "${missing}"
  summary_emit "${drill_rc}" "${step:-${running}}"
  exit "${drill_rc}"
}
trap 'drill_exit "$?"' EXIT

# The snapshot's etcd minor must be the tools' (etcd-io/etcd#13070: a restore matches the
# server's minor): otherwise this drill would prove a restore nobody runs.
tools_version=$(tool_version etcdutl) || tools_version=''
if [ -z "${tools_version}" ]; then
  echo "drill: no etcdutl here (PATH ${PATH}): the etcd image must carry etcd, etcdctl and etcdutl" >&2
  exit 1
fi
if [ "${ETCD_VERSION%.*}" != "${tools_version%.*}" ]; then
  echo "drill: the snapshot was taken by etcd ${ETCD_VERSION}, this drill restores with etcd ${tools_version}: a restore must use the snapshot's minor. If the cluster's etcd was upgraded, set the backup's etcdVersion (and images.etcd, if set) to what it runs; the backup job fails the same way until then." >&2
  step='etcd-version'
  exit 1
fi
running='revision'

client="http://127.0.0.1:${DRILL_PORT}"
peer="http://127.0.0.1:$((DRILL_PORT + 1))"
failed=0

# The backup counted the keys at ETCD_REVISION just before it took the snapshot, so the
# snapshot's own revision (from the file: the restored etcd moves on as soon as it revokes the
# leases that expired while it was down) is that one or a later one, never an earlier one.
revision=$(snapshot_revision "${SNAPSHOT_FILE}")
case "${revision}" in
  '' | *[!0-9]*) echo "drill: cannot read the revision of ${SNAPSHOT_FILE}" >&2; fail 'revision' ;;
  *)
    if [ "${revision}" -lt "${ETCD_REVISION}" ]; then
      echo "drill: the snapshot is at revision ${revision}, older than the revision ${ETCD_REVISION} the backup counted its keys at" >&2
      fail 'revision'
    fi
    ;;
esac

echo "drill: restoring the snapshot of etcd ${ETCD_VERSION} with ${snapshot_tool} ${tools_version}"
running='restore'
restore_snapshot "${SNAPSHOT_FILE}" "${DRILL_DIR}/data" drill "${peer}"
running='start'
start_local_etcd "${DRILL_DIR}/data" drill "${peer}" "${client}" "${peer}" "${DRILL_DIR}/etcd.log"

# Everything at the recorded revision: what the backup counted, not what the lessor left since.
running='key-count'
keys=$(keys_at_revision "${ETCD_REVISION}")
if [ "${keys}" != "${ETCD_KEYS}" ]; then
  echo "drill: ${keys} keys at revision ${ETCD_REVISION} after restore, the backup recorded ${ETCD_KEYS}" >&2
  fail 'key-count'
fi
if [ -n "${REQUIRED_KEYS:-}" ]; then
  running='required-keys'
  while IFS= read -r key; do
    [ -n "${key}" ] || continue
    checked=$((checked + 1))
    if ! key_exists_at_revision "${ETCD_REVISION}" "${key}"; then
      echo "drill: required key ${key} is missing after restore" >&2
      missing=$((missing + 1))
      fail 'required-keys'
    fi
  done < "${REQUIRED_KEYS}"
fi
if [ "${failed}" -ne 0 ]; then
  echo "drill: FAILED: the latest backup does not restore to what was backed up" >&2
  exit 1
fi
echo "drill: ok, revision ${ETCD_REVISION}, ${keys} keys"
