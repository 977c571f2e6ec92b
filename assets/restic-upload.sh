#!/bin/sh
# Ships a backup to its restic repository, then applies the retention.
#
# Runs in the restic image (alpine: busybox ash, no bash). Everything it needs comes from the
# environment set by the construct; the retention flags come as arguments ("$@").
#
#   RESTIC_REPOSITORY, RESTIC_PASSWORD   the repository (one per job: it is the only writer)
#   RESTIC_FLAGS                          global restic flags the construct chose (--cacert <file>)
#   BACKUP_ARGS                           what to back up, as restic arguments (a directory, or
#                                         --exclude-file/--files-from-verbatim with their files)
#   BACKUP_REQUIRED_FILE                  optional paths that must exist, one per line
#   BACKUP_META                           optional KEY=value metadata file; recorded as tags
#   CHECKSUM_TRAILER_FILE                 optional file that ends with the sha256 of everything
#                                         before it (an etcd snapshot: `snapshot save` appends
#                                         it, every restore checks it): checked against the
#                                         content before anything is uploaded, and recorded ...
#   CHECKSUM_TAG                          ... as the tag CHECKSUM_TAG=<hex>
#   SPLIT_FILE, SPLIT_DIR, SPLIT_BYTES    optional: SPLIT_FILE is replaced, before the backup,
#                                         by the directory SPLIT_DIR of its SPLIT_BYTES pieces
#                                         in order (p100000, p100001, ...: `cat SPLIT_DIR/*`
#                                         joins them), for restic to deduplicate (see below)
#   BACKUP_HOST, BACKUP_TAG               the snapshot group this job owns (host + tag)
#   DROP_GUARD_TAG                        optional metadata tag holding a count (etcd-keys) ...
#   DROP_GUARD_MAX_PERCENT                ... that may not drop by more than this against the
#                                         newest accepted snapshot of the group (see below)
#   META_MUST_MATCH                       optional tag=value the metadata must hold (etcd-version=3.6.11);
#                                         otherwise the backup is kept, nothing is pruned and the job
#                                         fails, with META_MISMATCH_ADVICE (what to change) in the log
#   RETENTION_ELSEWHERE                   optional: the roles are split and this job's keys cannot
#                                         delete: no retention here (a maintenance job applies it),
#                                         and an incomplete backup is marked, not removed
#   DELETE_PROTECTION_EXPECTED            optional: denied or versioned, what the configuration
#                                         promises of these keys; the probe (restic-lib.sh) must
#                                         find it, or the job fails after its backup
#   TMPDIR, RESTIC_CACHE_DIR              writable scratch (the root filesystem is read-only)
#   SUMMARY_*                             what the summary line names (summary-lib.sh)
#
# Its last line on stdout is the job's summary (summary-lib.sh), also when it fails.
# shellcheck disable=SC3040 # pipefail: busybox ash (restic image) has it
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=summary-lib.sh
. "${0%/*}/summary-lib.sh"
# shellcheck source-path=SCRIPTDIR source=restic-lib.sh
. "${0%/*}/restic-lib.sh"
summary_backup_begin
upload_exit() {
  set +eu
  # The repository questions, if the job failed before it read their answers.
  [ -z "${asking:-}" ] || kill "${asking}" 2> /dev/null
  summary_backup_exit "$1"
}
trap 'upload_exit "$?"' EXIT

: "${RESTIC_REPOSITORY:?}" "${RESTIC_PASSWORD:?}" "${BACKUP_HOST:?}" "${BACKUP_TAG:?}" "${BACKUP_ARGS:?}"
if [ "$#" -eq 0 ] && [ -z "${RETENTION_ELSEWHERE:-}" ]; then
  echo "upload: no retention flags given; refusing to run forget without a policy" >&2
  exit 2
fi

# A missing required path fails the job before anything is uploaded or pruned: a config backup
# without the cluster CA cannot bring a control plane back.
step='required-paths'
if [ -n "${BACKUP_REQUIRED_FILE:-}" ]; then
  missing=0
  while IFS= read -r path; do
    [ -n "${path}" ] || continue
    if [ ! -e "${path}" ]; then
      echo "upload: required path ${path} does not exist on ${BACKUP_HOST}" >&2
      missing=1
    fi
  done < "${BACKUP_REQUIRED_FILE}"
  if [ "${missing}" -ne 0 ]; then
    echo "upload: nothing uploaded, nothing pruned (fix the node or the construct's paths/requiredPaths)" >&2
    exit 1
  fi
