import { Cron } from 'cdk8s';
import { Retention } from './retention';
import { longestGapHours } from '../internal/schedule';

/**
 * The pitfall rules a single backup job can see for itself (its storage, its retention), shared
 * by the leaf constructs and the composite's rules in `pitfalls.ts`.
 */

/** A storage endpoint inside the cluster dies with it. @internal */
export function inClusterEndpointPitfall(endpoint: string): string[] {
  return inCluster(new URL(endpoint).hostname)
    ? [`the storage endpoint ${endpoint} looks like it is inside the cluster; a backup that dies with the cluster is no backup. Use off-cluster storage, or set acknowledge.inClusterRepository: true`]
    : [];
}

/**
 * How long back a retention keeps backups, at least, for a schedule: a policy that covers less
 * than a day cannot undo yesterday's mistake.
 * @internal
 */
export function shortRetentionPitfall(option: string, r: Retention | undefined, schedule: Cron): string[] {
  if (!r || r.daily || r.weekly || r.monthly || r.yearly) return [];
  const gap = longestGapHours(schedule.expressionString.trim());
  const spanHours = Math.max(
    r.keepWithin ? r.keepWithin.toHours() : 0,
    (r.last ?? 0) * gap,
    (r.hourly ?? 0) * Math.max(1, gap),
  );
  return spanHours < 24
    ? [`${option} (${r}) keeps only about ${spanHours} hours of backups; keep at least a day (e.g. add a daily tier), or set acknowledge.shortRetention: true`]
    : [];
}

function inCluster(host: string): boolean {
  return /\.svc(\.|$)|\.cluster\.local$/.test(host) || host === 'localhost' || /^127\./.test(host) || !host.includes('.');
}
