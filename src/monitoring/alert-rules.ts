import {
  PrometheusRuleSpecGroupsRules, PrometheusRuleSpecGroupsRulesExpr,
} from '../imports/monitoring.coreos.com';
import { alertAnchor } from '../internal/names';

/**
 * The PromQL and texts of the backup alerts, built from what `BackupAlerts` watches. The series
 * are kube-state-metrics' (kube_cronjob_*, kube_job_*) and Velero's (velero_backup_*), named as
 * upstream exports them; each rule says what it relies on.
 */

/** What every rule reads of the alerts construct. @internal */
export interface RuleContext {
  /** The multiplier of the longest gap between runs. */
  readonly staleAfterGaps: number;
  /** Base URL of the runbook, if any. */
  readonly runbookUrl?: string;
}

/** One watched CronJob, as its rules are built. @internal */
export interface CronJobTarget {
  /** Alert name prefix, e.g. `EtcdBackup`. */
  readonly prefix: string;
  /** What a failed run of this job means (the job's own words), if the job says. */
  readonly failureAdvice?: string;
  /** Rule group, e.g. `etcd`. */
  readonly group: string;
  readonly namespace: string;
  readonly name: string;
  readonly schedule: string;
  readonly description: string;
  readonly severity: string;
  readonly gapSeconds: number;
  readonly thresholdSeconds: number;
}

/** One watched Velero Schedule object, as its rules are built. @internal */
export interface VeleroTarget {
  readonly name: string;
  /** Velero's namespace (the `namespace` target label of its metrics). */
  readonly namespace: string;
  readonly schedule: string;
  readonly description: string;
  readonly severity: string;
  readonly gapSeconds: number;
  readonly thresholdSeconds: number;
}

/** The severities an alert may have. @internal */
export const SEVERITIES = ['critical', 'warning'];
/** Longest `for` of VeleroBackupNeverSucceeded: a first backup may take hours (data mover). */
export const NEVER_SUCCEEDED_FOR_SECONDS = 6 * 3600;
/** Velero reconciles every Schedule once a minute; a Velero restart takes a few. */
export const SCHEDULE_MISSING_FOR = '15m';
export const METRICS_ABSENT_FOR = '10m';

/** `for:` of the "too old" alerts: room for a run that is due right at the threshold to finish. */
export const TOO_OLD_FOR = '10m';

/** The shortest window of the Velero failure alerts (a counter increase needs a few scrapes). */
export const MIN_FAILURE_WINDOW_SECONDS = 15 * 60;

