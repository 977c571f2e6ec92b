#!/bin/bash
# Restore drill of a PostgreSQL dump (db-drill-lib.sh: the fetch, the restore, the check and the
# environment): a throwaway server in DRILL_DIR (initdb), the dump restored with ON_ERROR_STOP.
#
# Runs with bash in the postgres image as its uid 999; POSIX (plus pipefail) for shellcheck.
#   DUMP_USER, DRILL_ROLES   roles to create before restoring
# shellcheck disable=SC3040 # pipefail: bash has it
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=db-drill-lib.sh
. "${0%/*}/db-drill-lib.sh"
drill_begin
drill_fetch

step='server'
sock="${DRILL_DIR}/sock"
mkdir -p "${sock}"
initdb -D "${DRILL_DIR}/data" -U drill --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions > "${DRILL_DIR}/initdb.log" 2>&1 \
  || { cat "${DRILL_DIR}/initdb.log" >&2; exit 1; }
postgres -D "${DRILL_DIR}/data" -c listen_addresses='' -c unix_socket_directories="${sock}" -c fsync=off > "${DRILL_DIR}/postgres.log" 2>&1 &
drill_server "$!" INT
# A local server, trust auth over the socket: nothing of the dump job's login applies.
unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE
q() {
  psql -X -q -v ON_ERROR_STOP=1 -h "${sock}" -U drill "$@"
}
drill_server_ready "${DRILL_DIR}/postgres.log" pg_isready -q -h "${sock}" -U drill -d postgres

for role in ${DUMP_USER:-} ${DRILL_ROLES:-}; do
  q -d postgres -c "CREATE ROLE \"${role}\"" 2>/dev/null || true
done
drill_restore q -d postgres -f "${dump}"
drill_count_rows q -A -t -d "${DRILL_DATABASE}" -c "${DRILL_CHECK_SQL}"
