/**
 * The k3s restore, everything around `k3s server --cluster-reset` for real. k3s itself cannot
 * run here; its servers are the control-plane harness's nodes (test/support/etcd-cluster.ts)
 * with k3s's files at k3s's paths, its etcd client certificates at
 * /var/lib/rancher/k3s/server/tls/etcd (copies of the harness's, so the rendered backup pod
 * snapshots the harness's real etcd), a `k3s` unit the systemctl shim records, and a `k3s`
 * command that records how it was called and what the file it was given holds.
 *
 * Proven by running the rendered jobs and the rendered runbook as written: the config backup
 * escrows the server token; on rebuilt servers the config steps bring back the token and every
 * other file byte for byte; the fetch step puts the verified snapshot on every server; the
 * reset runs on the first server only, with that file and the original token; every server is
 * stopped first and started after; a surviving server's stale `server/db` is moved aside so it
 * rejoins. The cluster-reset flags themselves are checked against k3s's docs in
 * test/unit/etcd/distribution-restore.test.ts.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { ControlPlaneConfigBackup, EtcdSnapshotBackup, EtcdSource, EtcdVersion, Retention, BackupDefaults } from '../../src';
import { s3Keys, s3Repository, s3Secrets } from '../support/charts';
import { ControlPlaneHarness, startControlPlane } from '../support/etcd-cluster';
import { ETCD_IMAGE_PROFILE, RESTIC_IMAGE_PROFILE } from '../support/images';
import { runPod } from '../support/pod-runner';
import { RunbookRunner } from '../support/runbook-runner';
import { S3Server, startS3 } from '../support/s3';

const PASSWORD = 'k3s restore';
const NODES = ['server-1', 'server-2', 'server-3'];
const SERVER = '/var/lib/rancher/k3s/server';
/** A k3s secure token: K10<CA hash>::server:<password>. */
const TOKEN = `K10${'3f'.repeat(32)}::server:${'a1b2c3d4'.repeat(4)}`;
/** The k3s command on the servers: records its arguments and the sha256 of the restore path. */
const K3S_SHIM = [
  'set -euo pipefail',
  'printf \'%s\\n\' "$*" >> /root/k3s-calls.log',
  'for a in "$@"; do case "$a" in --cluster-reset-restore-path=*) sha256sum "${a#*=}" | cut -d" " -f1 >> /root/k3s-restore.sha256 ;; esac; done',
  'echo "Managed etcd cluster membership has been reset, restart without --cluster-reset flag now."',
];

let work: string;
let cp: ControlPlaneHarness;
let s3: S3Server;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'rancher-restore-e2e-'));
  s3 = await startS3({ bucket: 'backups' });
  cp = await startControlPlane({ nodes: NODES, units: ['k3s'], shims: { k3s: K3S_SHIM } });
}, 120_000);

afterAll(async () => {
  await cp?.stop();
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** What the jobs' pods read. */
const SECRETS = () => s3Secrets(s3, PASSWORD);

/** What a k3s server's disk holds at the paths the config backup and the restore touch. */
function k3sServerFiles(node: string): void {
  const root = cp.nodeRoot(node);
  const write = (rel: string, content: string | Buffer, mode: number) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content, { mode });
  };
  write(`${SERVER}/token`, `${TOKEN}\n`, 0o600);
  for (const ca of ['server-ca', 'client-ca', 'request-header-ca']) {
    write(`${SERVER}/tls/${ca}.crt`, `${ca} certificate\n`, 0o644);
    write(`${SERVER}/tls/${ca}.key`, `${ca} key of the cluster\n`, 0o600);
  }
  // The etcd client certificates k3s gives its own tools; here the harness's, so the pod reaches its etcd.
  write(`${SERVER}/tls/etcd/server-ca.crt`, fs.readFileSync(cp.pki.caCert), 0o644);
  write(`${SERVER}/tls/etcd/client.crt`, fs.readFileSync(cp.pki.clientCert), 0o644);
  write(`${SERVER}/tls/etcd/client.key`, fs.readFileSync(cp.pki.clientKey), 0o600);
  write(`${SERVER}/cred/passwd`, `${'f'.repeat(32)},admin,admin,system:masters\n`, 0o600);
  write(`${SERVER}/manifests/coredns.yaml`, 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: coredns\n', 0o600);
  write(`${SERVER}/db/etcd/member/snap/db`, `k3s's etcd data on ${node}\n`, 0o600);
  write('/etc/rancher/k3s/config.yaml', `cluster-init: true\nnode-ip: ${cp.ip(node)}\n`, 0o600);
  write('/etc/rancher/k3s/k3s.yaml', 'apiVersion: v1\nkind: Config\n', 0o600);
}

/** Every file under the config paths, with mode and content. */
function serverConfig(node: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = path.join(cp.nodeRoot(node), rel);
    if (!fs.existsSync(abs)) return;
    const st = fs.lstatSync(abs);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(abs)) walk(path.join(rel, e));
    } else {
      out.set(rel, `${(st.mode % 0o10000).toString(8)} ${fs.readFileSync(abs, 'utf8')}`);
    }
  };
  for (const rel of [`${SERVER}/tls`, `${SERVER}/cred`, `${SERVER}/manifests`, `${SERVER}/token`, '/etc/rancher/k3s']) walk(rel);
  return out;
}

