import { cappedList, clock, count, listWords } from './words';
import { expandMacro } from '../internal/schedule';

/**
 * A cron schedule in words, and when in a day it runs, for the plan.
 *
 * Only the five fields Kubernetes' cron (robfig/cron v3) and Velero take: numbers, `*` and `?`,
 * ranges `a-b`, steps `/n`, lists `a,b`, month and day names, and the macros (`@hourly`, ...).
 * Anything else is shown as the expression with a gloss of its fields, never guessed at.
 */

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The fields of a schedule, expanded to their values (sorted), or undefined if not understood. */
interface CronFields {
  readonly raw: string[];
  readonly minutes: number[];
  readonly hours: number[];
  readonly daysOfMonth: number[];
  readonly months: number[];
  /** 0 = Sunday (7 is folded into 0). */
  readonly daysOfWeek: number[];
}

/** One field's values, or undefined when it is not a form this file understands. */
function expandField(field: string, min: number, max: number, names?: string[], nameBase = 0): number[] | undefined {
  const value = (s: string): number | undefined => {
    if (/^\d+$/.test(s)) return Number(s);
    const i = names?.indexOf(s.toUpperCase()) ?? -1;
    return i >= 0 ? i + nameBase : undefined;
  };
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) return undefined;
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) return undefined;
    let lo: number | undefined;
    let hi: number | undefined;
    if (m[1] === '*' || m[1] === '?') {
      lo = min; hi = max;
    } else if (m[1].includes('-')) {
      const [a, b] = m[1].split('-');
      lo = value(a); hi = value(b);
    } else {
      lo = value(m[1]);
      // `5/15` runs from 5 to the end of the range, as in robfig/cron.
      hi = m[2] === undefined ? lo : max;
    }
    if (lo === undefined || hi === undefined || lo < min || hi > max || lo > hi) return undefined;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/** @internal */
export function parseCronFields(expr: string): CronFields | undefined {
  const raw = expandMacro(expr.trim()).split(/\s+/);
  if (raw.length !== 5) return undefined;
  const minutes = expandField(raw[0], 0, 59);
  const hours = expandField(raw[1], 0, 23);
  const daysOfMonth = expandField(raw[2], 1, 31);
  const months = expandField(raw[3], 1, 12, MONTH_NAMES, 1);
  const dow = expandField(raw[4], 0, 7, DAY_NAMES);
  if (!minutes || !hours || !daysOfMonth || !months || !dow) return undefined;
  const daysOfWeek = [...new Set(dow.map((d) => d % 7))].sort((a, b) => a - b);
  return { raw, minutes, hours, daysOfMonth, months, daysOfWeek };
}

/** A bare `*` or `?` (or `*\/1`): the field does not restrict. */
function unrestricted(field: string): boolean {
  return /^[*?](\/1)?$/.test(field);
}

/** Consecutive runs of three or more as `a–b`: `1–5`, `0, 6`. */
function compact(values: number[], show: (v: number) => string = String): string[] {
  const out: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    if (j - i >= 2) out.push(`${show(values[i])}–${show(values[j])}`);
    else for (let k = i; k <= j; k++) out.push(show(values[k]));
    i = j + 1;
  }
  return out;
}

/** `*\/n` or `0/n` (every n from the start of the field), else undefined. */
function stepFromStart(field: string): number | undefined {
  const m = /^(\*|0)\/(\d+)$/.exec(field);
  return m ? Number(m[2]) : undefined;
}

