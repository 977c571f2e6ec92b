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

# Which locks a writing job removes before it starts (restic-upload.sh, db-dump.sh). A job that
# is its repository's only user removes them all: any lock is from a killed run of its own. With
# split roles (RETENTION_ELSEWHERE) the maintenance job uses the repository too, and removing its
# live exclusive lock would let a backup run beside its prune, which can delete the packs the
# backup is adding to: only stale locks then (0.18.0 internal/restic/lock.go Stale: older than
# 30 minutes, or of a dead process on this host), and the jobs wait for each other's locks
# (--retry-lock in RESTIC_FLAGS, restic-step.ts).
writer_unlock_args() {
  [ -n "${RETENTION_ELSEWHERE:-}" ] || echo '--remove-all'
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
# newest_snapshot [TAG]: the newest one without TAG. Neither a discard marker (discard_snapshot)
# nor a snapshot one of them names is a candidate (a list of `--tag <group> --tag discarded`
# holds both).
newest_snapshot() {
  newest_tag=${1:-}
  newest_list=$(sed 's/},{"time":/}\n{"time":/g')
  set -- -e '"discarded"'
  for newest_id in $(printf '%s\n' "${newest_list}" | grep -o '"discarded-of=[0-9a-f]*"' | cut -d= -f2 | tr -d '"' || true); do
    set -- "$@" -e "\"id\":\"${newest_id}"
  done
  printf '%s\n' "${newest_list}" | { grep -v "$@" || true; } | sed "${newest_tag:+/\"${newest_tag}\"/d}" | tail -n 1
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

# Whether the keys this job holds can delete what it wrote, proven at every run:
# probe_delete_protection WHO. Saves a tiny snapshot (tagged delete-probe, outside the job's
# group: no retention and no restore sees it; its one data blob is the same every run) and asks
# restic to forget it, then looks whether it is still there. restic's forget exits 0 when the
# storage refuses the delete (0.18.0 cmd/restic/cmd_forget.go prints "unable to remove ..." and
# goes on), so only the second look tells. Sets delete_protection:
#   denied     the snapshot is still there: these keys cannot delete (the maintenance job
#              removes the probes)
#   versioned  it is gone from restic's view, and the construct declared S3 Object Lock
#              (DELETE_PROTECTION_EXPECTED=versioned): the delete left a delete marker over a
#              locked version (the bucket's lock configuration is not visible from here)
#   none       it is gone: these keys can delete every backup of the repository
#   unknown    the probe itself failed (the log says why)
# Its restic calls run as r_child (a TERM trap can stop them at once: restic-upload.sh probes
# in the background), so the probe's content comes from a command, not from stdin (an
# asynchronous command's stdin is /dev/null): `echo`, the same 26 bytes every run.
# With one credential for every role (no DELETE_PROTECTION_EXPECTED) there is nothing to prove:
# the job's own retention deletes with these keys (and fails if they cannot), so the line says
# none without the probe's three restic calls (1.5-2.5 s a run, measured).
probe_delete_protection() {
  probe_who=$1
  probe_report="${TMPDIR:-/tmp}/delete-probe.json"
  if [ -z "${DELETE_PROTECTION_EXPECTED:-}" ]; then
    delete_protection='none'
    echo "${probe_who}: delete protection: none (one credential for every role: this job's retention deletes with these keys; not probed)"
    return 0
  fi
  delete_protection='unknown'
  if ! r_child 0 backup --json --stdin-from-command --stdin-filename delete-probe --host "${BACKUP_HOST}" --tag delete-probe -- echo 'cdk8s-backup delete probe' > "${probe_report}"; then
    echo "${probe_who}: the delete probe could not save its snapshot (see above)" >&2
    return 0
  fi
  summary_field snapshot_id "$(grep '"message_type":"summary"' "${probe_report}" | tail -n 1 || true)"
  # shellcheck disable=SC2154 # v: set by summary_field (summary-lib.sh)
  probe_id=${v}
  if [ -z "${probe_id}" ]; then
    echo "${probe_who}: the delete probe found no snapshot id in restic's report" >&2
    return 0
  fi
  r_child 0 forget "${probe_id}" > "${probe_report}.forget" 2>&1 || true
  if r_child 0 cat --no-lock snapshot "${probe_id}" > /dev/null 2>&1; then
    delete_protection='denied'
    echo "${probe_who}: delete protection: denied (these keys could not delete the probe snapshot ${probe_id})"
  elif [ "${DELETE_PROTECTION_EXPECTED:-}" = 'versioned' ]; then
    delete_protection='versioned'
    echo "${probe_who}: delete protection: versioned (these keys deleted the probe snapshot ${probe_id} from restic's view; S3 Object Lock, as declared, keeps its locked version)"
  else
    delete_protection='none'
    echo "${probe_who}: delete protection: none (these keys deleted the probe snapshot ${probe_id}: they can delete every backup in this repository)"
  fi
}

# A job whose configuration promises keys that cannot delete, but whose probe found none, fails
# (after its backup, which is kept; nothing is pruned): delete_protection_check WHO.
delete_protection_check() {
  [ -n "${DELETE_PROTECTION_EXPECTED:-}" ] || return 0
  case "${DELETE_PROTECTION_EXPECTED}:${delete_protection:-unknown}" in
    *:denied | versioned:versioned) return 0 ;;
  esac
  # shellcheck disable=SC2034 # the summary's (summary-lib.sh), read by the caller's EXIT trap
  step='delete-protection'
  echo "$1: DELETE PROTECTION MISSING: the configuration says these keys cannot delete backups (${DELETE_PROTECTION_EXPECTED}), but the probe found ${delete_protection:-unknown}. The backup is kept; nothing was pruned. Give these keys the writer's policy of the plan (BackupRepository.accessPolicies()), or fix the storage's append-only or Object Lock setting." >&2
  exit 1
}

# An incomplete backup's snapshot is no restore candidate: it would be `latest` and could
# displace a complete one in the retention. discard_snapshot WHO ID. With keys that may delete,
# it is forgotten; where the retention runs elsewhere (RETENTION_ELSEWHERE: the roles are split,
# these keys cannot delete) a marker snapshot (tags discarded, discarded-of=ID, outside the job's
# group) names it: the drills skip it (newest_snapshot) and the maintenance job removes both.
# discard_snapshot ID sets discarded_verb and discarded_note, for the caller's message
# ("<verb> its snapshot <id><note>").
# shellcheck disable=SC2034 # discarded_verb, discarded_note: read by the caller
discard_snapshot() {
  if [ -n "${RETENTION_ELSEWHERE:-}" ]; then
    printf '%s\n' "$1" | r backup --quiet --stdin --stdin-filename discarded --host "${BACKUP_HOST}" --tag discarded --tag "discarded-of=$1" > /dev/null
    discarded_verb='marked'
    discarded_note=' as discarded (these keys cannot delete it: the maintenance job removes it, the drills skip it)'
  else
    r forget "$1"
    discarded_verb='removed'
    discarded_note=''
  fi
}
