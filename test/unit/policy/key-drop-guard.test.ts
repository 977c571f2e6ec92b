import { KeyDropGuard } from '../../../src';

describe('KeyDropGuard', () => {
  test('a whole percent from 1 to 99, said in words', () => {
    expect(KeyDropGuard.maxDropPercent(1).percent).toBe(1);
    expect(KeyDropGuard.maxDropPercent(99).toString()).toBe('fail above a 99% drop in keys');
  });

  test.each([0, 100, 12.5, NaN, -5])('maxDropPercent(%p) is rejected, naming the option', (percent) => {
    expect(() => KeyDropGuard.maxDropPercent(percent)).toThrow(/KeyDropGuard.maxDropPercent\(percent\): expected a whole number from 1 to 99/);
  });

  test('unguarded has no percent and says so', () => {
    const g = KeyDropGuard.unguardedAcceptingDataLoss();
    expect(g.percent).toBeUndefined();
    expect(g.toString()).toBe('unguarded');
  });
});
