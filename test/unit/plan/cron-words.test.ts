import { cronInWords, runsPerDay } from '../../../src/plan/cron-words';

describe('cron in words', () => {
  test.each([
    ['0 * * * *', 'every hour at minute 0'],
    ['@hourly', 'every hour at minute 0'],
    ['@daily', 'every day at 00:00'],
    ['@midnight', 'every day at 00:00'],
    ['@weekly', 'on Sundays at 00:00'],
    ['@monthly', 'on day 1 of the month at 00:00'],
    ['@yearly', 'every year on January 1 at 00:00'],
    ['0 2 * * *', 'every day at 02:00'],
    ['30 4 * * *', 'every day at 04:30'],
    ['30 3 * * 1', 'on Mondays at 03:30'],
    ['30 3 * * MON', 'on Mondays at 03:30'],
    ['0 0 * * 7', 'on Sundays at 00:00'],
    ['0 2 * * 1-5', 'on weekdays (Monday to Friday) at 02:00'],
    ['0 2 * * 6,0', 'on Saturdays and Sundays at 02:00'],
    ['0 2 * * 1,3,5', 'on Mondays, Wednesdays and Fridays at 02:00'],
    ['0 0,12 * * *', 'every day at 00:00 and 12:00'],
    ['15 */6 * * *', 'every 6 hours at minute 15'],
    ['*/15 * * * *', 'every 15 minutes'],
    ['* * * * *', 'every minute'],
    ['0,30 * * * *', 'every hour at minutes 0 and 30'],
    ['0 8-18 * * 1-5', 'at minute 0 past the hours 8–18, on weekdays (Monday to Friday)'],
    ['0 2 1,15 * *', 'on days 1 and 15 of the month at 02:00'],
    // Kubernetes' cron: with both day fields set, a day runs when either matches.
    ['0 2 1 * 0', 'on day 1 of the month or on Sundays at 02:00'],
    ['0 2 * 1,4,7,10 *', 'every day in January, April, July and October at 02:00'],
    ['0 3 * JAN-MAR *', 'every day in January–March at 03:00'],
  ])('%s → %s', (expr, words) => {
    expect(cronInWords(expr)).toBe(words);
  });

  test('a form it does not know is shown as it is, with a gloss of the fields', () => {
    expect(cronInWords('0 0 L * *')).toBe('on the cron schedule `0 0 L * *` (minute, hour, day of month, month, day of week)');
    expect(cronInWords('0 0 * *')).toContain('`0 0 * *`');
  });

  test('runs in a day: from the fields, the same on any day it is rendered', () => {
    expect(runsPerDay('0 * * * *')).toBe('24 runs a day: 00:00, 01:00, 02:00, 03:00, …, 23:00');
    expect(runsPerDay('15 */6 * * *')).toBe('4 runs a day: 00:15, 06:15, 12:15 and 18:15');
    expect(runsPerDay('0 2 * * *')).toBeUndefined();
  });
});
