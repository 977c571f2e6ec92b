import { Duration } from 'cdk8s';
import { checkNames, goDuration } from '../../../src/velero/velero-common';

describe('goDuration', () => {
  test('hours, minutes and seconds as Velero\'s API reads them', () => {
    expect(goDuration('ttl', Duration.days(30))).toBe('720h0m0s');
    expect(goDuration('ttl', Duration.minutes(10))).toBe('0h10m0s');
    expect(goDuration('ttl', Duration.seconds(3725))).toBe('1h2m5s');
  });

  test('zero or fractions of a second are an error naming the option', () => {
    expect(() => goDuration('csiSnapshotTimeout', Duration.seconds(0))).toThrow(/csiSnapshotTimeout: expected a positive whole number of seconds/);
    expect(() => goDuration('ttl', Duration.millis(1500))).toThrow(/ttl: expected a positive whole number of seconds/);
  });
});

describe('checkNames', () => {
  test('undefined stays undefined; a list is copied', () => {
    expect(checkNames('includedResources', undefined)).toBeUndefined();
    const given = ['pods', '*.apps'];
    const checked = checkNames('includedResources', given);
    expect(checked).toEqual(given);
    expect(checked).not.toBe(given);
  });

  test.each(['', 'a b', 'pods\n'])('%j is not a name or pattern', (bad) => {
    expect(() => checkNames('includedResources', ['pods', bad])).toThrow(/includedResources: .* is not a name or pattern/);
  });
});
