import { cappedList, clock, code, count, durationWords, listWords, spanWords } from '../../../src/plan/words';

test('durations in words', () => {
  expect([45 * 60, 7200, 7800, 86400, 2 * 86400, 3 * 86400 + 3600].map(durationWords)).toEqual(['45 min', '2 h', '2 h 10 min', '24 h', '2 days', '3 days 1 h']);
});

describe('words', () => {
  test('lists: a, a and b, a, b and c; another last word', () => {
    expect([[], ['a'], ['a', 'b'], ['a', 'b', 'c']].map((xs) => listWords(xs))).toEqual(['', 'a', 'a and b', 'a, b and c']);
    expect(listWords(['a', 'b'], 'or')).toBe('a or b');
  });

  test('a capped list shows the first ones, the last one and how many in all', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `n${i}`);
    expect(cappedList(ten.slice(0, 8))).toBe('n0, n1, n2, n3, n4, n5, n6 and n7');
    expect(cappedList(ten)).toBe('n0, n1, n2, n3, n4, n5, …, n9 (10 in all)');
    expect(cappedList(ten, 4)).toBe('n0, n1, …, n9 (10 in all)');
  });

  test('clock times and counts', () => {
    expect([0, 125, 23 * 60 + 59].map(clock)).toEqual(['00:00', '02:05', '23:59']);
    expect([count(1, 'day'), count(3, 'day'), count(2, 'entry', 'entries')]).toEqual(['1 day', '3 days', '2 entries']);
  });

  test('spans: hours, days, weeks, months, years, "about" when not exact', () => {
    expect([24, 72, 24 * 14, 24 * 15, 24 * 28, 24 * 365, 24 * 365 * 3].map(spanWords))
      .toEqual(['24 hours', '3 days', '2 weeks', '15 days', '4 weeks', 'about 12 months', 'about 3 years']);
  });

  test('inline code', () => {
    expect(code('restic snapshots')).toBe('`restic snapshots`');
  });
});
