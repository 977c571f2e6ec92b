/**
 * Backups that survive a compromised cluster, end to end: the keys and settings the library
 * renders, against servers that enforce them, with the scripts the jobs run.
 *
 * - moto's S3 server with IAM enforced (test/support/moto.ts): the IAM user policies are the JSON
 *   documents `BackupRepository.accessPolicies()` renders, literally (moto checks Action and
 *   Resource, not Conditions).
 * - restic's REST server (test/support/rest-server.ts): append-only for the writer, full for the
 *   maintainer, on one data directory.
 * - The scripts run with busybox ash (the restic image's shell) and restic 0.18.0, their
 *   environment taken from the rendered containers (values as rendered; a path inside the pod is
 *   moved under this test's directory, /backup the same for every job as on the node; a Secret
 *   key reference resolves to the role's key).
 *
 * What it proves: a writer key backs up and its probe says `denied`, but cannot forget, prune or
 * delete; the overwrite it can do is undone by the runbook's rclone commands, run as rendered; the
 * maintenance job with the maintainer key applies the rendered retention, removes discarded
 * snapshots and old probes, prunes and checks, and fails with the writer key; a reader restores but
 * cannot write or delete; an all-powerful key fails a job that promised protection; an incomplete
 * backup is marked, skipped by the drill's fetch and removed by the maintenance job; on an
 * append-only REST server the writer is refused the same way and the maintainer's URL maintains.
 *
 * The runbook's "Backups deleted or overwritten" runs with Debian bookworm's rclone 1.60.1
 * (scripts/setup.sh). The delete probe's time is measured from the upload's own restic calls
 * (a timing RESTIC_BIN wrapper); the facts are printed in one line at the end.
 * The tests of one describe run in order and build on each other.
 */
import { spawn, spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration, Testing } from 'cdk8s';
import {
  BackupRepository, ClusterBackup, Credentials, Encryption, EtcdSource, Immutability, Retention,
} from '../../src';
import { AccessKey, MotoServer, startMoto } from '../support/moto';
import { RestServer, startRestServer } from '../support/rest-server';
import { RESTIC_BIN } from '../support/restic';

jest.setTimeout(120_000);

const PASSWORD = 'delete-protection-repository-password';
const ASSETS = path.join(__dirname, '..', '..', 'assets');
const ETCD_META = 'ETCD_KEYS=3\nETCD_REVISION=42\nETCD_VERSION=3.6.11\n';
const RETENTION = Retention.maxAge(Duration.days(2));

/** Secret name -> key -> value, as a pod would be given them. */
type Secrets = Record<string, Record<string, string>>;

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

interface Rendered {
  readonly backup: ClusterBackup;
  readonly repository: BackupRepository;
  readonly manifests: any[];
}

/** An Object Lock bucket (versioning on, 30 days' default retention) and an unversioned one. */
const LOCKED = 'locked';
const PLAIN = 'plain';

const facts: Record<string, unknown> = {};
let moto: MotoServer;
let work: string;
let t0: number;
/** IAM users whose only policy is the rendered writer's, reader's or maintainer's (of the locked bucket). */
let writer: AccessKey;
let reader: AccessKey;
let maintainer: AccessKey;

beforeAll(async () => {
  t0 = Date.now();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'delete-protection-'));
  fs.chmodSync(work, 0o755);
  moto = await startMoto();
  facts.motoStartMs = moto.startMs;
  await moto.createBucket(LOCKED, { objectLock: true, defaultRetentionDays: 30 });
  await moto.createBucket(PLAIN);
  // The policies the library renders for the locked bucket's k8s/ prefix, literally.
  const policies = s3Repository(LOCKED, { split: true, objectLock: true }).accessPolicies();
  expect(policies.format).toBe('aws-iam-policy');
  writer = await moto.createUser('writer', policies.writer);
  reader = await moto.createUser('reader', policies.reader);
  maintainer = await moto.createUser('maintainer', policies.maintainer);
});

afterAll(async () => {
  await moto?.stop();
  fs.rmSync(work, { recursive: true, force: true });
  facts.fileMs = Date.now() - t0;
  console.log(`delete-protection facts: ${JSON.stringify(facts)}`);
});

/** A kubeadm cluster's backup (etcd and one node's files) on `repository`, synthesized. */
function render(clusterName: string, repository: BackupRepository, singleCredential = false): Rendered {
  const chart = Testing.chart();
  const backup = new ClusterBackup(chart, 'backup', {
    clusterName,
    repository,
    etcd: { source: EtcdSource.kubeadm(), retention: RETENTION },
    controlPlaneConfig: { nodes: ['cp-1'], retention: RETENTION },
    // moto and rest-server listen on 127.0.0.1: "in the cluster" as far as the construct can tell.
    acknowledge: { keysStoredOutsideCluster: true, inClusterRepository: true, ...(singleCredential ? { singleCredential: true } : {}) },
  });
  return { backup, repository, manifests: Testing.synth(chart) };
}

