/**
 * End-to-end: the synthesized EtcdSnapshotBackup pod, run unchanged by the pod runner against a
 * real etcd 3.5 (TLS client certs; test/support/tools.ts), restic 0.18 and s3rver over HTTPS, all on 127.0.0.1.
 * What the CronJob uploads must restore into a second etcd with the same keys and values.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Duration, Testing } from 'cdk8s';
import { BackupRepository, CaCertificate, Credentials, Encryption, EtcdSnapshotBackup, EtcdSource, EtcdTools, EtcdVersion, KeyDropGuard, RestoreDrill, RestoreDrillProps, Retention, BackupDefaults } from '../../src';
import { EtcdServer, keyFor, restoreAndStart, startEtcd } from '../support/etcd';
import { ETCD_IMAGE_PROFILE, etcdDistrolessProfile, etcdShellImageProfile, RESTIC_IMAGE_PROFILE } from '../support/images';
import { makeEtcdPki } from '../support/pki';
import { ImageProfile, PodResult, runPod } from '../support/pod-runner';
import { freePort } from '../support/processes';
import { ResticOptions, ResticSnapshot, restic, resticEnv, resticGlobalArgs, resticOk, snapshots } from '../support/restic';
import { S3Server, startS3 } from '../support/s3';
import { GatedRequest, startS3Gate } from '../support/s3-gate';
import { summaryOf } from '../support/summary';
import { DEFAULT_ETCD_TEST_VERSION, ETCD_TEST_VERSIONS, etcdBinary } from '../support/tools';

const PASSWORD = 'correct horse battery staple';
/** The image README's Dockerfile builds for EtcdTools.shellImage(): alpine with the etcd tools. */
const SHELL_IMAGE = 'registry.example.com/etcd-tools:test';
const KEYS = 3000;

let work: string;
let hostRoot: string;
let etcd: EtcdServer;
let s3: S3Server;
const started: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-e2e-'));
  // The node's filesystem as kubeadm lays it out: /etc/kubernetes/pki/etcd.
  hostRoot = path.join(work, 'node');
  const pkiDir = path.join(hostRoot, 'etc/kubernetes/pki/etcd');
  fs.mkdirSync(pkiDir, { recursive: true });
  makeEtcdPki(pkiDir);
  etcd = await startEtcd({ pkiDir });
  started.push(etcd);
  await etcd.loadKeys(KEYS, { prefix: '/registry/fixtures/key-' });
  s3 = await startS3({ bucket: 'backups' });
  started.push(s3);
});

