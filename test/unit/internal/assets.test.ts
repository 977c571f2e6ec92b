import * as fs from 'fs';
import * as path from 'path';
import { readAsset } from '../../../src/internal/assets';

describe('readAsset', () => {
  test('reads a script from assets/ as it is on disk', () => {
    const file = path.join(__dirname, '..', '..', '..', 'assets', 'restic-upload.sh');
    expect(readAsset('restic-upload.sh')).toBe(fs.readFileSync(file, 'utf8'));
    expect(readAsset('restic-upload.sh')).toMatch(/^#!/);
  });

  test('a missing asset is an error, not an empty script', () => {
    expect(() => readAsset('no-such-script.sh')).toThrow(/ENOENT/);
  });
});