function s3Repository(bucket: string, o: { split: boolean; objectLock?: boolean }): BackupRepository {
  return BackupRepository.s3({
    bucket,
    prefix: 'k8s',
    endpoint: moto.endpoint,
    region: 'us-east-1',
    allowInsecureHttp: true,
    credentials: Credentials.fromSecret('backup-s3'),
    readerCredentials: o.split ? Credentials.fromSecret('backup-s3-reader') : undefined,
    maintainerCredentials: o.split ? Credentials.fromSecret('backup-s3-maintainer') : undefined,
    encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
    immutability: o.objectLock ? Immutability.s3ObjectLock({ lockPeriod: Duration.days(30) }) : undefined,
  });
}

/** The Secrets of the S3 roles: each role's key under the rendered Secret names. */
function s3Secrets(keys: { writer: AccessKey; reader?: AccessKey; maintainer?: AccessKey }): Secrets {
  const of = (k: AccessKey) => ({ AWS_ACCESS_KEY_ID: k.accessKeyId, AWS_SECRET_ACCESS_KEY: k.secretAccessKey });
  return {
    'backup-repository': { password: PASSWORD },
    'backup-s3': of(keys.writer),
    ...(keys.reader ? { 'backup-s3-reader': of(keys.reader) } : {}),
    ...(keys.maintainer ? { 'backup-s3-maintainer': of(keys.maintainer) } : {}),
  };
}

/** The container `name` of the CronJob `job`. */
function container(r: Rendered, job: string, name: string): any {
  const cronJob = r.manifests.find((m) => m.kind === 'CronJob' && m.metadata.name === job);
  if (!cronJob) throw new Error(`no CronJob ${job}: ${r.manifests.filter((m) => m.kind === 'CronJob').map((m) => m.metadata.name).join(', ')}`);
  const spec = cronJob.spec.jobTemplate.spec.template.spec;
  const c = [...(spec.initContainers ?? []), ...spec.containers].find((x: any) => x.name === name);
  if (!c) throw new Error(`no container ${name} in ${job}`);
  return c;
}

/** A rendered ConfigMap's file. */
function configFile(r: Rendered, key: string): string {
  const cm = r.manifests.find((m) => m.kind === 'ConfigMap' && m.data?.[key] !== undefined);
  if (!cm) throw new Error(`no ConfigMap with ${key}`);
  return cm.data[key];
}

/**
 * The container's environment as the pod would get it: rendered values (a path under /backup,
 * /work, /tmp or /scripts moved under `root`, /backup to `backupDir`: the node's, the same for
 * every job of a cluster), Secret references resolved from `secrets`. A
 * variable from the downward API or referring to another ($(NODE_NAME)) is left out.
 */
function podEnv(c: any, secrets: Secrets, root: string, backupDir = path.join(work, 'backup')): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: path.join(root, 'tmp'),
  };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      if (e.value.includes('$(')) continue;
      // /backup is the node's (the etcd snapshot's) in every job: the paths inside the snapshots.
      env[e.name] = e.value.replace(/(^|\s)\/(backup|work|tmp|scripts)(?=\/|$|\s)/g,
        (_: string, pre: string, dir: string) => `${pre}${dir === 'backup' ? backupDir : `${root}/${dir}`}`);
    } else if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const v = secrets[name]?.[key];
      if (v === undefined) throw new Error(`the test gives no Secret ${name} key ${key} (for ${e.name})`);
      env[e.name] = v;
    }
  }
  delete env.SUMMARY_START_FILE;
  for (const d of [backupDir, ...['work', 'tmp', 'scripts'].map((x) => path.join(root, x))]) {
    fs.mkdirSync(d, { recursive: true });
    fs.chmodSync(d, 0o777);
  }
  return env;
}

