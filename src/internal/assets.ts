import * as fs from 'fs';
import * as path from 'path';

/**
 * The shell scripts that run inside the containers live as real `.sh` files in `assets/`
 * (linted by shellcheck, run by the tests) and ship with the package. Same relative location
 * from `src/internal` (tests) and `lib/internal` (compiled).
 * @internal
 */
export function readAsset(name: string): string {
  return fs.readFileSync(path.join(__dirname, '..', '..', 'assets', name), 'utf8');
}
