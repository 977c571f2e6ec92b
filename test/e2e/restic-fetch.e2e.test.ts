/**
 * assets/restic-fetch.sh, run by busybox ash (the restic image's shell) against a local restic
 * repository: it carries exactly the metadata tags the construct names, and refuses a snapshot
 * that lacks one or whose file's sha256 trailer does not match its etcd-sha256 tag; it joins a
 * backup's pieces. Also the runbook's own join line, run as rendered, on both layouts.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthEtcdBackup } from '../support/charts';

const SCRIPT = path.join(__dirname, '..', '..', 'assets', 'restic-fetch.sh');

describe('restic-fetch.sh', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restic-fetch-'));
    env = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      RESTIC_REPOSITORY: path.join(dir, 'repo'),
      RESTIC_PASSWORD: 'pw',
      RESTIC_CACHE_DIR: path.join(dir, 'cache'),
      TMPDIR: dir,
      BACKUP_HOST: 'prod',
      BACKUP_TAG: 'etcd-snapshot',
      CHECKSUM_PATH: '/backup/etcd-snapshot.db',
      CHECKSUM_TAG: 'etcd-sha256',
      PIECES_PATH: '/backup/etcd-snapshot.parts',
    };
    execFileSync('restic', ['init', '--quiet'], { env });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A file as `etcdctl snapshot save` writes one: the data, then the sha256 of the data. */
  function backup(content: string, tags: string[], recorded?: string, pieceBytes?: number): void {
    const src = fs.mkdtempSync(path.join(dir, 'src-'));
    fs.mkdirSync(path.join(src, 'backup'));
    const sha = crypto.createHash('sha256').update(content).digest();
    const file = Buffer.concat([Buffer.from(content), sha]);
    if (pieceBytes) {
      // As the upload stores it: the pieces p100000, p100001, ... in a directory.
      fs.mkdirSync(path.join(src, 'backup', 'etcd-snapshot.parts'));
      for (let k = 0; k * pieceBytes < file.length; k++) {
        fs.writeFileSync(path.join(src, 'backup', 'etcd-snapshot.parts', `p${100000 + k}`), file.subarray(k * pieceBytes, (k + 1) * pieceBytes));
      }
    } else {
      fs.writeFileSync(path.join(src, 'backup', 'etcd-snapshot.db'), file);
    }
    execFileSync('restic', ['backup', '--quiet', '--host', 'prod', '--tag', 'etcd-snapshot', '--tag', `etcd-sha256=${recorded ?? sha.toString('hex')}`,
      ...tags.flatMap((t) => ['--tag', t]), 'backup'], { env, cwd: src });
  }

  function fetch(metadataTags: string): { code: number | null; stderr: string; expected?: string; file?: Buffer; piecesLeft: boolean } {
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    const r = spawnSync('busybox', ['sh', SCRIPT], {
      env: { ...env, FETCH_DIR: path.join(out, 'fetched'), EXPECTED_FILE: path.join(out, 'expected.env'), METADATA_TAGS: metadataTags },
      encoding: 'utf8',
    });
    const file = path.join(out, 'expected.env');
    const fetched = path.join(out, 'fetched', 'backup', 'etcd-snapshot.db');
    return {
      code: r.status,
      stderr: r.stderr,
      expected: fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined,
      file: fs.existsSync(fetched) ? fs.readFileSync(fetched) : undefined,
      piecesLeft: fs.existsSync(path.join(out, 'fetched', 'backup', 'etcd-snapshot.parts')),
    };
  }

  test('GIVEN an unreachable repository WHEN fetched THEN the first question gives up after REPOSITORY_TIMEOUT with what to check (restic 0.18 alone retries for 15 minutes)', () => {
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    const t0 = Date.now();
    const r = spawnSync('busybox', ['sh', SCRIPT], {
      env: {
        ...env,
        RESTIC_REPOSITORY: 's3:https://127.0.0.1:9/bucket/prod',
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'y',
        REPOSITORY_TIMEOUT: '4',
        FETCH_DIR: path.join(out, 'fetched'),
        EXPECTED_FILE: path.join(out, 'expected.env'),
        METADATA_TAGS: 'etcd-revision',
      },
      encoding: 'utf8',
    });
    const seconds = (Date.now() - t0) / 1000;
    expect(r.status).toBe(1);
    expect(seconds).toBeLessThan(20);
    expect(r.stderr).toContain('fetch: cannot list the snapshots in s3:https://127.0.0.1:9/bucket/prod');
    expect(r.stderr).toContain('the repository gets 4 s to answer');
  });

  test('GIVEN the tags the construct names WHEN fetched THEN each is written as NAME=value for the drill', () => {
    backup('snapshot one', ['etcd-revision=41', 'etcd-keys=7']);
    const r = fetch('etcd-revision etcd-keys');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.expected).toMatch(/^SNAPSHOT_ID=[0-9a-f]{64}\nETCD_REVISION=41\nETCD_KEYS=7\n$/);
  });

  test('GIVEN a newest snapshot whose trailer is not the recorded etcd-sha256 WHEN fetched THEN it fails and writes nothing', () => {
    backup('snapshot three', ['etcd-revision=43', 'etcd-keys=7'], 'ab'.repeat(32));
    const r = fetch('etcd-revision etcd-keys');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/the sha256 trailer of \/backup\/etcd-snapshot\.db is [0-9a-f]{64}, the backup recorded (ab){32}: this is not the snapshot the backup verified/);
    expect(r.expected).toBeUndefined();
  });

  test('GIVEN a newest snapshot without one of the named tags WHEN fetched THEN it fails naming that tag and writes nothing', () => {
    backup('snapshot two', ['etcd-revision=42']);
    const r = fetch('etcd-revision etcd-keys');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/lacks the etcd-keys tag/);
    expect(r.expected).toBeUndefined();
  });

  test('GIVEN a backup that holds the snapshot as pieces (more than ten, so order matters) WHEN fetched THEN they are joined in order into the snapshot file, and the trailer matches', () => {
    const content = Array.from({ length: 40 }, (_, i) => `line ${i} of the snapshot\n`).join('');
    backup(content, ['etcd-revision=44', 'etcd-keys=9'], undefined, 64);
    const r = fetch('etcd-revision etcd-keys');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.file?.subarray(0, -32).toString()).toBe(content);
    expect(r.piecesLeft).toBe(false);
    expect(r.expected).toMatch(/ETCD_REVISION=44\nETCD_KEYS=9\n$/);
  });
});

