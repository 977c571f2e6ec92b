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
#   FORGET_ARGS                           the retention, as restic forget flags (unless ...)
#   RETENTION_ELSEWHERE                   ... the roles are split: a maintenance job applies it
#   DELETE_PROTECTION_EXPECTED            optional: what the probe must find (restic-upload.sh)
#   TMPDIR, RESTIC_CACHE_DIR              writable scratch (the root filesystem is read-only)
#   SUMMARY_*                             what the summary line names (summary-lib.sh)
#
# Its last line on stdout is the job's summary (summary-lib.sh), also when it fails.
# shellcheck disable=SC3040 # pipefail: bash has it
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=summary-lib.sh
. "${0%/*}/summary-lib.sh"
# shellcheck source-path=SCRIPTDIR source=restic-lib.sh
. "${0%/*}/restic-lib.sh"
summary_backup_begin
trap 'summary_backup_exit "$?"' EXIT

: "${RESTIC_BIN:?}" "${RESTIC_REPOSITORY:?}" "${RESTIC_PASSWORD:?}" "${BACKUP_HOST:?}" "${BACKUP_TAG:?}" "${DUMP_FILE:?}"
[ -n "${RETENTION_ELSEWHERE:-}" ] || : "${FORGET_ARGS:?}"
if [ "$#" -eq 0 ]; then
  echo "db-dump: no dump command given" >&2
  exit 2
fi

# Create the repository on first use (restic-lib.sh init_if_missing). --no-lock: see
# restic-upload.sh (a stale exclusive lock of a killed prune must not block the unlock below).
step='repository'
rc=0
out=$(r_first cat config --no-lock 2>&1 >/dev/null) || rc=$?
if [ "${rc}" -ne 0 ] && ! init_if_missing db-dump "${rc}" "${out}"; then
  echo "db-dump: cannot open the repository (see above; it gets ${repository_timeout} s to answer); nothing dumped, nothing pruned" >&2
  exit 1
fi

# This CronJob (concurrencyPolicy: Forbid) is the repository's only writer: any lock is from a
# killed run of this job (with split roles only the stale ones: restic-lib.sh
# writer_unlock_args). restic ignores no lock by itself, stale or not (0.18.0
# internal/restic/lock.go checkForOtherLocks).
# shellcheck disable=SC2046 # one flag or none
r unlock $(writer_unlock_args)

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
    discard_snapshot "${snapshot_id}"
    echo "db-dump: ${discarded_verb} the snapshot ${snapshot_id} of the incomplete dump${discarded_note}" >&2
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

# The keys' delete rights, proven (restic-lib.sh).
step='delete-protection'
probe_delete_protection db-dump
delete_protection_check db-dump

# Only after a complete dump (set -e).
if [ -n "${RETENTION_ELSEWHERE:-}" ]; then
  echo "db-dump: done; the retention runs in ${RETENTION_ELSEWHERE}, with the maintainer's keys"
  exit 0
fi
# shellcheck disable=SC2086 # FORGET_ARGS is a flag list of safe words
forget_by_retention db-dump ${FORGET_ARGS}
echo "db-dump: done"