afterAll(async () => {
  for (const s of started.reverse()) await s.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

interface Scenario {
  /** restic repository path below the bucket's `k8s` prefix is `<cluster>/etcd` */
  readonly cluster: string;
  readonly retention?: Retention;
  readonly endpoint?: string;
  readonly password?: string;
  /** The etcd image (mounted into the jobs). @default the distroless image of the test version */
  readonly etcdImage?: ImageProfile;
  /** The backup's etcdVersion. @default the test etcd's version */
  readonly etcdVersion?: string;
  /** How the etcd tools reach the jobs, and the profile of a shell image it names. @default the image volume */
  readonly etcdTools?: EtcdTools;
  readonly shellImage?: ImageProfile;
  /** Reach etcd as an external one: certificates from a Secret instead of host paths. */
  readonly external?: boolean;
  /** The etcd to back up. @default the shared one */
  readonly etcd?: EtcdServer;
  /** Port the job dials instead of the etcd's own (e.g. one that never answers). */
  readonly etcdPort?: number;
  readonly snapshotTimeout?: Duration;
  readonly keyDropGuard?: KeyDropGuard;
  /** Aborting it kills every process of the pod (a node drain, an OOM kill, the deadline). */
  readonly signal?: AbortSignal;
  /** The storage CA given inline (CaCertificate.fromPem), with no CA Secret in the cluster. */
  readonly inlineCa?: boolean;
}

/** The pieces of the snapshot in a restored backup, in order (what `cat <dir>/p*` joins). */
function restoredPieces(target: string): Buffer[] {
  const dir = path.join(target, 'backup/etcd-snapshot.parts');
  return fs.readdirSync(dir).sort().map((n) => fs.readFileSync(path.join(dir, n)));
}

/** The backup (and optionally a restore drill of it) for a scenario, synthesized. */
function synthBackup(s: Scenario, drill?: Omit<RestoreDrillProps, 'backup'>): { manifests: any[]; backup: EtcdSnapshotBackup; drill?: RestoreDrill } {
  const chart = Testing.chart();
  const port = s.etcdPort ?? (s.etcd ?? etcd).clientPort;
  const backup = new EtcdSnapshotBackup(chart, 'etcd', {
    clusterName: s.cluster,
    // The test's S3 server is on 127.0.0.1 and its retentions are short by design.
    acknowledge: { inClusterRepository: true, shortRetention: true },
    // The manifest's own $(HOST_IP) reference, resolved from status.hostIP by the runner.
    source: s.external
      ? EtcdSource.external({ endpoint: `https://127.0.0.1:${port}`, tlsSecret: 'etcd-client' })
      : EtcdSource.kubeadm({ endpoint: `https://$(HOST_IP):${port}` }),
    snapshotTimeout: s.snapshotTimeout,
    keyDropGuard: s.keyDropGuard,
    etcdVersion: EtcdVersion.of(s.etcdVersion ?? DEFAULT_ETCD_TEST_VERSION),
    etcdTools: s.etcdTools,
    repository: BackupRepository.s3({
      bucket: 'backups',
      prefix: 'k8s',
      endpoint: s.endpoint ?? s3.endpoint,
      caCert: s.inlineCa
        ? CaCertificate.fromPem(fs.readFileSync(s3.caCertFile, 'utf8'))
        : CaCertificate.fromSecret({ name: 'storage-ca', key: 'ca.crt' }),
      credentials: Credentials.fromSecret('backup-s3'),
      encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
    }),
    retention: s.retention ?? Retention.keepLast(24),
  });
  const drillConstruct = drill ? new RestoreDrill(chart, 'drill', { backup, ...drill }) : undefined;
  return { manifests: Testing.synth(chart), backup, drill: drillConstruct };
}

/** Runs one CronJob of the manifests as the cluster would, with this test's node and Secrets. */
function runJob(manifests: any[], s: Scenario, name?: string): Promise<PodResult> {
  return runPod({
    manifests,
    name,
    images: {
      // Any tag: the image of the scenario's etcdVersion. Distroless: a script run in it fails.
      'registry.k8s.io/etcd': s.etcdImage ?? ETCD_IMAGE_PROFILE,
      [BackupDefaults.RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE,
      [SHELL_IMAGE]: s.shellImage ?? etcdShellImageProfile(),
    },
    hostPaths: { '/etc/kubernetes': path.join(hostRoot, 'etc/kubernetes') },
    secrets: {
      'backup-repository': { password: s.password ?? PASSWORD },
      'backup-s3': { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
      ...(s.inlineCa ? {} : { 'storage-ca': { 'ca.crt': fs.readFileSync(s3.caCertFile) } }),
      'etcd-client': {
        'ca.crt': fs.readFileSync(etcd.pki.caCert), 'tls.crt': fs.readFileSync(etcd.pki.clientCert), 'tls.key': fs.readFileSync(etcd.pki.clientKey),
      },
    },
    fieldRefs: { 'status.hostIP': '127.0.0.1', 'spec.nodeName': 'cp-1' },
    timeoutMs: 90_000,
    signal: s.signal,
  });
}

/** Synthesizes the backup for a scenario and runs its pod. */
async function runBackup(s: Scenario): Promise<{ result: PodResult; manifests: any[]; backup: EtcdSnapshotBackup }> {
  const { manifests, backup } = synthBackup(s);
  const result = await runJob(manifests, s, backup.cronJob.name);
  return { result, manifests, backup };
}

function repo(cluster: string): ResticOptions {
  return { repository: s3.resticRepository(`k8s/${cluster}/etcd`), password: PASSWORD, s3, tmpDir: work };
}

function explain(result: PodResult): string {
  return result.containers.map((c) => `--- ${c.name} exit=${c.exitCode} ${c.reason ?? ''}\n${c.stdout}\n${c.stderr}`).join('\n');
}

/** Fails with every container's output when the pod did not succeed. */
function expectSucceeded(result: PodResult): void {
  if (!result.succeeded) throw new Error(`the pod failed: ${result.reason ?? ''}\n${explain(result)}`);
}

function container(result: PodResult, name: string) {
  return result.containers.find((c) => c.name === name);
}

describe('etcd backup pod, end to end', () => {
  test('no container runs a shell in the etcd image: the snapshot step runs in the restic image with the etcd image mounted, and records the server\'s version', async () => {
    const { result, manifests } = await runBackup({ cluster: 'e2e-distroless' });
    result.cleanup();
    expectSucceeded(result);
    const spec = manifests.find((m) => m.kind === 'CronJob').spec.jobTemplate.spec.template.spec;
    expect([...spec.initContainers, ...spec.containers].map((c: any) => c.image)).toEqual([BackupDefaults.RESTIC_IMAGE, BackupDefaults.RESTIC_IMAGE]);
    expect(spec.volumes).toContainEqual({ name: 'etcd-image', image: { reference: `registry.k8s.io/etcd:${DEFAULT_ETCD_TEST_VERSION}-0`, pullPolicy: 'IfNotPresent' } });
    expect(container(result, 'snapshot')?.stdout).toContain(`snapshot: etcd ${DEFAULT_ETCD_TEST_VERSION} at https://127.0.0.1:`);
    const [snap] = snapshots(repo('e2e-distroless'));
    expect(snap.tags).toContain(`etcd-version=${DEFAULT_ETCD_TEST_VERSION}`);
    expect(summaryOf(container(result, 'upload'))).toMatchObject({ result: 'succeeded', metadata: { 'etcd-version': DEFAULT_ETCD_TEST_VERSION } });
  });

  test('GIVEN a server that is not the etcdVersion WHEN the job runs THEN its backup is kept with the server\'s version, nothing is pruned, and the job fails naming etcdVersion', async () => {
    const cluster = 'e2e-version';
    const good = await runBackup({ cluster, retention: Retention.keepLast(1) });
    good.result.cleanup();
    expectSucceeded(good.result);
    const other = ETCD_TEST_VERSIONS.find((v) => v !== DEFAULT_ETCD_TEST_VERSION)!;
    // The cluster says `other`; the server runs the test version.
    const { result } = await runBackup({ cluster, retention: Retention.keepLast(1), etcdVersion: other });
    result.cleanup();
    expect(result.succeeded).toBe(false);
    const upload = container(result, 'upload');
    expect(upload?.stderr).toContain(`upload: this backup has etcd-version ${DEFAULT_ETCD_TEST_VERSION}, expected ${other}. etcdVersion says ${other}`);
    expect(upload?.stderr).toMatch(/NOTHING was pruned/);
    expect(summaryOf(upload)).toMatchObject({ result: 'failed', failedStep: 'etcd-version' });
    const all = snapshots(repo(cluster));
    expect(all).toHaveLength(2);
    expect(all.every((x) => (x.tags ?? []).includes(`etcd-version=${DEFAULT_ETCD_TEST_VERSION}`))).toBe(true);
  });

  test('GIVEN EtcdTools.shellImage (no image volumes) WHEN the backup and its drill run THEN both work with the tools from that image, and no image volume is rendered', async () => {
    const s: Scenario = { cluster: 'e2e-shell-image', etcdTools: EtcdTools.shellImage(SHELL_IMAGE) };
    const { manifests, backup, drill } = synthBackup(s, { requiredKeys: [keyFor(0, '/registry/fixtures/key-')], localPort: await freePortBelow(65000) });
    for (const cj of manifests.filter((m) => m.kind === 'CronJob')) {
      expect(cj.spec.jobTemplate.spec.template.spec.volumes.filter((v: any) => v.image)).toEqual([]);
    }
    const backupResult = await runJob(manifests, s, backup.cronJob.name);
    backupResult.cleanup();
    expectSucceeded(backupResult);
    expect(container(backupResult, 'snapshot')?.stdout).toContain(`snapshot: etcd ${DEFAULT_ETCD_TEST_VERSION} at`);
    const drillResult = await runJob(manifests, s, drill!.cronJob.name);
    drillResult.cleanup();
    expectSucceeded(drillResult);
  });
  test('uploads a verified snapshot that restores into an etcd with the same keys and values', async () => {
    const before = etcd.dump();
    expect(before.size).toBeGreaterThanOrEqual(KEYS);
    const { result, backup } = await runBackup({ cluster: 'e2e-restore' });
    result.cleanup();
    expectSucceeded(result);
    expect(backup.resticRepository).toBe(s3.resticRepository('k8s/e2e-restore/etcd'));

    // The snapshot's metadata travels with it as tags.
    const snaps = snapshots(repo('e2e-restore'));
    expect(snaps).toHaveLength(1);
    expect(snaps[0].hostname).toBe('e2e-restore');
    const tags = new Map((snaps[0].tags ?? []).map((t) => t.split('=') as [string, string]));
    expect(tags.has('etcd-snapshot')).toBe(true);
    expect(Number(tags.get('etcd-keys'))).toBe(before.size);
    expect(Number(tags.get('etcd-revision'))).toBe(etcd.revision());
    expect(tags.get('etcd-sha256')).toMatch(/^[0-9a-f]{64}$/);

    // The job's last line says what it did, in restic's numbers, naming the snapshot restic lists.
    const summary = summaryOf(container(result, 'upload'));
    expect(summary).toMatchObject({
      kind: 'etcd-snapshot',
      cluster: 'e2e-restore',
      job: backup.cronJob.name,
      host: 'e2e-restore',
      result: 'succeeded',
      failedStep: null,
      exitCode: 0,
      snapshotId: snaps[0].id,
      retentionRemoved: [],
      metadata: { 'etcd-keys': before.size, 'etcd-revision': etcd.revision() },
    });
    expect(summary.bytesAdded).toBeGreaterThan(0);
    expect(summary.filesChanged).toBe(0);
    expect(summary.backupSeconds).toBeGreaterThan(0);
    // From the snapshot step's start (its start file), through the upload.
    expect(summary.durationSeconds).toBeGreaterThan(summary.backupSeconds as number);
    expect(summary.durationSeconds * 1000).toBeLessThan(result.containers.reduce((ms, c) => ms + c.durationMs, 0) + 1000);

    // Restore as docs/etcd-backup.md says (restic restore, then join the pieces in order), then start a second
    // etcd on it and compare every key.
    const target = path.join(work, 'restore-1');
    resticOk(['restore', 'latest', '--no-lock', '--host', 'e2e-restore', '--tag', 'etcd-snapshot', '--target', target], repo('e2e-restore'));
    const pieces = restoredPieces(target);
    expect(pieces.length).toBeGreaterThan(0);
    for (const p of pieces.slice(0, -1)) expect(p.length).toBe(512 * 1024);
    expect(pieces[pieces.length - 1].length).toBeGreaterThan(0);
    expect(pieces[pieces.length - 1].length).toBeLessThanOrEqual(512 * 1024);
    expect(fs.existsSync(path.join(target, 'backup/etcd-snapshot.db'))).toBe(false);
    expect(summary).toMatchObject({ filesNew: pieces.length, filesTotal: pieces.length, bytesTotal: pieces.reduce((n, p) => n + p.length, 0) });
    const file = path.join(target, 'etcd-snapshot.db');
    fs.writeFileSync(file, Buffer.concat(pieces));
    // The tag is the sha256 etcd appended: the hash of everything before the last 32 bytes.
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(bytes.length - 32).toString('hex')).toBe(tags.get('etcd-sha256'));
    expect(createHash('sha256').update(bytes.subarray(0, bytes.length - 32)).digest('hex')).toBe(tags.get('etcd-sha256'));
    const restored = await restoreAndStart({ snapshotFile: file, pkiDir: etcd.pki.dir });
    started.push(restored);
    try {
      const after = restored.dump();
      expect(after.size).toBe(before.size);
      expect(after).toEqual(before);
    } finally {
      await restored.stop();
    }
  });

  test('GIVEN two backups with a few writes between them THEN the repository holds each distinct piece once, as one blob: what did not change is not stored again', async () => {
    // An etcd of several pieces (~8 MiB: 2,000 values of 4 KiB).
    const own = await startEtcd({ pkiDir: etcd.pki.dir });
    started.push(own);
    await own.loadKeys(2000, { prefix: '/registry/fixtures/big-', valueBytes: 4096 });
    const cluster = 'e2e-pieces';
    const first = await runBackup({ cluster, etcd: own });
    first.result.cleanup();
    expectSucceeded(first.result);
    const split = /etcd-snapshot\.db \((\d+) bytes\) in (\d+) pieces of 524288 bytes under \/backup\/etcd-snapshot\.parts/.exec(container(first.result, 'upload')?.stdout ?? '');
    expect(split).not.toBeNull();
    expect(Number(split![2])).toBe(Math.ceil(Number(split![1]) / 524288));
    expect(Number(split![2])).toBeGreaterThan(10);
    await own.etcdctlAsync(['put', '/registry/fixtures/pieces-1', 'x']);
    await own.etcdctlAsync(['put', '/registry/fixtures/pieces-2', 'y']);
    const second = await runBackup({ cluster, etcd: own });
    second.result.cleanup();
    expectSucceeded(second.result);

    const opts = repo(cluster);
    const [a, b] = snapshots(opts);
    const pieceHashes = (id: string) => {
      const target = path.join(work, `pieces-${id}`);
      resticOk(['restore', id, '--no-lock', '--target', target], opts);
      return restoredPieces(target).map((p) => createHash('sha256').update(p).digest('hex'));
    };
    const inA = pieceHashes(a.id);
    const inB = pieceHashes(b.id);
    // restic names a data blob by the sha256 of its content: one blob per distinct piece, no more.
    const dataBlobs = resticOk(['list', 'blobs', '--no-lock'], opts).stdout.split('\n').filter((l) => l.startsWith('data ')).map((l) => l.slice(5).trim());
    expect(new Set(dataBlobs)).toEqual(new Set([...inA, ...inB]));
    // The writes changed some pieces, not all of them.
    const unchanged = inB.filter((h) => inA.includes(h)).length;
    expect(unchanged).toBeGreaterThan(0);
    expect(unchanged).toBeLessThan(inB.length);

    // The summary lines: the first run added the whole snapshot, the second only what changed
    // (restic reads every piece again, each cut anew, but stores only the new ones).
    const [sumA, sumB] = [summaryOf(container(first.result, 'upload')), summaryOf(container(second.result, 'upload'))];
    expect(sumA).toMatchObject({ snapshotId: a.id, filesTotal: inA.length, filesNew: inA.length });
    expect(sumB).toMatchObject({ snapshotId: b.id, filesTotal: inB.length, retentionRemoved: [] });
    expect((sumB.filesNew as number) + (sumB.filesChanged as number) + (sumB.filesUnmodified as number)).toBe(inB.length);
    expect(sumA.bytesAdded).toBeGreaterThan(Number(split![1]) / 2);
    expect(sumB.bytesAdded).toBeGreaterThan(0);
    expect(sumB.bytesAdded).toBeLessThan((sumA.bytesAdded as number) / 4);
  });

  test('external etcd: certificates from a Secret, the whole pod non-root, and it restores', async () => {
    const { result, manifests } = await runBackup({ cluster: 'e2e-external', external: true });
    result.cleanup();
    expectSucceeded(result);
    const pod = manifests.find((m) => m.kind === 'CronJob').spec.jobTemplate.spec.template.spec;
    expect(pod.securityContext.runAsUser).toBe(65532);
    const [snap] = snapshots(repo('e2e-external'));
    expect(snap.tags).toContain(`etcd-keys=${etcd.dump().size}`);
  });

  test('GIVEN the storage CA inline (fromPem) and no CA Secret WHEN the backup and its drill run THEN both reach the HTTPS endpoint with it', async () => {
    const s = { cluster: 'e2e-inline-ca', inlineCa: true };
    const { result } = await runBackup(s);
    result.cleanup();
    expectSucceeded(result);
    expect(snapshots(repo('e2e-inline-ca'))).toHaveLength(1);
    let localPort = await freePort();
    while (localPort > 65000) localPort = await freePort();
    const { manifests, drill } = synthBackup(s, { requiredKeys: [keyFor(0, '/registry/fixtures/key-')], localPort });
    const drillResult = await runJob(manifests, s, drill!.cronJob.name);
    drillResult.cleanup();
    expectSucceeded(drillResult);
  });

  test('a corrupt snapshot fails the job before anything reaches the repository: nothing uploaded, nothing pruned', async () => {
    // First a good backup, so there is something that must not be pruned.
    const good = await runBackup({ cluster: 'e2e-corrupt', retention: Retention.keepLast(1) });
    good.result.cleanup();
    expect(good.result.succeeded).toBe(true);
    const objectsBefore = s3.listObjects('k8s/e2e-corrupt/');
    const snapsBefore = snapshots(repo('e2e-corrupt')).map((s) => s.id);

    // An etcd image whose `etcdctl snapshot save` writes a file with flipped bytes.
    const corruptingEtcdctl = path.join(work, 'etcdctl-corrupting');
    fs.writeFileSync(corruptingEtcdctl, [
      '#!/bin/sh',
      '"${0%/*}/etcdctl.real" "$@" || exit $?',
      'if [ "$1 $2" = "snapshot save" ]; then',
      '  printf "\\xde\\xad\\xbe\\xef\\xde\\xad\\xbe\\xef" | dd of="$3" bs=1 seek=20000 conv=notrunc status=none',
      'fi',
      '',
    ].join('\n'), { mode: 0o755 });
    const corruptImage: ImageProfile = {
      ...ETCD_IMAGE_PROFILE,
      files: {
        ...ETCD_IMAGE_PROFILE.files,
        '/usr/local/bin/etcdctl': corruptingEtcdctl,
        '/usr/local/bin/etcdctl.real': ETCD_IMAGE_PROFILE.files['/usr/local/bin/etcdctl'],
      },
    };
    const { result } = await runBackup({ cluster: 'e2e-corrupt', retention: Retention.keepLast(1), etcdImage: corruptImage });
    result.cleanup();
    expect(result.succeeded).toBe(false);
    // `snapshot status` reads the flipped file without noticing (it hashes the bolt buckets,
    // not the bytes); the upload's check of the content against the appended sha256 refuses it.
    expect(container(result, 'snapshot')?.exitCode).toBe(0);
    expect(container(result, 'upload')?.exitCode).not.toBe(0);
    expect(container(result, 'upload')?.stderr).toMatch(/etcd-snapshot\.db is corrupt: the sha256 of its content is [0-9a-f]{64}, but the sha256 `snapshot save` appended says [0-9a-f]{64}\. Nothing uploaded, nothing pruned/);
    expect(s3.listObjects('k8s/e2e-corrupt/')).toEqual(objectsBefore);
    expect(snapshots(repo('e2e-corrupt')).map((s) => s.id)).toEqual(snapsBefore);
    // The failed run ends with a summary line too, naming the step, with nothing backed up.
    expect(summaryOf(container(result, 'upload'))).toMatchObject({
      kind: 'etcd-snapshot', cluster: 'e2e-corrupt', result: 'failed', failedStep: 'checksum', exitCode: 1, snapshotId: null, bytesAdded: null, retentionRemoved: null,
    });
  });

  test('a wrong repository password fails the job and changes nothing', async () => {
    const good = await runBackup({ cluster: 'e2e-password' });
    good.result.cleanup();
    expect(good.result.succeeded).toBe(true);
    const objectsBefore = s3.listObjects('k8s/e2e-password/');

    const { result } = await runBackup({ cluster: 'e2e-password', password: 'not the password' });
    result.cleanup();
    expect(result.succeeded).toBe(false);
    expect(container(result, 'upload')?.exitCode).not.toBe(0);
    expect(container(result, 'upload')?.stderr).toMatch(/wrong password/);
    expect(s3.listObjects('k8s/e2e-password/')).toEqual(objectsBefore);
    expect(summaryOf(container(result, 'upload'))).toMatchObject({ result: 'failed', failedStep: 'repository', exitCode: 1, snapshotId: null });
  });

  test('an unreachable S3 endpoint fails the job within the script\'s 60 s bound, with nothing pruned', async () => {
    // restic 0.18 retries `connection refused` for up to 15 minutes; the script gives its first
    // question to the repository 60 s (restic-upload.sh, repository_timeout).
    const { result } = await runBackup({ cluster: 'e2e-unreachable', endpoint: 'https://127.0.0.1:9' });
    result.cleanup();
    expect(result.succeeded).toBe(false);
    const upload = container(result, 'upload');
    expect(upload?.exitCode).not.toBe(0);
    expect(upload?.stderr).toMatch(/connection refused/);
    expect(upload?.stderr).toMatch(/upload: the repository did not answer within 60 s\nupload: cannot open the repository \(see above\); nothing uploaded, nothing pruned/);
    expect(upload!.durationMs).toBeGreaterThanOrEqual(60_000);
    expect(upload!.durationMs).toBeLessThan(75_000);
    const log = `${upload?.stdout}${upload!.stderr}`.split('\n').filter((l) => !l.startsWith('{"summary":'));
    expect(log.join('\n')).not.toMatch(/forget|removed/i);
    expect(summaryOf(upload)).toMatchObject({ result: 'failed', failedStep: 'repository', retentionRemoved: null });
  });

  test('a stale lock left by a killed run does not block the next run', async () => {
    const good = await runBackup({ cluster: 'e2e-lock' });
    good.result.cleanup();
    expect(good.result.succeeded).toBe(true);
    // A restic that dies holding an exclusive lock, like a pruning job killed by its deadline.
    // It runs under another hostname (its own UTS namespace), as a killed pod would have had:
    // restic 0.14 only treats a lock as stale by itself when host and PID show it is dead.
    const opts = repo('e2e-lock');
    const child = spawn('/usr/bin/unshare', [
      '-u', '/bin/sh', '-c', 'hostname killed-pod && exec "$@"', 'sh',
      '/usr/bin/restic', ...resticGlobalArgs(opts), 'backup', '--stdin', '--stdin-filename', 'slow',
    ], { env: resticEnv(opts), stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    const deadline = Date.now() + 30_000;
    while (restic(['list', 'locks', '--no-lock'], opts).stdout.trim() === '' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(restic(['list', 'locks', '--no-lock'], opts).stdout.trim()).not.toBe('');
    const { result } = await runBackup({ cluster: 'e2e-lock' });
    result.cleanup();
    expect(result.succeeded).toBe(true);
    expect(snapshots(opts)).toHaveLength(2);
  });

  test('retention keeps exactly what it should over a seeded history, and only its own group', async () => {
    const opts = repo('e2e-retention');
    resticOk(['init'], opts);
    const seed = (time: string, host: string, tag: string) =>
      resticOk(['backup', '--stdin', '--stdin-filename', 'seed', '--time', time, '--host', host, '--tag', tag], opts, `seed ${time} ${host}`);
    // Hourly snapshots from 2024-01-01 21:00 to 2024-01-02 05:00 ...
    const seeded: string[] = [];
    for (let h = 0; h < 9; h++) {
      seeded.push(new Date(Date.UTC(2024, 0, 1, 21 + h)).toISOString().slice(0, 19).replace('T', ' '));
    }
    for (const t of seeded) seed(t, 'e2e-retention', 'etcd-snapshot');
    // ... and snapshots of other groups in the same repository, which this job must not touch.
    seed('2024-01-01 00:00:00', 'another-cluster', 'etcd-snapshot');
    seed('2024-01-01 00:00:00', 'e2e-retention', 'something-else');
    const idsBefore = snapshots(opts).map((s) => s.id);

    const { result } = await runBackup({ cluster: 'e2e-retention', retention: Retention.gfs({ hourly: 3, daily: 3 }) });
    result.cleanup();
    expect(result.succeeded).toBe(true);

    const left = snapshots(opts);
    const mine = left.filter((s) => s.hostname === 'e2e-retention' && s.tags?.includes('etcd-snapshot'));
    const seededLeft = mine.map((s) => s.time).filter((t) => t.startsWith('2024')).map((t) => new Date(t).toISOString().slice(0, 19).replace('T', ' ')).sort();
    // hourly 3: the new backup + the 2 newest seeded hours; daily 3: the new backup, the newest of
    // 2024-01-02 (05:00, already kept) and the newest of 2024-01-01 (23:00). 21:00, 22:00 and
    // 00:00-03:00 go.
    expect(seededLeft).toEqual(['2024-01-01 23:00:00', '2024-01-02 04:00:00', '2024-01-02 05:00:00']);
    expect(mine).toHaveLength(4);
    expect(left.filter((s) => s.hostname === 'another-cluster')).toHaveLength(1);
    expect(left.filter((s) => s.tags?.includes('something-else'))).toHaveLength(1);
    // The summary names exactly the snapshots the retention removed.
    const removed = idsBefore.filter((id) => !left.some((s) => s.id === id));
    expect(removed).toHaveLength(6);
    const summary = summaryOf(container(result, 'upload'));
    expect([...(summary.retentionRemoved as string[])].sort()).toEqual([...removed].sort());
    expect(left.map((s) => s.id)).toContain(summary.snapshotId);
  });
});

/**
 * An etcd image whose etcdctl runs `script` around each call, with the real etcdctl beside it as
 * etcdctl.real. The script is a test device, not the image: it runs where the job runs etcdctl,
 * in the restic image's busybox `sh` with the etcd image mounted.
 */
function wrappedEtcdImage(name: string, script: string[], extraFiles: Record<string, string> = {}): ImageProfile {
  const wrapper = path.join(work, name);
  fs.writeFileSync(wrapper, ['#!/bin/sh', ...script, ''].join('\n'), { mode: 0o755 });
  return {
    ...ETCD_IMAGE_PROFILE,
    files: {
      ...ETCD_IMAGE_PROFILE.files,
      '/usr/local/bin/etcdctl': wrapper,
      '/usr/local/bin/etcdctl.real': ETCD_IMAGE_PROFILE.files['/usr/local/bin/etcdctl'],
      ...extraFiles,
    },
  };
}

/** A free port below `max` (the drill's etcd needs the next one too). */
async function freePortBelow(max: number): Promise<number> {
  let p = await freePort();
  while (p > max) p = await freePort();
  return p;
}

/** A TCP server that accepts connections and never answers (an etcd that hangs). */
async function startBlackhole(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stop: async () => {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('faults, end to end', () => {
  const isSnapshotDelete = (r: GatedRequest) => r.method === 'DELETE' && /\/snapshots\/[0-9a-f]+$/.test(r.path);
  test.each([
    // forget has removed the old snapshot; the next request (prune reading the index) never returns
    ['after forget removed the snapshots', (r: GatedRequest, seen: readonly GatedRequest[]) => seen.some(isSnapshotDelete) && !isSnapshotDelete(r)],
    // prune has written the new index and is deleting the packs nothing references any more
    ['while prune removes packs', (r: GatedRequest) => r.method === 'DELETE' && /\/data\/[0-9a-f]{2}\/[0-9a-f]+$/.test(r.path)],
  ])('GIVEN the upload container was killed %s WHEN the job runs again THEN it succeeds and restic check is clean', async (_, match) => {
    const cluster = `e2e-killed-prune-${match.length}`;
    const opts = repo(cluster);
    const first = await runBackup({ cluster, retention: Retention.keepLast(1) });
    first.result.cleanup();
    expectSucceeded(first.result);
    // Churn, so the next backup leaves data of the first one unreferenced and prune deletes packs.
    await etcd.loadKeys(300, { prefix: `/registry/fixtures/${cluster}-`, valueBytes: 2048 });

    // WHEN the second run is killed at that point (the storage stalls there, then SIGKILL)
    const gate = await startS3Gate(s3);
    const kill = new AbortController();
    const held = gate.holdWhen(match);
    const run = runBackup({ cluster, retention: Retention.keepLast(1), endpoint: gate.endpoint, signal: kill.signal });
    const stopped = await Promise.race([held, run.then((r) => r.result)]);
    kill.abort('killed during forget --prune');
    const killed = await run;
    killed.result.cleanup();
    await gate.close();
    expect('method' in stopped ? '' : explain(stopped as PodResult)).toBe('');
    expect(killed.result.succeeded).toBe(false);
    // The dead run's exclusive lock is still in the repository.
    const locks = restic(['list', 'locks', '--no-lock'], opts).stdout.trim().split('\n').filter(Boolean);
    expect(locks.length).toBeGreaterThan(0);

    // THEN the next scheduled run succeeds, prunes to the retention, and the repository is sound.
    const again = await runBackup({ cluster, retention: Retention.keepLast(1) });
    again.result.cleanup();
    expectSucceeded(again.result);
    expect(snapshots(opts)).toHaveLength(1);
    const check = restic(['check'], opts);
    expect(`${check.stdout}${check.stderr}`).toMatch(/no errors were found/);
    expect(check.status).toBe(0);
  });

  test('GIVEN an etcd that accepts connections and never answers WHEN the job runs THEN it fails within the bound, saying what to check', async () => {
    const blackhole = await startBlackhole();
    try {
      const t0 = Date.now();
      const { result } = await runBackup({ cluster: 'e2e-hang', etcdPort: blackhole.port, snapshotTimeout: Duration.seconds(5) });
      result.cleanup();
      expect(result.succeeded).toBe(false);
      expect(Date.now() - t0).toBeLessThan(30_000);
      const snap = container(result, 'snapshot');
      expect(snap?.exitCode).not.toBe(0);
      expect(snap?.stderr).toMatch(/did not answer within 5s\. Check on this node that etcd runs/);
      expect(snap?.stderr).toMatch(/Nothing was uploaded or pruned/);
      expect(container(result, 'upload')).toBeUndefined();
      // The job ends in the snapshot step: that step's last line is the job's summary.
      expect(summaryOf(snap)).toMatchObject({ kind: 'etcd-snapshot', cluster: 'e2e-hang', result: 'failed', failedStep: 'snapshot', snapshotId: null, metadata: null });
    } finally {
      await blackhole.stop();
    }
  });

  test('GIVEN an etcd that answers but whose snapshot stream hangs WHEN the job runs THEN snapshotTimeout bounds the save', async () => {
    const blackhole = await startBlackhole();
    try {
      // The status question reaches the real etcd; the save goes to one that never answers.
      const hanging = wrappedEtcdImage('etcdctl-hanging-save', [
        `if [ "$1 $2" = "snapshot save" ]; then export ETCDCTL_ENDPOINTS=https://127.0.0.1:${blackhole.port}; fi`,
        'exec "${0%/*}/etcdctl.real" "$@"',
      ]);
      const t0 = Date.now();
      const { result } = await runBackup({ cluster: 'e2e-hang-save', etcdImage: hanging, snapshotTimeout: Duration.seconds(5) });
      result.cleanup();
      expect(result.succeeded).toBe(false);
      expect(Date.now() - t0).toBeLessThan(30_000);
      const snap = container(result, 'snapshot');
      expect(snap?.stdout).toMatch(/answers, database \d+ MiB, \d+ keys at revision \d+; saving \(bound: 5s\)/);
      expect(snap?.stderr).toMatch(/context deadline exceeded/);
      expect(snap?.stderr).toMatch(/raise the job's snapshotTimeout/);
      expect(container(result, 'upload')).toBeUndefined();
      expect(summaryOf(snap)).toMatchObject({ result: 'failed', failedStep: 'snapshot', metadata: { 'etcd-keys': etcd.dump().size } });
    } finally {
      await blackhole.stop();
    }
  });
});

describe('a wiped cluster, end to end', () => {
  let own: EtcdServer;
  beforeAll(async () => {
    own = await startEtcd({ pkiDir: etcd.pki.dir });
    started.push(own);
    await own.loadKeys(1100, { prefix: '/registry/wiped/key-' });
  });

  test('GIVEN etcd lost 1,000 of 1,100 keys WHEN the next backups run THEN they keep every snapshot, prune nothing and fail until the drop is accepted', async () => {
    const cluster = 'e2e-wiped';
    const opts = repo(cluster);
    const s = { cluster, etcd: own, retention: Retention.keepLast(2) };
    for (let i = 0; i < 2; i++) {
      const ok = await runBackup(s);
      ok.result.cleanup();
      expectSucceeded(ok.result);
    }
    const good = snapshots(opts);
    expect(good).toHaveLength(2);

    // WHEN the cluster loses most of its state (a bad `kubectl delete`, a wiped etcd)
    own.etcdctl(['del', '/registry/wiped/key-', '--prefix']);
    await own.loadKeys(100, { prefix: '/registry/wiped/key-' });
    for (let run = 1; run <= 2; run++) {
      const { result } = await runBackup(s);
      result.cleanup();
      // THEN the job fails loudly, keeps this backup tagged, and prunes nothing
      expect(result.succeeded).toBe(false);
      const upload = container(result, 'upload');
      expect(upload?.stderr).toMatch(/DATA LOSS SUSPECTED: this backup has etcd-keys 100, the newest accepted snapshot [0-9a-f]+ \(.*\) has 1100: a drop of more than 50%/);
      expect(upload?.stderr).toMatch(/NOTHING was pruned/);
      const now = snapshots(opts);
      expect(now).toHaveLength(2 + run);
      expect(now.map((x) => x.id)).toEqual(expect.arrayContaining(good.map((x) => x.id)));
      expect(now.filter((x) => x.tags?.includes('count-drop'))).toHaveLength(run);
      const summary = summaryOf(upload);
      expect(summary).toMatchObject({ result: 'failed', failedStep: 'key-drop-guard', retentionRemoved: null, metadata: { 'etcd-keys': 100 } });
      // The kept snapshot (restic 0.14 reports its short id here; 0.15+ the full one).
      const kept = now.filter((x) => x.tags?.includes('count-drop'))[run - 1];
      expect(kept.id.startsWith(summary.snapshotId as string)).toBe(true);
    }

    // WHEN an operator accepts the drop with the command from the log, THEN pruning resumes.
    const flagged = snapshots(opts).filter((x) => x.tags?.includes('count-drop'));
    const newest = flagged[flagged.length - 1];
    resticOk(['tag', '--remove', 'count-drop', newest.id], opts);
    const accepted = await runBackup(s);
    accepted.result.cleanup();
    expectSucceeded(accepted.result);
    const left = snapshots(opts);
    expect(left).toHaveLength(2);
    expect(left.every((x) => x.tags?.includes('etcd-keys=100'))).toBe(true);
  });

  test('GIVEN the guard is switched off by name WHEN the keys drop THEN the backup succeeds and prunes', async () => {
    const cluster = 'e2e-wiped-unguarded';
    const s = { cluster, etcd: own, retention: Retention.keepLast(1), keyDropGuard: KeyDropGuard.unguardedAcceptingDataLoss() };
    await own.loadKeys(1000, { prefix: '/registry/wiped/extra-' });
    const first = await runBackup(s);
    first.result.cleanup();
    expectSucceeded(first.result);
    own.etcdctl(['del', '/registry/wiped/extra-', '--prefix']);
    const second = await runBackup(s);
    second.result.cleanup();
    expectSucceeded(second.result);
    expect(snapshots(repo(cluster))).toHaveLength(1);
  });
});

describe('restore drill pod, end to end', () => {
  // The fixture etcd has no Kubernetes keys; require two of the test's own.
  const drillProps = { requiredKeys: [keyFor(0, '/registry/fixtures/key-'), keyFor(KEYS - 1, '/registry/fixtures/key-')] };

  async function freeDrillPort(): Promise<number> {
    let p = await freePort();
    while (p > 65000) p = await freePort();
    return p;
  }

  /** Backs up with the rendered backup job, lets the test tamper with the newest snapshot, then runs the rendered drill. */
  async function drillAfterBackup(cluster: string, tamper?: (opts: ResticOptions, newest: ResticSnapshot) => void): Promise<PodResult> {
    const backup = await runBackup({ cluster });
    backup.result.cleanup();
    expect(backup.result.succeeded).toBe(true);
    if (tamper) {
      const opts = repo(cluster);
      const [newest] = snapshots(opts);
      tamper(opts, newest);
    }
    const s = { cluster };
    const { manifests, drill } = synthBackup(s, { ...drillProps, localPort: await freeDrillPort() });
    const result = await runJob(manifests, s, drill!.cronJob.name);
    result.cleanup();
    return result;
  }

  /** Replaces the value of one `name=value` tag of a snapshot. */
  function retag(opts: ResticOptions, snap: ResticSnapshot, name: string, value: (old: string) => string): void {
    const old = (snap.tags ?? []).find((t) => t.startsWith(`${name}=`))!;
    resticOk(['tag', '--remove', old, '--add', `${name}=${value(old.split('=')[1])}`, snap.id], opts);
  }

  test('GIVEN a snapshot of etcd 3.5.30 WHEN the drill\'s etcd image is 3.5.16 THEN it restores with 3.5.16 (the same minor); a drill of another minor refuses before restoring', async () => {
    const cluster = 'e2e-drill-version';
    const backup = await runBackup({ cluster, etcdImage: etcdDistrolessProfile('3.5.30'), etcdVersion: '3.5.30' });
    backup.result.cleanup();
    expectSucceeded(backup.result);
    const s: Scenario = { cluster, etcdVersion: '3.5.30', etcdImage: etcdDistrolessProfile('3.5.16') };
    const { manifests, drill } = synthBackup(s, { ...drillProps, localPort: await freeDrillPort() });
    const same = await runJob(manifests, s, drill!.cronJob.name);
    same.cleanup();
    expectSucceeded(same);
    expect(container(same, 'drill')?.stdout).toContain('drill: restoring the snapshot of etcd 3.5.30 with etcdutl 3.5.16');
    // The image's etcdutl of another minor (a wrapped 3.5 one saying 3.6.0): the drill would prove a
    // restore nobody runs, so it fails naming the versions, before restoring anything.
    const wrapper = path.join(work, 'etcdutl-3.6');
    fs.writeFileSync(wrapper, ['#!/bin/sh', 'if [ "$1" = version ]; then echo "etcdutl version: 3.6.0"; echo "API version: 3.6"; exit 0; fi', 'exec "${0%/*}/etcdutl.real" "$@"', ''].join('\n'), { mode: 0o755 });
    const base = etcdDistrolessProfile('3.5.30');
    const other: Scenario = { ...s, etcdImage: { ...base, files: { ...base.files, '/usr/local/bin/etcdutl': wrapper, '/usr/local/bin/etcdutl.real': base.files['/usr/local/bin/etcdutl'] } } };
    const refused = await runJob(manifests, other, drill!.cronJob.name);
    refused.cleanup();
    expect(refused.succeeded).toBe(false);
    expect(container(refused, 'drill')?.stderr).toContain('drill: the snapshot was taken by etcd 3.5.30, this drill restores with etcd 3.6.0: a restore must use the snapshot\'s minor');
    expect(summaryOf(container(refused, 'drill'))).toMatchObject({ result: 'failed', failedStep: 'etcd-version' });
  });

  test('GIVEN a backup made by the rendered job WHEN the rendered drill runs THEN it restores it and the checks pass', async () => {
    const result = await drillAfterBackup('e2e-drill');
    expectSucceeded(result);
    expect(container(result, 'drill')?.stdout).toMatch(new RegExp(`drill: ok, revision \\d+, ${etcd.dump().size} keys`));
    // Its summary: which snapshot it restored, and what it counted there.
    const [snap] = snapshots(repo('e2e-drill'));
    const revision = Number(snap.tags!.find((t) => t.startsWith('etcd-revision='))!.split('=')[1]);
    const summary = summaryOf(container(result, 'drill'));
    expect(summary).toMatchObject({
      kind: 'restore-drill',
      cluster: 'e2e-drill',
      job: 'e2e-drill-etcd-drill',
      result: 'succeeded',
      failedStep: null,
      snapshotId: snap.id,
      etcdRevision: revision,
      keysExpected: etcd.dump().size,
      keysRestored: etcd.dump().size,
      requiredKeysChecked: 2,
      requiredKeysMissing: 0,
    });
    expect(summary.snapshotRevision).toBeGreaterThanOrEqual(revision);
  });

  // The backup counts the keys at the current revision just before the save. Between the count
  // and the save etcd moves on (the snapshot's revision is later); right after it, kube-apiserver
  // may compact (every 5 minutes, k8s.io/apiserver pkg/storage/etcd3/compact.go), here past
  // everything the live etcd had. The snapshot still holds the counted revision.
  test('GIVEN a write between the count and the save and a compaction past the counted revision right after it WHEN the job and then the drill run THEN both succeed with the count taken before the save', async () => {
    const compacting = wrappedEtcdImage('etcdctl-writes-and-compacts', [
      'if [ "$1 $2" = "snapshot save" ]; then',
      '  "${0%/*}/etcdctl.real" put /registry/fixtures/between-count-and-save x >/dev/null || exit 1',
      'fi',
      '"${0%/*}/etcdctl.real" "$@" || exit $?',
      'if [ "$1 $2" = "snapshot save" ]; then',
      '  out=$("${0%/*}/etcdctl.real" put /registry/fixtures/after-the-save x -w json) || exit 1',
      '  rev=${out#*\\"revision\\":}; rev=${rev%%,*}',
      '  "${0%/*}/etcdctl.real" compact "$rev" --physical >/dev/null || exit 1',
      'fi',
    ]);
    const cluster = 'e2e-compaction';
    const before = etcd.dump();
    const revisionBefore = etcd.revision();
    const { result } = await runBackup({ cluster, etcdImage: compacting });
    result.cleanup();
    expectSucceeded(result);
    expect(container(result, 'snapshot')?.stdout).toContain(`snapshot: saved, ${before.size} keys at revision ${revisionBefore} (counted just before the save)`);
    const [snap] = snapshots(repo(cluster));
    expect(snap.tags).toContain(`etcd-revision=${revisionBefore}`);
    expect(snap.tags).toContain(`etcd-keys=${before.size}`);
    // The live etcd can no longer answer for the counted revision; the snapshot can.
    expect(() => etcd.keyCount('', revisionBefore)).toThrow(/compacted/);
    expect(etcd.dump().size).toBe(before.size + 2);

    const s = { cluster };
    const { manifests, drill } = synthBackup(s, { ...drillProps, localPort: await freeDrillPort() });
    const drillResult = await runJob(manifests, s, drill!.cronJob.name);
    drillResult.cleanup();
    expectSucceeded(drillResult);
    expect(container(drillResult, 'drill')?.stdout).toContain(`drill: ok, revision ${revisionBefore}, ${before.size} keys`);
  });

  test('GIVEN a newest snapshot that is not the file the backup verified WHEN the drill runs THEN it fails on the checksum', async () => {
    // The stored file's sha256 trailer no longer matches the etcd-sha256 the backup job recorded
    // (another snapshot under its tags, or a tampered object). A damaged content behind an
    // intact trailer is refused by the upload's sha256 check and by every restore (the corrupt-snapshot test above).
    const result = await drillAfterBackup('e2e-drill-corrupt', (opts, newest) => retag(opts, newest, 'etcd-sha256', () => '0'.repeat(64)));
    expect(result.succeeded).toBe(false);
    expect(container(result, 'fetch')?.stderr).toMatch(/this is not the snapshot the backup verified/);
    expect(container(result, 'drill')).toBeUndefined();
    const [newest] = snapshots(repo('e2e-drill-corrupt'));
    expect(summaryOf(container(result, 'fetch'))).toMatchObject({ kind: 'restore-drill', result: 'failed', failedStep: 'fetch', exitCode: 1, snapshotId: newest.id, keysRestored: null });
  });

  test('GIVEN a repository whose stored data has flipped bytes WHEN the drill runs THEN the fetch fails', async () => {
    // Bit rot in the bucket: every data pack of this repository gets a few bytes overwritten.
    const result = await drillAfterBackup('e2e-drill-bitrot', () => {
      const packs = s3.listObjects('k8s/e2e-drill-bitrot/etcd/data/');
      expect(packs.length).toBeGreaterThan(0);
      for (const { key, size } of packs) {
        const file = path.join(s3.dataDir, s3.bucket, `${key}._S3rver_object`);
        const fd = fs.openSync(file, 'r+');
        fs.writeSync(fd, Buffer.from('bitrot!!'), 0, 8, Math.floor(size / 2));
        fs.closeSync(fd);
      }
    });
    expect(result.succeeded).toBe(false);
    expect(container(result, 'fetch')?.exitCode).not.toBe(0);
    // restic authenticates every blob it decrypts: the restore itself refuses the damaged data.
    expect(container(result, 'fetch')?.stderr).toMatch(/ciphertext verification failed/);
    expect(container(result, 'drill')).toBeUndefined();
  });

  test('GIVEN leases in the snapshot that expire while a slow drill runs WHEN it compares THEN it compares at the revision the backup counted at and passes', async () => {
    // kube-apiserver's /registry/masterleases/<ip> keys live on a 15 s lease; in the restored etcd
    // nothing renews it, so it is revoked soon after start and revision and key count move on.
    const lease = /lease ([0-9a-f]+) granted/.exec(etcd.etcdctl(['lease', 'grant', '3']))![1];
    etcd.etcdctl(['put', '--lease', lease, '/registry/masterleases/10.0.0.1', 'x']);
    const keepAlive = spawn(etcdBinary('etcdctl', etcd.version), ['lease', 'keep-alive', lease], { env: { ...etcd.env(), PATH: '/usr/bin:/bin' }, stdio: 'ignore', detached: true });
    let backup;
    try {
      backup = await runBackup({ cluster: 'e2e-drill-lease' });
    } finally {
      process.kill(-keepAlive.pid!, 'SIGKILL');
    }
    backup.result.cleanup();
    expectSucceeded(backup.result);
    const [snap] = snapshots(repo('e2e-drill-lease'));
    const recorded = Number((snap.tags ?? []).find((t) => t.startsWith('etcd-keys='))!.split('=')[1]);

    // A slow pod: the drill's first question comes after the lease has run out.
    const slow = wrappedEtcdImage('etcdctl-slow', [
      'case " $* " in *" get "*|*" endpoint status "*)',
      '  [ -e /work/drill/.slowed ] || { sleep 8; : > /work/drill/.slowed; } ;;',
      'esac',
      'exec "${0%/*}/etcdctl.real" "$@"',
    ]);
    const s = { cluster: 'e2e-drill-lease', etcdImage: slow };
    const { manifests, drill } = synthBackup(s, { ...drillProps, requiredKeys: [...drillProps.requiredKeys, '/registry/masterleases/10.0.0.1'], localPort: await freeDrillPort() });
    const result = await runJob(manifests, s, drill!.cronJob.name);
    result.cleanup();
    expectSucceeded(result);
    expect(container(result, 'drill')?.stdout).toMatch(new RegExp(`drill: ok, revision \\d+, ${recorded} keys`));
  });

  test('GIVEN a required key that starts with "-" WHEN the drill looks it up THEN it is a key, not an option, and its absence fails the drill', async () => {
    const backup = await runBackup({ cluster: 'e2e-drill-dash' });
    backup.result.cleanup();
    expectSucceeded(backup.result);
    const s = { cluster: 'e2e-drill-dash' };
    const { manifests, drill } = synthBackup(s, { ...drillProps, localPort: await freeDrillPort() });
    // The construct refuses such keys; a hand-edited ConfigMap must not fool the drill either.
    const scripts = manifests.find((m) => m.kind === 'ConfigMap' && m.data?.['required-keys.txt']);
    scripts.data['required-keys.txt'] += '--help\n';
    const result = await runJob(manifests, s, drill!.cronJob.name);
    result.cleanup();
    expect(result.succeeded).toBe(false);
    expect(container(result, 'drill')?.stderr).toMatch(/required key --help is missing after restore/);
    expect(summaryOf(container(result, 'drill'))).toMatchObject({ result: 'failed', failedStep: 'required-keys', exitCode: 1, requiredKeysChecked: 3, requiredKeysMissing: 1 });
  });

  test('GIVEN a newest snapshot that lacks keys the backup recorded WHEN the drill runs THEN it fails on the key count', async () => {
    // The newest snapshot holds fewer keys than the backup job recorded for it.
    const result = await drillAfterBackup('e2e-drill-keys', (opts, newest) => retag(opts, newest, 'etcd-keys', (n) => String(Number(n) + 5)));
    expect(result.succeeded).toBe(false);
    expect(container(result, 'fetch')?.exitCode).toBe(0);
    expect(container(result, 'drill')?.stderr).toMatch(/keys at revision \d+ after restore, the backup recorded/);
    const summary = summaryOf(container(result, 'drill'));
    expect(summary).toMatchObject({ result: 'failed', failedStep: 'key-count' });
    expect(summary.keysExpected).toBe((summary.keysRestored as number) + 5);
  });

  test('GIVEN a newest snapshot older than the revision its backup counted the keys at WHEN the drill runs THEN it fails on the revision', async () => {
    // The backup counts just before the save, so the snapshot's own revision is never below the
    // recorded one; a snapshot that is (another, older file under these tags) is refused.
    const result = await drillAfterBackup('e2e-drill-revision', (opts, newest) => retag(opts, newest, 'etcd-revision', (n) => String(Number(n) + 1000)));
    expect(result.succeeded).toBe(false);
    expect(container(result, 'fetch')?.exitCode).toBe(0);
    expect(container(result, 'drill')?.stderr).toMatch(/drill: the snapshot is at revision (\d+), older than the revision \d+ the backup counted its keys at/);
    expect(summaryOf(container(result, 'drill'))).toMatchObject({ result: 'failed', failedStep: 'revision' });
  });
});