function dayPhrase(f: CronFields): string {
  const [, , dom, month, dow] = f.raw;
  const weekDays = (): string => {
    const d = f.daysOfWeek;
    if (d.join() === '1,2,3,4,5') return 'on weekdays (Monday to Friday)';
    if (d.join() === '0,6') return 'on Saturdays and Sundays';
    // Monday first.
    const ordered = [...d.filter((x) => x !== 0), ...d.filter((x) => x === 0)];
    return `on ${listWords(ordered.map((x) => `${DAYS[x]}s`))}`;
  };
  const monthDays = (): string => {
    const d = f.daysOfMonth;
    return `on ${d.length === 1 ? 'day' : 'days'} ${cappedList(compact(d))} of the month`;
  };
  const parts: string[] = [];
  // robfig/cron (spec.go dayMatches): when both day fields restrict, a day runs if EITHER matches.
  if (!unrestricted(dom) && !unrestricted(dow)) parts.push(`${monthDays()} or ${weekDays()}`);
  else if (!unrestricted(dow)) parts.push(weekDays());
  else if (!unrestricted(dom)) parts.push(monthDays());
  if (!unrestricted(month)) parts.push(`in ${listWords(compact(f.months, (m) => MONTHS[m - 1]))}`);
  return parts.join(', ');
}

function timePhrase(f: CronFields): { text: string; repeating: boolean } {
  const [minute, hour] = f.raw;
  const { minutes, hours } = f;
  const minuteList = `${minutes.length === 1 ? 'minute' : 'minutes'} ${cappedList(compact(minutes))}`;
  if (hours.length === 24) {
    if (minutes.length === 60) return { text: 'every minute', repeating: true };
    const step = stepFromStart(minute);
    if (step !== undefined && 60 % step === 0) return { text: `every ${step} minutes`, repeating: true };
    return { text: `every hour at ${minuteList}`, repeating: true };
  }
  const times = hours.flatMap((h) => minutes.map((m) => clock(h * 60 + m)));
  const hourStep = stepFromStart(hour);
  if (hourStep !== undefined && 24 % hourStep === 0 && minutes.length === 1) {
    return { text: `every ${hourStep} hours at minute ${minutes[0]}`, repeating: true };
  }
  if (times.length <= 6) return { text: `at ${listWords(times)}`, repeating: false };
  return { text: `at ${minuteList} past the hours ${cappedList(compact(hours))}`, repeating: true };
}

/**
 * A cron schedule in words, e.g. `every hour at minute 0`, `every day at 02:00`, `on Mondays at
 * 03:30`, `every 6 hours at minute 15` (`runsPerDay` lists the times); for a form it does not
 * know, the expression with a gloss of its fields.
 * @internal
 */
export function cronInWords(expr: string): string {
  const f = parseCronFields(expr);
  if (!f) return `on the cron schedule \`${expr.trim()}\` (minute, hour, day of month, month, day of week)`;
  const time = timePhrase(f);
  const days = dayPhrase(f);
  // A yearly date reads as one: "on January 1 at 00:00".
  if (f.months.length === 1 && f.daysOfMonth.length === 1 && unrestricted(f.raw[4]) && !time.repeating) {
    return `every year on ${MONTHS[f.months[0] - 1]} ${f.daysOfMonth[0]} ${time.text}`;
  }
  if (time.repeating) return days ? `${time.text}, ${days}` : time.text;
  if (!days) return `every day ${time.text}`;
  // Months only: every day of them.
  return days.startsWith('in ') ? `every day ${days} ${time.text}` : `${days} ${time.text}`;
}

/**
 * When in a day the schedule runs, for a schedule that runs more than once a day: `24 runs a
 * day: 00:00, 01:00, …, 23:00`. Undefined for one run a day (the words say it) or a form
 * `cronInWords` does not know.
 *
 * Not "the next runs from now": the plan is checked into git next to the YAML and must be the
 * same bytes for the same input, on any day it is rendered. cron's fields are independent, so
 * every day that runs at all runs at these same times.
 * @internal
 */
export function runsPerDay(expr: string): string | undefined {
  const f = parseCronFields(expr);
  if (!f) return undefined;
  const n = f.hours.length * f.minutes.length;
  if (n <= 1) return undefined;
  const times = f.hours.flatMap((h) => f.minutes.map((m) => clock(h * 60 + m)));
  return `${count(n, 'run')} a day: ${cappedList(times, 6).replace(/ \(\d+ in all\)$/, '')}`;
}