/** The rules of one watched CronJob. @internal */
export function cronJobRules(c: RuleContext, t: CronJobTarget): PrometheusRuleSpecGroupsRules[] {
  const P = t.prefix;
  const sel = `namespace="${t.namespace}", cronjob="${t.name}"`;
  const ns = `namespace="${t.namespace}"`;
  const ref = `CronJob ${t.namespace}/${t.name} (${t.description})`;
  const threshold = promDuration(t.thresholdSeconds);
  const gapText = `its schedule "${t.schedule}" leaves at most ${promDuration(t.gapSeconds)} between runs, and the threshold is ${c.staleAfterGaps} × that`;

  // Failed Jobs of this CronJob (value: start time), labelled with cronjob=<name>.
  const failedJobs = 'label_replace('
    + `kube_job_status_start_time{${ns}} * on (namespace, job_name) group_left (owner_name) `
    + `max by (namespace, job_name, owner_name) (kube_job_owner{${ns}, owner_kind="CronJob", owner_name="${t.name}"}), `
    + '"cronjob", "$1", "owner_name", "(.+)") '
    + `and on (namespace, job_name) (kube_job_failed{${ns}, condition="true"} == 1)`;
  // ... that started after the last success (or the CronJob never succeeded: 0).
  const failed = `(${failedJobs}) > on (namespace, cronjob) group_left () (`
    + `max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{${sel}}) `
    + `or 0 * max by (namespace, cronjob) (kube_cronjob_created{${sel}}))`;

  // The target's own labels make every rule unique (promtool rejects duplicates) and are set
  // even where the expression drops them.
  const labels = { severity: t.severity, namespace: t.namespace, cronjob: t.name };
  return [
    rule(c, `${P}Failed`, labels, failed, undefined,
      `${t.description}: a backup run failed`,
      `Job ${t.namespace}/{{ $labels.job_name }} of ${ref} failed (retries exhausted or deadline exceeded), `
      + 'and no run has succeeded since it started. '
      + `Look at kubectl -n ${t.namespace} describe job {{ $labels.job_name }} and kubectl -n ${t.namespace} logs job/{{ $labels.job_name }} --all-containers. `
      + `The alert clears when a later run succeeds (to run one now: kubectl -n ${t.namespace} create job --from=cronjob/${t.name} <name>).`),
    rule(c, `${P}TooOld`, labels,
      `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{${sel}}) > ${t.thresholdSeconds}`, TOO_OLD_FOR,
      `${t.description}: no successful backup for more than ${threshold}`,
      `The last successful run of ${ref} finished {{ $value | humanizeDuration }} ago; ${gapText} (${threshold}). `
      + `Check kubectl -n ${t.namespace} get cronjob ${t.name} (suspended?) and kubectl -n ${t.namespace} get jobs.`),
    rule(c, `${P}NeverSucceeded`, labels,
      `absent(kube_cronjob_status_last_successful_time{${sel}})`, threshold,
      `${t.description}: no successful backup recorded for ${threshold}`,
      `kube-state-metrics has reported no successful run of ${ref} for ${threshold}: the CronJob has not succeeded since it was created, `
      + `it does not exist in namespace ${t.namespace}, or kube-state-metrics does not export kube_cronjob_status_last_successful_time `
      + '(needs kube-state-metrics 2.5 or later and Kubernetes 1.22 or later).'),
  ];
}

