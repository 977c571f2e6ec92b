import { Duration } from 'cdk8s';
import { Retention } from '../../../src';
import { retentionInWords } from '../../../src/plan/retention-words';

describe('retention in words', () => {
  test.each([
    [Retention.hourly24Daily7Weekly4(), 1, 'keeps 24 hourly, 7 daily and 4 weekly backups, reaching back 4 weeks; always at least the newest; until each tier has as many periods as it counts, also the oldest (restic ≥ 0.16)'],
    [Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }), 24, 'keeps 7 daily, 4 weekly and 12 monthly backups, reaching back about 12 months; always at least the newest; until each tier has as many periods as it counts, also the oldest (restic ≥ 0.16)'],
    [Retention.gfs({ last: 8, daily: 14 }), 6, 'keeps the last 8 and 14 daily backups, reaching back 2 weeks; always at least the newest; until each tier has as many periods as it counts, also the oldest (restic ≥ 0.16)'],
    [Retention.keepLast(48), 1, 'keeps the last 48 backups, reaching back 2 days; always at least the newest'],
    // A tier keeps one backup per period that has one: a weekly schedule's 7 daily reach 7 weeks.
    [Retention.gfs({ daily: 7 }), 168, 'keeps 7 daily backups, reaching back 7 weeks; always at least the newest; until each tier has as many periods as it counts, also the oldest (restic ≥ 0.16)'],
  ])('%s', (retention, gap, words) => {
    expect(retentionInWords(retention, gap)).toBe(words);
  });

  test('max age: counted from the newest backup, not from now', () => {
    expect(retentionInWords(Retention.maxAge(Duration.days(30)), 1)).toBe(
      'keeps every backup younger than 30 days, counted back from the newest backup (not from now: if backups stop, the last ones are never aged out); always at least the newest');
  });
});