fi

# How long each step took, for the log: /proc/uptime in hundredths of a second, read without a
# subprocess (busybox `date` has no sub-second field). `took` sets `elapsed` to the time since
# its last call (not in $(...): a subshell would lose the mark).
uptime_cs() {
  read -r up _ < /proc/uptime
  up="${up%.*}${up#*.}"
  now_cs=${up#"${up%%[!0]*}"}
}
uptime_cs
mark=${now_cs:-0}
took() {
  uptime_cs
  d=$((${now_cs:-0} - mark))
  mark=${now_cs:-0}
  elapsed="$((d / 100)).$((d % 100 / 10))$((d % 10)) s"
}

# This CronJob (concurrencyPolicy: Forbid) is the repository's only writer, so any lock left
# behind is from a killed run of this job: the unlock removes it (with split roles only the stale
# ones: restic-lib.sh writer_unlock_args). restic ignores no lock by
# itself, stale or not: taking one fails while another exists (0.18.0 internal/restic/lock.go
# checkForOtherLocks; only `unlock` removes stale ones, RemoveStaleLocks). Nothing before it may
# take a lock. The unlock is also the first question to the repository (each restic command pays
# the key derivation once, so one command fewer per run): it tells whether the repository exists,
# and a wrong password, a network error or missing permissions fail the job, not trigger an init.
# (unlock takes no lock itself, so a killed `forget --prune`'s exclusive lock cannot refuse it:
# restic cmd_unlock.go runUnlock opens the repository and removes the locks, taking none.)
# Being the first question, it gets at most repository_timeout seconds (restic-lib.sh r_first).
#
# The questions need neither the file nor its pieces, so they run alongside the checksum and the
# cut (the key derivation and the round trips to the storage, 1-1.5 s of a repeat run, measured),
# and the job reads their answers before it writes anything: a failed check still leaves the
# repository as it was (an unlock of this job's own stale locks at most). With the key-drop guard
# the second question, the group's snapshot list, comes right after the unlock.
answers="${TMPDIR:-/tmp}/repository-answers"
mkdir -p "${answers}"
# Nothing of an earlier run in the same scratch may pass for an answer.
rm -f "${answers}/"*
ask_repository() {
  set +e
  # The job's exit stops the questions (a failed check, below): this subshell's child with it.
  r_pid=''
  trap '[ -z "${r_pid}" ] || kill "${r_pid}" 2> /dev/null; exit 143' TERM
  uptime_cs
  asked=${now_cs:-0}
  # shellcheck disable=SC2046 # one flag or none
  r_first unlock $(writer_unlock_args) > "${answers}/unlock.out" 2>&1
  unlock_rc=$?
  uptime_cs
  echo "$((${now_cs:-0} - asked))" > "${answers}/unlock.cs"
  if [ "${unlock_rc}" -eq 0 ] && [ -n "${DROP_GUARD_TAG:-}" ]; then
    r_child 0 snapshots --no-lock --json --host "${BACKUP_HOST}" --tag "${BACKUP_TAG}" --tag discarded > "${answers}/snapshots.json" 2> "${answers}/snapshots.err"
    echo "$?" > "${answers}/snapshots.rc"
  fi
  # The delete probe (restic-lib.sh) too: nothing else of this job uses the repository before
  # the answers are read, so the probe's forget (an exclusive lock) refuses nothing. A
  # repository created below is probed after its backup instead.
  if [ "${unlock_rc}" -eq 0 ]; then
    probe_delete_protection upload > "${answers}/probe.out" 2>&1
    echo "${delete_protection}" > "${answers}/probe.result"
  fi
  r_pid=''
  # Written last: the answers are complete when this file exists.
  echo "${unlock_rc}" > "${answers}/unlock.rc"
}
ask_repository &
asking=$!

# Metadata goes into tags, not into files.
tags="--tag ${BACKUP_TAG}"
if [ -n "${CHECKSUM_TRAILER_FILE:-}" ]; then
  step='checksum'
  : "${CHECKSUM_TAG:?}"
  sha=$(tail -c 32 "${CHECKSUM_TRAILER_FILE}" | od -An -v -tx1 | tr -d ' \n')
  case "${sha}" in
    *[!0-9a-f]*) sha="" ;;
  esac
  if [ "${#sha}" -ne 64 ]; then
    echo "upload: ${CHECKSUM_TRAILER_FILE} does not end with a sha256; nothing uploaded, nothing pruned" >&2
    exit 1
  fi
  # The content against that trailer, in one pass before anything reaches the repository: a
  # snapshot with flipped or missing bytes never becomes a restore candidate. (This is the check
  # `snapshot restore` makes, without writing a second copy of the database.) The trailer is set
  # aside and the file hashed in place, then the trailer put back: busybox's `head -c -32 | sha256sum`
  # took 6.3 s for 1 GiB, `sha256sum FILE` 1.0 s (busybox 1.37, measured here).
  trailer="${TMPDIR:-/tmp}/checksum-trailer"
  tail -c 32 "${CHECKSUM_TRAILER_FILE}" > "${trailer}"
  content=$(($(stat -c %s "${CHECKSUM_TRAILER_FILE}") - 32))
  truncate -s "${content}" "${CHECKSUM_TRAILER_FILE}"
  actual=$(sha256sum "${CHECKSUM_TRAILER_FILE}")
  cat "${trailer}" >> "${CHECKSUM_TRAILER_FILE}"
  rm -f "${trailer}"
  actual=${actual%% *}
  if [ "${actual}" != "${sha}" ]; then
    echo "upload: ${CHECKSUM_TRAILER_FILE} is corrupt: the sha256 of its content is ${actual}, but the sha256 \`snapshot save\` appended says ${sha}. Nothing uploaded, nothing pruned; the next run takes a new snapshot (if this repeats, check the node's disk)." >&2
    exit 1
  fi
  tags="${tags} --tag ${CHECKSUM_TAG}=${sha}"
  took
  echo "upload: ${CHECKSUM_TRAILER_FILE} matches the sha256 it ends with (${elapsed})"
