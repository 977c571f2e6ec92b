import { Cron } from 'cdk8s';
import { Retention } from './retention';
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
