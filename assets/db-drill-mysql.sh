#!/bin/bash
# Restore drill of a MySQL/MariaDB dump: fetches the newest dump of one host+tag group, starts a
# throwaway mariadbd in DRILL_DIR (unix socket only, no network), restores the dump and checks that
# a table has at least DRILL_MIN_ROWS rows.
#
# Runs with bash in the mariadb image as its uid 999 (the `mysql` user: socket authentication, no
# password); POSIX (plus pipefail) for shellcheck.
#   RESTIC_BIN, RESTIC_REPOSITORY, RESTIC_PASSWORD, RESTIC_FLAGS   the repository (read, --no-lock)
#   BACKUP_HOST, BACKUP_TAG, DUMP_FILE                              which dump
#   DUMP_COMPLETE_MARKER                                            the line a complete dump ends with
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
    kill -TERM "${pid}" 2>/dev/null || true
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
sock="${DRILL_DIR}/mysqld.sock"
# --rpm --cross-bootstrap as the image's entrypoint: no resolveip of the hostname; unix_socket
# authentication for the OS user (mysql, uid 999): no password at all.
mariadb-install-db --no-defaults --rpm --cross-bootstrap --datadir="${DRILL_DIR}/data" --auth-root-authentication-method=socket \
  --auth-root-socket-user=mysql --skip-test-db --skip-name-resolve --innodb-log-file-size=16M > "${DRILL_DIR}/install.log" 2>&1 \
  || { cat "${DRILL_DIR}/install.log" >&2; exit 1; }
mariadbd --no-defaults --datadir="${DRILL_DIR}/data" --socket="${sock}" --skip-networking --pid-file="${DRILL_DIR}/mysqld.pid" \
  --tmpdir=/tmp --innodb-log-file-size=16M --skip-name-resolve > "${DRILL_DIR}/mariadbd.log" 2>&1 &
pid=$!
unset MYSQL_PWD MYSQL_HOST MYSQL_TCP_PORT
q() {
  mariadb --no-defaults --socket="${sock}" --user=mysql "$@"
}
ready=0
for _ in $(seq 1 300); do
  if mariadb-admin --no-defaults --socket="${sock}" --user=mysql ping > /dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
if [ "${ready}" -ne 1 ]; then
  cat "${DRILL_DIR}/mariadbd.log" >&2
  echo "drill: the throwaway server did not start" >&2
  exit 1
fi

step='restore'
echo "drill: restoring into a throwaway server"
if ! q < "${dump}" > "${DRILL_DIR}/restore.log" 2>&1; then
  tail -n 20 "${DRILL_DIR}/restore.log" >&2
  echo "drill: the dump does not restore (see above)" >&2
  exit 1
fi
step='row-count'
count=$(q --batch --skip-column-names -e "${DRILL_CHECK_SQL}") || { echo "drill: cannot count the rows of ${DRILL_TABLE} in ${DRILL_DATABASE}" >&2; exit 1; }
if [ "${count}" -lt "${DRILL_MIN_ROWS}" ]; then
  echo "drill: ${DRILL_TABLE} has ${count} rows, fewer than ${DRILL_MIN_ROWS}" >&2
  exit 1
fi
echo "drill: ok, ${DRILL_DATABASE}.${DRILL_TABLE} has ${count} rows"
