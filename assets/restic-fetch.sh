#!/bin/sh
# Fetches the newest backup of one host+tag group from its restic repository, checks that the
# snapshot file is the one the backup job verified (its sha256 trailer against the CHECKSUM_TAG
# tag), and writes what the backup claims (the metadata tags the construct names) for the next
# container. The content itself is checked against the trailer by the restore that follows
# (`snapshot restore`), and restic authenticates every blob it fetches: no hash pass here.
#
# Runs in the restic image (alpine: busybox ash). Environment (set by RestoreDrill):
#   RESTIC_REPOSITORY, RESTIC_PASSWORD, RESTIC_FLAGS         the repository (read with --no-lock)
#   BACKUP_HOST, BACKUP_TAG                                   the group to take the newest of
#   FETCH_DIR                                                 where to restore it
#   CHECKSUM_PATH                                             path of the snapshot file in the backup
#   PIECES_PATH                                               optional: path of the directory of its pieces
#                                                             (the upload's SPLIT_DIR), joined into CHECKSUM_PATH
#   CHECKSUM_TAG                                              the tag holding the sha256 its trailer must carry
#   METADATA_TAGS                                             tags (name=value) the backup recorded, space-separated;
#                                                             each is written as NAME=value (etcd-keys -> ETCD_KEYS)
#   EXPECTED_FILE                                             KEY=value output for the drill
#   REPOSITORY_TIMEOUT                                        seconds the first question to the repository may take
#   TMPDIR, RESTIC_CACHE_DIR                                  writable scratch
#   SUMMARY_*                                                 what the summary line names (summary-lib.sh)
# shellcheck disable=SC3040 # pipefail: busybox ash (restic image) has it
set -euo pipefail

: "${RESTIC_REPOSITORY:?}" "${RESTIC_PASSWORD:?}" "${BACKUP_HOST:?}" "${BACKUP_TAG:?}" "${FETCH_DIR:?}" "${CHECKSUM_PATH:?}" "${CHECKSUM_TAG:?}" "${EXPECTED_FILE:?}"
: "${METADATA_TAGS?}"

# shellcheck source-path=SCRIPTDIR source=summary-lib.sh
. "${0%/*}/summary-lib.sh"
# shellcheck source-path=SCRIPTDIR source=restic-lib.sh
. "${0%/*}/restic-lib.sh"
summary_begin
# The drill ends the job with its summary line; this step prints one only when the job ends
# here, failed.
id=''
trap 'summary_exit_if_failed "$?" fetch summary_add_etcd_drill "${id}"' EXIT

# Readers never lock: the backup job is the repository's only writer and removes stale locks.
rc=0
all=$(r_first snapshots --no-lock --json --host "${BACKUP_HOST}" --tag "${BACKUP_TAG}" --tag discarded) || rc=$?
if [ "${rc}" -ne 0 ]; then
  echo "fetch: cannot list the snapshots in ${RESTIC_REPOSITORY} (exit ${rc}, see above; the repository gets ${repository_timeout} s to answer): check the endpoint, the credentials and the password" >&2
  exit 1
fi
# shellcheck disable=SC2119 # newest_snapshot's TAG is optional
list=$(printf '%s' "${all}" | newest_snapshot)
id=$(printf '%s' "${list}" | grep -o '"id":"[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)
if [ -z "${id}" ]; then
  echo "fetch: no snapshot of host ${BACKUP_HOST} with tag ${BACKUP_TAG} in ${RESTIC_REPOSITORY}" >&2
  exit 1
fi
# A missing tag is an empty value, not a silent exit (grep finds nothing: status 1 under set -e).
tag() {
  { printf '%s' "${list}" | grep -o "\"$1=[0-9a-f.]*\"" || true; } | head -n 1 | cut -d'=' -f2 | tr -d '"'
}
sha=$(tag "${CHECKSUM_TAG}")
expected="SNAPSHOT_ID=${id}"
summary=""
for name in ${METADATA_TAGS}; do
  value=$(tag "${name}")
  if [ -z "${value}" ]; then
    echo "fetch: snapshot ${id} lacks the ${name} tag the backup job records (tags expected: ${METADATA_TAGS} ${CHECKSUM_TAG})" >&2
    exit 1
  fi
  expected="${expected}
$(printf '%s' "${name}" | tr 'a-z-' 'A-Z_')=${value}"
  summary="${summary}${summary:+, }${name} ${value}"
done
if [ -z "${sha}" ]; then
  echo "fetch: snapshot ${id} lacks the ${CHECKSUM_TAG} tag the backup job records" >&2
  exit 1
fi

echo "fetch: restoring snapshot ${id} (${summary:-no metadata})"
r restore "${id}" --no-lock --target "${FETCH_DIR}"
file="${FETCH_DIR}${CHECKSUM_PATH}"
if [ -n "${PIECES_PATH:-}" ] && [ ! -e "${file}" ] && [ -d "${FETCH_DIR}${PIECES_PATH}" ]; then
  # The upload stored the file as pieces of one width of name, in order; older backups hold the file.
  cat "${FETCH_DIR}${PIECES_PATH}"/p* > "${file}"
  rm -r "${FETCH_DIR}${PIECES_PATH}"
fi
actual=$(tail -c 32 "${file}" | od -An -v -tx1 | tr -d ' \n')
if [ "${actual}" != "${sha}" ]; then
  echo "fetch: the sha256 trailer of ${CHECKSUM_PATH} is ${actual:-missing}, the backup recorded ${sha}: this is not the snapshot the backup verified" >&2
  exit 1
fi
printf '%s\n' "${expected}" > "${EXPECTED_FILE}"
echo "fetch: ok, the sha256 trailer matches the ${CHECKSUM_TAG} tag (the restore checks the content against it)"