fi
if [ -n "${BACKUP_META:-}" ]; then
  step='metadata'
  # Metadata (revision, key count) as tags, so `restic snapshots` shows it and a restore
  # drill can compare without downloading. Values are digits, hex and dots (a version) only:
  # safe to split below.
  # The summary has them too, by tag name (a number when it is one: counts are).
  metadata_json=''
  while IFS='=' read -r key value; do
    case "${key}" in '' | *[!A-Za-z0-9_]*) echo "upload: bad metadata line ${key}=${value}" >&2; exit 1 ;; esac
    case "${value}" in *[!A-Za-z0-9_.]*) echo "upload: bad metadata line ${key}=${value}" >&2; exit 1 ;; esac
    name=$(printf '%s' "${key}" | tr 'A-Z_' 'a-z-')
    tags="${tags} --tag ${name}=${value}"
    case "${value}" in '' | *[!0-9]* | 0?*) value="\"${value}\"" ;; esac
    metadata_json="${metadata_json}${metadata_json:+,}\"${name}\":${value}"
  done < "${BACKUP_META}"
  metadata_json="{${metadata_json}}"
fi

# A file in fixed-size pieces, so that restic deduplicates it by what changed. restic's
# content-defined chunker cuts at runs of zero bytes (at least 512 KiB apart); a bbolt database
# (an etcd snapshot) is 4 KiB pages with zero padding, so one page that changes or moves shifts
# every later cut, and measured here an hour's churn re-uploaded 8-72 % of a 1.1 GiB etcd. In
# pieces of at most 512 KiB, each piece is one whole blob (restic never cuts below that size),
# so an unchanged piece is stored once: the same churn added 0.4-2 % (restic 0.14; 1.7-2.9 % with
# 0.18). The pieces are cut from the end and the file truncated behind them, so the volume never
# holds much more than one copy.
if [ -n "${SPLIT_FILE:-}" ]; then
  step='split'
  : "${SPLIT_DIR:?}" "${SPLIT_BYTES:?}"
  size=$(stat -c %s "${SPLIT_FILE}")
  pieces=$(( (size + SPLIT_BYTES - 1) / SPLIT_BYTES ))
  mkdir "${SPLIT_DIR}"
  k=$((pieces - 1))
  while [ "${k}" -ge 0 ]; do
    # Names of one width (100000 + index), so that a glob lists them in order; no subshell.
    dd if="${SPLIT_FILE}" of="${SPLIT_DIR}/p$((100000 + k))" bs="${SPLIT_BYTES}" skip="${k}" count=1 status=none
    [ $((k % 64)) -ne 0 ] || truncate -s $((k * SPLIT_BYTES)) "${SPLIT_FILE}"
    k=$((k - 1))
  done
  rm "${SPLIT_FILE}"
  took
  echo "upload: ${SPLIT_FILE} (${size} bytes) in ${pieces} pieces of ${SPLIT_BYTES} bytes under ${SPLIT_DIR} (${elapsed})"
