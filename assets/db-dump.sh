#!/bin/bash
# Streams a database dump into restic (no copy on disk), then applies the retention.
#
# Runs with bash in the database's official image (postgres / mariadb), as its uid 999, with a
# static restic binary that an init container copied from the restic image. Kept POSIX (plus
# pipefail) so that `shellcheck --shell=sh` passes. Everything comes from the construct:
#
#   "$@"                                  the dump command (pg_dump / pg_dumpall / mariadb-dump),
#                                         writing SQL to stdout; logins come from the environment
#                                         (PGPASSWORD / MYSQL_PWD from a Secret)
#   RESTIC_BIN                            the restic binary
#   RESTIC_REPOSITORY, RESTIC_PASSWORD    the repository (one per job: it is the only writer)
#   RESTIC_FLAGS                          global restic flags the construct chose (--cacert <file>)
#   BACKUP_HOST, BACKUP_TAG               the snapshot group this job owns (host + tag)
#   DUMP_FILE                             the dump's file name inside the snapshot
#   FORGET_ARGS                           the retention, as restic forget flags
#   TMPDIR, RESTIC_CACHE_DIR              writable scratch (the root filesystem is read-only)
#   SUMMARY_*                             what the summary line names (summary-lib.sh)
#
# Its last line on stdout is the job's summary (summary-lib.sh), also when it fails.
# shellcheck disable=SC3040 # pipefail: bash has it
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=summary-lib.sh
. "${0%/*}/summary-lib.sh"
summary_backup_begin
trap 'summary_backup_exit "$?"' EXIT

: "${RESTIC_BIN:?}" "${RESTIC_REPOSITORY:?}" "${RESTIC_PASSWORD:?}" "${BACKUP_HOST:?}" "${BACKUP_TAG:?}" "${DUMP_FILE:?}" "${FORGET_ARGS:?}"
if [ "$#" -eq 0 ]; then
  echo "db-dump: no dump command given" >&2
  exit 2
fi

r() {
  # shellcheck disable=SC2086 # RESTIC_FLAGS is a flag list
  "${RESTIC_BIN}" ${RESTIC_FLAGS:-} "$@"
}

# Create the repository on first use, and only when it really does not exist: a wrong password,
# a network error or missing permissions must fail the job, not trigger an init. --no-lock: see
# restic-upload.sh (a stale exclusive lock of a killed prune must not block the unlock below).
step='repository'
rc=0
# The first question gets REPOSITORY_TIMEOUT seconds: restic >= 0.17 retries an unreachable
# backend for 15 minutes (see restic-upload.sh).
# shellcheck disable=SC2086 # RESTIC_FLAGS is a flag list (timeout cannot run the function r)
out=$(timeout -k 10 "${REPOSITORY_TIMEOUT:-60}" "${RESTIC_BIN}" ${RESTIC_FLAGS:-} cat config --no-lock 2>&1 >/dev/null) || rc=$?
if [ "${rc}" -ne 0 ]; then
  case "${out}" in
    *"specified key does not exist"* | *"repository does not exist"* | *"NoSuchKey"* | *"BlobNotFound"* | *"object doesn't exist"*)
      echo "db-dump: initializing repository ${RESTIC_REPOSITORY}"
      r init
      ;;
    *)
      if [ "${rc}" -eq 10 ]; then
        r init
      else
        echo "${out}" >&2
        echo "db-dump: cannot open the repository (see above; it gets ${REPOSITORY_TIMEOUT:-60} s to answer); nothing dumped, nothing pruned" >&2
        exit 1
      fi
      ;;
  esac
fi

# This CronJob (concurrencyPolicy: Forbid) is the repository's only writer: any lock is from a
# killed run of this job. restic 0.14 does not ignore such locks by itself.
r unlock --remove-all

# The dump's own exit status, apart from restic's: a dump that dies midway (server killed,
# connection lost) still hands restic a well-formed, truncated stream, which restic saves.
# --json: what restic did (the snapshot id, what it added) comes from its last message, the
# summary, instead of from text meant for people (restic-upload.sh does the same).
step='backup'
dump_rc_file="${TMPDIR:-/tmp}/db-dump.rc"
report="${TMPDIR:-/tmp}/db-dump-restic.json"
rm -f "${dump_rc_file}"
restic_rc=0
{
  dump_rc=0
  "$@" || dump_rc=$?
  echo "${dump_rc}" > "${dump_rc_file}"
} | r backup --json --stdin --stdin-filename "${DUMP_FILE}" --host "${BACKUP_HOST}" --tag "${BACKUP_TAG}" > "${report}" || restic_rc=$?
dump_rc=$(cat "${dump_rc_file}" 2>/dev/null || echo 255)
summary_read_backup "${report}"
if [ -n "${backup_summary}" ]; then
  summary_field data_added "${backup_summary}"; added=${v}
  summary_field total_bytes_processed "${backup_summary}"; total=${v}
  echo "db-dump: snapshot ${snapshot_id:-?} saved: a dump of ${total} bytes, ${added} bytes added to the repository"
fi

if [ "${dump_rc}" -ne 0 ] || [ "${restic_rc}" -ne 0 ]; then
  if [ -n "${snapshot_id}" ]; then
    # Not a restore candidate: it would be `latest`, and could displace a complete dump in the
    # retention. Removed before anything else happens; no prune.
    r forget "${snapshot_id}"
    echo "db-dump: removed the snapshot ${snapshot_id} of the incomplete dump" >&2
    snapshot_id=''
  fi
  if [ "${dump_rc}" -ne 0 ]; then
    step='dump'
    echo "db-dump: the dump ($1) failed with exit ${dump_rc} (see above); nothing pruned" >&2
    exit "${dump_rc}"
  fi
  echo "db-dump: restic backup failed with exit ${restic_rc} (see above); nothing pruned" >&2
  exit "${restic_rc}"
fi

# Only after a complete dump (set -e), only within this job's host+tag group. --json: the
# snapshots the retention removed, for the summary (restic-upload.sh says how it is read).
step='retention'
forgotten="${TMPDIR:-/tmp}/db-dump-forget.out"
rc=0
# shellcheck disable=SC2086 # FORGET_ARGS is a flag list of safe words
r forget --json --host "${BACKUP_HOST}" --tag "${BACKUP_TAG}" --group-by host --prune ${FORGET_ARGS} > "${forgotten}" || rc=$?
# A prune that fails after forget removed snapshots: the summary still names them.
summary_read_forget "${forgotten}" "${snapshot_id}"
snapshot_id=${snapshot_id_full}
[ "${rc}" -eq 0 ] || exit "${rc}"
# shellcheck disable=SC2086 # ids are hex words
set -- ${removed_ids}
echo "db-dump: the retention removed $# snapshot(s)${removed_ids:+: $*}"
echo "db-dump: done"
