import { Duration } from 'cdk8s';
import { Retention } from '../../../src';

describe('Retention', () => {
  test('keepLast renders --keep-last', () => {
    expect(Retention.keepLast(24).toResticForgetArgs()).toEqual(['--keep-last', '24']);
  });

  test('gfs renders each tier, and always keeps the newest backup', () => {
    expect(Retention.gfs({ hourly: 24, daily: 7, weekly: 4, monthly: 12, yearly: 2 }).toResticForgetArgs()).toEqual([
      '--keep-last', '1', '--keep-hourly', '24', '--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12', '--keep-yearly', '2',
    ]);
    expect(Retention.gfs({ last: 3, daily: 7 }).toResticForgetArgs()).toEqual(['--keep-last', '3', '--keep-daily', '7']);
  });

  test('maxAge renders days and hours only (restic reads m as months)', () => {
    expect(Retention.maxAge(Duration.days(35)).toResticForgetArgs()).toEqual(['--keep-last', '1', '--keep-within', '35d']);
    expect(Retention.maxAge(Duration.hours(36)).toResticForgetArgs()).toEqual(['--keep-last', '1', '--keep-within', '1d12h']);
    expect(Retention.maxAge(Duration.hours(5)).toResticForgetArgs()).toEqual(['--keep-last', '1', '--keep-within', '5h']);
    expect(Retention.maxAge(Duration.minutes(120)).toResticForgetArgs()).toEqual(['--keep-last', '1', '--keep-within', '2h']);
  });

  test('presets carry their policy in the name', () => {
    expect(Retention.daily35Days().daily).toBe(35);
    expect(Retention.weekly90Days().weekly).toBe(13);
    expect(Retention.monthly1Year().monthly).toBe(12);
    expect(Retention.monthly5Years().monthly).toBe(60);
    expect(Retention.hourly24Daily7Weekly4().toString()).toBe('hourly 24, daily 7, weekly 4');
  });

  test('finest period drives the schedule check', () => {
    expect(Retention.hourly24Daily7Weekly4().finestPeriodHours).toBe(1);
    expect(Retention.daily35Days().finestPeriodHours).toBe(24);
    expect(Retention.keepLast(3).finestPeriodHours).toBeUndefined();
  });

  test.each([0, -1, 1.5, NaN])('keepLast(%p) is rejected', (n) => {
    expect(() => Retention.keepLast(n)).toThrow(/Retention.keepLast\(count\): must be a whole number ≥ 1/);
  });

  test('negative or fractional tiers are rejected, naming the tier', () => {
    expect(() => Retention.gfs({ daily: -7 })).toThrow(/Retention.gfs\(\{ daily \}\)/);
    expect(() => Retention.gfs({ weekly: 2.5 })).toThrow(/Retention.gfs\(\{ weekly \}\)/);
  });

  test('an empty retention is rejected', () => {
    expect(() => Retention.gfs({})).toThrow(/empty retention keeps nothing/);
  });

  test('maxAge below an hour or not in whole hours is rejected', () => {
    expect(() => Retention.maxAge(Duration.minutes(30))).toThrow(/Retention.maxAge\(age\): restic keeps by whole hours/);
    expect(() => Retention.maxAge(Duration.minutes(90))).toThrow(/whole hours/);
  });
});