fi

# The answers of the repository questions started before the checksum.
step='repository'
wait "${asking}" || true
asking=''
unlock_rc=$(cat "${answers}/unlock.rc" 2> /dev/null || echo 1)
asked_cs=$(cat "${answers}/unlock.cs" 2> /dev/null || echo 0)
if [ "${unlock_rc}" -ne 0 ] && ! init_if_missing upload "${unlock_rc}" "$(cat "${answers}/unlock.out" 2> /dev/null || true)"; then
  [ "${asked_cs}" -lt $((repository_timeout * 100)) ] || echo "upload: the repository did not answer within ${repository_timeout} s" >&2
  echo "upload: cannot open the repository (see above); nothing uploaded, nothing pruned" >&2
  exit 1
fi
echo "upload: the repository answered in $((asked_cs / 100)).$((asked_cs % 100 / 10))$((asked_cs % 10)) s (alongside the checks and the cut)"

# A backup of a wiped cluster must not rotate the good ones away: when the guarded count (etcd's
# key count) dropped sharply against the newest snapshot of this group that was not itself such
# a drop, keep this snapshot (tagged count-drop) and every older one, prune nothing, and fail, so
# the alerts fire. Every later run compares with the same good snapshot and fails the same way
# until someone decides: restore, or accept the drop by removing the tag.
drop=""
if [ -n "${DROP_GUARD_TAG:-}" ]; then
  step='key-drop-guard'
  : "${DROP_GUARD_MAX_PERCENT:?}"
  current=""
  for t in ${tags}; do
    case "${t}" in "${DROP_GUARD_TAG}="*) current=${t#*=} ;; esac
  done
  if [ -z "${current}" ]; then
    echo "upload: the metadata has no ${DROP_GUARD_TAG} value to guard" >&2
    exit 1
  fi
  # A repository just created has no snapshots (the list was not asked for).
  list=''
  if [ "${unlock_rc}" -eq 0 ]; then
    list_rc=$(cat "${answers}/snapshots.rc" 2> /dev/null || echo 1)
    if [ "${list_rc}" -ne 0 ]; then
      cat "${answers}/snapshots.err" >&2 || true
      echo "upload: cannot list this group's snapshots for the key-drop guard (exit ${list_rc}, see above); nothing uploaded, nothing pruned" >&2
      exit 1
    fi
    list=$(cat "${answers}/snapshots.json")
  fi
  accepted=$(printf '%s' "${list}" | newest_snapshot count-drop || true)
  previous=$(printf '%s' "${accepted}" | grep -o "\"${DROP_GUARD_TAG}=[0-9]*\"" | head -n 1 | cut -d'=' -f2 | tr -d '"' || true)
  if [ -n "${previous}" ] && [ $((current * 100)) -lt $((previous * (100 - DROP_GUARD_MAX_PERCENT))) ]; then
    previous_id=$(printf '%s' "${accepted}" | grep -o '"short_id":"[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)
    previous_time=$(printf '%s' "${accepted}" | grep -o '"time":"[^"]*"' | head -n 1 | cut -d'"' -f4)
    drop="${DROP_GUARD_TAG} ${current}, the newest accepted snapshot ${previous_id} (${previous_time}) has ${previous}: a drop of more than ${DROP_GUARD_MAX_PERCENT}%"
    tags="${tags} --tag count-drop"
  fi
fi
took

# What to back up: restic arguments from the construct (paths without spaces), word-split below.
what="${BACKUP_ARGS}"

# restic exits 3 when it could not read some files, but it has saved the snapshot by then: it
# would become `latest` for a restore and could displace a complete backup in the retention.
# Remove it and fail.
# --json: what restic did (the snapshot id, what it added) comes from its last message on stdout,
# the summary, instead of from text meant for people. stderr goes to the log as it comes, and to
# a file for the errors below.
step='backup'
report="${TMPDIR:-/tmp}/restic-backup.json"
errors="${TMPDIR:-/tmp}/restic-backup.err"
rc=0
# shellcheck disable=SC2086 # ${tags} and ${what} are flag lists with safe values (see above)
{ r backup --json --host "${BACKUP_HOST}" ${tags} ${what} 2>&1 > "${report}" | tee "${errors}" >&2; } || rc=$?
summary_read_backup "${report}"
if [ -n "${backup_summary}" ]; then
  summary_field files_new "${backup_summary}"; new=${v}
  summary_field files_changed "${backup_summary}"; changed=${v}
  summary_field files_unmodified "${backup_summary}"; unmodified=${v}
  summary_field data_added "${backup_summary}"; added=${v}
  summary_field total_bytes_processed "${backup_summary}"; total=${v}
  echo "upload: snapshot ${snapshot_id:-?} saved: files ${new} new, ${changed} changed, ${unmodified} unmodified; ${added} bytes added to the repository, of ${total}"
fi
if [ "${rc}" -ne 0 ]; then
  # With --json, restic reports each file it could not read as a JSON message on stderr; restic
  # 0.14's holds only the errno (later versions add the error's text): in words for the log.
  grep '"message_type":"error"' "${errors}" | grep -v '"message":' | while IFS= read -r line; do
    item=$(printf '%s' "${line}" | sed -n 's/.*"item":"\([^"]*\)".*/\1/p')
    errno=$(printf '%s' "${line}" | sed -n 's/.*"Err":\([0-9]*\).*/\1/p')
    case "${errno}" in
      13) why='permission denied' ;;
      2) why='no such file or directory' ;;
      *) why="errno ${errno:-?}" ;;
    esac
    echo "upload: could not read ${item:-?}: ${why}" >&2
  done || true
  if [ -n "${snapshot_id}" ]; then
    discard_snapshot "${snapshot_id}"
    echo "upload: the backup was incomplete (exit ${rc}, see above); ${discarded_verb} its snapshot ${snapshot_id}${discarded_note}; nothing pruned" >&2
    snapshot_id=''
  else
    echo "upload: the backup failed (exit ${rc}, see above); nothing pruned" >&2
  fi
  exit "${rc}"
