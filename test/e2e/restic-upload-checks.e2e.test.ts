/**
 * assets/restic-upload.sh's checks around the backup, run by busybox ash (the restic image's
 * shell, busybox 1.37) with the image's restic (0.18.0) and a local repository:
 * - the sha256 trailer check hashes the snapshot in place (trailer set aside, file truncated,
 *   trailer put back): the file the cut and the backup see is byte for byte the one saved, and a
 *   flipped byte stops the job before anything is stored;
 * - META_MUST_MATCH (the etcd server's version against `etcdVersion`): a backup of another
 *   version is kept, nothing is pruned, and the job fails with the advice, its summary line naming
 *   the step;
 * - the repository questions (unlock, the guard's list) run alongside the checksum and the cut:
 *   a failed check does not wait for them and leaves no restic behind, and an unreachable
 *   repository still fails within REPOSITORY_TIMEOUT.
 */
import { spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', '..', 'assets', 'restic-upload.sh');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restic-checks-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A snapshot-like file: content, then the sha256 of the content (what `snapshot save` writes). */
function snapshotFile(file: string, content: Buffer): Buffer {
  const whole = Buffer.concat([content, createHash('sha256').update(content).digest()]);
  fs.writeFileSync(file, whole);
  return whole;
}

function setup(name: string, meta: string): { env: Record<string, string>; file: string; work: string } {
  const work = fs.mkdtempSync(path.join(dir, `${name}-`));
  fs.mkdirSync(path.join(work, 'backup'));
  const file = path.join(work, 'backup', 'etcd-snapshot.db');
  fs.writeFileSync(path.join(work, 'backup', 'meta.env'), meta);
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    RESTIC_REPOSITORY: path.join(work, 'repo'),
    RESTIC_PASSWORD: 'pw',
    RESTIC_CACHE_DIR: path.join(work, 'cache'),
    TMPDIR: work,
    BACKUP_HOST: 'prod',
    BACKUP_TAG: 'etcd-snapshot',
    BACKUP_ARGS: file,
    BACKUP_META: path.join(work, 'backup', 'meta.env'),
    CHECKSUM_TRAILER_FILE: file,
    CHECKSUM_TAG: 'etcd-sha256',
  };
  expect(spawnSync('restic', ['init', '--quiet'], { env }).status).toBe(0);
  return { env, file, work };
}

function upload(env: Record<string, string>, extra: Record<string, string> = {}) {
  return spawnSync('busybox', ['sh', SCRIPT, '--keep-last', '1'], { env: { ...env, ...extra }, encoding: 'utf8' });
}