/** Runs one of assets/*.sh with busybox ash. */
function script(name: string, env: Record<string, string>, args: string[] = [], asUser?: number): Run {
  const t = Date.now();
  const argv = ['sh', path.join(ASSETS, name), ...args];
  const r = asUser === undefined
    ? spawnSync('busybox', argv, { env, encoding: 'utf8', timeout: 90_000 })
    : spawnSync('setpriv', [`--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', 'busybox', ...argv], { env, encoding: 'utf8', timeout: 90_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t };
}

/** Like `script`, without blocking: for scenarios that do not share a repository. */
function scriptAsync(name: string, env: Record<string, string>, args: string[] = []): Promise<Run> {
  const t = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('busybox', ['sh', path.join(ASSETS, name), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr, ms: Date.now() - t });
    });
  });
}

/** restic with the environment `env` gives it (repository, password, keys). */
function restic(env: Record<string, string>, args: string[], input?: string): Run {
  const t = Date.now();
  const r = spawnSync(RESTIC_BIN, ['--no-cache', ...args], { env, input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t };
}

function resticOk(env: Record<string, string>, args: string[], input?: string): Run {
  const r = restic(env, args, input);
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

interface Snap { id: string; short_id: string; time: string; tags?: string[]; hostname: string }

function snapshots(env: Record<string, string>): Snap[] {
  return JSON.parse(resticOk(env, ['snapshots', '--no-lock', '--json']).stdout) ?? [];
}

function summary(r: Run): any {
  const lines = r.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    throw new Error(`no summary line (exit ${r.status}):\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
}

function expectExit(r: Run, code: number): void {
  if (r.status !== code) {
    throw new Error(`expected exit ${code}, got ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
}

/** An etcd snapshot file as `etcdctl snapshot save` writes it (data, then its sha256), and the metadata file. */
function etcdSnapshot(env: Record<string, string>, bytes = 20_000): Buffer {
  const content = randomBytes(bytes);
  const whole = Buffer.concat([content, createHash('sha256').update(content).digest()]);
  fs.rmSync(env.SPLIT_DIR, { recursive: true, force: true });
  fs.writeFileSync(env.CHECKSUM_TRAILER_FILE, whole);
  fs.writeFileSync(env.BACKUP_META, ETCD_META);
  return whole;
}

/**
 * RESTIC_BIN for a script whose restic calls are to be timed: restic itself, each call's start
 * and end (/proc/uptime, hundredths of a second) and arguments appended to `log`.
 */
function timedRestic(log: string): string {
  const bin = `${log}.restic`;
  fs.writeFileSync(bin, [
    '#!/bin/sh',
    'read -r a _ < /proc/uptime',
    `${RESTIC_BIN} "$@"`,
    'rc=$?',
    'read -r b _ < /proc/uptime',
    `echo "$a $b $*" >> '${log}'`,
    'exit $rc',
    '',
  ].join('\n'), { mode: 0o755 });
  return bin;
}

/** Milliseconds the delete probe's restic calls took (its backup --tag delete-probe, forget, cat), from a timedRestic log. */
function probeMs(log: string): number {
  const calls = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
  const first = calls.findIndex((c) => c.includes('delete-probe') && c.includes('backup'));
  expect(first).toBeGreaterThanOrEqual(0);
  const [backup, forget, cat] = calls.slice(first, first + 3);
  // The command after the global flags (RESTIC_FLAGS: --retry-lock 10m with split roles).
  const command = (c: string[]) => c.slice(2).find((w) => ['backup', 'forget', 'cat'].includes(w));
  expect([command(forget), command(cat)]).toEqual(['forget', 'cat']);
  return Math.round((Number(cat[1]) - Number(backup[0])) * 1000);
}

/** An upload's environment with its restic calls timed (timedRestic): the env and the log. */
function timed(env: Record<string, string>, name: string): { env: Record<string, string>; log: string } {
  const log = path.join(work, `${name}.restic-calls`);
  return { env: { ...env, RESTIC_BIN: timedRestic(log) }, log };
}

/** A snapshot of the job's group (its BACKUP_HOST, `tag`) saved at `time`, as an earlier run left it; its id. */
function olderSnapshot(env: Record<string, string>, tag: string, time: string): string {
  const r = resticOk(env, ['backup', '--json', '--stdin', '--stdin-filename', tag, '--host', env.BACKUP_HOST, '--tag', tag, '--time', time], `${tag} ${time}\n`);
  const done = r.stdout.split('\n').filter((l) => l.includes('"message_type":"summary"')).map((l) => JSON.parse(l))[0];
  return done.snapshot_id;
}

/** The shell block of the runbook section `heading` (its only one). */
function runbookBlock(runbook: string, heading: string): string {
  const start = runbook.indexOf(`## ${heading}\n`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const rest = runbook.slice(start + heading.length + 4);
  const section = rest.slice(0, rest.search(/\n## /));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((b) => b[1]);
  expect(blocks).toHaveLength(1);
  return blocks[0];
}

/** UTC as 'YYYY-MM-DDThh:mm:ssZ' (whole seconds). */
function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('S3 with split roles, Object Lock bucket: the writer key', () => {
  const bucket = LOCKED;
  let r: Rendered;
  let uploadEnv: Record<string, string>;
  let original: Buffer;

  beforeAll(() => {
    r = render('prod', s3Repository(LOCKED, { split: true, objectLock: true }));
  });

  test('GIVEN the rendered writer policy WHEN the etcd upload runs THEN it backs up, its probe says denied, no retention runs', () => {
    const c = container(r, 'prod-etcd-backup', 'upload');
    uploadEnv = podEnv(c, s3Secrets({ writer, reader, maintainer }), path.join(work, 'prod-upload'));
    expect(uploadEnv).toMatchObject({
      RESTIC_REPOSITORY: `s3:${moto.endpoint}/${bucket}/k8s/prod/etcd`,
      RETENTION_ELSEWHERE: 'the repository\'s maintenance job',
      DELETE_PROTECTION_EXPECTED: 'versioned',
      AWS_ACCESS_KEY_ID: writer.accessKeyId,
    });
    original = etcdSnapshot(uploadEnv);
    const t = timed(uploadEnv, 'prod-upload');
    const run = script('restic-upload.sh', t.env, c.args ?? []);
    facts.s3WriterUploadMs = run.ms;
    facts.s3WriterProbeMs = probeMs(t.log);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/upload: delete protection: denied \(these keys could not delete the probe snapshot [0-9a-f]{64}\)/);
    expect(run.stdout).toContain('upload: done; the retention runs in the repository\'s maintenance job');
    expect(run.stdout + run.stderr).not.toMatch(/Applying Policy|retention removed/);
    expect(summary(run)).toMatchObject({ result: 'succeeded', deleteProtection: 'denied', retentionRemoved: null });
    const all = snapshots(uploadEnv);
    expect(all.map((s) => s.tags?.[0]).sort()).toEqual(['delete-probe', 'etcd-snapshot']);
  });

  test('GIVEN an attacker with the writer key WHEN it forgets, prunes, deletes and overwrites THEN only the overwrite lands, and the runbook\'s rclone commands bring the repository back as it was', async () => {
    const prefix = 'k8s/prod/etcd';
    const kept = snapshots(uploadEnv).map((s) => s.id).sort();
    const objectsBefore = await moto.listObjects(bucket, `${prefix}/`);
    // A time after the backup and before the attack, in moto's clock (the same host's), in whole
    // seconds as rclone's version_at takes it: moto lists LastModified in whole seconds (.000Z),
    // so the backup's objects are at most this second and the attack starts in the next one.
    const second = Math.floor(Date.now() / 1000) * 1000;
    const before = utc(second);
    await sleep(second + 1_100 - Date.now());

    // forget --prune of every snapshot: refused (the index rewrite's delete fails), all still there.
    const prune = restic(uploadEnv, ['forget', '--prune', ...kept]);
    expect({ status: prune.status, stderr: prune.stderr }).toMatchObject({ status: 1, stderr: expect.stringContaining('Access Denied') });
    expect(snapshots(uploadEnv).map((s) => s.id).sort()).toEqual(kept);

    // Raw deletes of a snapshot and of a pack: AccessDenied.
    const snapshotKey = `${prefix}/snapshots/${kept[0]}`;
    const packs = objectsBefore.filter((o) => o.key.startsWith(`${prefix}/data/`)).sort((a, b) => b.size - a.size);
    expect(packs.length).toBeGreaterThan(0);
    for (const key of [snapshotKey, packs[0].key]) {
      const del = await moto.s3('DELETE', `/${bucket}/${key}`, {}, '', {}, writer);
      expect({ key, status: del.status, denied: del.body.includes('AccessDenied') }).toEqual({ key, status: 403, denied: true });
    }
    // (the lock files restic left are gone: the writer may delete those)
    expect(await moto.listObjects(bucket, `${prefix}/locks/`)).toEqual([]);

    // An overwrite of the biggest data pack (the etcd snapshot's data) with garbage: IAM cannot refuse it...
    const put = await moto.s3('PUT', `/${bucket}/${packs[0].key}`, {}, randomBytes(packs[0].size).toString('latin1'), {}, writer);
    expect(put.status).toBe(200);
    // ...but the bucket keeps the version it replaced,
    const versions = await moto.listObjectVersions(bucket, packs[0].key);
    expect(versions).toHaveLength(2);
    expect(versions.every((v) => !v.deleteMarker)).toBe(true);
    // and restic's check reading the data finds it.
    const damaged = restic(uploadEnv, ['check', '--read-data']);
    expect(damaged.status).not.toBe(0);

    // The runbook's commands, as rendered, with the maintainer's keys (step 0's exports) and only `before` filled in.
    const block = runbookBlock(r.backup.restoreRunbook(), 'Backups deleted or overwritten');
    expect(block).toContain("before='2006-01-02T15:04:05Z'");
    const filled = block.replace("before='2006-01-02T15:04:05Z'", `before='${before}'`);
    const rcloneHome = path.join(work, 'rclone-home');
    fs.mkdirSync(rcloneHome, { recursive: true });
    const t = Date.now();
    const rb = spawnSync('bash', ['-euo', 'pipefail', '-c', filled], {
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: rcloneHome,
        // A workstation east of UTC: the runbook's time must not be read as local time.
        TZ: 'Asia/Tokyo',
        AWS_ACCESS_KEY_ID: maintainer.accessKeyId,
        AWS_SECRET_ACCESS_KEY: maintainer.secretAccessKey,
        RESTIC_PASSWORD: PASSWORD,
      },
      encoding: 'utf8',
      timeout: 60_000,
      // stdin not a socket: bash would read /etc/bash.bashrc as if started by rshd
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    facts.runbookRcloneMs = Date.now() - t;
    if (rb.status !== 0) throw new Error(`the runbook's block failed (${rb.status}):\n${filled}\n--- stdout\n${rb.stdout}\n--- stderr\n${rb.stderr}`);
    // step 1 listed the versions: the overwritten pack's older version is named
    expect(rb.stdout).toContain(`${packs[0].key.slice('k8s/prod/'.length)}-v`);

    // The copy checks, reading all data, and the drill's fetch (reader key) restores the original bytes from it.
    const restoredRepo = uploadEnv.RESTIC_REPOSITORY.replace('/k8s/prod/', '/k8s/prod-before-attack/');
    const checkEnv = {
      ...uploadEnv, RESTIC_REPOSITORY: restoredRepo, AWS_ACCESS_KEY_ID: maintainer.accessKeyId, AWS_SECRET_ACCESS_KEY: maintainer.secretAccessKey,
    };
    resticOk(checkEnv, ['check', '--read-data']);
    expect(snapshots(checkEnv).map((s) => s.id).sort()).toEqual(kept);
    const fetchRoot = path.join(work, 'prod-fetch');
    const fetchEnv: Record<string, string> = { ...podEnv(container(r, 'prod-etcd-drill', 'fetch'), s3Secrets({ writer, reader, maintainer }), fetchRoot), RESTIC_REPOSITORY: restoredRepo };
    expect(fetchEnv.AWS_ACCESS_KEY_ID).toBe(reader.accessKeyId);
    const fetched = script('restic-fetch.sh', fetchEnv);
    expectExit(fetched, 0);
    expect(fs.readFileSync(fetchEnv.FETCH_DIR + fetchEnv.CHECKSUM_PATH).equals(original)).toBe(true);
  });
});

/** The maintenance job's environment and its targets file (the etcd repository's line only). */
function maintenanceEnv(r: Rendered, cluster: string, secrets: Secrets, root: string): { env: Record<string, string>; line: string } {
  const env = podEnv(container(r, `${cluster}-maintenance`, 'maintain'), secrets, root);
  const lines = configFile(r, 'maintenance-targets.txt').split('\n').filter((l) => l !== '');
  // Each line is one repository; the node files' repository (config/cp-1) is not written here.
  expect(lines).toHaveLength(2);
  const line = lines.find((l) => / etcd-snapshot /.test(l))!;
  fs.writeFileSync(env.MAINTENANCE_TARGETS, `${line}\n`);
  return { env, line };
}

describe('S3 with split roles: an incomplete backup, the reader, and the maintenance job', () => {
  const cluster = 'maint';
  let r: Rendered;
  let secrets: Secrets;
  let uploadEnv: Record<string, string>;
  let complete: Snap;
  let completeBytes: Buffer;
  let old: string[];
  let oldProbe: string;

  beforeAll(() => {
    r = render(cluster, s3Repository(LOCKED, { split: true, objectLock: true }));
    secrets = s3Secrets({ writer, reader, maintainer });
  });

  test('GIVEN a complete backup and older ones WHEN a backup is incomplete (restic exit 3) THEN the job fails, marks it discarded, and the drill\'s fetch takes the complete one', () => {
    const c = container(r, `${cluster}-etcd-backup`, 'upload');
    uploadEnv = podEnv(c, secrets, path.join(work, `${cluster}-upload`));
    completeBytes = etcdSnapshot(uploadEnv);
    expectExit(script('restic-upload.sh', uploadEnv, c.args ?? []), 0);
    [complete] = snapshots(uploadEnv).filter((s) => s.tags?.includes('etcd-snapshot'));
    // Older backups of the group and an older probe, as earlier runs left them (the writer may add).
    old = ['2020-01-01 00:00:00', '2020-01-02 00:00:00'].map((time) => olderSnapshot(uploadEnv, 'etcd-snapshot', time));
    oldProbe = olderSnapshot(uploadEnv, 'delete-probe', '2020-01-01 00:00:00');

    // A file the job cannot read, next to the snapshot's pieces: restic saves the snapshot and exits 3.
    const unreadable = path.join(work, 'unreadable');
    fs.writeFileSync(unreadable, 'secret\n', { mode: 0o600 });
    const incompleteEnv = { ...podEnv(c, secrets, path.join(work, `${cluster}-incomplete`)) };
    incompleteEnv.BACKUP_ARGS = `${incompleteEnv.BACKUP_ARGS} ${unreadable}`;
    etcdSnapshot(incompleteEnv);
    for (const f of [incompleteEnv.CHECKSUM_TRAILER_FILE, incompleteEnv.BACKUP_META]) fs.chownSync(f, 65534, 65534);
    const run = script('restic-upload.sh', incompleteEnv, c.args ?? [], 65534);
    expectExit(run, 3);
    expect(summary(run)).toMatchObject({ result: 'failed', failedStep: 'backup', exitCode: 3, snapshotId: null });
    const m = /the backup was incomplete \(exit 3, see above\); marked its snapshot ([0-9a-f]{64}) as discarded \(these keys cannot delete it/.exec(run.stderr);
    expect(m).not.toBeNull();
    const incomplete = m![1];
    const all = snapshots(uploadEnv);
    expect(all.map((s) => s.id)).toContain(incomplete);
    expect(all.filter((s) => s.tags?.includes('discarded')).map((s) => s.tags)).toEqual([['discarded', `discarded-of=${incomplete}`]]);

    // The drill's fetch, with the reader's key: the newest complete backup, byte for byte.
    const fetchEnv = podEnv(container(r, `${cluster}-etcd-drill`, 'fetch'), secrets, path.join(work, `${cluster}-fetch`));
    expect(fetchEnv.AWS_ACCESS_KEY_ID).toBe(reader.accessKeyId);
    const fetched = script('restic-fetch.sh', fetchEnv);
    expectExit(fetched, 0);
    expect(fs.readFileSync(fetchEnv.EXPECTED_FILE, 'utf8')).toContain(`SNAPSHOT_ID=${complete.id}\n`);
    expect(fs.readFileSync(fetchEnv.FETCH_DIR + fetchEnv.CHECKSUM_PATH).equals(completeBytes)).toBe(true);
  });

  test('GIVEN the rendered reader policy THEN it lists and restores without locks, but cannot back up, and its forget leaves the snapshot', () => {
    const readerEnv: Record<string, string> = { ...uploadEnv, AWS_ACCESS_KEY_ID: reader.accessKeyId, AWS_SECRET_ACCESS_KEY: reader.secretAccessKey };
    expect(snapshots(readerEnv).map((s) => s.id)).toContain(complete.id);
    const target = path.join(work, 'reader-restore');
    resticOk(readerEnv, ['restore', complete.id, '--no-lock', '--target', target]);
    const backup = restic(readerEnv, ['backup', '--stdin', '--stdin-filename', 'x', '--host', readerEnv.BACKUP_HOST, '--tag', 'etcd-snapshot'], randomBytes(1000).toString('hex'));
    expect({ status: backup.status, denied: /Access Denied/.test(backup.stderr) }).toEqual({ status: 1, denied: true });
    const forget = restic(readerEnv, ['forget', complete.id]);
    expect(forget.status).toBe(0); // restic reports the refused delete and exits 0
    expect(forget.stderr).toContain(`unable to remove snapshot/${complete.id}`);
    expect(snapshots(readerEnv).map((s) => s.id)).toContain(complete.id);
  });

  test('GIVEN the writer\'s keys WHEN the maintenance script runs THEN it fails at the prune and nothing is removed', () => {
    const before = snapshots(uploadEnv).map((s) => s.id).sort();
    const { env } = maintenanceEnv(r, cluster, { ...secrets, 'backup-s3-maintainer': secrets['backup-s3'] }, path.join(work, `${cluster}-maintain-writer`));
    expect(env.AWS_ACCESS_KEY_ID).toBe(writer.accessKeyId);
    const run = script('repository-maintenance.sh', env);
    facts.maintenanceWithWriterKeysMs = run.ms;
    expect(run.status).not.toBe(0);
    expect(summary(run)).toMatchObject({ result: 'failed', failedStep: 'prune' });
    expect(snapshots(uploadEnv).map((s) => s.id).sort()).toEqual(before);
  });

  test('GIVEN the maintainer\'s keys WHEN the maintenance script runs THEN it removes the discarded snapshot and its marker, the old probe, what the rendered retention does not keep, prunes and checks', () => {
    const { env, line } = maintenanceEnv(r, cluster, secrets, path.join(work, `${cluster}-maintain`));
    expect(env.AWS_ACCESS_KEY_ID).toBe(maintainer.accessKeyId);
    expect(line).toBe(`s3:${moto.endpoint}/${LOCKED}/k8s/${cluster}/etcd etcd-snapshot ${RETENTION.toResticForgetArgs().join(' ')}`);
    // The old probe, and one of each upload since (a failed one too: the probe runs with the
    // repository questions, before the backup).
    const probes = snapshots(uploadEnv).filter((s) => s.tags?.includes('delete-probe'));
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(probes.map((p) => p.id)).toContain(oldProbe);
    const newestProbe = [...probes].sort((a, b) => a.time.localeCompare(b.time)).pop()!.id;
    const run = script('repository-maintenance.sh', env);
    facts.maintenanceMs = run.ms;
    expectExit(run, 0);
    const s = summary(run);
    expect(s).toMatchObject({ result: 'succeeded', repositories: 1, discardedRemoved: 2 });
    expect([...s.retentionRemoved].sort()).toEqual([...old].sort());
    expect(run.stdout).toMatch(/no errors were found/);
    expect(snapshots(uploadEnv).map((x) => x.id).sort()).toEqual([complete.id, newestProbe].sort());
  });
});

describe('S3: one all-powerful key', () => {
  // Three clusters, three repositories: their uploads run at the same time.
  const runs: Record<string, { run: Run; env: Record<string, string>; args: string[]; log: string }> = {};

  beforeAll(async () => {
    const admin = moto.admin;
    const scenarios = [
      { cluster: 'split', repository: s3Repository(PLAIN, { split: true }), single: false },
      { cluster: 'single', repository: s3Repository(PLAIN, { split: false }), single: true },
      { cluster: 'adminlock', repository: s3Repository(LOCKED, { split: true, objectLock: true }), single: false },
    ];
    await Promise.all(scenarios.map(async ({ cluster, repository, single }) => {
      const c = container(render(cluster, repository, single), `${cluster}-etcd-backup`, 'upload');
      const env = podEnv(c, s3Secrets({ writer: admin, maintainer: admin }), path.join(work, `admin-${cluster}`), path.join(work, `admin-${cluster}`, 'backup'));
      etcdSnapshot(env);
      const t = timed(env, `admin-${cluster}`);
      runs[cluster] = { run: await scriptAsync('restic-upload.sh', t.env, c.args ?? []), env, args: c.args ?? [], log: t.log };
    }));
    facts.s3AdminUploadsTogetherMs = Math.max(...Object.values(runs).map((x) => x.run.ms));
    facts.s3AdminProbeMs = probeMs(runs.split.log);
  });

  test('GIVEN split roles promised (writer = admin) on an unversioned bucket WHEN the upload runs THEN it keeps the backup and fails at delete-protection, probe none', () => {
    const { run, env } = runs.split;
    expect(env).toMatchObject({ DELETE_PROTECTION_EXPECTED: 'denied', RETENTION_ELSEWHERE: 'the repository\'s maintenance job' });
    expectExit(run, 1);
    expect(summary(run)).toMatchObject({ result: 'failed', failedStep: 'delete-protection', deleteProtection: 'none' });
    expect(run.stderr).toContain('upload: DELETE PROTECTION MISSING: the configuration says these keys cannot delete backups (denied), but the probe found none.');
    const kept = snapshots(env);
    expect(kept.map((s) => s.tags?.[0])).toEqual(['etcd-snapshot']);
    expect(summary(run).snapshotId).toBe(kept[0].id);
  });

  test('GIVEN one credential (no promise) WHEN the upload runs THEN it succeeds, applies the retention, probe none', () => {
    const { run, env, args } = runs.single;
    expect(env.DELETE_PROTECTION_EXPECTED).toBeUndefined();
    expect(env.RETENTION_ELSEWHERE).toBeUndefined();
    expect(args).toEqual(RETENTION.toResticForgetArgs());
    expectExit(run, 0);
    expect(summary(run)).toMatchObject({ result: 'succeeded', deleteProtection: 'none', retentionRemoved: [] });
    // Nothing to prove: its own retention deletes with these keys. No probe snapshot, no probe call.
    expect(run.stdout).toContain('upload: delete protection: none (one credential for every role: this job\'s retention deletes with these keys; not probed)');
    expect(fs.readFileSync(runs.single.log, 'utf8')).not.toContain('delete-probe');
  });

  test('GIVEN Object Lock and the admin key as writer (expected: versioned) WHEN the upload runs THEN the probe says versioned and the probe snapshot\'s version stays under a delete marker', async () => {
    const { run, env } = runs.adminlock;
    expect(env.DELETE_PROTECTION_EXPECTED).toBe('versioned');
    expectExit(run, 0);
    expect(summary(run)).toMatchObject({ result: 'succeeded', deleteProtection: 'versioned' });
    const m = /delete protection: versioned \(these keys deleted the probe snapshot ([0-9a-f]{64}) from restic's view/.exec(run.stdout);
    expect(m).not.toBeNull();
    const key = `k8s/adminlock/etcd/snapshots/${m![1]}`;
    const versions = await moto.listObjectVersions(LOCKED, key);
    expect(versions).toHaveLength(2);
    expect(versions).toEqual(expect.arrayContaining([
      expect.objectContaining({ key, isLatest: true, deleteMarker: true }),
      expect.objectContaining({ key, isLatest: false, deleteMarker: false }),
    ]));
  });
});

describe('REST server: append-only for the writer, full for the maintainer, one data directory', () => {
  let appendOnly: RestServer;
  let full: RestServer;
  let r: Rendered;
  let secrets: Secrets;
  let uploadEnv: Record<string, string>;
  const cluster = 'rest';

  beforeAll(async () => {
    const dataDir = path.join(work, 'rest-data');
    appendOnly = await startRestServer({ dataDir, appendOnly: true, users: { writer: 'writer-password' } });
    full = await startRestServer({ dataDir, appendOnly: false, users: { maintainer: 'maintainer-password' } });
    r = render(cluster, BackupRepository.restServer({
      url: appendOnly.url,
      maintainerUrl: full.url,
      // rest-server serves repositories at most 2 folders deep (v0.13.0 handlers.go MaxFolderDepth):
      // the prefix, then one folder per job (<cluster>_etcd).
      prefix: 'team',
      allowInsecureHttp: true,
      credentials: Credentials.fromSecret('backup-rest'),
      maintainerCredentials: Credentials.fromSecret('backup-rest-maintainer'),
      encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
      immutability: Immutability.restServerAppendOnly(),
    }));
    secrets = {
      'backup-repository': { password: PASSWORD },
      'backup-rest': { RESTIC_REST_USERNAME: 'writer', RESTIC_REST_PASSWORD: 'writer-password' },
      'backup-rest-maintainer': { RESTIC_REST_USERNAME: 'maintainer', RESTIC_REST_PASSWORD: 'maintainer-password' },
    };
  });

  afterAll(async () => {
    await appendOnly?.stop();
    await full?.stop();
  });

  test('GIVEN the writer at the append-only URL WHEN the upload runs THEN its probe says denied; an attacker\'s forget --prune is refused', () => {
    const c = container(r, `${cluster}-etcd-backup`, 'upload');
    uploadEnv = podEnv(c, secrets, path.join(work, `${cluster}-upload`));
    expect(uploadEnv).toMatchObject({ RESTIC_REPOSITORY: `rest:${appendOnly.url}/team/${cluster}_etcd`, DELETE_PROTECTION_EXPECTED: 'denied', RESTIC_REST_USERNAME: 'writer' });
    etcdSnapshot(uploadEnv);
    const t = timed(uploadEnv, 'rest-upload');
    const run = script('restic-upload.sh', t.env, c.args ?? []);
    facts.restWriterUploadMs = run.ms;
    facts.restWriterProbeMs = probeMs(t.log);
    expectExit(run, 0);
    expect(summary(run)).toMatchObject({ result: 'succeeded', deleteProtection: 'denied', retentionRemoved: null });
    expect(run.stdout).toMatch(/upload: delete protection: denied/);
    // An older backup, as an earlier run left it.
    olderSnapshot(uploadEnv, 'etcd-snapshot', '2020-01-01 00:00:00');
    const all = snapshots(uploadEnv).map((s) => s.id).sort();
    const prune = restic(uploadEnv, ['forget', '--prune', ...all]);
    expect(prune.status).toBe(1);
    expect(snapshots(uploadEnv).map((s) => s.id).sort()).toEqual(all);
  });

  test('GIVEN the maintainer at the full URL WHEN the maintenance script runs THEN it applies the retention, keeps the newest probe and prunes', () => {
    const { env, line } = maintenanceEnv(r, cluster, secrets, path.join(work, `${cluster}-maintain`));
    expect(line.startsWith(`rest:${full.url}/team/${cluster}_etcd etcd-snapshot `)).toBe(true);
    expect(env.RESTIC_REST_USERNAME).toBe('maintainer');
    const before = snapshots(uploadEnv);
    const oldOne = before.find((s) => s.time.startsWith('2020-01-01'))!.id;
    expect(before.find((s) => s.id === oldOne)!.hostname).toBe(uploadEnv.BACKUP_HOST);
    const newestProbe = before.filter((s) => s.tags?.includes('delete-probe')).map((s) => s).sort((a, b) => (a.time < b.time ? -1 : 1)).pop()!.id;
    const kept = before.find((s) => s.tags?.includes('etcd-snapshot') && s.id !== oldOne)!.id;
    const run = script('repository-maintenance.sh', env);
    facts.restMaintenanceMs = run.ms;
    expectExit(run, 0);
    expect(summary(run)).toMatchObject({ result: 'succeeded', repositories: 1, retentionRemoved: [oldOne], discardedRemoved: 0 });
    expect(snapshots(uploadEnv).map((s) => s.id).sort()).toEqual([kept, newestProbe].sort());
  });
  test('GIVEN a snapshot an attacker with the writer\'s keys planted WHEN the runbook\'s REST block runs as rendered THEN it is gone and the repository checks', () => {
    // Append-only lets the writer add: a snapshot of another host, to push the real ones out.
    const planted = resticOk(uploadEnv, ['backup', '--json', '--stdin', '--stdin-filename', 'x', '--host', 'attacker', '--tag', 'etcd-snapshot'], 'planted\n')
      .stdout.split('\n').filter((l) => l.includes('"message_type":"summary"')).map((l) => JSON.parse(l).snapshot_id)[0];
    const real = snapshots(uploadEnv).map((x) => x.id).filter((id) => id !== planted);
    const block = runbookBlock(r.backup.restoreRunbook(), 'Backups deleted or overwritten');
    // Only the values the operator fills in: the maintainer's user and password, the repository
    // and id of the planted snapshot. (The config repositories it lists too were never written
    // here: pasted, as into a terminal, without -e, their listing fails and the block goes on.)
    const exportLine = "export RESTIC_REST_USERNAME='…' RESTIC_REST_PASSWORD='…'";
    expect(block).toContain(exportLine);
    expect(block).toContain(`restic -r rest:${full.url}/team/${cluster}_etcd snapshots`);
    expect(block).toMatch(/^repository=rest:\S+$/m);
    expect(block).toContain("id='…'");
    const filled = block.replace(exportLine, "export RESTIC_REST_USERNAME='maintainer' RESTIC_REST_PASSWORD='maintainer-password'")
      .replace(/^repository=.*$/m, `repository=rest:${full.url}/team/${cluster}_etcd`)
      .replace("id='…'", `id='${planted}'`);
    const rb = spawnSync('bash', ['-o', 'pipefail', '-c', filled], {
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: work, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(work, 'rest-runbook-cache') },
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (rb.status !== 0) throw new Error(`the runbook's block failed (${rb.status}):\n${filled}\n--- stdout\n${rb.stdout}\n--- stderr\n${rb.stderr}`);
    expect(rb.stdout).toContain(planted.slice(0, 8));
    expect(rb.stdout).toMatch(/no errors were found/);
    expect(snapshots(uploadEnv).map((x) => x.id).sort()).toEqual([...real].sort());
  });
});
