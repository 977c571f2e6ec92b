# shellcheck shell=sh
# The one machine-readable line every job ends with (README, "The summary line each job ends
# with", documents its fields): a JSON object on stdout, for log pipelines to turn into metrics.
#
# Sourced, not run, by scripts in three kinds of image: the restic image (busybox ash), the etcd
# image (a static bash and NO coreutils) and the database images (bash). So: POSIX sh and shell
# builtins only, no jq, no date, no sed (except summary_read_forget, for the images that have them).
#
#   SUMMARY_KIND, SUMMARY_CLUSTER, SUMMARY_JOB   what the construct says the job is (its component
#                                                label, its cluster, its CronJob)
#   SUMMARY_START_FILE                           optional: a file on a volume every container of
#                                                the pod shares; the first one writes when it
#                                                started, so the duration is the whole job's

# Bump when a field changes meaning or goes away (adding a field keeps the version).
SUMMARY_VERSION='cdk8s-backup/v1'

# Hundredths of a second since boot, from /proc/uptime (the kernel's clock is every container's
# of the pod; busybox `date` has no sub-second field, the etcd image has no `date` at all).
summary_now() {
  read -r summary_up _ < /proc/uptime
  summary_up="${summary_up%.*}${summary_up#*.}"
  summary_cs=${summary_up#"${summary_up%%[!0]*}"}
  summary_cs=${summary_cs:-0}
}

# Marks the job's start: this container's, or the one an earlier container of the pod wrote.
summary_begin() {
  summary_now
  summary_start=${summary_cs}
  if [ -n "${SUMMARY_START_FILE:-}" ]; then
    if [ -r "${SUMMARY_START_FILE}" ]; then
      read -r summary_start < "${SUMMARY_START_FILE}" || true
      case "${summary_start}" in '' | *[!0-9]*) summary_start=${summary_cs} ;; esac
    else
      printf '%s\n' "${summary_cs}" > "${SUMMARY_START_FILE}" 2>/dev/null || true
    fi
  fi
}

# Sets j to VALUE as a JSON string. Names are mostly DNS labels, but a quote, a backslash or a
# control character must not break the line: those are escaped one character at a time (only
# then: the loop is slow, and rarely needed).
summary_string() {
  j_in=$1
  case "${j_in}" in
    *[\"\\]* | *[[:cntrl:]]*)
      j=''
      while [ -n "${j_in}" ]; do
        j_rest=${j_in#?}
        j_c=${j_in%"${j_rest}"}
        j_in=${j_rest}
        case "${j_c}" in
          \" | \\) j="${j}\\${j_c}" ;;
          [[:cntrl:]]) j="${j}$(printf '\\u%04x' "'${j_c}")" ;;
          *) j="${j}${j_c}" ;;
        esac
      done
      j="\"${j}\""
      ;;
    *) j="\"${j_in}\"" ;;
  esac
}

# Sets j to VALUE as a JSON number, or null when it is not one (absent, or not what was expected).
summary_number() {
  case "$1" in
    '' | - | [!0-9-]* | *[!0-9] | *[!0-9.eE+-]*) j=null ;;
    *) j=$1 ;;
  esac
}

# Sets v to the value of field NAME of the flat JSON object TEXT, quotes stripped (empty when
# absent): enough for restic's messages, whose values here are numbers and hex ids.
summary_field() {
  v=''
  case "$2" in
    *\""$1"\":*)
      v=${2#*\""$1"\":}
      v=${v%%[,\}]*}
      v=${v#\"}
      v=${v%\"}
      ;;
  esac
}

# Appends ,"NAME":<value> to the line being built (summary_fields): summary_add NAME string|number|json VALUE.
# An empty string is null: "not known" (e.g. no snapshot id before the backup ran).
summary_add() {
  case "$2" in
    string) if [ -n "$3" ]; then summary_string "$3"; else j=null; fi ;;
    number) summary_number "$3" ;;
    *) j=${3:-null} ;;
  esac
  summary_fields="${summary_fields:-},\"$1\":${j}"
}

# The fields of a backup job's line (etcd-snapshot, control-plane-config, database-dump), null where
# not known: summary_add_backup HOST SNAPSHOT_ID RESTIC_SUMMARY REMOVED METADATA, where
# RESTIC_SUMMARY is the last message of `restic backup --json`, REMOVED a JSON array of ids and
# METADATA a JSON object.
summary_add_backup() {
  summary_add host string "$1"
  summary_add snapshotId string "$2"
  for summary_f in data_added:bytesAdded total_bytes_processed:bytesTotal files_new:filesNew files_changed:filesChanged \
    files_unmodified:filesUnmodified total_files_processed:filesTotal total_duration:backupSeconds; do
    summary_field "${summary_f%%:*}" "$3"
    summary_add "${summary_f#*:}" number "${v}"
  done
  summary_add retentionRemoved json "$4"
  summary_add metadata json "$5"
}

