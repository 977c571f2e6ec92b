import { ApiObject, Cron, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import {
  CronJobTarget, cronJobRules, MIN_FAILURE_WINDOW_SECONDS, SCHEDULE_MISSING_FOR, SEVERITIES, TOO_OLD_FOR, VeleroTarget, veleroAbsentRule,
  veleroRules,
} from './alert-rules';
import { PrometheusRule as RawPrometheusRule, PrometheusRuleSpecGroups } from '../imports/monitoring.coreos.com';
import { configError, inHostSpelling } from '../internal/errors';
import { checkDnsLabel, checkLabels, checkObjectName } from '../internal/names';
import { checkSchedule, longestGapHours, UTC_ZONES } from '../internal/schedule';
import { IBackupJob, IVeleroBackupSchedule } from '../job/scheduled-job';
import { IAlertPlan, PlannedAlert } from '../plan/planned-alert';
import { durationWords } from '../plan/words';

/**
 * Props of {@link BackupAlerts}.
 */
export interface BackupAlertsProps {
  /**
   * Namespace of the PrometheusRule. The Prometheus operator must select it
   * (`ruleNamespaceSelector`).
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /**
   * Name of the PrometheusRule; also the prefix of its rule group names.
   * @default 'cdk8s-backup'
   */
  readonly name?: string;
  /**
   * Labels the Prometheus operator selects rules by (`ruleSelector`), e.g.
   * `{ release: 'kube-prometheus-stack' }`.
   * @default - none
   */
  readonly ruleLabels?: { [key: string]: string };
  /**
   * Base URL of the runbook (http or https, no `#fragment`); every alert links
   * `${runbookUrl}#<alert-name-in-kebab-case>`, e.g. `#etcd-backup-failed`.
   * @default - no runbook_url annotation
   */
  readonly runbookUrl?: string;
  /**
   * How many times the longest gap between two scheduled runs may pass without a successful
   * backup before the "too old" alerts fire. The longest gap comes from the schedule (a
   * weekdays-only daily schedule has a 72 h gap, an hourly one 1 h), so the threshold follows
   * the schedule the backup really runs on. `1` alerts as soon as one run is late (the run time
   * itself must fit into the alerts' 10 minute `for`); `2` tolerates one missed or failed run.
   * @default 2
   */
  readonly staleAfterGaps?: number;
}

/**
 * Options of every `watch*()` call of {@link BackupAlerts}.
 */
export interface BackupAlertOptions {
  /**
   * The `severity` label of the alerts: `critical` or `warning`. (A partially failed Velero
   * backup is always `warning`.)
   * @default 'critical'
   */
  readonly severity?: string;
  /**
   * What is backed up, in words, for the alerts' summary and description, e.g.
   * `'etcd snapshot of cluster prod'`. Must not contain `{{` or `}}` (Prometheus would read a
   * template there).
   * @default - derived from the watched construct
   */
  readonly description?: string;
}

/**
 * A backup CronJob to watch with {@link BackupAlerts.watchCronJob}.
 */
export interface WatchCronJobOptions {
  /** Name of the CronJob. */
  readonly cronJobName: string;
  /** Namespace of the CronJob. */
  readonly namespace: string;
  /** The CronJob's schedule. */
  readonly schedule: Cron;
  /**
   * What is backed up, in words, e.g. `'etcd snapshot of cluster prod'`. Must not contain
   * `{{` or `}}`.
   */
  readonly description: string;
  /**
   * The CronJob's time zone (`spec.timeZone`). Outside UTC a daylight-saving switch can move a
   * run by an hour, so one hour is added to the "too old" threshold.
   * @default - UTC
   */
  readonly timeZone?: string;
  /**
   * The `severity` label of the alerts: `critical` or `warning`.
   * @default 'critical'
   */
  readonly severity?: string;
}

/**
 * One alert and what to do when it fires, for a runbook.
 */
export interface AlertAdvice {
  /** The alert name, e.g. `EtcdBackupFailed`. */
  readonly alert: string;
  /** What it means and what to do first (Markdown, one paragraph). */
  readonly advice: string;
}

/**
 * Prometheus alerts for the backups of this library, derived from the same typed schedules the
 * backups run on: one `PrometheusRule` (monitoring.coreos.com/v1, for the Prometheus operator).
 *
 * Watch what you back up; rules are rendered at synth time, so `watch*()` calls after
 * construction are included:
 *
 * ```ts
 * const alerts = new BackupAlerts(chart, 'alerts', { ruleLabels: { release: 'kube-prometheus-stack' } });
 * alerts.watch(etcd);
 * alerts.watch(config);
 * alerts.watchVeleroSchedule(apps);
 * ```
 *
 * Per backup CronJob (kube-state-metrics ≥ 2.5 on Kubernetes ≥ 1.22, which export
 * `kube_cronjob_status_last_successful_time`), with `<P>` the job's alert prefix (`EtcdBackup`,
 * `ControlPlaneConfigBackup`, `RestoreDrill`, ...; `BackupCronJob` for `watchCronJob`):
 * - `<P>Failed`: a Job of the CronJob (by owner reference, so manual runs created with
 *   `kubectl create job --from=cronjob/...` count too) has the `Failed` condition (retries
 *   exhausted or deadline exceeded; pods that failed and were retried successfully do not count)
 *   and started after the last successful run. Clears when a later run succeeds.
 * - `<P>TooOld`: the last successful run finished more than `staleAfterGaps` × the schedule's
 *   longest gap ago.
 * - `<P>NeverSucceeded`: no successful run is recorded at all (the series is absent) for that
 *   same threshold, counted from when Prometheus loaded the rule: a brand-new CronJob therefore
 *   alerts only if its first runs do not succeed in time; the alert also fires when the CronJob
 *   does not exist in that namespace or kube-state-metrics does not export the metric.
 *
 * Per Velero Schedule name (Velero's own metrics, label `schedule`):
 * - `VeleroBackupFailed`: a backup failed (or failed validation) within the last longest gap.
 * - `VeleroBackupPartiallyFailed` (always `warning`): a backup partially failed, same window.
 * - `VeleroBackupTooOld`: the newest success timestamp within the threshold window is older than
 *   the threshold.
 * - `VeleroBackupNeverSucceeded`: no success within the threshold although the Schedule has
 *   existed that long (Velero exported its counters a threshold ago: needs Prometheus retention
 *   of at least the threshold) or Velero attempted a backup since it started; `for` at most 6 h.
 * - `VeleroScheduleMissing`: Velero's metrics are there but not the Schedule's (it creates them
 *   at 0 on its first reconcile): not applied, paused, or in another namespace.
 * - `VeleroMetricsAbsent` (once per Velero namespace): no Velero metrics at all, so no other
 *   Velero alert could fire; `VeleroPodMonitor` makes the Prometheus operator scrape them. The
 *   rules match the `namespace` target label the Prometheus operator sets.
 *
 * `velero_backup_last_status` is deliberately not used: depending on the Velero version it
 * reads 0 (failed) after every Velero restart until the next backup (velero#6809, #6936) or
 * returns to 1 a minute after a failure (velero#9374).
 *
 * Suspended CronJobs and paused Schedules keep alerting on staleness: no backups are being
 * taken. Do not watch what you mean to stop.
 */
/** A duration given in minutes (`'15'`), in words. */
function minutes(d: string): string {
  return durationWords(parseInt(d, 10) * 60);
}

export class BackupAlerts extends Construct implements IAlertPlan {
  /** The PrometheusRule. */
  public readonly prometheusRule: ApiObject;
  /** Name of the PrometheusRule. */
  public readonly name: string;
  /** The multiplier of the longest gap between runs (see `BackupAlertsProps.staleAfterGaps`). */
  public readonly staleAfterGaps: number;
  /** Base URL of the runbook, if any. */
  public readonly runbookUrl?: string;

  private readonly cronJobs: CronJobTarget[] = [];
  private readonly veleroSchedules: VeleroTarget[] = [];
  private readonly watched = new Set<string>();

  constructor(scope: Construct, id: string, props: BackupAlertsProps = {}) {
    super(scope, id);
    const C = 'BackupAlerts';
    this.name = checkObjectName(`${C}: name`, props.name ?? 'cdk8s-backup', 253);
    if (props.namespace !== undefined) checkDnsLabel(`${C}: namespace`, props.namespace, 63);
    checkLabels(`${C}: ruleLabels`, props.ruleLabels);
    const stale = props.staleAfterGaps ?? 2;
    if (typeof stale !== 'number' || !Number.isFinite(stale) || stale < 1) {
      throw configError(`${C}: staleAfterGaps must be a finite number ≥ 1 (how many times the longest gap between runs may pass without a successful backup); got ${stale}`);
    }
    this.staleAfterGaps = stale;
    if (props.runbookUrl !== undefined) this.runbookUrl = checkRunbookUrl(`${C}: runbookUrl`, props.runbookUrl);

    this.prometheusRule = new RawPrometheusRule(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: props.namespace,
        labels: {
          'app.kubernetes.io/name': 'cdk8s-backup',
          'app.kubernetes.io/component': 'alerts',
          ...props.ruleLabels,
        },
      },
      spec: {
        groups: Lazy.any({ produce: () => this._toGroups() }) as unknown as PrometheusRuleSpecGroups[],
      },
    });

    this.node.addValidation({
      validate: () => this.cronJobs.length + this.veleroSchedules.length > 0 ? [] : [
        inHostSpelling(`${C}: nothing is watched, so the PrometheusRule would be empty; call watch(), watchVeleroSchedule() or watchCronJob()`),
      ],
    });
  }

  /**
   * Alerts for every CronJob of a backup job (`EtcdSnapshotBackup`, `ControlPlaneConfigBackup`,
   * `RestoreDrill`, or any other `BackupJob`), named after the job's alert prefix: a run failed;
   * no successful run for `staleAfterGaps` × the longest gap of its schedule; no successful run
   * recorded at all.
   */
  public watch(job: IBackupJob, options: BackupAlertOptions = {}): void {
    const C = 'BackupAlerts: watch';
    const severity = checkSeverity(`${C}: severity`, options.severity);
    const base = options.description === undefined ? undefined : checkDescription(`${C}: description`, options.description);
    const jobs = job.scheduledJobs;
    if (jobs.length === 0) throw configError(`${C}: ${job.node.path} has no CronJob to watch`);
    for (const j of jobs) {
      this.addCronJob(C, j.alertPrefix, j.alertGroup, {
        namespace: j.namespace,
        name: j.cronJobName,
        schedule: j.schedule,
        timeZone: j.timeZone,
        description: base === undefined ? j.description : jobs.length > 1 ? `${base} (${j.description})` : base,
        severity,
        failureAdvice: j.failureAdvice,
      });
    }
  }

  /**
   * Alerts (`BackupCronJob*`) for a backup CronJob that is not a `BackupJob` of this library.
   */
  public watchCronJob(options: WatchCronJobOptions): void {
    const C = 'BackupAlerts: watchCronJob';
    checkDnsLabel(`${C}: cronJobName (a CronJob name is at most 52 characters)`, options.cronJobName, 52);
    checkDnsLabel(`${C}: namespace`, options.namespace, 63);
    this.addCronJob(C, 'BackupCronJob', 'cronjobs', {
      namespace: options.namespace,
      name: options.cronJobName,
      schedule: options.schedule,
      timeZone: options.timeZone,
      description: checkDescription(`${C}: description`, options.description),
      severity: checkSeverity(`${C}: severity`, options.severity),
    });
  }

  /**
   * Alerts (`VeleroBackup*`) for a Velero Schedule: one set per Schedule object (one per
   * retention tier with a gfs retention), from the cron expression each one renders.
   */
  public watchVeleroSchedule(schedule: IVeleroBackupSchedule, options: BackupAlertOptions = {}): void {
    const C = 'BackupAlerts: watchVeleroSchedule';
    const severity = checkSeverity(`${C}: severity`, options.severity);
    const base = options.description === undefined ? undefined : checkDescription(`${C}: description`, options.description);
    const multiple = schedule.tiers.length > 1;
    for (const tier of schedule.tiers) {
      const name = tier.name;
      const expr = tier.schedule.expressionString;
      const key = `velero schedule ${name}`;
      if (this.watched.has(key)) throw configError(`${C}: the Velero Schedule ${JSON.stringify(name)} is already watched; watch each once`);
      const { gapSeconds, thresholdSeconds } = this.thresholds(`${C}: schedule of ${name}`, expr, tier.timeZone);
      this.watched.add(key);
      this.veleroSchedules.push({
        name,
        namespace: schedule.namespace,
        schedule: expr.trim(),
        description: base === undefined ? `Velero backups of schedule ${name}` : multiple ? `${base} (${name})` : base,
        severity,
        gapSeconds,
        thresholdSeconds,
      });
    }
  }

  /** Names of the alerts rendered so far, sorted and without duplicates. */
  public alertNames(): string[] {
    const names = this._toGroups().flatMap((g) => (g.rules ?? []).map((r) => r.alert!));
    return [...new Set(names)].sort();
  }

  /**
   * What each alert rendered so far means and what to do first, sorted by alert name: a failed
   * run in the words of the job that failed, the other alerts by what they measure.
   */
  public alertAdvice(): AlertAdvice[] {
    const advice = new Map<string, string>();
    const jobLog = '`kubectl logs job/<job> --all-containers` says which step failed.';
    for (const t of [...this.cronJobs].sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name))) {
      if (!advice.has(`${t.prefix}Failed`)) {
        advice.set(`${t.prefix}Failed`, t.failureAdvice ?? `the Job failed after its retries; ${jobLog} Nothing was pruned after a failed upload.`);
      }
      advice.set(`${t.prefix}TooOld`, 'no successful run for longer than the schedule allows. Check the CronJob is not suspended, the node is up, and the last Jobs\' logs.');
      advice.set(`${t.prefix}NeverSucceeded`, 'the job has never succeeded since the rule was loaded (or kube-state-metrics does not export its metrics). Run it once by hand and read its logs.');
    }
    if (this.veleroSchedules.length > 0) {
      advice.set('VeleroBackupFailed', '`velero backup logs` of the newest backup; check the storage location is Available.');
      advice.set('VeleroBackupPartiallyFailed', 'Velero backed up only some items: `velero backup describe --details` on the newest backup.');
      advice.set('VeleroBackupTooOld', 'no successful backup for longer than the schedule allows: `velero schedule describe` (paused?) and `velero backup-location get` (available?).');
      advice.set('VeleroBackupNeverSucceeded', 'Velero runs the Schedule but has completed no backup of it within the threshold: `velero schedule describe` (FailedValidation?), the newest backups\' logs, `velero backup-location get`.');
      advice.set('VeleroScheduleMissing', 'Velero does not run the Schedule: not applied, paused, or not in Velero\'s namespace: `velero schedule get`.');
      advice.set('VeleroMetricsAbsent', 'Prometheus has no Velero metrics, so no other Velero alert can fire: is Velero running, are its metrics on, and does a PodMonitor (or the chart\'s ServiceMonitor) select it?');
    }
    return [...advice.entries()].sort(([a], [b]) => compare(a, b)).map(([alert, text]) => ({ alert, advice: text }));
  }

  /**
   * The alerts that watch one CronJob, with when each fires, in words, for the plan
   * (`describe()`); empty when it is not watched.
   * @param cronJobName name of the CronJob
   * @param namespace its namespace (the alerts watch only CronJobs that have one)
   */
  public plannedAlertsForCronJob(cronJobName: string, namespace?: string): PlannedAlert[] {
    const t = this.cronJobs.find((c) => c.namespace === namespace && c.name === cronJobName);
    if (!t) return [];
    const threshold = durationWords(t.thresholdSeconds);
    return [
      { alert: `${t.prefix}Failed`, severity: t.severity, fires: 'when a run fails (retries exhausted or deadline exceeded)' },
      { alert: `${t.prefix}TooOld`, severity: t.severity, fires: `when the last successful run is older than ${threshold} (${this.staleAfterGaps} × the longest gap between runs, ${durationWords(t.gapSeconds)}) for ${minutes(TOO_OLD_FOR)}` },
      { alert: `${t.prefix}NeverSucceeded`, severity: t.severity, fires: `when no successful run is recorded for ${threshold}` },
    ];
  }

  /**
   * The alerts that watch one Velero Schedule object, with when each fires, in words, for the
   * plan (`describe()`); empty when it is not watched.
   * @param scheduleName name of the Schedule object (one per retention tier)
   */
  public plannedAlertsForVeleroSchedule(scheduleName: string): PlannedAlert[] {
    const v = this.veleroSchedules.find((c) => c.name === scheduleName);
    if (!v) return [];
    const threshold = durationWords(v.thresholdSeconds);
    const window = durationWords(Math.max(v.gapSeconds, MIN_FAILURE_WINDOW_SECONDS));
    return [
      { alert: 'VeleroBackupFailed', severity: v.severity, fires: `when a backup failed in the last ${window}` },
      { alert: 'VeleroBackupPartiallyFailed', severity: 'warning', fires: `when a backup partially failed in the last ${window}` },
      { alert: 'VeleroBackupTooOld', severity: v.severity, fires: `when the last successful backup is older than ${threshold} for ${minutes(TOO_OLD_FOR)}` },
      { alert: 'VeleroBackupNeverSucceeded', severity: v.severity, fires: `when no backup has completed in ${threshold}` },
      { alert: 'VeleroScheduleMissing', severity: v.severity, fires: `when Velero has not run the Schedule for ${minutes(SCHEDULE_MISSING_FOR)}` },
    ];
  }

  /**
   * The rule groups: one per kind of backup, targets sorted by namespace and name, so the output
   * depends only on what is watched, not on the order of the calls.
   * @internal
   */
  public _toGroups(): PrometheusRuleSpecGroups[] {
    const groups: PrometheusRuleSpecGroups[] = [];
    for (const group of [...new Set(this.cronJobs.map((t) => t.group))].sort(compare)) {
      const targets = this.cronJobs.filter((t) => t.group === group).sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
      groups.push({ name: `${this.name}-${group}`, rules: targets.flatMap((t) => cronJobRules(this, t)) });
    }
    const velero = [...this.veleroSchedules].sort((a, b) => compare(a.name, b.name));
    if (velero.length > 0) {
      const namespaces = [...new Set(velero.map((t) => t.namespace))].sort(compare);
      groups.push({ name: `${this.name}-velero`, rules: [...namespaces.map((ns) => veleroAbsentRule(this, ns)), ...velero.flatMap((t) => veleroRules(this, t))] });
    }
    return groups;
  }

  private addCronJob(C: string, prefix: string, group: string, t: {
    namespace: string; name: string; schedule: Cron; timeZone?: string; description: string; severity: string; failureAdvice?: string;
  }): void {
    const key = `cronjob ${t.namespace}/${t.name}`;
    if (this.watched.has(key)) {
      throw configError(`${C}: the CronJob ${t.namespace}/${t.name} is already watched; watch each CronJob once`);
    }
    if (!t.schedule || typeof t.schedule.expressionString !== 'string') {
      throw configError(`${C}: schedule of ${t.namespace}/${t.name}: expected a Cron, e.g. Cron.daily(); got ${JSON.stringify(t.schedule)}`);
    }
    const schedule = checkSchedule(`${C}: schedule of ${t.namespace}/${t.name}`, t.schedule);
    const { gapSeconds, thresholdSeconds } = this.thresholds(`${C}: schedule of ${t.namespace}/${t.name}`, schedule, t.timeZone);
    this.watched.add(key);
    this.cronJobs.push({
      prefix,
      group,
      namespace: t.namespace,
      name: t.name,
      schedule,
      description: t.description,
      severity: t.severity,
      gapSeconds,
      thresholdSeconds,
      failureAdvice: t.failureAdvice,
    });
  }

  private thresholds(option: string, expr: string, timeZone: string | undefined): { gapSeconds: number; thresholdSeconds: number } {
    let gapHours: number;
    try {
      gapHours = longestGapHours(expr.trim());
    } catch (e) {
      throw configError(`${option}: cannot compute the gap between runs of ${JSON.stringify(expr)}: ${(e as Error).message}`);
    }
    if (!(gapHours > 0)) throw configError(`${option}: ${JSON.stringify(expr)} never runs`);
    const gapSeconds = Math.round(gapHours * 3600);
    // A daylight-saving switch moves a run by up to one hour.
    const dst = timeZone !== undefined && !UTC_ZONES.has(timeZone) ? 3600 : 0;
    return { gapSeconds, thresholdSeconds: Math.ceil(this.staleAfterGaps * gapSeconds) + dst };
  }

}

