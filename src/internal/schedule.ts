import { Cron } from 'cdk8s';
import { CronExpressionParser } from 'cron-parser';
import { configError } from './errors';

const MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/**
 * Checks a Kubernetes CronJob schedule (5 fields or a macro; cdk8s `Cron` itself does not
 * validate) and returns the expression.
 * @internal
 */
export function checkSchedule(option: string, schedule: Cron): string {
  const expr = schedule.expressionString.trim();
  // A pure function of the expression, and cron-parser's check costs milliseconds (luxon): a
  // fleet asks about the same expressions thousands of times.
  if (VALID.has(expr)) return expr;
  if (expr.startsWith('@')) {
    if (!MACROS.includes(expr)) {
      throw configError(`${option}: unknown cron macro ${JSON.stringify(expr)}; use one of ${MACROS.join(', ')}`);
    }
  } else {
    const fields = expr.split(/\s+/);
    if (fields.length !== 5) {
      throw configError(`${option}: a CronJob schedule has 5 fields (minute hour day-of-month month day-of-week); got ${JSON.stringify(expr)}`);
    }
    if (/TZ=/.test(expr)) {
      throw configError(`${option}: put the time zone in the timeZone option, not in the schedule; got ${JSON.stringify(expr)}`);
    }
  }
  try {
    CronExpressionParser.parse(expr === '@midnight' ? '@daily' : expr, { tz: 'UTC' }).next();
  } catch (e) {
    throw configError(`${option}: invalid cron expression ${JSON.stringify(expr)}: ${(e as Error).message}`);
  }
  VALID.add(expr);
  return expr;
}

const VALID = new Set<string>();

/**
 * The longest gap between two consecutive runs of a schedule, in hours, from a fixed date
 * (2024-01-01, a leap year) to the first run after that year (so the answer is deterministic). A
 * weekdays-only daily schedule has a 72 h gap; `0 * * * *` has 1 h.
 *
 * Computed from the fields, not by stepping through runs: cron's fields are independent, so every
 * day that runs at all runs at the same times (hour x minute); the gaps are the ones inside a
 * day and the ones from a day's last run to the next running day's first. Only the days of the
 * year are walked (a fleet's thousands of distinct expressions each cost microseconds).
 * @internal
 */
export function longestGapHours(expr: string): number {
  const cached = GAPS.get(expr);
  if (cached !== undefined) return cached;
  const hours = computeLongestGapHours(expr);
  GAPS.set(expr, hours);
  return hours;
}

const GAPS = new Map<string, number>();

const DAY_MS = 24 * 3_600_000;
const START = Date.UTC(2024, 0, 1);
/** Feb 29 only: the next run after 2024 is in 2028. */
const HORIZON_DAYS = 366 + 4 * 366;

function computeLongestGapHours(expr: string): number {
  const fields = expandMacro(expr).split(/\s+/);
  const parsed = CronExpressionParser.parse(fields.join(' '), { tz: 'UTC' }).fields;
  const sorted = (values: readonly (number | string)[]) => [...new Set(values.map(Number))].sort((a, b) => a - b);
  const minutes = sorted(parsed.minute.values);
  const hours = sorted(parsed.hour.values);
  const daysOfMonth = new Set(sorted(parsed.dayOfMonth.values));
  const months = new Set(sorted(parsed.month.values));
  // 0 and 7 are both Sunday.
  const daysOfWeek = new Set(sorted(parsed.dayOfWeek.values).map((d) => d % 7));
  // Kubernetes' cron (robfig/cron v3, parser.go getRange and spec.go dayMatches): a day runs when
  // day-of-month AND day-of-week match if either field is a bare '*' or '?' (a step clears that),
  // and when either matches otherwise.
  const star = (field: string) => /^[*?](\/1)?$/.test(field);
  const either = !star(fields[2]) && !star(fields[4]);

  const times: number[] = [];
  for (const h of hours) for (const m of minutes) times.push(h * 60 + m);
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i] - times[i - 1]);
  const first = times[0];
  const last = times[times.length - 1];

  let previous: number | undefined;
  for (let day = 0; day < HORIZON_DAYS; day++) {
    const date = new Date(START + day * DAY_MS);
    if (!months.has(date.getUTCMonth() + 1)) continue;
    const dom = daysOfMonth.has(date.getUTCDate());
    const dow = daysOfWeek.has(date.getUTCDay());
    if (!(either ? dom || dow : dom && dow)) continue;
    if (previous !== undefined) longest = Math.max(longest, (day - previous) * 1440 - last + first);
    if (day >= 366) break;
    previous = day;
  }
  if (previous === undefined) throw configError(`the schedule ${JSON.stringify(expr)} never runs`);
  return longest / 60;
}

/** A macro as its five fields (Kubernetes' cron takes both). @internal */
export function expandMacro(expr: string): string {
  const macros: { [m: string]: string } = {
    '@hourly': '0 * * * *',
    '@daily': '0 0 * * *',
    '@midnight': '0 0 * * *',
    '@weekly': '0 0 * * 0',
    '@monthly': '0 0 1 * *',
    '@yearly': '0 0 1 1 *',
    '@annually': '0 0 1 1 *',
  };
  return macros[expr] ?? expr;
}

/**
 * Time zones without daylight saving time that are spelled like UTC: a schedule in one of them
 * never skips or repeats a run. The plan's words and the alerts' thresholds both read this set.
 * @internal
 */
export const UTC_ZONES: ReadonlySet<string> = new Set([
  'UTC', 'Etc/UTC', 'Etc/UCT', 'UCT', 'Etc/GMT', 'GMT', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu',
  'Etc/GMT+0', 'Etc/GMT-0', 'Etc/GMT0', 'GMT0',
]);