# The EXIT trap of a step that hands on to a later container, which prints the line: this one
# prints it only when the job ends here, failed. From the trap: nothing here may fail the job or
# change its exit code. summary_exit_if_failed EXIT_CODE STEP ADD_FIELDS..., where ADD_FIELDS is
# the command that adds the kind's fields (summary_add_backup ...).
summary_exit_if_failed() {
  summary_rc=$1
  summary_step=$2
  shift 2
  set +eu
  trap - EXIT
  if [ "${summary_rc}" -ne 0 ]; then
    "$@"
    summary_emit "${summary_rc}" "${summary_step}"
  fi
  exit "${summary_rc}"
}

# The line of a step that backs up (restic-upload.sh, db-dump.sh), whose EXIT trap is
# summary_backup_exit: what it reports is filled in as the steps run; `step` is the one running,
# named in the summary when the job fails there.
summary_backup_begin() {
  summary_begin
  step='arguments'
  snapshot_id=''
  backup_summary=''
  removed=''
}
# From the EXIT trap: nothing here may fail the job or change its exit code. summary_backup_exit EXIT_CODE
summary_backup_exit() {
  summary_rc=$1
  set +eu
  trap - EXIT
  summary_add_backup "${BACKUP_HOST:-}" "${snapshot_id}" "${backup_summary}" "${removed}" "${metadata_json:-}"
  summary_add deleteProtection string "${delete_protection:-}"
  summary_emit "${summary_rc}" "${step}"
  exit "${summary_rc}"
}

# Reads what `restic backup --json` wrote to FILE: summary_read_backup FILE. Sets backup_summary
# (restic's last summary message; empty when it wrote none) and snapshot_id (the snapshot it
# saved). Uses grep and tail: for the restic and database images, not the etcd image.
summary_read_backup() {
  backup_summary=$(grep '"message_type":"summary"' "$1" | tail -n 1 || true)
  summary_field snapshot_id "${backup_summary}"
  snapshot_id=${v}
}

# Reads what `restic forget --json --prune` wrote to FILE: summary_read_forget FILE SNAPSHOT_ID.
# Prints prune's report (text in restic 0.14) for the log: every line but forget's JSON, the one
# that starts with '['. Sets removed_ids (the ids of the snapshots the retention removed, words),
# removed (the same as a JSON array) and snapshot_id_full (SNAPSHOT_ID in full: restic before 0.15
# reports the short id in the backup's summary; the kept list has the full one). Uses grep, sed
# and cut: for the restic and database images, not the etcd image.
summary_read_forget() {
  grep -Ev '^\[(\{|\])' "$1" || true
  # Each group's "remove" list ends at its first "}]" (its snapshots hold only arrays of strings);
  # every "id" in it is one removed snapshot.
  removed_ids=$(grep -E '^\[(\{|\])' "$1" | sed 's/"remove":\[/\nREMOVE:/g' | sed -n 's/^REMOVE://p' | sed 's/}\].*//' \
    | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4 || true)
  removed=''
  for summary_id in ${removed_ids}; do removed="${removed}${removed:+,}\"${summary_id}\""; done
  removed="[${removed}]"
  snapshot_id_full=$2
  if [ -n "$2" ] && [ "${#2}" -lt 64 ]; then
    snapshot_id_full=$(grep -o "\"id\":\"$2[0-9a-f]*\"" "$1" | head -n 1 | cut -d'"' -f4 || true)
    snapshot_id_full=${snapshot_id_full:-$2}
  fi
}

# The fields of an etcd restore drill's line (restore-drill), null where not known:
# summary_add_etcd_drill SNAPSHOT_ID REVISION SNAPSHOT_REVISION KEYS_EXPECTED KEYS_RESTORED REQUIRED_CHECKED REQUIRED_MISSING
summary_add_etcd_drill() {
  summary_add snapshotId string "$1"
  summary_add etcdRevision number "$2"
  summary_add snapshotRevision number "$3"
  summary_add keysExpected number "$4"
  summary_add keysRestored number "$5"
  summary_add requiredKeysChecked number "$6"
  summary_add requiredKeysMissing number "$7"
}

# Prints the line: summary_emit EXIT_CODE FAILED_STEP, after the fields of the kind were added.
# Never fails (it runs from EXIT traps, where a failure would replace the job's exit code).
summary_emit() {
  summary_now
  summary_d=$((summary_cs - ${summary_start:-${summary_cs}}))
  summary_secs="$((summary_d / 100)).$((summary_d % 100 / 10))$((summary_d % 10))"
  summary_line="{\"summary\":\"${SUMMARY_VERSION}\""
  for summary_f in "kind:${SUMMARY_KIND:-}" "cluster:${SUMMARY_CLUSTER:-}" "job:${SUMMARY_JOB:-}"; do
    j=null
    [ -z "${summary_f#*:}" ] || summary_string "${summary_f#*:}"
    summary_line="${summary_line},\"${summary_f%%:*}\":${j}"
  done
  if [ "$1" -eq 0 ]; then
    summary_line="${summary_line},\"result\":\"succeeded\",\"failedStep\":null,\"exitCode\":0"
  else
    summary_string "${2:-unknown}"
    summary_line="${summary_line},\"result\":\"failed\",\"failedStep\":${j},\"exitCode\":$1"
  fi
  printf '%s%s,"durationSeconds":%s}\n' "${summary_line}" "${summary_fields:-}" "${summary_secs}" || true
}
