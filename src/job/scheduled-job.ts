import { Cron } from 'cdk8s';
import { IConstruct } from 'constructs';

/**
 * What monitoring and the runbook read of one scheduled CronJob of a backup job: typed facts,
 * never parsed back out of the rendered YAML.
 */
export interface ScheduledJob {
  /** Name of the CronJob. */
  readonly cronJobName: string;
  /** Namespace of the CronJob (the job's own, or its chart's). */
  readonly namespace: string;
  /** When it runs. */
  readonly schedule: Cron;
  /** Time zone of the schedule (IANA name). */
  readonly timeZone: string;
  /** What it backs up, in words, e.g. `etcd snapshot of cluster prod`. */
  readonly description: string;
  /**
   * Prefix of its alert names, e.g. `EtcdBackup` (→ `EtcdBackupFailed`, `EtcdBackupTooOld`,
   * `EtcdBackupNeverSucceeded`).
   */
  readonly alertPrefix: string;
  /** Rule group its alerts go into, e.g. `etcd`. */
  readonly alertGroup: string;
  /**
   * What a failed run means and what to do first, for the runbook's section of the `…Failed`
   * alert (Markdown, one paragraph).
   */
  readonly failureAdvice: string;
}

/**
 * A backup job: its scheduled CronJobs, as monitoring and the runbook consume them.
 */
export interface IBackupJob extends IConstruct {
  /** Every CronJob of the job, in a stable order. */
  readonly scheduledJobs: ScheduledJob[];
}

/**
 * One Schedule object of a Velero Schedule (`VeleroSchedule`), as monitoring reads it.
 */
export interface VeleroScheduleTier {
  /** Name of the Schedule object (Velero's `schedule` metric label). */
  readonly name: string;
  /** When it runs. */
  readonly schedule: Cron;
  /**
   * Its time zone (rendered as `CRON_TZ=`).
   * @default - UTC
   */
  readonly timeZone?: string;
}

/**
 * A Velero Schedule, as monitoring reads it: one Schedule object per retention tier.
 * `VeleroSchedule` is one.
 */
export interface IVeleroBackupSchedule extends IConstruct {
  /** Each Schedule object's name, cron and time zone. */
  readonly tiers: VeleroScheduleTier[];
  /** Velero's namespace, where the Schedules are. */
  readonly namespace: string;
}