async function runJob(manifests: any[], name: string, node: string): Promise<void> {
  const root = cp.nodeRoot(node);
  const result = await runPod({
    manifests,
    name,
    images: { 'registry.k8s.io/etcd': ETCD_IMAGE_PROFILE, [BackupDefaults.RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE },
    hostPaths: { '/var/lib/rancher/k3s': path.join(root, 'var/lib/rancher/k3s'), '/etc/rancher/k3s': path.join(root, 'etc/rancher/k3s') },
    secrets: SECRETS(),
    fieldRefs: { 'spec.nodeName': node, 'status.hostIP': cp.ip(node) },
    timeoutMs: 90_000,
  });
  result.cleanup();
  if (!result.succeeded) throw new Error(result.containers.map((c) => `--- ${c.name}\n${c.stdout}\n${c.stderr}`).join('\n'));
}

describe('the k3s restore runbook, run as written around a recorded k3s', () => {
  test('GIVEN config and etcd backups by the rendered jobs WHEN two servers are rebuilt and the runbook runs THEN the token is back and the reset gets the verified snapshot and the original token', async () => {
    for (const node of NODES) k3sServerFiles(node);
    await cp.loadKeys(200, { prefix: '/registry/fixtures/k3s-' });
    const chart = Testing.chart();
    const source = EtcdSource.k3s({ endpoint: 'https://$(HOST_IP):2379', hostNetwork: false });
    const config = new ControlPlaneConfigBackup(chart, 'config', {
      clusterName: 'edge', source, nodes: NODES, repository: s3Repository(s3, 'k3s'), acknowledge: { inClusterRepository: true },
    });
    const etcd = new EtcdSnapshotBackup(chart, 'etcd', {
      clusterName: 'edge',
      source,
      controlPlaneNodes: NODES,
      memberAddresses: Object.fromEntries(NODES.map((n) => [n, cp.ip(n)])),
      repository: s3Repository(s3, 'k3s'),
      retention: Retention.keepLast(3),
      acknowledge: { inClusterRepository: true, shortRetention: true },
      // The harness's members (k3s 1.37 would embed 3.7.1; no such binary here).
      etcdVersion: EtcdVersion.of(cp.etcdVersion),
    });
    const manifests = Testing.synth(chart);
    for (const [k, node] of NODES.entries()) await runJob(manifests, config.cronJobs[k].name, node);
    await runJob(manifests, etcd.cronJob.name, 'server-1');
    const before = new Map(NODES.map((n) => [n, serverConfig(n)]));
    expect(before.get('server-2')!.get(`${SERVER}/token`)).toBe(`600 ${TOKEN}\n`);

    // server-1 and server-2 lost their disks and were reinstalled (k3s not started); server-3 kept its stale etcd data.
    for (const node of ['server-1', 'server-2']) {
      for (const rel of ['var/lib/rancher', 'etc/rancher']) fs.rmSync(path.join(cp.nodeRoot(node), rel), { recursive: true, force: true });
    }

    const run = new RunbookRunner({ cp, workDir: work, keys: s3Keys(s3, PASSWORD), caCertFile: s3.caCertFile });
    await run.runSection(config.restoreSection(), 'Control-plane config, on each rebuilt control-plane node');
    for (const node of NODES) expect({ node, config: serverConfig(node) }).toEqual({ node, config: before.get(node) });

    const runbook = etcd.restoreSection();
    await run.runSection(runbook, 'Fetch the snapshot');
    const fetched = fs.readFileSync('/tmp/etcd-restore/backup/etcd-snapshot.db');
    for (const node of NODES) expect(fs.readFileSync(path.join(cp.tmpDir(node), 'etcd-snapshot.db')).equals(fetched)).toBe(true);
    await run.runSection(runbook, 'Quorum lost, or the whole cluster lost');

    // The reset: on server-1 only, with the snapshot file the fetch verified and the escrowed token.
    const calls = (node: string) => {
      const log = path.join(cp.nodeRoot(node), 'root/k3s-calls.log');
      return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
    };
    expect(calls('server-1')).toEqual([`server --cluster-reset --cluster-reset-restore-path=/tmp/etcd-snapshot.db --etcd-s3=false --token=${TOKEN}`]);
    expect(calls('server-2')).toEqual([]);
    expect(calls('server-3')).toEqual([]);
    expect(fs.readFileSync(path.join(cp.nodeRoot('server-1'), 'root/k3s-restore.sha256'), 'utf8').trim()).toBe(createHash('sha256').update(fetched).digest('hex'));
    // Every server stopped first, started after; the others rejoin without their old etcd data.
    for (const node of NODES) expect({ node, units: cp.unitLog(node) }).toEqual({ node, units: ['stop k3s', 'start k3s'] });
    const server3 = fs.readdirSync(path.join(cp.nodeRoot('server-3'), SERVER));
    expect(server3).not.toContain('db');
    expect(server3.filter((e) => e.startsWith('db.before-restore.'))).toHaveLength(1);
  });
});
