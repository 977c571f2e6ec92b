/**
 * End-to-end: the synthesized EtcdSnapshotBackup pod, run unchanged by the pod runner against a
 * real etcd 3.4 (TLS client certs), restic 0.14 and s3rver over HTTPS, all on 127.0.0.1.
 * What the CronJob uploads must restore into a second etcd with the same keys and values.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import {
  BackupRepository, CaCertificate, Credentials, DEFAULT_ETCD_IMAGE, DEFAULT_RESTIC_IMAGE, Encryption,
  EtcdSnapshotBackup, EtcdSource, RestoreDrill, RestoreDrillProps, Retention,
} from '../src';
import { EtcdServer, keyFor, restoreAndStart, startEtcd } from './support/etcd';
import { ETCD_IMAGE_PROFILE, RESTIC_IMAGE_PROFILE } from './support/images';
import { makeEtcdPki } from './support/pki';
import { ImageProfile, PodResult, runPod } from './support/pod-runner';
import { freePort } from './support/processes';
import { ResticOptions, ResticSnapshot, restic, resticEnv, resticGlobalArgs, resticOk, snapshots } from './support/restic';
import { S3Server, startS3 } from './support/s3';

const PASSWORD = 'correct horse battery staple';
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
  readonly etcdImage?: ImageProfile;
  /** Reach etcd as an external one: certificates from a Secret instead of host paths. */
  readonly external?: boolean;
}

