#!/bin/sh
# Ships a backup to its restic repository, then applies the retention.
#
# Runs in the restic image (alpine: busybox ash, no bash). Everything it needs comes from the
# environment set by the construct; the retention flags come as arguments ("$@").
#
#   RESTIC_REPOSITORY, RESTIC_PASSWORD   the repository (one per job: it is the only writer)
#   RESTIC_CACERT_FILE                    optional CA bundle of a private endpoint
#   BACKUP_DIR                            directory to back up, or
#   BACKUP_FILES_FROM                     a file listing the paths to back up, one per line
#   BACKUP_EXCLUDE_FILE                   optional restic exclude patterns, one per line
#   BACKUP_REQUIRED_FILE                  optional paths that must exist, one per line
#   BACKUP_META                           optional KEY=value metadata file; recorded as tags
#   CHECKSUM_FILE                         optional file whose sha256 is recorded as a tag
#   BACKUP_HOST, BACKUP_TAG               the snapshot group this job owns (host + tag)
#   TMPDIR, RESTIC_CACHE_DIR              writable scratch (the root filesystem is read-only)
# shellcheck disable=SC3040 # pipefail: busybox ash (restic image) has it
set -euo pipefail

: "${RESTIC_REPOSITORY:?}" "${RESTIC_PASSWORD:?}" "${BACKUP_HOST:?}" "${BACKUP_TAG:?}"
: "${BACKUP_DIR:-${BACKUP_FILES_FROM:?set BACKUP_DIR or BACKUP_FILES_FROM}}"
if [ "$#" -eq 0 ]; then
  echo "upload: no retention flags given; refusing to run forget without a policy" >&2
  exit 2
fi

# A missing required path fails the job before anything is uploaded or pruned: a config backup
# without the cluster CA cannot bring a control plane back.
if [ -n "${BACKUP_REQUIRED_FILE:-}" ]; then
  missing=0
  while IFS= read -r path; do
    [ -n "${path}" ] || continue
    if [ ! -e "${path}" ]; then
      echo "upload: required path ${path} does not exist on ${BACKUP_HOST}" >&2
      missing=1
    fi
  done < "${BACKUP_REQUIRED_FILE}"
  if [ "${missing}" -ne 0 ]; then
    echo "upload: nothing uploaded, nothing pruned (fix the node or the construct's paths/requiredPaths)" >&2
    exit 1
  fi
fi

# restic 0.14 reads a custom CA only from --cacert (newer versions also from RESTIC_CACERT).
r() {
  if [ -n "${RESTIC_CACERT_FILE:-}" ]; then
    restic --cacert "${RESTIC_CACERT_FILE}" "$@"
  else
    restic "$@"
  fi
}

# BACKUP_DIR is mounted read-only here: metadata goes into tags, not into files.
tags="--tag ${BACKUP_TAG}"
if [ -n "${CHECKSUM_FILE:-}" ]; then
  tags="${tags} --tag sha256=$(sha256sum "${CHECKSUM_FILE}" | cut -d' ' -f1)"
fi
if [ -n "${BACKUP_META:-}" ]; then
  # Metadata (revision, key count, sha256) as tags, so `restic snapshots` shows it and a restore
  # drill can compare without downloading. Values are digits/hex only: safe to split below.
  while IFS='=' read -r key value; do
    case "${key}${value}" in *[!A-Za-z0-9_]*) echo "upload: bad metadata line ${key}=${value}" >&2; exit 1 ;; esac
    tags="${tags} --tag $(printf '%s' "${key}" | tr 'A-Z_' 'a-z-')=${value}"
  done < "${BACKUP_META}"
fi

# Create the repository on first use, and only when it really does not exist: a wrong password,
# a network error or missing permissions must fail the job, not trigger an init.
rc=0
out=$(r cat config 2>&1 >/dev/null) || rc=$?
if [ "${rc}" -ne 0 ]; then
  case "${out}" in
    *"specified key does not exist"* | *"repository does not exist"* | *"NoSuchKey"* | *"BlobNotFound"* | *"object doesn't exist"*)
      echo "upload: initializing repository ${RESTIC_REPOSITORY}"
      r init
      ;;
    *)
      if [ "${rc}" -eq 10 ]; then
        r init
      else
        echo "${out}" >&2
        echo "upload: cannot open the repository (see above); nothing uploaded, nothing pruned" >&2
        exit 1
      fi
      ;;
  esac
fi

# This CronJob (concurrencyPolicy: Forbid) is the repository's only writer, so any lock left
# behind is from a killed run of this job. restic 0.14 does not ignore such locks by itself.
r unlock --remove-all

# What to back up. The file names come from the construct (no spaces), so word splitting is safe.
if [ -n "${BACKUP_FILES_FROM:-}" ]; then
  what="--files-from-verbatim ${BACKUP_FILES_FROM}"
else
  what="${BACKUP_DIR}"
fi
if [ -n "${BACKUP_EXCLUDE_FILE:-}" ]; then
  what="--exclude-file ${BACKUP_EXCLUDE_FILE} ${what}"
fi

# restic exits 3 when it could not read some files, but it has saved the snapshot by then: it
# would become `latest` for a restore and could displace a complete backup in the retention.
# Remove it and fail.
report="${TMPDIR:-/tmp}/restic-backup.log"
rc=0
# shellcheck disable=SC2086 # ${tags} and ${what} are flag lists with safe values (see above)
r backup --host "${BACKUP_HOST}" ${tags} ${what} 2>&1 | tee "${report}" || rc=$?
if [ "${rc}" -ne 0 ]; then
  snapshot=$(sed -n 's/^snapshot \([0-9a-f]*\) saved$/\1/p' "${report}" | tail -n 1)
  if [ -n "${snapshot}" ]; then
    r forget "${snapshot}"
    echo "upload: the backup was incomplete (exit ${rc}, see above); removed its snapshot ${snapshot}; nothing pruned" >&2
  else
    echo "upload: the backup failed (exit ${rc}, see above); nothing pruned" >&2
  fi
  exit "${rc}"
fi

# Only after a successful backup (set -e), only within this job's host+tag group.
r forget --host "${BACKUP_HOST}" --tag "${BACKUP_TAG}" --group-by host --prune "$@"
echo "upload: done"