/** The rules of one watched Velero Schedule object. @internal */
export function veleroRules(c: RuleContext, t: VeleroTarget): PrometheusRuleSpecGroupsRules[] {
  const sel = `schedule="${t.name}"`;
  const window = promDuration(Math.max(t.gapSeconds, MIN_FAILURE_WINDOW_SECONDS));
  const threshold = promDuration(t.thresholdSeconds);
  const ref = `Velero Schedule ${t.name} (${t.description})`;
  const list = `velero backup get --selector velero.io/schedule-name=${t.name}`;
  const labels = { severity: t.severity, schedule: t.name };
  return [
    rule(c, 'VeleroBackupFailed', labels,
      `(sum by (schedule) (increase(velero_backup_failure_total{${sel}}[${window}])) > 0) `
      + `or (sum by (schedule) (increase(velero_backup_validation_failure_total{${sel}}[${window}])) > 0)`, undefined,
      `${t.description}: a backup failed`,
      `A backup of ${ref} failed within the last ${window} (the longest gap between its runs). `
      + `Find it with ${list} and read velero backup describe <backup> and velero backup logs <backup>. `
      + `The alert clears ${window} after the last failure.`),
    rule(c, 'VeleroBackupPartiallyFailed', { ...labels, severity: 'warning' },
      `sum by (schedule) (increase(velero_backup_partial_failure_total{${sel}}[${window}])) > 0`, undefined,
      `${t.description}: a backup partially failed`,
      `A backup of ${ref} partially failed within the last ${window}: some items or volumes are missing from it. `
      + `Find it with ${list} and read velero backup describe <backup> --details.`),
    rule(c, 'VeleroBackupTooOld', labels,
      `time() - max by (schedule) (max_over_time(velero_backup_last_successful_timestamp{${sel}}[${threshold}])) > ${t.thresholdSeconds}`, TOO_OLD_FOR,
      `${t.description}: no successful backup for more than ${threshold}`,
      `The last successful backup of ${ref} finished {{ $value | humanizeDuration }} ago; `
      + `its schedule "${t.schedule}" leaves at most ${promDuration(t.gapSeconds)} between runs, and the threshold is ${c.staleAfterGaps} × that (${threshold}). `
      + `Check velero schedule describe ${t.name} (paused?) and velero backup-location get (available?).`),
    // Velero sets no success timestamp before the first Completed Backup (it derives it from
    // them every minute: pkg/controller/backup_controller.go getLastSuccessBySchedule), but it
    // creates the schedule's counters at 0 on every reconcile (InitSchedule in
    // schedule_controller.go). So: the Schedule was known to Velero a threshold ago (by
    // Prometheus' own record, not by a `for` that restarts with Prometheus), or Velero has
    // attempted a backup since it started; and no backup succeeded within the threshold.
    rule(c, 'VeleroBackupNeverSucceeded', labels,
      `(max by (schedule) (velero_backup_attempt_total{${sel}} offset ${threshold}) or (max by (schedule) (velero_backup_attempt_total{${sel}}) > 0)) `
      + `unless on (schedule) max by (schedule) (max_over_time(velero_backup_last_successful_timestamp{${sel}}[${threshold}]))`,
      promDuration(Math.min(t.thresholdSeconds, NEVER_SUCCEEDED_FOR_SECONDS)),
      `${t.description}: no backup has succeeded`,
      `Velero knows ${ref} and has completed no backup of it in the last ${threshold}: either the Schedule has existed that long, or Velero attempted backups `
      + `since it started, and none completed. Check velero schedule describe ${t.name} (phase FailedValidation?), ${list} and velero backup-location get.`),
    // The counters exist from the Schedule's first reconcile on (also at 0): their absence,
    // while Velero's metrics are there, means Velero does not run this Schedule.
    rule(c, 'VeleroScheduleMissing', labels,
      `absent(velero_backup_attempt_total{${sel}}) and on () (count(velero_backup_attempt_total{namespace="${t.namespace}"}) > 0)`, SCHEDULE_MISSING_FOR,
      `${t.description}: Velero does not run the Schedule`,
      `Velero in namespace ${t.namespace} exports no metrics for ${ref}: the Schedule is not applied, is paused, or is in another namespace than Velero's. `
      + `Check kubectl -n ${t.namespace} get schedule ${t.name}.`),
  ];
}

/**
 * Velero's metrics are not scraped at all: without them no other Velero alert can fire.
 * @internal
 */
export function veleroAbsentRule(c: RuleContext, namespace: string): PrometheusRuleSpecGroupsRules {
  return rule(c, 'VeleroMetricsAbsent', { severity: 'critical', namespace },
    `absent(velero_backup_attempt_total{namespace="${namespace}"})`, METRICS_ABSENT_FOR,
    `Prometheus scrapes no Velero metrics in namespace ${namespace}`,
    `No series velero_backup_attempt_total{namespace="${namespace}"} (Velero exports it from its start, also before any backup): Velero is down, `
    + 'its metrics are off (Helm chart metrics.enabled), or nothing makes Prometheus scrape it (a VeleroPodMonitor, or the chart\'s metrics.serviceMonitor.enabled). '
    + 'Until this clears, no other Velero alert can fire.');
}

function rule(
  c: RuleContext, alert: string, labels: { [key: string]: string }, expr: string, forDuration: string | undefined,
  summary: string, description: string,
): PrometheusRuleSpecGroupsRules {
  const annotations: { [key: string]: string } = { summary, description };
  if (c.runbookUrl !== undefined) annotations.runbook_url = `${c.runbookUrl}#${alertAnchor(alert)}`;
  return {
    alert,
    expr: PrometheusRuleSpecGroupsRulesExpr.fromString(expr),
    for: forDuration,
    labels,
    annotations,
  };
}

/** A Prometheus duration (`2h`, `1h30m`, `45m`) of whole seconds. */
export function promDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${rest ? `${rest}s` : ''}`;
  return out || '0s';
}
