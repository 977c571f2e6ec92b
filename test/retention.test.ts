import { Retention } from '../src';
test('keepLast', () => { expect(Retention.keepLast(2).last).toBe(2); });
