/**
 * Benchmark: the rendered restore runbook's "Quorum lost" procedure at ~1 GiB (BENCH_DB_MB,
 * default 1024), end to end: from the workstation's fetch of the newest snapshot to a healthy
 * three-member cluster, on the three kubeadm-style nodes of test/support/etcd-cluster.ts (real
 * etcd members with TLS on 127.0.0.11-13, of the default etcd image's version), with s3rver over
 * HTTPS as the bucket.
 *
 *   npx projen bench:restore                   # ~1 GiB, several minutes
 *   BENCH_DB_MB=50 npx projen bench:restore    # smoke test
 *
 * The rendered backup job snapshots the filled cluster and uploads it; then quorum is lost (two
 * members' data wiped) and the runbook's blocks run as written, nothing filled in.
 * Prints the time per block and writes the numbers to .bench/etcd-restore.json.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { dbSize, fill } from './fill-etcd';
import { BackupRepository, CaCertificate, Credentials, Encryption, EtcdSnapshotBackup, EtcdSource, EtcdVersion, BackupDefaults } from '../src';
import { startControlPlane } from '../test/support/etcd-cluster';
import { ETCD_IMAGE_PROFILE, RESTIC_IMAGE_PROFILE } from '../test/support/images';
import { runPod } from '../test/support/pod-runner';
import { ResticOptions, resticOk } from '../test/support/restic';
import { RunbookRunner } from '../test/support/runbook-runner';
import { startS3 } from '../test/support/s3';
import { DEFAULT_ETCD_TEST_VERSION, etcdBinary } from '../test/support/tools';

const DB_MB = Number(process.env.BENCH_DB_MB ?? 1024);
const NODES = ['cp-1', 'cp-2', 'cp-3'];
const PASSWORD = 'correct horse battery staple';

async function main(): Promise<number> {
  const work = fs.mkdtempSync(path.join('/var/tmp', 'etcd-restore-bench-'));
  const s3 = await startS3({ bucket: 'backups' });
  // The members run the default etcd image's version, the version the runbook's tools default to.
  const cp = await startControlPlane({ nodes: NODES, etcdVersion: DEFAULT_ETCD_TEST_VERSION });
  try {
    console.log(`etcd-restore bench: target dbSize ${DB_MB} MiB, host ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const loaded = await fill({
      etcdctl: (args: string[]) => execEtcdctl(cp, args),
      etcdctlAsync: (args: string[], input?: string) => cp.etcdctl(args, { input }),
    } as never, DB_MB * 1024 * 1024, 16); // the harness's members keep etcd's default request limit
    console.log(`  loaded ${loaded.keys} keys, dbSize ${(loaded.dbSize / 1024 / 1024).toFixed(0)} MiB in ${(loaded.ms / 1000).toFixed(0)} s`);

    // The rendered backup job, on cp-1: what it uploads is what the runbook fetches.
    const backup = new EtcdSnapshotBackup(Testing.chart(), 'etcd', {
      clusterName: 'prod',
      acknowledge: { inClusterRepository: true },
      source: EtcdSource.kubeadm(),
      etcdVersion: EtcdVersion.of(cp.etcdVersion),
      controlPlaneNodes: NODES,
      memberAddresses: Object.fromEntries(NODES.map((n) => [n, cp.ip(n)])),
      repository: BackupRepository.s3({
        bucket: 'backups',
        prefix: 'k8s',
        endpoint: s3.endpoint,
        caCert: CaCertificate.fromSecret({ name: 'storage-ca', key: 'ca.crt' }),
        credentials: Credentials.fromSecret('backup-s3'),
        encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
      }),
    });
    const manifests = Testing.synth(Chart.of(backup));
    const backupStart = Date.now();
    const pod = await runPod({
      manifests,
      name: backup.cronJob.name,
      images: { 'registry.k8s.io/etcd': ETCD_IMAGE_PROFILE, [BackupDefaults.RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE },
      hostPaths: { '/etc/kubernetes': path.join(cp.nodeRoot('cp-1'), 'etc/kubernetes') },
      secrets: {
        'backup-repository': { password: PASSWORD },
        'backup-s3': { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
        'storage-ca': { 'ca.crt': fs.readFileSync(s3.caCertFile) },
      },
      fieldRefs: { 'status.hostIP': cp.ip('cp-1'), 'spec.nodeName': 'cp-1' },
      timeoutMs: 900_000,
    });
    pod.cleanup();
    if (!pod.succeeded) throw new Error(pod.containers.map((c) => `--- ${c.name}\n${c.stdout}\n${c.stderr}`).join('\n'));
    console.log(`  backed up by the rendered job in ${((Date.now() - backupStart) / 1000).toFixed(1)} s`);
    const before = digest(cp, loaded.keys);

    for (const node of ['cp-2', 'cp-3']) {
      await cp.loseData(node);
    }

    const runbook = backup.restoreSection();
    const run = new RunbookRunner({
      cp,
      workDir: work,
      caCertFile: s3.caCertFile,
      keys: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, RESTIC_PASSWORD: PASSWORD },
    });
    const t0 = Date.now();
    await run.runSection(runbook, 'Fetch the snapshot');
    const fetched = Date.now() - t0;
    await run.runSection(runbook, 'Quorum lost, or the whole cluster lost');
    await cp.waitHealthy(300_000, { members: NODES.length });
    const total = Date.now() - t0;
    const after = digest(cp, loaded.keys);
    if (after !== before) throw new Error(`the restored cluster differs from the snapshot: ${after} vs ${before}`);

    // The restore path on its own, against a bare `snapshot restore` of a local file: restic
    // restore of the newest snapshot plus the join of its pieces (the runbook's two commands),
    // then the same `snapshot restore` each member runs.
    const pathDir = path.join(work, 'restore-path');
    const opts: ResticOptions = { repository: backup.resticRepository, password: PASSWORD, s3, tmpDir: work, timeoutMs: 600_000 };
    const p0 = Date.now();
    resticOk(['restore', 'latest', '--no-lock', '--host', 'prod', '--tag', 'etcd-snapshot', '--target', pathDir], opts);
    const joined = path.join(pathDir, 'etcd-snapshot.db');
    execFileSync('sh', ['-c', 'cat "$1"/p* > "$2"', 'sh', path.join(pathDir, 'backup/etcd-snapshot.parts'), joined]);
    const fetchOnlyMs = Date.now() - p0;
    const p1 = Date.now();
    execFileSync(etcdBinary('etcdutl', cp.etcdVersion), ['snapshot', 'restore', joined, '--data-dir', path.join(pathDir, 'data')], { env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore' });
    const bareRestoreMs = Date.now() - p1;

    const result = {
      restorePath: {
        resticRestoreAndJoinSeconds: fetchOnlyMs / 1000,
        bareSnapshotRestoreSeconds: bareRestoreMs / 1000,
        ratio: (fetchOnlyMs + bareRestoreMs) / bareRestoreMs,
      },
      dbSizeBytes: dbSize({ etcdctl: (args: string[]) => execEtcdctl(cp, args) } as never),
      keys: loaded.keys,
      fetchSeconds: fetched / 1000,
      totalSeconds: total / 1000,
      blocks: run.timings.map((t) => ({ on: t.on, seconds: t.ms / 1000 })),
      loadAverage: os.loadavg(),
    };
    console.log(`  fetch (restic restore + sha256 trailer check + scp to 3 nodes): ${result.fetchSeconds.toFixed(1)} s`);
    console.log(`  quorum lost -> healthy 3-member cluster, end to end: ${result.totalSeconds.toFixed(1)} s (dbSize ${(result.dbSizeBytes / 1024 / 1024).toFixed(0)} MiB, ${result.keys} keys, every value compared)`);
    for (const b of result.blocks) console.log(`    ${b.on.padEnd(12)} ${b.seconds.toFixed(1)} s`);
    const rp = result.restorePath;
    console.log(`  restore path: restic restore + join ${rp.resticRestoreAndJoinSeconds.toFixed(1)} s, then snapshot restore ${rp.bareSnapshotRestoreSeconds.toFixed(1)} s: ${rp.ratio.toFixed(2)}x a bare snapshot restore of a local file`);
    fs.mkdirSync('.bench', { recursive: true });
    fs.writeFileSync('.bench/etcd-restore.json', `${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await cp.stop();
    await s3.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * sha256 of every key and value (etcdctl's simple output, sorted by key), in ranges of 1,000 keys
 * (64 MiB) streamed into one hash: 1 GiB fits neither a string nor one etcdctl response in time.
 */
function digest(cp: Awaited<ReturnType<typeof startControlPlane>>, keys: number): string {
  const key = (i: number) => `/registry/bench/value-${String(i).padStart(7, '0')}`;
  const ranges: string[] = [];
  for (let i = 0; i < keys; i += 1000) ranges.push(`${etcdBinary('etcdctl', cp.etcdVersion)} --command-timeout=120s get ${key(i)} ${key(i + 1000)}`);
  return execFileSync('bash', ['-o', 'pipefail', '-c', `{ ${ranges.join('; ')}; } | sha256sum`], {
    env: { ...cp.etcdctlEnv('cp-1'), PATH: '/usr/bin:/bin' }, encoding: 'utf8', maxBuffer: 1024 * 1024,
  }).trim();
}

/** Synchronous etcdctl against cp-1 (fill's size checks). */
function execEtcdctl(cp: Awaited<ReturnType<typeof startControlPlane>>, args: string[]): string {
  return execFileSync(etcdBinary('etcdctl', cp.etcdVersion), args, { env: { ...cp.etcdctlEnv('cp-1'), PATH: '/usr/bin:/bin' }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

main().then((code) => {
  process.exitCode = code;
}, (e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exitCode = 1;
});
