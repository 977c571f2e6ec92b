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
# shellcheck disable=SC3040 # pipefail: bash has it
set -euo pipefail

: "${RESTIC_BIN:?}" "${RESTIC_REPOSITORY:?}" "${RESTIC_PASSWORD:?}" "${BACKUP_HOST:?}" "${BACKUP_TAG:?}" "${DUMP_FILE:?}"
: "${DUMP_COMPLETE_MARKER:?}" "${DRILL_DIR:?}" "${DRILL_DATABASE:?}" "${DRILL_CHECK_SQL:?}" "${DRILL_TABLE:?}" "${DRILL_MIN_ROWS:?}"

r() {
  # shellcheck disable=SC2086 # RESTIC_FLAGS is a flag list
  "${RESTIC_BIN}" ${RESTIC_FLAGS:-} "$@"
}

dump="${DRILL_DIR}/${DUMP_FILE}"
echo "drill: fetching the newest dump of host ${BACKUP_HOST}, tag ${BACKUP_TAG}"
r dump --no-lock --host "${BACKUP_HOST}" --tag "${BACKUP_TAG}" latest "/${DUMP_FILE}" > "${dump}"
if ! tail -c 4096 "${dump}" | grep -qF -- "${DUMP_COMPLETE_MARKER}"; then
  echo "drill: the newest dump ($(wc -c < "${dump}") bytes) does not end with \"${DUMP_COMPLETE_MARKER}\": it is incomplete" >&2
  exit 1
fi

sock="${DRILL_DIR}/mysqld.sock"
# --rpm --cross-bootstrap as the image's entrypoint: no resolveip of the hostname; unix_socket
# authentication for the OS user (mysql, uid 999): no password at all.
mariadb-install-db --no-defaults --rpm --cross-bootstrap --datadir="${DRILL_DIR}/data" --auth-root-authentication-method=socket \
  --auth-root-socket-user=mysql --skip-test-db --skip-name-resolve --innodb-log-file-size=16M > "${DRILL_DIR}/install.log" 2>&1 \
  || { cat "${DRILL_DIR}/install.log" >&2; exit 1; }
mariadbd --no-defaults --datadir="${DRILL_DIR}/data" --socket="${sock}" --skip-networking --pid-file="${DRILL_DIR}/mysqld.pid" \
  --tmpdir=/tmp --innodb-log-file-size=16M --skip-name-resolve > "${DRILL_DIR}/mariadbd.log" 2>&1 &
pid=$!
trap 'kill -TERM "${pid}" 2>/dev/null || true; wait "${pid}" 2>/dev/null || true' EXIT
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

echo "drill: restoring into a throwaway server"
if ! q < "${dump}" > "${DRILL_DIR}/restore.log" 2>&1; then
  tail -n 20 "${DRILL_DIR}/restore.log" >&2
  echo "drill: the dump does not restore (see above)" >&2
  exit 1
fi
count=$(q --batch --skip-column-names -e "${DRILL_CHECK_SQL}") || { echo "drill: cannot count the rows of ${DRILL_TABLE} in ${DRILL_DATABASE}" >&2; exit 1; }
if [ "${count}" -lt "${DRILL_MIN_ROWS}" ]; then
  echo "drill: ${DRILL_TABLE} has ${count} rows, fewer than ${DRILL_MIN_ROWS}" >&2
  exit 1
fi
echo "drill: ok, ${DRILL_DATABASE}.${DRILL_TABLE} has ${count} rows"