function snapshots(env: Record<string, string>): Array<{ tags: string[] }> {
  const r = spawnSync('restic', ['snapshots', '--json', '--no-lock'], { env, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

function summary(stdout: string): any {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

describe('restic-upload.sh: the sha256 trailer, checked in place', () => {
  test('GIVEN a good snapshot WHEN uploaded THEN the backup holds it byte for byte, trailer included', () => {
    const { env, file, work } = setup('good', 'ETCD_KEYS=3\n');
    const whole = snapshotFile(file, randomBytes(300_000));
    const r = upload(env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/matches the sha256 it ends with/);
    const target = path.join(work, 'restored');
    expect(spawnSync('restic', ['restore', 'latest', '--no-lock', '--target', target], { env }).status).toBe(0);
    expect(fs.readFileSync(path.join(target, file)).equals(whole)).toBe(true);
  });

  test('GIVEN a flipped byte WHEN uploaded THEN nothing is stored and the job fails at the check', () => {
    const { env, file } = setup('flipped', 'ETCD_KEYS=3\n');
    const whole = snapshotFile(file, randomBytes(300_000));
    whole[1234] = 255 - whole[1234];
    fs.writeFileSync(file, whole);
    const r = upload(env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is corrupt: the sha256 of its content is [0-9a-f]{64}, but the sha256 `snapshot save` appended says/);
    expect(summary(r.stdout)).toMatchObject({ result: 'failed', failedStep: 'checksum' });
    expect(snapshots(env)).toEqual([]);
  });
});

describe('restic-upload.sh: a backup whose metadata is not what the construct expects', () => {
  const advice = 'etcdVersion says 3.6.11: set it to what the server reports.';

  test('GIVEN etcd 3.5.30 where 3.6.11 is expected WHEN uploaded THEN the backup is kept with its version, nothing is pruned, the job fails naming the step', () => {
    const { env, file } = setup('mismatch', 'ETCD_KEYS=3\nETCD_VERSION=3.5.30\n');
    snapshotFile(file, randomBytes(10_000));
    // An older backup that keep-last 1 would prune.
    expect(upload(env).status).toBe(0);
    snapshotFile(file, randomBytes(10_000));
    const r = upload(env, { META_MUST_MATCH: 'etcd-version=3.6.11', META_MISMATCH_ADVICE: advice });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`upload: this backup has etcd-version 3.5.30, expected 3.6.11. ${advice}`);
    expect(r.stderr).toMatch(/kept it as snapshot [0-9a-f]+ \(tag etcd-version=3.5.30\); NOTHING was pruned/);
    expect(summary(r.stdout)).toMatchObject({ result: 'failed', failedStep: 'etcd-version', metadata: { 'etcd-keys': 3, 'etcd-version': '3.5.30' } });
    const all = snapshots(env);
    expect(all).toHaveLength(2);
    expect(all.every((s) => s.tags.includes('etcd-version=3.5.30'))).toBe(true);
  });

  test('GIVEN the expected version WHEN uploaded THEN the retention runs', () => {
    const { env, file } = setup('match', 'ETCD_KEYS=3\nETCD_VERSION=3.6.11\n');
    snapshotFile(file, randomBytes(10_000));
    expect(upload(env).status).toBe(0);
    snapshotFile(file, randomBytes(10_000));
    const r = upload(env, { META_MUST_MATCH: 'etcd-version=3.6.11', META_MISMATCH_ADVICE: advice });
    expect(r.status).toBe(0);
    expect(summary(r.stdout)).toMatchObject({ result: 'succeeded', metadata: { 'etcd-keys': 3, 'etcd-version': '3.6.11' } });
    expect(snapshots(env)).toHaveLength(1);
  });
});

describe('restic-upload.sh: the repository questions run alongside the checks', () => {
  /** restic processes still running for this repository URL. */
  function resticsFor(url: string): string[] {
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    return ps.stdout.split('\n').filter((l) => l.startsWith('restic') && l.includes(url));
  }

  test('GIVEN a repository that does not answer and a flipped byte WHEN uploaded THEN the job fails at the check at once and stops the question', () => {
    const { env, file } = setup('unanswered-corrupt', 'ETCD_KEYS=3\n');
    const whole = snapshotFile(file, randomBytes(300_000));
    whole[99] = 255 - whole[99];
    fs.writeFileSync(file, whole);
    // Port 9 refuses connections: restic 0.18 retries that for 15 minutes.
    const url = 'rest:http://127.0.0.1:9/unanswered-corrupt';
    const started = Date.now();
    const r = upload(env, { RESTIC_REPOSITORY: url, REPOSITORY_TIMEOUT: '30' });
    const took = Date.now() - started;
    expect(r.status).toBe(1);
    expect(summary(r.stdout)).toMatchObject({ result: 'failed', failedStep: 'checksum' });
    expect(took).toBeLessThan(10_000);
    // busybox timeout execs restic in its own pid; the job's exit stops it.
    const deadline = Date.now() + 3_000;
    while (resticsFor(url).length > 0 && Date.now() < deadline) spawnSync('sleep', ['0.2']);
    expect(resticsFor(url)).toEqual([]);
  });

  test('GIVEN a repository that does not answer WHEN uploaded THEN the job fails within REPOSITORY_TIMEOUT, after the checks, naming the bound', () => {
    const { env, file } = setup('unanswered', 'ETCD_KEYS=3\n');
    snapshotFile(file, randomBytes(300_000));
    const started = Date.now();
    const r = upload(env, { RESTIC_REPOSITORY: 'rest:http://127.0.0.1:9/unanswered', REPOSITORY_TIMEOUT: '3' });
    const took = Date.now() - started;
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/matches the sha256 it ends with/);
    expect(r.stderr).toMatch(/upload: the repository did not answer within 3 s\nupload: cannot open the repository \(see above\); nothing uploaded, nothing pruned/);
    expect(summary(r.stdout)).toMatchObject({ result: 'failed', failedStep: 'repository' });
    expect(took).toBeGreaterThanOrEqual(3_000);
    expect(took).toBeLessThan(15_000);
  });

  test('GIVEN a repository that does not answer and a slow cut WHEN uploaded THEN the wait overlaps the cut instead of following it', () => {
    // A cut of 6,000 pieces takes seconds (one dd each); the question is refused for
    // REPOSITORY_TIMEOUT. Asked one after the other they would take the sum.
    const { env, file, work } = setup('overlap', 'ETCD_KEYS=3\n');
    snapshotFile(file, randomBytes(6_000 * 512 - 32));
    const started = Date.now();
    const r = upload(env, {
      RESTIC_REPOSITORY: 'rest:http://127.0.0.1:9/overlap',
      REPOSITORY_TIMEOUT: '4',
      SPLIT_FILE: file,
      SPLIT_DIR: path.join(work, 'backup', 'parts'),
      SPLIT_BYTES: '512',
    });
    const took = Date.now() - started;
    expect(r.status).toBe(1);
    expect(summary(r.stdout)).toMatchObject({ result: 'failed', failedStep: 'repository' });
    const cut = /in 6000 pieces of 512 bytes under .* \(([0-9.]+) s\)/.exec(r.stdout);
    expect(cut).not.toBeNull();
    const cutMs = Number(cut![1]) * 1000;
    expect(cutMs).toBeGreaterThan(1_000);
    expect(took).toBeGreaterThanOrEqual(4_000);
    expect(took).toBeLessThan(4_000 + cutMs - 500);
  });

  test('GIVEN a good snapshot WHEN uploaded THEN the log says how long the repository took to answer', () => {
    const { env, file } = setup('answered', 'ETCD_KEYS=3\n');
    snapshotFile(file, randomBytes(10_000));
    const r = upload(env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/upload: the repository answered in [0-9]+\.[0-9]{2} s \(alongside the checks and the cut\)/);
  });
});
