/**
 * Small helpers that put numbers and lists into words, for the plan (`describe()`).
 */

/** `a`, `a and b`, `a, b and c`. @internal */
export function listWords(items: readonly string[], last = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`;
}

/** At most `max` items: the first ones, `…`, the last one, and how many in all. @internal */
export function cappedList(items: readonly string[], max = 8): string {
  if (items.length <= max) return listWords(items);
  return `${items.slice(0, max - 2).join(', ')}, …, ${items[items.length - 1]} (${items.length} in all)`;
}

/** `02:05`. @internal */
export function clock(minuteOfDay: number): string {
  const h = Math.floor(minuteOfDay / 60);
  const m = minuteOfDay % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/** `1 day`, `3 days`. @internal */
export function count(n: number, unit: string, plural = `${unit}s`): string {
  return `${n} ${n === 1 ? unit : plural}`;
}

/**
 * A length of time in words, exact to the minute: `45 min`, `2 h`, `2 h 10 min`, `3 days`,
 * `1 day 2 h`. @internal
 */
export function durationWords(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  // Up to two days in hours: "every 36 h" reads better than "1 day 12 h".
  if (days < 2) {
    const h = days * 24 + hours;
    return [h ? `${h} h` : '', rest || !h ? `${rest} min` : ''].filter(Boolean).join(' ');
  }
  return [count(days, 'day'), hours ? `${hours} h` : '', rest ? `${rest} min` : ''].filter(Boolean).join(' ');
}

/** How far back a span of hours reaches, roughly: `about 4 weeks`, `about 12 months`, `14 days`. @internal */
export function spanWords(hours: number): string {
  const days = hours / 24;
  if (hours < 48) return count(Math.round(hours), 'hour');
  if (days < 14 || Number.isInteger(days) && days < 60 && days % 7 !== 0) return `${Number.isInteger(days) ? '' : 'about '}${count(Math.round(days), 'day')}`;
  if (days < 63) return `${days % 7 === 0 ? '' : 'about '}${count(Math.round(days / 7), 'week')}`;
  if (days < 730) return `about ${count(Math.round(days / 30.44), 'month')}`;
  return `about ${count(Math.round(days / 365.25), 'year')}`;
}

/** Inline Markdown code: the text between backticks (backticks inside are not expected). @internal */
export function code(text: string): string {
  return `\`${text}\``;
}