function checkSeverity(option: string, severity: string | undefined): string {
  const s = severity ?? 'critical';
  if (!SEVERITIES.includes(s)) throw configError(`${option}: expected ${SEVERITIES.map((x) => `'${x}'`).join(' or ')}; got ${JSON.stringify(severity)}`);
  return s;
}

function checkDescription(option: string, description: string): string {
  if (typeof description !== 'string' || description.trim() === '') {
    throw configError(`${option}: expected what is backed up in words, e.g. 'etcd snapshot of cluster prod'; got ${JSON.stringify(description)}`);
  }
  if (/\{\{|\}\}/.test(description)) {
    throw configError(`${option}: must not contain {{ or }} (Prometheus reads annotations as templates); got ${JSON.stringify(description)}`);
  }
  return description.trim();
}

function checkRunbookUrl(option: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configError(`${option}: expected an http(s) URL like https://wiki.example.com/backup-runbook; got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw configError(`${option}: expected an http(s) URL like https://wiki.example.com/backup-runbook; got ${JSON.stringify(url)}`);
  }
  if (url.includes('#')) {
    throw configError(`${option}: must not have a #fragment (each alert appends its own anchor, e.g. #etcd-backup-failed); got ${JSON.stringify(url)}`);
  }
  if (/\{\{|\}\}|\s/.test(url)) throw configError(`${option}: must not contain spaces, {{ or }}; got ${JSON.stringify(url)}`);
  return url;
}


function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
