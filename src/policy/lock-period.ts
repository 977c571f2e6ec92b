import { Cron } from 'cdk8s';
import { Retention } from './retention';
import { configError } from '../internal/errors';
import { longestGapHours } from '../internal/schedule';

/**
 * The shortest Object Lock period that protects what the retention keeps, for a maintenance
 * schedule: every object a kept snapshot added must stay locked as long as the retention keeps
 * that snapshot (its longest time-based tier, counted from the newest backup) plus the time it
 * takes to notice that something was deleted or overwritten. That detection time is two of the
 * maintenance job's longest gaps: its `restic check` sees a missing or damaged pack at its next
 * run, and if that run is stopped instead, the missed-run alert fires after at most one more gap.
 * Rounded up to whole days (Object Lock's unit).
 * @internal
 */
export function minimumLockDays(retentions: Retention[], maintenanceSchedule: Cron): {
  days: number; retentionHours: number; detectionHours: number;
} {
  const retentionHours = Math.max(0, ...retentions.map((r) => r.keepWithin?.toHours() ?? 0));
  const detectionHours = 2 * longestGapHours(maintenanceSchedule.expressionString.trim());
  return { days: Math.ceil((retentionHours + detectionHours) / 24), retentionHours, detectionHours };
}

/**
 * The minimum lock period (`minimumLockDays`), checked against the declared one (`lockDays`, if
 * any): a shorter lock is a synth error naming the minimum and why. `option` starts the message.
 * @internal
 */
export function checkLockPeriod(option: string, lockDays: number | undefined, retentions: Retention[], maintenanceSchedule: Cron): number {
  const need = minimumLockDays(retentions, maintenanceSchedule);
  if (lockDays !== undefined && lockDays < need.days) {
    throw configError(`${option}: the repository's Object Lock period (${lockDays} days) is shorter than the ${need.days} days its backups need: the longest time-based retention keeps ${need.retentionHours / 24} days, and noticing a deleted or overwritten object takes up to ${need.detectionHours} hours (two of the maintenance job's longest gaps). Set Immutability.s3ObjectLock({ lockPeriod: Duration.days(${need.days}) }) and the bucket's default retention to match, or shorten the retention`);
  }
  return need.days;
}
