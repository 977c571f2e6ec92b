/**
 * Proves the moto harness (moto.ts) with the real restic 0.18.0: a key whose IAM policy allows
 * reading and writing a repository prefix but deleting only its locks can init, back up, list and
 * unlock (`unlock --remove-all` removes a killed backup's stale lock), but `restic forget <id>`
 * is refused with the snapshot still there (restic reports it and still exits 0), and
 * `forget --prune` fails (exit 1) leaving a repository that checks; a maintainer key on the same
 * prefix forgets and prunes. On an Object Lock bucket (versioning on) an all-powerful key's
 * forget hides the snapshot from restic, yet the snapshot object's version is kept under a delete
 * marker. A wrong key is refused by moto (InvalidAccessKeyId). The measured facts (exit codes,
 * messages, durations) are printed in one line at the end.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AccessKey, MotoServer, startMoto } from './moto';
import { runningProcesses, waitFor } from './processes';
import { RESTIC_BIN, ResticOptions, ResticRepo, resticEnv, resticGlobalArgs } from './restic';

const PASSWORD = 'moto-test-repository-password';
const BUCKET = 'backups';
const PREFIX = 'team/etcd';

/** The writer policy of the brief: read and write under PREFIX, delete only its locks. */
function writerPolicy(bucket: string, prefix: string): object {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: `arn:aws:s3:::${bucket}` },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${bucket}/${prefix}/*` },
      { Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: `arn:aws:s3:::${bucket}/${prefix}/locks/*` },
    ],
  };
}

/** Everything on the repository prefix, deletes included (the maintainer's key). */
function maintainerPolicy(bucket: string, prefix: string): object {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: `arn:aws:s3:::${bucket}` },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: `arn:aws:s3:::${bucket}/${prefix}/*` },
    ],
  };
}

const facts: Record<string, unknown> = {};
let moto: MotoServer;
let work: string;
let source: string;

function repo(key: AccessKey, bucket = BUCKET, prefix = PREFIX): ResticRepo {
  return new ResticRepo({
    repository: moto.resticRepository(bucket, prefix),
    password: PASSWORD,
    s3: { ...key, region: moto.region },
    tmpDir: path.join(work, 'tmp'),
    timeoutMs: 60_000,
  });
}

/** The first line of restic's stderr that says what went wrong. */
function why(stderr: string): string {
  return stderr.split('\n').filter((l) => l.trim() !== '').slice(0, 3).join(' | ');
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'moto-test-'));
  source = path.join(work, 'source');
  fs.mkdirSync(source);
  fs.writeFileSync(path.join(source, 'a.txt'), 'first\n');
  moto = await startMoto();
  facts.startMs = moto.startMs;
  await moto.createBucket(BUCKET);
});

afterAll(async () => {
  await moto?.stop();
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`moto facts: ${JSON.stringify(facts)}`);
});

test('moto enforces signatures: a wrong key is InvalidAccessKeyId, the admin key lists', async () => {
  const wrong = await moto.s3('GET', `/${BUCKET}`, { 'list-type': '2' }, '', {}, { accessKeyId: 'AKIAWRONG', secretAccessKey: 'x' });
  expect(wrong.status).toBe(403);
  expect(wrong.body).toContain('InvalidAccessKeyId');
  const badSecret = await moto.s3('GET', `/${BUCKET}`, { 'list-type': '2' }, '', {}, { ...moto.admin, secretAccessKey: 'wrong' });
  expect(badSecret.status).toBe(403);
  expect(badSecret.body).toContain('SignatureDoesNotMatch');
  expect(await moto.listObjects(BUCKET)).toEqual([]);
});

