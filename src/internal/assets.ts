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

/**
 * A line that sources a library from the script's own directory, the one form the scripts use:
 * `. "${0%/*}/summary-lib.sh"`. The library's name is the ConfigMap key it is mounted as.
 */
const SOURCED_LIBRARY = /^[ \t]*\.[ \t]+"\$\{0%\/\*\}\/([A-Za-z0-9._-]+)"[ \t]*$/gm;

/**
 * Entry scripts from `assets/` and every library they source, directly or through another
 * library, by file name: what a job mounts at `/scripts` so that each of them finds its libraries
 * next to itself. Each script once, entries first in the order given, each followed by the
 * libraries it sources in the order of its lines (depth first).
 * @internal
 */
export function scriptsWithLibraries(entries: readonly string[]): { [file: string]: string } {
  const scripts: { [file: string]: string } = {};
  const add = (name: string): void => {
    if (name in scripts) return;
    const text = readAsset(name);
    scripts[name] = text;
    for (const m of text.matchAll(SOURCED_LIBRARY)) add(m[1]);
  };
  entries.forEach(add);
  return scripts;
}
