# shellcheck shell=sh
# The restic calls the scripts share: restic-upload.sh and db-dump.sh write a repository,
# restic-fetch.sh and the database drills (db-drill-lib.sh) read one.
#
# Sourced, not run. In the restic image (busybox ash) and in the database images (bash, with a
# static restic that an init container copied: RESTIC_BIN). The retention (forget_by_retention)
# reads restic's answer with summary-lib.sh, which every script that sources this one sources.
#
#   RESTIC_BIN           optional: the restic binary (default: restic on PATH)
#   RESTIC_FLAGS         global restic flags the construct chose (--cacert <file>)
#   REPOSITORY_TIMEOUT   seconds the first question to the repository may take (default 60)

# RESTIC_FLAGS: restic 0.14 reads a custom CA only from --cacert (newer versions also from
# RESTIC_CACERT); the construct renders the flag, with a path of safe characters.
r() {
  # shellcheck disable=SC2086 # RESTIC_FLAGS is a flag list
  "${RESTIC_BIN:-restic}" ${RESTIC_FLAGS:-} "$@"
}

# restic >= 0.17 retries a failing backend for up to 15 minutes, with no option to shorten it
# (0.18.0: cmd/restic/global.go `retry.New(be, 15*time.Minute, ...)`; backend_retry.go backs off
# from 1 s, doubling, without a retry count): an unreachable endpoint would hold the job that
# long. So each script's first question gets at most repository_timeout seconds (then SIGTERM, on
# which restic cancels and fails, exit 1; KILL 10 s later), ample for one question to a reachable
# repository. Timed out = it took that long (restic's exit code does not tell).
repository_timeout=${REPOSITORY_TIMEOUT:-60}

# r_first ARGS...: r for that first question.
r_first() {
  r_child "${repository_timeout}" "$@"
}

# r_child SECONDS ARGS...: r within SECONDS (0: unbounded), run as a child the shell waits for,
# its pid in r_pid: a trap runs at once and can stop it (restic-upload.sh asks in the background).
# The pid is restic's or timeout's own (a function run with & would be a subshell whose child
# outlives a kill).
r_child() {
  r_within=$1
  shift
  # shellcheck disable=SC2086 # RESTIC_FLAGS is a flag list
  set -- "${RESTIC_BIN:-restic}" ${RESTIC_FLAGS:-} "$@"
  [ "${r_within}" -eq 0 ] || set -- timeout -k 10 "${r_within}" "$@"
  "$@" &
  r_pid=$!
  wait "${r_pid}"
}

# Creates the repository when the first question's answer says it does not exist, and only then:
# a wrong password, a network error or missing permissions must fail the job, not trigger an init.
# init_if_missing WHO EXIT_CODE OUTPUT (the failed question's); WHO starts the messages. Returns 1,
# with OUTPUT printed, when the repository could not be opened: the caller says so and stops.
init_if_missing() {
  case "$3" in
    *"specified key does not exist"* | *"repository does not exist"* | *"NoSuchKey"* | *"BlobNotFound"* | *"object doesn't exist"*)
      echo "$1: initializing repository ${RESTIC_REPOSITORY}"
      r init || exit
      ;;
    *)
      if [ "$2" -eq 10 ]; then
        r init || exit
      else
        echo "$3" >&2
        return 1
      fi
      ;;
  esac
}

# The newest snapshot of a `restic snapshots --json` list on stdin, as one JSON object (empty when
# there is none): restic lists them oldest first, one object each starting with "time".
# newest_snapshot [TAG]: the newest one without TAG.
newest_snapshot() {
  sed 's/},{"time":/}\n{"time":/g' | sed "${1:+/\"$1\"/d}" | tail -n 1
}

# The retention, only within the job's host+tag group: forget_by_retention WHO FORGET_FLAGS...
# --json: the snapshots it removed, by id, for the summary (prune's report stays in the log:
# summary_read_forget). Sets step, snapshot_id and removed_ids for the summary; prints how many it
# removed; a failure ends the script with restic's exit code.
forget_by_retention() {
  retention_who=$1
  shift
  # shellcheck disable=SC2034 # the summary's (summary-lib.sh), read by the caller's EXIT trap
  step='retention'
  forgotten="${TMPDIR:-/tmp}/${retention_who}-forget.out"
  retention_rc=0
  r forget --json --host "${BACKUP_HOST}" --tag "${BACKUP_TAG}" --group-by host --prune "$@" > "${forgotten}" || retention_rc=$?
  # A prune that fails after forget removed snapshots: the summary still names them.
  summary_read_forget "${forgotten}" "${snapshot_id}"
  # shellcheck disable=SC2154 # set by summary_read_forget
  snapshot_id=${snapshot_id_full}
  [ "${retention_rc}" -eq 0 ] || exit "${retention_rc}"
  # shellcheck disable=SC2086,SC2154 # ids are hex words, set by summary_read_forget
  set -- ${removed_ids}
  echo "${retention_who}: the retention removed $# snapshot(s)${removed_ids:+: $*}"
}
