import { durationWords, listWords, spanWords } from './words';
import { Retention } from '../policy/retention';

const TIERS = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
/** Hours per tier's period (a month: 30.44 days, a year: 365.25). */
const TIER_HOURS = { hourly: 1, daily: 24, weekly: 24 * 7, monthly: 730.5, yearly: 8766 };

/**
 * A retention in words, e.g. `keeps 24 hourly, 7 daily and 4 weekly backups, reaching back 4
 * weeks; always at least the newest`. `gapHours` (the schedule's longest gap) says how far back
 * a tier reaches when the schedule runs less often than the tier's period (each tier keeps one
 * backup per period that HAS one, like restic's `--keep-*`).
 * @internal
 */
export function retentionInWords(r: Retention, gapHours: number): string {
  const tiers: string[] = [];
  if (r.last !== undefined) tiers.push(r.last === 1 ? 'the newest' : `the last ${r.last}`);
  for (const tier of TIERS) {
    if (r[tier] !== undefined) tiers.push(`${r[tier]} ${tier}`);
  }
  const parts: string[] = [];
  if (tiers.length > 0) parts.push(`${listWords(tiers)} ${tiers.length === 1 && r.last === 1 ? 'backup' : 'backups'}`);
  if (r.keepWithin) {
    parts.push(`every backup younger than ${durationWords(r.keepWithin.toSeconds())}, counted back from the newest backup (not from now: if backups stop, the last ones are never aged out)`);
  }
  const reach = Math.max(
    (r.last ?? 0) * gapHours,
    ...TIERS.map((t) => (r[t] ?? 0) * Math.max(TIER_HOURS[t], gapHours)),
  );
  const reaching = tiers.length > 0 && reach > (r.keepWithin?.toHours() ?? 0) ? `, reaching back ${spanWords(reach)}` : '';
  // restic >= 0.16 (the image's; PR #4366): while a --keep-<period> count is not yet filled, the
  // oldest snapshot is kept too, so early on one more backup survives than the counts say.
  const oldest = TIERS.some((t) => r[t] !== undefined) ? '; until each tier has as many periods as it counts, also the oldest (restic ≥ 0.16)' : '';
  return `keeps ${listWords(parts)}${reaching}; always at least the newest${oldest}`;
}
