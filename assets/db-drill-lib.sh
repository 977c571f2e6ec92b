# shellcheck shell=sh
# What the restore drills of a database dump (db-drill-postgres.sh, db-drill-mysql.sh) share:
# fetching the newest dump of one host+tag group, waiting for the throwaway server the engine's
# script starts in DRILL_DIR (unix socket only, no network), restoring the dump into it and
# checking that a table has at least DRILL_MIN_ROWS rows; the summary line throughout.
#
# Sourced, not run. Runs with bash in the database's image as its uid 999; POSIX (plus pipefail)
# for shellcheck. Environment (set by DatabaseRestoreDrill):
#   RESTIC_BIN, RESTIC_REPOSITORY, RESTIC_PASSWORD, RESTIC_FLAGS   the repository (read, --no-lock)
#   BACKUP_HOST, BACKUP_TAG, DUMP_FILE                              which dump
#   DUMP_COMPLETE_MARKER                                            the line a complete dump ends with
#   DRILL_DIR, DRILL_DATABASE, DRILL_CHECK_SQL, DRILL_TABLE, DRILL_MIN_ROWS   the check
#   SUMMARY_*                                                       what the summary line names (summary-lib.sh)
#
# Its last line on stdout is the job's summary (summary-lib.sh): the snapshot it restored and the
# rows it counted, also when it fails.

# shellcheck source-path=SCRIPTDIR source=restic-lib.sh
. "${0%/*}/restic-lib.sh"
# shellcheck source-path=SCRIPTDIR source=summary-lib.sh
. "${0%/*}/summary-lib.sh"

# The environment, then the summary and the EXIT trap that prints it.
drill_begin() {
  : "${RESTIC_BIN:?}" "${RESTIC_REPOSITORY:?}" "${RESTIC_PASSWORD:?}" "${BACKUP_HOST:?}" "${BACKUP_TAG:?}" "${DUMP_FILE:?}"
  : "${DUMP_COMPLETE_MARKER:?}" "${DRILL_DIR:?}" "${DRILL_DATABASE:?}" "${DRILL_CHECK_SQL:?}" "${DRILL_TABLE:?}" "${DRILL_MIN_ROWS:?}"
  summary_begin
  # What the summary reports, filled in as the steps run; `step` is the one running, named in the
  # summary when the drill fails there.
  step='fetch'
  id=''
  dump_bytes=''
  count=''
  pid=''
  trap 'drill_exit "$?"' EXIT
}
drill_exit() {
  drill_rc=$1
  set +eu
  trap - EXIT
  # The throwaway server first: nothing may print after the summary.
  if [ -n "${pid}" ]; then
    kill -"${server_stop_signal}" "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  fi
  summary_add host string "${BACKUP_HOST:-}"
  summary_add snapshotId string "${id}"
  summary_add dumpBytes number "${dump_bytes}"
  summary_add database string "${DRILL_DATABASE:-}"
  summary_add table string "${DRILL_TABLE:-}"
  summary_add rows number "${count}"
  summary_add minRows number "${DRILL_MIN_ROWS:-}"
  summary_emit "${drill_rc}" "${step}"
  exit "${drill_rc}"
}

# The newest dump of the group, to ${dump}; it must end with DUMP_COMPLETE_MARKER.
drill_fetch() {
  dump="${DRILL_DIR}/${DUMP_FILE}"
  echo "drill: fetching the newest dump of host ${BACKUP_HOST}, tag ${BACKUP_TAG}"
  # The newest snapshot by id, so the summary names the one restored.
  # shellcheck disable=SC2119 # newest_snapshot's TAG is optional
  id=$(r_first snapshots --no-lock --json --host "${BACKUP_HOST}" --tag "${BACKUP_TAG}" --tag discarded | newest_snapshot \
    | { grep -o '"id":"[0-9a-f]*"' || true; } | head -n 1 | cut -d'"' -f4)
  if [ -z "${id}" ]; then
    echo "drill: no snapshot of host ${BACKUP_HOST} with tag ${BACKUP_TAG} in ${RESTIC_REPOSITORY}" >&2
    exit 1
  fi
  r dump --no-lock "${id}" "/${DUMP_FILE}" > "${dump}"
  dump_bytes=$(( $(wc -c < "${dump}") ))
  step='incomplete-dump'
  if ! tail -c 4096 "${dump}" | grep -qF -- "${DUMP_COMPLETE_MARKER}"; then
    echo "drill: the newest dump ($(wc -c < "${dump}") bytes) does not end with \"${DUMP_COMPLETE_MARKER}\": it is incomplete" >&2
    exit 1
  fi
}

# The throwaway server the engine's script started in the background: drill_server PID SIGNAL,
# where SIGNAL stops it when the drill ends.
drill_server() {
  pid=$1
  server_stop_signal=$2
}

# drill_server_ready LOG PING...: the server answers PING within 30 s, or the drill fails with its LOG.
drill_server_ready() {
  server_log=$1
  shift
  ready=0
  for _ in $(seq 1 300); do
    if "$@" > /dev/null 2>&1; then ready=1; break; fi
    sleep 0.1
  done
  if [ "${ready}" -ne 1 ]; then
    cat "${server_log}" >&2
    echo "drill: the throwaway server did not start" >&2
    exit 1
  fi
}

# drill_restore RESTORE...: RESTORE (the engine's client, reading ${dump}) restores the dump.
drill_restore() {
  step='restore'
  echo "drill: restoring into a throwaway server"
  if ! "$@" > "${DRILL_DIR}/restore.log" 2>&1; then
    tail -n 20 "${DRILL_DIR}/restore.log" >&2
    echo "drill: the dump does not restore (see above)" >&2
    exit 1
  fi
}

# drill_count_rows COUNT...: COUNT prints the rows DRILL_CHECK_SQL counts; at least DRILL_MIN_ROWS.
drill_count_rows() {
  step='row-count'
  count=$("$@") || { echo "drill: cannot count the rows of ${DRILL_TABLE} in ${DRILL_DATABASE}" >&2; exit 1; }
  if [ "${count}" -lt "${DRILL_MIN_ROWS}" ]; then
    echo "drill: ${DRILL_TABLE} has ${count} rows, fewer than ${DRILL_MIN_ROWS}" >&2
    exit 1
  fi
  echo "drill: ok, ${DRILL_DATABASE}.${DRILL_TABLE} has ${count} rows"
}