/** The backup (and optionally a restore drill of it) for a scenario, synthesized. */
function synthBackup(s: Scenario, drill?: Omit<RestoreDrillProps, 'backup'>): { manifests: any[]; backup: EtcdSnapshotBackup; drill?: RestoreDrill } {
  const chart = Testing.chart();
  const backup = new EtcdSnapshotBackup(chart, 'etcd', {
    clusterName: s.cluster,
    // The manifest's own $(HOST_IP) reference, resolved from status.hostIP by the runner.
    source: s.external
      ? EtcdSource.external({ endpoint: etcd.endpoint, tlsSecret: 'etcd-client' })
      : EtcdSource.kubeadm({ endpoint: `https://$(HOST_IP):${etcd.clientPort}` }),
    repository: BackupRepository.s3({
      bucket: 'backups',
      prefix: 'k8s',
      endpoint: s.endpoint ?? s3.endpoint,
      caCert: CaCertificate.fromSecret({ name: 'storage-ca', key: 'ca.crt' }),
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
      [DEFAULT_ETCD_IMAGE]: s.etcdImage ?? ETCD_IMAGE_PROFILE,
      [DEFAULT_RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE,
    },
    hostPaths: { '/etc/kubernetes': path.join(hostRoot, 'etc/kubernetes') },
    secrets: {
      'backup-repository': { password: s.password ?? PASSWORD },
      'backup-s3': { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
      'storage-ca': { 'ca.crt': fs.readFileSync(s3.caCertFile) },
      'etcd-client': {
        'ca.crt': fs.readFileSync(etcd.pki.caCert), 'tls.crt': fs.readFileSync(etcd.pki.clientCert), 'tls.key': fs.readFileSync(etcd.pki.clientKey),
      },
    },
    fieldRefs: { 'status.hostIP': '127.0.0.1', 'spec.nodeName': 'cp-1' },
    timeoutMs: 90_000,
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
    expect(tags.get('sha256')).toMatch(/^[0-9a-f]{64}$/);

    // Restore exactly as README says, then start a second etcd on it and compare every key.
    const target = path.join(work, 'restore-1');
    resticOk(['restore', 'latest', '--no-lock', '--host', 'e2e-restore', '--tag', 'etcd-snapshot', '--target', target], repo('e2e-restore'));
    const file = path.join(target, 'backup/etcd-snapshot.db');
    const sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    expect(sha).toBe(tags.get('sha256'));
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

  test('external etcd: certificates from a Secret, the whole pod non-root, and it restores', async () => {
    const { result, manifests } = await runBackup({ cluster: 'e2e-external', external: true });
    result.cleanup();
    expectSucceeded(result);
    const pod = manifests.find((m) => m.kind === 'CronJob').spec.jobTemplate.spec.template.spec;
    expect(pod.securityContext.runAsUser).toBe(65532);
    const [snap] = snapshots(repo('e2e-external'));
    expect(snap.tags).toContain(`etcd-keys=${etcd.dump().size}`);
  });

  test('a corrupt snapshot fails the job in verify: nothing uploaded, nothing pruned', async () => {
    // First a good backup, so there is something that must not be pruned.
    const good = await runBackup({ cluster: 'e2e-corrupt', retention: Retention.keepLast(1) });
    good.result.cleanup();
    expect(good.result.succeeded).toBe(true);
    const objectsBefore = s3.listObjects('k8s/e2e-corrupt/');
    const snapsBefore = snapshots(repo('e2e-corrupt')).map((s) => s.id);

    // An etcd image whose `etcdctl snapshot save` writes a file with flipped bytes.
    const corruptingEtcdctl = path.join(work, 'etcdctl-corrupting');
    fs.writeFileSync(corruptingEtcdctl, [
      '#!/usr/bin/bash',
      '/usr/local/bin/etcdctl.real "$@" || exit $?',
      'if [ "$1 $2" = "snapshot save" ]; then',
      '  printf "\\xde\\xad\\xbe\\xef\\xde\\xad\\xbe\\xef" | /usr/bin/dd of="$3" bs=1 seek=20000 conv=notrunc status=none',
      'fi',
      '',
    ].join('\n'), { mode: 0o755 });
    const corruptImage: ImageProfile = {
      ...ETCD_IMAGE_PROFILE,
      files: {
        ...ETCD_IMAGE_PROFILE.files,
        '/usr/local/bin/etcdctl': corruptingEtcdctl,
        '/usr/local/bin/etcdctl.real': '/usr/bin/etcdctl',
        '/usr/bin/bash': '/usr/bin/bash',
        '/usr/bin/dd': '/usr/bin/dd',
      },
    };
    const { result } = await runBackup({ cluster: 'e2e-corrupt', retention: Retention.keepLast(1), etcdImage: corruptImage });
    result.cleanup();
    expect(result.succeeded).toBe(false);
    expect(container(result, 'snapshot')?.exitCode).toBe(0);
    expect(container(result, 'verify')?.exitCode).not.toBe(0);
    expect(container(result, 'verify')?.stderr).toMatch(/expected sha256/);
    expect(container(result, 'upload')).toBeUndefined();
    expect(s3.listObjects('k8s/e2e-corrupt/')).toEqual(objectsBefore);
    expect(snapshots(repo('e2e-corrupt')).map((s) => s.id)).toEqual(snapsBefore);
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
  });

  test('an unreachable S3 endpoint fails the job with nothing pruned', async () => {
    const { result } = await runBackup({ cluster: 'e2e-unreachable', endpoint: 'https://127.0.0.1:9' });
    result.cleanup();
    expect(result.succeeded).toBe(false);
    const upload = container(result, 'upload');
    expect(upload?.exitCode).not.toBe(0);
    expect(upload?.stderr).toMatch(/nothing uploaded, nothing pruned/);
    expect(upload?.stdout + upload!.stderr).not.toMatch(/forget|removed/i);
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

  test('GIVEN a backup made by the rendered job WHEN the rendered drill runs THEN it restores it and the checks pass', async () => {
    const result = await drillAfterBackup('e2e-drill');
    expectSucceeded(result);
    expect(container(result, 'drill')?.stdout).toMatch(new RegExp(`drill: ok, revision \\d+, ${etcd.dump().size} keys`));
  });

  test('GIVEN a newest snapshot whose data is damaged WHEN the drill runs THEN it fails on the checksum', async () => {
    // The stored file no longer matches the sha256 the backup job recorded (as after bit rot that
    // restic's own pack checks would not see, or a tampered object).
    const result = await drillAfterBackup('e2e-drill-corrupt', (opts, newest) => retag(opts, newest, 'sha256', () => '0'.repeat(64)));
    expect(result.succeeded).toBe(false);
    expect(container(result, 'fetch')?.stderr).toMatch(/the stored snapshot is damaged/);
    expect(container(result, 'drill')).toBeUndefined();
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

  test('GIVEN a newest snapshot that lacks keys the backup recorded WHEN the drill runs THEN it fails on the key count', async () => {
    // The newest snapshot holds fewer keys than the backup job recorded for it.
    const result = await drillAfterBackup('e2e-drill-keys', (opts, newest) => retag(opts, newest, 'etcd-keys', (n) => String(Number(n) + 5)));
    expect(result.succeeded).toBe(false);
    expect(container(result, 'fetch')?.exitCode).toBe(0);
    expect(container(result, 'drill')?.stderr).toMatch(/keys after restore, the backup recorded/);
  });
});
