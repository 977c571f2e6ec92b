import { Cron } from 'cdk8s';
import { CronExpressionParser } from 'cron-parser';

const MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/**
 * Checks a Kubernetes CronJob schedule (5 fields or a macro; cdk8s `Cron` itself does not
 * validate) and returns the expression.
 * @internal
 */
export function checkSchedule(option: string, schedule: Cron): string {
  const expr = schedule.expressionString.trim();
  if (expr.startsWith('@')) {
    if (!MACROS.includes(expr)) {
      throw new Error(`${option}: unknown cron macro ${JSON.stringify(expr)}; use one of ${MACROS.join(', ')}`);
    }
  } else {
    const fields = expr.split(/\s+/);
    if (fields.length !== 5) {
      throw new Error(`${option}: a CronJob schedule has 5 fields (minute hour day-of-month month day-of-week); got ${JSON.stringify(expr)}`);
    }
    if (/TZ=/.test(expr)) {
      throw new Error(`${option}: put the time zone in the timeZone option, not in the schedule; got ${JSON.stringify(expr)}`);
    }
  }
  try {
    CronExpressionParser.parse(expr === '@midnight' ? '@daily' : expr, { tz: 'UTC' }).next();
  } catch (e) {
    throw new Error(`${option}: invalid cron expression ${JSON.stringify(expr)}: ${(e as Error).message}`);
  }
  return expr;
}

/**
 * The longest gap between two consecutive runs of a schedule, in hours, over a leap year
 * starting on a fixed date (so the answer is deterministic). A weekdays-only daily schedule has
 * a 72 h gap; `0 * * * *` has 1 h.
 *
 * Cron fields are independent, so every hour that has a run has all of the minute field's
 * values: walk the active hours (at most 8784 a year) and add the gaps inside an hour.
 * @internal
 */
export function longestGapHours(expr: string): number {
  // A pure function of the expression, and a slow one (a year of cron steps): every job, alert
  // and pitfall rule asks it about the same few expressions.
  const cached = GAPS.get(expr);
  if (cached !== undefined) return cached;
  const hours = computeLongestGapHours(expr);
  GAPS.set(expr, hours);
  return hours;
}

const GAPS = new Map<string, number>();

function computeLongestGapHours(expr: string): number {
  const normalized = expr === '@midnight' ? '@daily' : expr;
  const minutes = [...CronExpressionParser.parse(normalized, { tz: 'UTC' }).fields.minute.values].map(Number).sort((a, b) => a - b);
  const first = minutes[0];
  const last = minutes[minutes.length - 1];
  let longestMinutes = 0;
  for (let i = 1; i < minutes.length; i++) longestMinutes = Math.max(longestMinutes, minutes[i] - minutes[i - 1]);

  const hourly = normalized.startsWith('@') ? normalized : `${first} ${normalized.split(/\s+/).slice(1).join(' ')}`;
  const start = new Date('2024-01-01T00:00:00Z').getTime();
  const end = start + 366 * 24 * 3_600_000;
  const it = CronExpressionParser.parse(hourly, { tz: 'UTC', currentDate: new Date(start - 1) });
  let prev = it.next().getTime();
  for (let i = 0; i < 9_000 && prev < end; i++) {
    const next = it.next().getTime();
    longestMinutes = Math.max(longestMinutes, (next - prev) / 60_000 - (last - first));
    prev = next;
  }
  return longestMinutes / 60;
}