fi

# The keys' delete rights, proven (restic-lib.sh): in the summary line at every run, and a failure
# where the configuration promised keys that cannot delete.
step='delete-protection'
if [ -r "${answers}/probe.result" ]; then
  cat "${answers}/probe.out"
  delete_protection=$(cat "${answers}/probe.result")
else
  probe_delete_protection upload
fi
delete_protection_check upload

# A backup of a server other than the one the construct was told about: kept (it is a good
# backup, and the newest one), but the drill and the runbook would pick the wrong tools for it,
# so nothing is pruned and the job fails until the construct says what runs.
if [ -n "${META_MUST_MATCH:-}" ]; then
  must_tag=${META_MUST_MATCH%%=*}
  found=''
  for t in ${tags}; do
    case "${t}" in "${must_tag}="*) found=${t#*=} ;; esac
  done
  if [ "${found}" != "${META_MUST_MATCH#*=}" ]; then
    step=${must_tag}
    echo "upload: this backup has ${must_tag} ${found:-(none)}, expected ${META_MUST_MATCH#*=}. ${META_MISMATCH_ADVICE:-}" >&2
    echo "upload: kept it as snapshot ${snapshot_id} (tag ${must_tag}=${found:-none}); NOTHING was pruned." >&2
    exit 1
  fi
fi

if [ -n "${drop}" ]; then
  step='key-drop-guard'
  snapshot=${snapshot_id}
  echo "upload: DATA LOSS SUSPECTED: this backup has ${drop}." >&2
  echo "upload: kept it as snapshot ${snapshot} (tag count-drop) and every older snapshot: NOTHING was pruned, and every run fails like this until you decide." >&2
  echo "upload: if the cluster lost its data, restore from snapshot ${previous_id} (see the restore runbook); if the drop is intended, accept it: restic -r \"\${RESTIC_REPOSITORY}\" tag --remove count-drop ${snapshot}${RETENTION_ELSEWHERE:+ (with the maintainer keys: the tag rewrites the snapshot, which these keys cannot delete)}" >&2
  exit 1
fi

# Only after a successful backup (set -e), only within this job's host+tag group.
took
echo "upload: backed up (${elapsed})"
if [ -n "${RETENTION_ELSEWHERE:-}" ]; then
  echo "upload: done; the retention runs in ${RETENTION_ELSEWHERE}, with the maintainer's keys"
  exit 0
fi
forget_by_retention upload "$@"
took
echo "upload: done (forget and prune: ${elapsed})"
