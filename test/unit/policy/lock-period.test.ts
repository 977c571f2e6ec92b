import { Cron, Duration } from 'cdk8s';
import { checkLockPeriod, minimumLockDays } from '../../../src/policy/lock-period';
import { Retention } from '../../../src/policy/retention';

test('the lock covers the longest time-based tier plus two maintenance gaps, in whole days', () => {
  const daily = Cron.schedule({ minute: '15', hour: '5' });
  expect(minimumLockDays([Retention.maxAge(Duration.days(30)), Retention.gfs({ daily: 7, within: Duration.days(7) })], daily))
    .toEqual({ days: 32, retentionHours: 720, detectionHours: 48 });
  // Hourly maintenance: two hours of detection round up to a whole day.
  expect(minimumLockDays([Retention.maxAge(Duration.days(30))], Cron.hourly()).days).toBe(31);
  // Weekly maintenance takes two weeks to notice.
  expect(minimumLockDays([Retention.maxAge(Duration.days(7))], Cron.weekly()).days).toBe(21);
});

test('count-only retentions add nothing of their own (they are refused with locked storage)', () => {
  expect(minimumLockDays([Retention.keepLast(5)], Cron.daily()).days).toBe(2);
});

test('checkLockPeriod: a declared lock shorter than the minimum is an error naming the minimum; none declared passes', () => {
  const r = [Retention.maxAge(Duration.days(14))];
  const daily = Cron.schedule({ minute: '15', hour: '5' });
  expect(checkLockPeriod('X', 16, r, daily)).toBe(16);
  expect(checkLockPeriod('X', undefined, r, daily)).toBe(16);
  expect(() => checkLockPeriod('X', 15, r, daily)).toThrow(/^X: the repository's Object Lock period \(15 days\) is shorter than the 16 days.*Duration.days\(16\)/);
});
