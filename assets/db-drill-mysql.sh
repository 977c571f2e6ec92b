#!/bin/bash
# Restore drill of a MySQL/MariaDB dump (db-drill-lib.sh: the fetch, the restore, the check and
# the environment): a throwaway mariadbd in DRILL_DIR.
#
# Runs with bash in the mariadb image as its uid 999 (the `mysql` user: socket authentication, no
# password); POSIX (plus pipefail) for shellcheck.
# shellcheck disable=SC3040 # pipefail: bash has it
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=db-drill-lib.sh
. "${0%/*}/db-drill-lib.sh"
drill_begin
drill_fetch

step='server'
sock="${DRILL_DIR}/mysqld.sock"
# --rpm --cross-bootstrap as the image's entrypoint: no resolveip of the hostname; unix_socket
# authentication for the OS user (mysql, uid 999): no password at all.
mariadb-install-db --no-defaults --rpm --cross-bootstrap --datadir="${DRILL_DIR}/data" --auth-root-authentication-method=socket \
  --auth-root-socket-user=mysql --skip-test-db --skip-name-resolve --innodb-log-file-size=16M > "${DRILL_DIR}/install.log" 2>&1 \
  || { cat "${DRILL_DIR}/install.log" >&2; exit 1; }
mariadbd --no-defaults --datadir="${DRILL_DIR}/data" --socket="${sock}" --skip-networking --pid-file="${DRILL_DIR}/mysqld.pid" \
  --tmpdir=/tmp --innodb-log-file-size=16M --skip-name-resolve > "${DRILL_DIR}/mariadbd.log" 2>&1 &
drill_server "$!" TERM
unset MYSQL_PWD MYSQL_HOST MYSQL_TCP_PORT
q() {
  mariadb --no-defaults --socket="${sock}" --user=mysql "$@"
}
drill_server_ready "${DRILL_DIR}/mariadbd.log" mariadb-admin --no-defaults --socket="${sock}" --user=mysql ping

drill_restore q < "${dump}"
drill_count_rows q --batch --skip-column-names -e "${DRILL_CHECK_SQL}"
