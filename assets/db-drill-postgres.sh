#!/bin/bash
# Restore drill of a PostgreSQL dump: fetches the newest dump of one host+tag group, starts a
# throwaway server in DRILL_DIR (initdb, unix socket only, no network), restores the dump with
# ON_ERROR_STOP and checks that a table has at least DRILL_MIN_ROWS rows.
#
# Runs with bash in the postgres image as its uid 999; POSIX (plus pipefail) for shellcheck.
#   RESTIC_BIN, RESTIC_REPOSITORY, RESTIC_PASSWORD, RESTIC_FLAGS   the repository (read, --no-lock)
#   BACKUP_HOST, BACKUP_TAG, DUMP_FILE                              which dump
#   DUMP_COMPLETE_MARKER                                            the line a complete dump ends with
#   DUMP_USER, DRILL_ROLES                                          roles to create before restoring
#   DRILL_DIR, DRILL_DATABASE, DRILL_CHECK_SQL, DRILL_TABLE, DRILL_MIN_ROWS   the check
#   SUMMARY_*                                                       what the summary line names (summary-lib.sh)
#
# Its last line on stdout is the job's summary (summary-lib.sh): the snapshot it restored and the
# rows it counted, also when it fails.
# shellcheck disable=SC3040 # pipefail: bash has it
set -euo pipefail

: "${RESTIC_BIN:?}" "${RESTIC_REPOSITORY:?}" "${RESTIC_PASSWORD:?}" "${BACKUP_HOST:?}" "${BACKUP_TAG:?}" "${DUMP_FILE:?}"
: "${DUMP_COMPLETE_MARKER:?}" "${DRILL_DIR:?}" "${DRILL_DATABASE:?}" "${DRILL_CHECK_SQL:?}" "${DRILL_TABLE:?}" "${DRILL_MIN_ROWS:?}"

r() {
  # shellcheck disable=SC2086 # RESTIC_FLAGS is a flag list
  "${RESTIC_BIN}" ${RESTIC_FLAGS:-} "$@"
}

# shellcheck source-path=SCRIPTDIR source=summary-lib.sh
. "${0%/*}/summary-lib.sh"
summary_begin
# What the summary reports, filled in as the steps run; `step` is the one running, named in the
# summary when the drill fails there.
step='fetch'
id=''
dump_bytes=''
count=''
pid=''
drill_exit() {
  drill_rc=$1
  set +eu
  trap - EXIT
  # The throwaway server first: nothing may print after the summary.
  if [ -n "${pid}" ]; then
    kill -INT "${pid}" 2>/dev/null || true
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
trap 'drill_exit "$?"' EXIT

dump="${DRILL_DIR}/${DUMP_FILE}"
echo "drill: fetching the newest dump of host ${BACKUP_HOST}, tag ${BACKUP_TAG}"
# The newest snapshot by id, so the summary names the one restored (restic lists them oldest
# first, one JSON object each starting with "time").
id=$(r snapshots --no-lock --json --host "${BACKUP_HOST}" --tag "${BACKUP_TAG}" | sed 's/},{"time":/}\n{"time":/g' | tail -n 1 \
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

step='server'
sock="${DRILL_DIR}/sock"
mkdir -p "${sock}"
initdb -D "${DRILL_DIR}/data" -U drill --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions > "${DRILL_DIR}/initdb.log" 2>&1 \
  || { cat "${DRILL_DIR}/initdb.log" >&2; exit 1; }
postgres -D "${DRILL_DIR}/data" -c listen_addresses='' -c unix_socket_directories="${sock}" -c fsync=off > "${DRILL_DIR}/postgres.log" 2>&1 &
pid=$!
# A local server, trust auth over the socket: nothing of the dump job's login applies.
unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE
q() {
  psql -X -q -v ON_ERROR_STOP=1 -h "${sock}" -U drill "$@"
}
ready=0
for _ in $(seq 1 300); do
  if pg_isready -q -h "${sock}" -U drill -d postgres; then ready=1; break; fi
  sleep 0.1
done
if [ "${ready}" -ne 1 ]; then
  cat "${DRILL_DIR}/postgres.log" >&2
  echo "drill: the throwaway server did not start" >&2
  exit 1
fi

step='restore'
for role in ${DUMP_USER:-} ${DRILL_ROLES:-}; do
  q -d postgres -c "CREATE ROLE \"${role}\"" 2>/dev/null || true
done
echo "drill: restoring into a throwaway server"
if ! q -d postgres -f "${dump}" > "${DRILL_DIR}/restore.log" 2>&1; then
  tail -n 20 "${DRILL_DIR}/restore.log" >&2
  echo "drill: the dump does not restore (see above)" >&2
  exit 1
fi
step='row-count'
count=$(q -A -t -d "${DRILL_DATABASE}" -c "${DRILL_CHECK_SQL}") || { echo "drill: cannot count the rows of ${DRILL_TABLE} in ${DRILL_DATABASE}" >&2; exit 1; }
if [ "${count}" -lt "${DRILL_MIN_ROWS}" ]; then
  echo "drill: ${DRILL_TABLE} has ${count} rows, fewer than ${DRILL_MIN_ROWS}" >&2
  exit 1
fi
echo "drill: ok, ${DRILL_DATABASE}.${DRILL_TABLE} has ${count} rows"