test('a writer key backs up and unlocks, but cannot forget or prune; a maintainer key can', async () => {
  const writerKey = await moto.createUser('writer', writerPolicy(BUCKET, PREFIX));
  const writer = repo(writerKey);
  facts.writerInitMs = writer.ok(['init']).durationMs;
  facts.writerBackupMs = writer.ok(['backup', '--host', 'h', source]).durationMs;
  fs.writeFileSync(path.join(source, 'b.txt'), 'second\n');
  writer.ok(['backup', '--host', 'h', source]);
  const before = writer.snapshots();
  expect(before).toHaveLength(2);

  // A backup killed while it holds its lock leaves a stale lock; the writer may remove it.
  await killedBackupLeavesLock(writer.options);
  expect((await moto.listObjects(BUCKET, `${PREFIX}/locks/`)).length).toBeGreaterThan(0);
  writer.ok(['unlock', '--remove-all']);
  expect(await moto.listObjects(BUCKET, `${PREFIX}/locks/`)).toEqual([]);

  // Outside its prefix the writer can do nothing.
  const elsewhere = await moto.s3('PUT', `/${BUCKET}/other/x`, {}, 'x', {}, writerKey);
  expect(elsewhere.status).toBe(403);
  expect(elsewhere.body).toContain('AccessDenied');

  const forget = writer.run(['forget', before[0].id]);
  facts.writerForget = { status: forget.status, ms: forget.durationMs, stderr: why(forget.stderr) };
  // restic 0.18.0 reports the refused delete but exits 0: cmd/restic/cmd_forget.go (lines 310-316)
  // prints "unable to remove snapshots/<id>" and returns nil from ParallelRemove's callback.
  expect(forget.status).toBe(0);
  expect(forget.stderr).toContain('client.RemoveObject: Access Denied');
  expect(forget.stderr).toContain(`unable to remove snapshot/${before[0].id} from the repository`);
  expect(forget.durationMs).toBeLessThan(15_000);
  expect(writer.snapshots().map((s) => s.id)).toEqual(before.map((s) => s.id));
  expect((await moto.listObjects(BUCKET, `${PREFIX}/snapshots/`)).map((o) => o.key).sort())
    .toEqual(before.map((s) => `${PREFIX}/snapshots/${s.id}`).sort());

  const prune = writer.run(['forget', '--prune', '--keep-last', '1']);
  facts.writerForgetPrune = { status: prune.status, ms: prune.durationMs, stderr: why(prune.stderr.split('\n').slice(-3).join('\n')) };
  // The failed snapshot delete does not stop prune: it plans without the snapshot, writes the new
  // index and fails deleting the old index files, before any pack is deleted.
  expect(prune.status).toBe(1);
  expect(prune.stderr).toContain('Fatal: client.RemoveObject: Access Denied');
  expect(prune.stdout).toContain('1 snapshots have been removed, running prune');
  expect(writer.snapshots()).toHaveLength(2);
  // The refused forgets left no lock behind (restic removes its lock: allowed), and the repository whole.
  expect(await moto.listObjects(BUCKET, `${PREFIX}/locks/`)).toEqual([]);
  facts.writerCheckAfterRefusedPrune = writer.run(['check']).status;
  expect(facts.writerCheckAfterRefusedPrune).toBe(0);

  const maintainer = repo(await moto.createUser('maintainer', maintainerPolicy(BUCKET, PREFIX)));
  const kept = maintainer.run(['forget', '--prune', '--keep-last', '1']);
  facts.maintainerForgetPrune = { status: kept.status, ms: kept.durationMs };
  expect(kept.status).toBe(0);
  expect(maintainer.snapshots().map((s) => s.id)).toEqual([before[1].id]);
  maintainer.ok(['check']);
});

test('Object Lock bucket: forget hides the snapshot from restic, its object version stays under a delete marker', async () => {
  const bucket = 'locked';
  await moto.createBucket(bucket, { objectLock: true, versioning: true });
  const all = repo(moto.admin, bucket, 'repo');
  all.ok(['init']);
  all.ok(['backup', '--host', 'h', source]);
  const [snap] = all.snapshots();
  const key = `repo/snapshots/${snap.id}`;
  expect(await moto.listObjectVersions(bucket, key)).toEqual([expect.objectContaining({ key, deleteMarker: false, isLatest: true })]);

  const forget = all.run(['forget', snap.id]);
  facts.objectLockAdminForget = { status: forget.status, ms: forget.durationMs };
  expect(forget.status).toBe(0);
  expect(all.snapshots()).toEqual([]);
  expect(await moto.listObjects(bucket, 'repo/snapshots/')).toEqual([]);
  const versions = await moto.listObjectVersions(bucket, key);
  facts.objectLockVersionsAfterForget = versions.map((v) => ({ deleteMarker: v.deleteMarker, isLatest: v.isLatest, size: v.size }));
  expect(versions).toHaveLength(2);
  expect(versions).toEqual(expect.arrayContaining([
    expect.objectContaining({ key, deleteMarker: true, isLatest: true }),
    expect.objectContaining({ key, deleteMarker: false, isLatest: false }),
  ]));
  expect(versions.find((v) => !v.deleteMarker)!.size).toBeGreaterThan(0);

  await moto.createBucket('retained', { objectLock: true, defaultRetentionDays: 1 });
  const config = await moto.s3('GET', '/retained', { 'object-lock': '' });
  expect(config.status).toBe(200);
  expect(config.body).toMatch(/<Mode>GOVERNANCE<\/Mode>\s*<Days>1<\/Days>/);
});

test('stop() leaves no moto process behind', async () => {
  const pid = moto.process.pid;
  await moto.stop();
  expect(moto.process.groupMembers()).toEqual([]);
  expect(runningProcesses().map((p) => p.pid)).not.toContain(pid);
});

/**
 * Starts `restic backup --stdin` with a stdin that never ends, waits until its lock is in the
 * bucket and kills it (SIGKILL): the lock stays.
 */
async function killedBackupLeavesLock(options: ResticOptions): Promise<void> {
  const child = spawn(RESTIC_BIN, [...resticGlobalArgs(options), 'backup', '--host', 'h', '--stdin', '--stdin-filename', 'endless'], {
    env: resticEnv(options),
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  try {
    child.stdin.write('data that never ends\n');
    await waitFor(async () => (await moto.listObjects(BUCKET, `${PREFIX}/locks/`)).length > 0, 15_000,
      { description: 'the backup\'s lock', intervalMs: 100 });
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve));
  }
}