/**
 * The runbook's own join line, as rendered, run by bash on the paths it names: after `restic
 * restore`, a backup holds either the pieces or (made before them) the single file.
 */
describe('the runbook\'s join of the fetched pieces', () => {
  const target = '/tmp/etcd-restore';
  const file = `${target}/backup/etcd-snapshot.db`;
  const line = synthEtcdBackup().backup.restoreSection().split('\n').find((l) => l.startsWith('sh -c '))!;
  beforeEach(() => fs.rmSync(target, { recursive: true, force: true }));
  afterAll(() => fs.rmSync(target, { recursive: true, force: true }));

  test('GIVEN the pieces WHEN the line runs THEN they are joined in order into the snapshot file', () => {
    const content = crypto.randomBytes(5000);
    const dir = `${target}/backup/etcd-snapshot.parts`;
    fs.mkdirSync(dir, { recursive: true });
    for (let k = 0; k * 400 < content.length; k++) fs.writeFileSync(path.join(dir, `p${100000 + k}`), content.subarray(k * 400, (k + 1) * 400));
    const r = spawnSync('bash', ['-euc', line], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(file).equals(content)).toBe(true);
  });

  test('GIVEN a backup made before the pieces (the single file) WHEN the line runs THEN it leaves the file as it is', () => {
    fs.mkdirSync(`${target}/backup`, { recursive: true });
    fs.writeFileSync(file, 'the old layout');
    const r = spawnSync('bash', ['-euc', line], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('the old layout');
  });
});
