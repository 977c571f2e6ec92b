/**
 * scriptsWithLibraries: a job names its entry scripts; the libraries they source come along.
 * readAsset: a script as it is on disk.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readAsset, scriptsWithLibraries } from '../../../src/internal/assets';

const ASSETS = path.join(__dirname, '..', '..', '..', 'assets');
const SCRIPTS = fs.readdirSync(ASSETS).filter((f) => f.endsWith('.sh')).sort();

describe('scriptsWithLibraries', () => {
  test('GIVEN an entry script WHEN resolved THEN it comes first, then each library it sources in the order of its lines, with their content', () => {
    const scripts = scriptsWithLibraries(['etcd-drill.sh']);
    expect(Object.keys(scripts)).toEqual(['etcd-drill.sh', 'etcd-lib.sh', 'summary-lib.sh']);
    for (const [name, text] of Object.entries(scripts)) expect(text).toBe(fs.readFileSync(path.join(ASSETS, name), 'utf8'));
  });

  test('GIVEN a library that sources others WHEN resolved THEN theirs come along too, after it', () => {
    expect(Object.keys(scriptsWithLibraries(['db-drill-postgres.sh']))).toEqual(['db-drill-postgres.sh', 'db-drill-lib.sh', 'restic-lib.sh', 'summary-lib.sh']);
  });

  test('GIVEN entries that share a library WHEN resolved THEN each script is there once, in the same order every time', () => {
    const scripts = Object.keys(scriptsWithLibraries(['etcd-snapshot.sh', 'restic-upload.sh']));
    expect(new Set(scripts).size).toBe(scripts.length);
    expect(scripts.slice(0, 3)).toEqual(['etcd-snapshot.sh', 'etcd-lib.sh', 'summary-lib.sh']);
    expect(scripts).toContain('restic-upload.sh');
    expect(Object.keys(scriptsWithLibraries(['etcd-snapshot.sh', 'restic-upload.sh']))).toEqual(scripts);
  });

  test.each(SCRIPTS)('%s: every library it sources from its own directory is followed, and is in assets/', (script) => {
    const text = fs.readFileSync(path.join(ASSETS, script), 'utf8');
    // Any line that sources something next to the script, in whatever spelling: the embedding
    // must see it, or the job would mount the script without the library.
    const sourced = text.split('\n').filter((l) => /^\s*(\.|source)\s/.test(l) && l.includes('${0'));
    const followed = Object.keys(scriptsWithLibraries([script]));
    for (const line of sourced) {
      const lib = /\/([^/"]+)"\s*$/.exec(line)?.[1];
      expect({ line, lib: lib && followed.includes(lib) ? lib : undefined }).toEqual({ line, lib });
      expect(SCRIPTS).toContain(lib);
    }
  });
});

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
