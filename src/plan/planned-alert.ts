/**
 * One alert that watches a job, and when it fires, for the plan (`describe()`).
 */
export interface PlannedAlert {
  /** The alert name, e.g. `EtcdBackupFailed`. */
  readonly alert: string;
  /** Its `severity` label. */
  readonly severity: string;
  /** When it fires, in words, e.g. `when no run has succeeded for 2 h ...`. */
  readonly fires: string;
}

/**
 * What a plan (`describe()`) reads of the alerts that watch a job or a Velero Schedule.
 * `BackupAlerts` is one; the plan needs no more of it, so the constructs that describe
 * themselves do not depend on the alerts' construct.
 */
export interface IAlertPlan {
  /** Name of the PrometheusRule. */
  readonly name: string;

  /**
   * The alerts that watch one CronJob, with when each fires, in words; empty when it is not
   * watched.
   * @param cronJobName name of the CronJob
   * @param namespace its namespace (the alerts watch only CronJobs that have one)
   */
  plannedAlertsForCronJob(cronJobName: string, namespace?: string): PlannedAlert[];

  /**
   * The alerts that watch one Velero Schedule object, with when each fires, in words; empty when
   * it is not watched.
   * @param scheduleName name of the Schedule object (one per retention tier)
   */
  plannedAlertsForVeleroSchedule(scheduleName: string): PlannedAlert[];
}
