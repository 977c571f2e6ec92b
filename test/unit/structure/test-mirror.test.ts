/**
 * Unit tests mirror src/: each source file with logic, `src/<dir>/<name>.ts`, has its tests in
 * `test/unit/<dir>/<name>.test.ts`, so the tests of a behaviour are found next to where it lives.
 * src/imports/ (generated) and index.ts (checked by public-api.test.ts) are left out.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..', '..');
const SRC = path.join(ROOT, 'src');
const UNIT = path.join(ROOT, 'test', 'unit');

/**
 * Files that hold only types (props, options, interfaces, re-exported type aliases): no
 * behaviour of their own to test. The constructs that read them test what they do with them.
 * A file added here must stay free of logic (checked below).
 */
const TYPE_ONLY = [
  'cluster-backup-props.ts', // ClusterBackupProps and its nested options
  'job/backup-job-options.ts', // BackupJobOptions, BackupImages, BackupDestination
  'job/scheduled-job.ts', // the job contract: ScheduledJob, IBackupJob, IVeleroBackupSchedule
  'plan/planned-alert.ts', // PlannedAlert, IAlertPlan
  'policy/pitfall-acknowledgements.ts', // PitfallAcknowledgements
  'repository/repository-props.ts', // the props of BackupRepository's factories
  'repository/secret-key-ref.ts', // SecretKeyRef
  'velero/velero-resource-filters.ts', // VeleroResourceFilters
];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const files = sourceFiles(SRC)
  .map((f) => path.relative(SRC, f).split(path.sep).join('/'))
  .filter((f) => !f.startsWith('imports/') && path.basename(f) !== 'index.ts')
  .sort();

function mirror(file: string): string {
  return path.join(UNIT, file.replace(/\.ts$/, '.test.ts'));
}

test('every source file with logic has its mirrored unit test file', () => {
  const missing = files.filter((f) => !TYPE_ONLY.includes(f) && !fs.existsSync(mirror(f)));
  expect(missing.map((f) => `src/${f} has no ${path.relative(ROOT, mirror(f))}`)).toEqual([]);
});

test('the type-only list names existing files that hold no logic', () => {
  for (const f of TYPE_ONLY) {
    const file = path.join(SRC, f);
    expect([f, fs.existsSync(file)]).toEqual([f, true]);
    // Without comments and string literals, nothing but imports, interfaces and type aliases.
    const code = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/'[^'\n]*'/g, "''");
    expect([f, /\b(function|class|const|let|var|enum)\b|=>/.test(code)]).toEqual([f, false]);
  }
});

test('the check sees the files it judges', () => {
  expect(files).toEqual(expect.arrayContaining(['cluster-backup.ts', 'internal/shell.ts', 'velero/velero-schedule.ts']));
  expect(files.some((f) => f.startsWith('imports/') || f.endsWith('index.ts'))).toBe(false);
});
