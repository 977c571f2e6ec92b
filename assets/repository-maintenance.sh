#!/bin/sh
# Applies the retention to repositories whose backup jobs cannot delete (the roles are split),
# with the maintainer's keys: the only job that holds keys able to delete.
#
# Runs in the restic image (busybox ash). For each line of MAINTENANCE_TARGETS, one repository:
#
#   <restic repository URL> <tag of the jobs' snapshots> <restic forget flags...>
#
# it removes
#   - the snapshots the backup jobs marked as discarded (an incomplete backup: restic-lib.sh
#     discard_snapshot) and the markers themselves,
#   - the delete probes but the newest of each host (restic-lib.sh probe_delete_protection),
#   - per host, the snapshots of the tag the retention does not keep (only within the tag: the
#     markers and probes are not counted in it),
# then prunes, and checks the repository's structure and a part of its data
# (`restic check --read-data-subset`): a pack deleted or overwritten behind restic's back shows
# here, within one run.
#
#   RESTIC_PASSWORD, RESTIC_FLAGS        the repositories' password, global restic flags
#   MAINTENANCE_TARGETS                  the file of lines above
#   CHECK_READ_DATA_SUBSET               restic's --read-data-subset (e.g. 5%), or empty: no data read
#   TMPDIR, RESTIC_CACHE_DIR             writable scratch (the root filesystem is read-only)
#   SUMMARY_*                            what the summary line names (summary-lib.sh)
#
# Its last line on stdout is the job's summary (summary-lib.sh), also when it fails.
# shellcheck disable=SC3040 # pipefail: busybox ash (restic image) has it
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=summary-lib.sh
. "${0%/*}/summary-lib.sh"
# shellcheck source-path=SCRIPTDIR source=restic-lib.sh
. "${0%/*}/restic-lib.sh"
summary_begin
step='arguments'
repositories=0
removed_all=''
discarded_all=0
maintenance_exit() {
  set +eu
  trap - EXIT
  summary_add repositories number "${repositories}"
  summary_add retentionRemoved json "[${removed_all}]"
  summary_add discardedRemoved number "${discarded_all}"
  summary_emit "$1" "${step}"
  exit "$1"
}
trap 'maintenance_exit "$?"' EXIT

: "${RESTIC_PASSWORD:?}" "${MAINTENANCE_TARGETS:?}"

# The ids of a `restic snapshots --json` list on stdin, as words.
ids_of() {
  grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4 || true
}

# The list on fd 3: no restic call can read it from stdin.
while read -r url tag flags <&3; do
  case "${url}" in '' | '#'*) continue ;; esac
  export RESTIC_REPOSITORY="${url}"
  repositories=$((repositories + 1))
  echo "maintenance: ${url} (tag ${tag}; ${flags})"

  # Only stale locks (of killed runs): a backup that runs now keeps its lock, and the prune below
  # then fails (restic refuses an exclusive lock beside it) and is retried at the next run.
  step='unlock'
  r_first unlock

  step='discarded'
  markers=$(r snapshots --no-lock --json --tag discarded)
  set --
  for id in $(printf '%s' "${markers}" | grep -o '"discarded-of=[0-9a-f]*"' | cut -d= -f2 | tr -d '"' || true); do
    set -- "$@" "${id}"
  done
  for id in $(printf '%s' "${markers}" | ids_of); do
    set -- "$@" "${id}"
  done
  if [ "$#" -gt 0 ]; then
    # An id the list names may be gone already (a marker of a snapshot the retention removed).
    r forget "$@" || true
    discarded_all=$((discarded_all + $#))
    echo "maintenance: removed $# discarded snapshot(s) and marker(s)"
  fi

  step='delete-probes'
  r forget --tag delete-probe --group-by host --keep-last 1 > /dev/null

  step='retention'
  # The key-drop guard (restic-upload.sh) keeps every snapshot while the newest one is a suspected
  # data loss (tag count-drop), until someone restores or accepts it: no retention here either,
  # or the hourly suspect snapshots would push the good ones out.
  # shellcheck disable=SC2119 # newest_snapshot's TAG is optional
  newest=$(r snapshots --no-lock --json --tag "${tag}" | newest_snapshot)
  case "${newest}" in
    *'"count-drop"'*)
      echo "maintenance: the newest snapshot is tagged count-drop (DATA LOSS SUSPECTED by the backup job): no retention until it is restored from or accepted; see the backup job's log" >&2
      ;;
    *)
      forgotten="${TMPDIR:-/tmp}/maintenance-forget.out"
      # shellcheck disable=SC2086 # flags: restic forget flags of safe words, from the construct
      r forget --json --tag "${tag}" --group-by host ${flags} > "${forgotten}"
      summary_read_forget "${forgotten}" ''
      # shellcheck disable=SC2086,SC2154 # ids are hex words, set by summary_read_forget
      set -- ${removed_ids}
      echo "maintenance: the retention removed $# snapshot(s)${removed_ids:+: $*}"
      for id in ${removed_ids}; do removed_all="${removed_all}${removed_all:+,}\"${id}\""; done
      ;;
  esac

  step='prune'
  r prune

  step='check'
  if [ -n "${CHECK_READ_DATA_SUBSET:-}" ]; then
    r check --read-data-subset "${CHECK_READ_DATA_SUBSET}"
  else
    r check
  fi
done 3< "${MAINTENANCE_TARGETS}"

if [ "${repositories}" -eq 0 ]; then
  step='targets'
  echo "maintenance: ${MAINTENANCE_TARGETS} names no repository" >&2
  exit 1
fi
step='done'
echo "maintenance: done (${repositories} repositories)"
