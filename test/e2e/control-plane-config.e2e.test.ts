/* eslint-disable no-bitwise */ // file modes are bit sets
/**
 * End-to-end: the synthesized ControlPlaneConfigBackup CronJobs (one per control-plane node), run
 * unchanged by the pod runner (restic 0.14 standing in for the restic image, busybox sh) against
 * s3rver over HTTPS on 127.0.0.1, each node's host paths mapped to that node's own kubeadm-like
 * fixture tree. What a node's job uploads must restore byte for byte, with type, mode, owner and
 * symlink targets, from that node's own repository; one node's pruning must not touch another's.
 */
import { execFileSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Testing } from 'cdk8s';
import { BackupRepository, CaCertificate, ControlPlaneConfigBackup, Credentials, Encryption, EtcdSource, Retention, BackupDefaults } from '../../src';
import { RESTIC_IMAGE_PROFILE } from '../support/images';
import { ensureCa, makeEtcdPki, makeServerCert } from '../support/pki';
import { PodResult, runPod } from '../support/pod-runner';
import { cleanEnv } from '../support/processes';
import { ResticOptions, ResticSnapshot, resticOk, snapshots } from '../support/restic';
import { S3Server, startS3 } from '../support/s3';
import { summaryOf } from '../support/summary';

const PASSWORD = 'correct horse battery staple';
const CLUSTER = 'e2e-cp';
const TAG = 'control-plane-config';
/** The healthy control-plane nodes; cp-3 runs a kubeadm < 1.29 layout (no super-admin.conf). */
const NODES = ['cp-1', 'cp-2', 'cp-3'];
/** A fourth control-plane node whose /etc/kubernetes/pki/sa.key is missing. */
const BROKEN_NODE = 'cp-4';
const ENCRYPTION_CONFIG = '/etc/kubernetes/enc/enc.yaml';
/** A 0600 file (relative to /etc/kubernetes) owned by another user: only DAC_READ_SEARCH lets root read it. */
const FOREIGN_FILE = 'webhook/authn-webhook.kubeconfig';
const FOREIGN_UID = 1234;
const OPENSSL = '/usr/bin/openssl';

let work: string;
let s3: S3Server | undefined;
/** node -> the node's root file system (holds etc/kubernetes and var/lib/kubelet). */
const nodeRoots: Record<string, string> = {};

// ---------------------------------------------------------------------------
// Fixture: kubeadm-like control-plane nodes
// ---------------------------------------------------------------------------

interface ClusterPki {
  readonly ca: { cert: string; key: string };
  readonly frontProxyCa: { cert: string; key: string };
  readonly etcdCa: { cert: string; key: string };
  readonly saKey: string;
  readonly saPub: string;
  readonly encryptionKey: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync(OPENSSL, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`openssl ${args.join(' ')}: ${(e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message}`);
  }
}

/** What kubeadm shares between control-plane nodes (`kubeadm join --control-plane` copies it). */
function makeClusterPki(dir: string): ClusterPki {
  const saKey = path.join(dir, 'sa.key');
  const saPub = path.join(dir, 'sa.pub');
  fs.mkdirSync(dir, { recursive: true });
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', saKey]);
  openssl(['pkey', '-in', saKey, '-pubout', '-out', saPub]);
  return {
    ca: ensureCa(path.join(dir, 'ca'), 'kubernetes'),
    frontProxyCa: ensureCa(path.join(dir, 'front-proxy'), 'front-proxy-ca'),
    etcdCa: ensureCa(path.join(dir, 'etcd'), 'etcd-ca'),
    saKey,
    saPub,
    encryptionKey: randomBytes(32).toString('base64'),
  };
}

function writeFile(file: string, content: string | Buffer, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
}

function copy(from: string, to: string, mode: number): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  fs.chmodSync(to, mode);
}

function mkdir(dir: string, mode: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, mode);
}

function kubeconfig(node: string, user: string): string {
  return [
    'apiVersion: v1', 'kind: Config',
    'clusters:', `- name: ${CLUSTER}`, `  cluster: { server: "https://${node}.example.internal:6443" }`,
    'users:', `- name: ${user}`, `  user: { token: "${randomBytes(12).toString('hex')}" }`,
    `current-context: ${user}@${CLUSTER}`, '',
  ].join('\n');
}

/**
 * A control-plane node's root file system as kubeadm leaves it (etc/kubernetes, var/lib/kubelet),
 * with per-node certificates, manifests and kubeconfigs, plus the corner cases the backup must
 * keep: a file of another owner (0600), a relative and an absolute symlink, an empty directory.
 */
function makeNode(root: string, node: string, index: number, cluster: ClusterPki, o: { superAdmin: boolean; saKey: boolean }): void {
  const k = path.join(root, 'etc/kubernetes');
  const pki = path.join(k, 'pki');
  mkdir(pki, 0o755);
  copy(cluster.ca.cert, path.join(pki, 'ca.crt'), 0o644);
  copy(cluster.ca.key, path.join(pki, 'ca.key'), 0o600);
  copy(cluster.saPub, path.join(pki, 'sa.pub'), 0o644);
  if (o.saKey) copy(cluster.saKey, path.join(pki, 'sa.key'), 0o600);
  copy(cluster.frontProxyCa.cert, path.join(pki, 'front-proxy-ca.crt'), 0o644);
  copy(cluster.frontProxyCa.key, path.join(pki, 'front-proxy-ca.key'), 0o600);
  // This node's own leaf certificates, signed by the cluster CAs (ca.crt/ca.key next to them).
  makeServerCert(pki, 'apiserver');
  makeServerCert(pki, 'apiserver-kubelet-client');
  const frontProxy = path.join(work, `front-proxy-${node}`);
  copy(cluster.frontProxyCa.cert, path.join(frontProxy, 'ca.crt'), 0o644);
  copy(cluster.frontProxyCa.key, path.join(frontProxy, 'ca.key'), 0o600);
  const client = makeServerCert(frontProxy, 'front-proxy-client');
  copy(client.cert, path.join(pki, 'front-proxy-client.crt'), 0o644);
  copy(client.key, path.join(pki, 'front-proxy-client.key'), 0o600);
  const etcdPki = path.join(pki, 'etcd');
  mkdir(etcdPki, 0o755);
  copy(cluster.etcdCa.cert, path.join(etcdPki, 'ca.crt'), 0o644);
  copy(cluster.etcdCa.key, path.join(etcdPki, 'ca.key'), 0o600);
  makeEtcdPki(etcdPki); // server, peer, healthcheck-client of this node (reuses the etcd CA)

  const ip = `10.0.0.${10 + index}`;
  const manifests = path.join(k, 'manifests');
  mkdir(manifests, 0o700);
  const pod = (name: string, flags: string[]) => [
    'apiVersion: v1', 'kind: Pod', 'metadata:', `  name: ${name}-${node}`, '  namespace: kube-system', 'spec:',
    '  containers:', `  - name: ${name}`, '    command:', `    - ${name}`, ...flags.map((f) => `    - ${f}`), '',
  ].join('\n');
  writeFile(path.join(manifests, 'kube-apiserver.yaml'), pod('kube-apiserver', [
    `--advertise-address=${ip}`, `--encryption-provider-config=${ENCRYPTION_CONFIG}`,
    '--service-account-key-file=/etc/kubernetes/pki/sa.pub', '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt',
  ]), 0o600);
  writeFile(path.join(manifests, 'kube-controller-manager.yaml'), pod('kube-controller-manager', ['--kubeconfig=/etc/kubernetes/controller-manager.conf']), 0o600);
  writeFile(path.join(manifests, 'kube-scheduler.yaml'), pod('kube-scheduler', ['--kubeconfig=/etc/kubernetes/scheduler.conf']), 0o600);
  writeFile(path.join(manifests, 'etcd.yaml'), pod('etcd', [`--name=${node}`, `--listen-client-urls=https://${ip}:2379`]), 0o600);

  for (const conf of ['admin', 'controller-manager', 'scheduler', 'kubelet']) {
    writeFile(path.join(k, `${conf}.conf`), kubeconfig(node, `system:${conf}`), 0o600);
  }
  if (o.superAdmin) writeFile(path.join(k, 'super-admin.conf'), kubeconfig(node, 'kubernetes-super-admin'), 0o600);

  mkdir(path.join(k, 'enc'), 0o700);
  writeFile(path.join(root, 'etc/kubernetes/enc/enc.yaml'), [
    'apiVersion: apiserver.config.k8s.io/v1', 'kind: EncryptionConfiguration', 'resources:', '- resources: [secrets]',
    '  providers:', '  - aescbc:', '      keys:', '      - name: key1', `        secret: ${cluster.encryptionKey}`, '  - identity: {}', '',
  ].join('\n'), 0o600);

  const foreign = path.join(k, FOREIGN_FILE);
  mkdir(path.dirname(foreign), 0o755);
  writeFile(foreign, kubeconfig(node, 'authn-webhook'), 0o600);
  fs.chownSync(foreign, FOREIGN_UID, FOREIGN_UID);

  fs.symlinkSync('apiserver.crt', path.join(pki, 'apiserver-current.crt'));
  fs.symlinkSync('/etc/kubernetes/pki/ca.crt', path.join(k, 'kubelet-ca.crt'));
  mkdir(path.join(k, 'tmp'), 0o700); // empty, as kubeadm leaves it
  fs.chmodSync(k, 0o755);

  const kubelet = path.join(root, 'var/lib/kubelet');
  mkdir(kubelet, 0o700);
  writeFile(path.join(kubelet, 'config.yaml'), [
    'apiVersion: kubelet.config.k8s.io/v1beta1', 'kind: KubeletConfiguration', `# node ${node}`,
    `address: ${ip}`, 'staticPodPath: /etc/kubernetes/manifests', '',
  ].join('\n'), 0o644);
  writeFile(path.join(kubelet, 'kubeadm-flags.env'), `KUBELET_KUBEADM_ARGS="--node-ip=${ip} --pod-infra-container-image=registry.k8s.io/pause:3.9"\n`, 0o644);
  // The kubelet's rotated client certificate, as the kubelet keeps it: a dated PEM (0600) and
  // the -current symlink kubelet.conf points at.
  const kubeletPki = path.join(kubelet, 'pki');
  mkdir(kubeletPki, 0o755);
  writeFile(path.join(kubeletPki, 'kubelet-client-2026-11-01-10-00-00.pem'), `-----BEGIN CERTIFICATE-----\n${node}\n-----END CERTIFICATE-----\n`, 0o600);
  fs.symlinkSync('/var/lib/kubelet/pki/kubelet-client-2026-11-01-10-00-00.pem', path.join(kubeletPki, 'kubelet-client-current.pem'));
}

// ---------------------------------------------------------------------------
// Tree comparison
// ---------------------------------------------------------------------------

interface Entry {
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  /** permission bits (incl. setuid/setgid/sticky), octal */
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  readonly size?: number;
  readonly sha256?: string;
  readonly target?: string;
}

/** Every entry below (and including) `root`, by relative path ('.' = root), from lstat: timestamps ignored. */
function describeTree(root: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const visit = (rel: string) => {
    const abs = rel === '.' ? root : path.join(root, rel);
    const st = fs.lstatSync(abs);
    const base = { mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) {
      out[rel] = { type: 'symlink', ...base, target: fs.readlinkSync(abs) };
    } else if (st.isFile()) {
      const content = fs.readFileSync(abs);
      out[rel] = { type: 'file', ...base, size: content.length, sha256: createHash('sha256').update(content).digest('hex') };
    } else if (st.isDirectory()) {
      out[rel] = { type: 'dir', ...base };
      for (const name of fs.readdirSync(abs).sort()) visit(rel === '.' ? name : path.join(rel, name));
    } else {
      out[rel] = { type: 'other', ...base };
    }
  };
  visit('.');
  return out;
}

/** Relative paths of regular files whose bytes differ (the sha256 in `describeTree` aside, a plain compare). */
function differingFiles(a: string, b: string, tree: Record<string, Entry>): string[] {
  return Object.entries(tree)
    .filter(([, e]) => e.type === 'file')
    .map(([rel]) => rel)
    .filter((rel) => {
      const fa = rel === '.' ? a : path.join(a, rel);
      const fb = rel === '.' ? b : path.join(b, rel);
      return !fs.existsSync(fb) || !fs.readFileSync(fa).equals(fs.readFileSync(fb));
    });
}

// ---------------------------------------------------------------------------
// Synthesis, pods and repositories
// ---------------------------------------------------------------------------

interface Synthesized {
  readonly manifests: any[];
  readonly backup: ControlPlaneConfigBackup;
}

/** The cluster's chart: every control-plane node (incl. the broken one), the same repository. */
function synth(retention?: Retention): Synthesized {
  const chart = Testing.chart();
  const backup = new ControlPlaneConfigBackup(chart, 'config', {
    clusterName: CLUSTER,
    // The test's S3 server is on 127.0.0.1 and its retentions are short by design.
    acknowledge: { inClusterRepository: true, shortRetention: true },
    source: EtcdSource.kubeadm(),
    nodes: [...NODES, BROKEN_NODE],
    encryptionProviderConfig: ENCRYPTION_CONFIG,
    repository: BackupRepository.s3({
      bucket: 'backups',
      prefix: 'k8s',
      endpoint: s3!.endpoint,
      caCert: CaCertificate.fromSecret({ name: 'storage-ca', key: 'ca.crt' }),
      credentials: Credentials.fromSecret('backup-s3'),
      encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
    }),
    retention,
  });
  const manifests = Testing.synth(chart);
  fs.rmSync((chart.node.root as App).outdir, { recursive: true, force: true }); // Testing.app()'s temp outdir
  return { manifests, backup };
}

function jobName(s: Synthesized, node: string): string {
  return s.backup.cronJobs[[...NODES, BROKEN_NODE].indexOf(node)].name;
}

/** Runs `node`'s CronJob on `node` (its own fixture tree as host paths); the pod dir is removed right away. */
async function runJob(manifests: any[], name: string, node: string): Promise<PodResult> {
  const result = await runPod({
    manifests,
    name,
    images: { [BackupDefaults.RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE },
    hostPaths: {
      '/etc/kubernetes': path.join(nodeRoots[node], 'etc/kubernetes'),
      '/var/lib/kubelet': path.join(nodeRoots[node], 'var/lib/kubelet'),
    },
    secrets: {
      'backup-repository': { password: PASSWORD },
      'backup-s3': { AWS_ACCESS_KEY_ID: s3!.accessKeyId, AWS_SECRET_ACCESS_KEY: s3!.secretAccessKey },
      'storage-ca': { 'ca.crt': fs.readFileSync(s3!.caCertFile) },
    },
    fieldRefs: { 'spec.nodeName': node, 'status.hostIP': '127.0.0.1' },
    timeoutMs: 60_000,
  });
  result.cleanup(); // logs stay in `result`
  return result;
}

function explain(result: PodResult): string {
  return [`pod ${result.podName}: succeeded=${result.succeeded} ${result.reason ?? ''}`, ...result.warnings.map((w) => `warning: ${w}`),
    ...result.containers.map((c) => `--- ${c.name} exit=${c.exitCode} ${c.reason ?? ''}\n${c.stdout}\n${c.stderr}`)].join('\n');
}

function expectSucceeded(result: PodResult): void {
  if (!result.succeeded) throw new Error(`expected the pod to succeed\n${explain(result)}`);
}

function expectFailed(result: PodResult): void {
  if (result.succeeded) throw new Error(`expected the pod to fail\n${explain(result)}`);
}

function upload(result: PodResult) {
  const c = result.containers.find((x) => x.name === 'upload');
  if (!c) throw new Error(`no upload container ran\n${explain(result)}`);
  return c;
}

function repoPath(node: string): string {
  return `k8s/${CLUSTER}/config/${node}`;
}

function repo(subPath: string): ResticOptions {
  return { repository: s3!.resticRepository(subPath), password: PASSWORD, s3: s3!, tmpDir: path.join(work, 'restic-tmp') };
}

function nodeSnapshots(node: string): ResticSnapshot[] {
  return snapshots(repo(repoPath(node)), ['--no-lock']);
}

function objects(prefix: string) {
  return s3!.listObjects(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

let mainChart: Synthesized;
let firstRuns: Promise<Record<string, PodResult>> | undefined;

/** GIVEN every healthy node's job ran once with the chart's default retention (shared by the tests, run once). */
function backedUpOnce(): Promise<Record<string, PodResult>> {
  firstRuns ??= (async () => {
    const results = await Promise.all(NODES.map((node) => runJob(mainChart.manifests, jobName(mainChart, node), node)));
    return Object.fromEntries(NODES.map((node, i) => [node, results[i]]));
  })();
  return firstRuns;
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cp-config-e2e-'));
  const cluster = makeClusterPki(path.join(work, 'cluster-pki'));
  [...NODES, BROKEN_NODE].forEach((node, i) => {
    nodeRoots[node] = path.join(work, 'nodes', node);
    makeNode(nodeRoots[node], node, i, cluster, {
      superAdmin: node === 'cp-1' || node === 'cp-2', // kubeadm >= 1.29 only
      saKey: node !== BROKEN_NODE,
    });
  });
  s3 = await startS3({ bucket: 'backups', silent: true });
  mainChart = synth();
});

afterAll(async () => {
  try {
    await s3?.stop();
  } finally {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  }
});

describe('control-plane config backup, end to end', () => {
  test('GIVEN three kubeadm nodes WHEN each node runs its job THEN each restores byte for byte, with modes, owners and symlinks, from its own repository', async () => {
    // GIVEN: the fixture has the corner cases the comparison must cover
    const cp3 = describeTree(path.join(nodeRoots['cp-3'], 'etc/kubernetes'));
    expect(cp3[FOREIGN_FILE]).toMatchObject({ type: 'file', mode: '600', uid: FOREIGN_UID, gid: FOREIGN_UID });
    expect(cp3['pki/apiserver-current.crt']).toMatchObject({ type: 'symlink', target: 'apiserver.crt' });
    expect(cp3['kubelet-ca.crt']).toMatchObject({ type: 'symlink', target: '/etc/kubernetes/pki/ca.crt' });
    expect(cp3.tmp).toMatchObject({ type: 'dir', mode: '700' });
    expect(Object.keys(cp3).filter((p) => p.startsWith('tmp/'))).toEqual([]);
    expect(cp3['super-admin.conf']).toBeUndefined();
    expect(describeTree(path.join(nodeRoots['cp-1'], 'etc/kubernetes'))['super-admin.conf']).toMatchObject({ mode: '600' });
    const apiserverCerts = NODES.map((n) => fs.readFileSync(path.join(nodeRoots[n], 'etc/kubernetes/pki/apiserver.crt'), 'utf8'));
    expect(new Set(apiserverCerts).size).toBe(NODES.length);

    // WHEN
    const results = await backedUpOnce();

    // THEN
    for (const node of NODES) {
      expectSucceeded(results[node]);
      expect(upload(results[node]).stdout).toMatch(/upload: done/);
      expect(mainChart.backup.resticRepositories[node]).toBe(s3!.resticRepository(repoPath(node)));

      const snaps = nodeSnapshots(node);
      // The node's summary line: its own CronJob, its restic host (the node), the snapshot restic lists.
      const summary = summaryOf(upload(results[node]));
      expect(summary).toMatchObject({
        kind: 'control-plane-config',
        cluster: CLUSTER,
        job: jobName(mainChart, node),
        host: node,
        result: 'succeeded',
        snapshotId: snaps[0].id,
        filesChanged: 0,
        retentionRemoved: [],
        metadata: null,
      });
      expect(summary.filesNew).toBe(summary.filesTotal);
      expect(summary.bytesAdded).toBeGreaterThan(0);
      // only this node's snapshot(s) in this node's repository, under the node's name from spec.nodeName
      expect(snaps.map((s) => s.hostname)).toEqual([node]);
      expect(snaps[0].tags).toEqual([TAG]);
      expect([...snaps[0].paths].sort()).toEqual(['/etc/kubernetes', '/var/lib/kubelet/config.yaml', '/var/lib/kubelet/kubeadm-flags.env', '/var/lib/kubelet/pki']);

      const target = path.join(work, 'restore', node);
      resticOk(['restore', 'latest', '--no-lock', '--host', node, '--tag', TAG, '--target', target], repo(repoPath(node)));

      const fixtureK = path.join(nodeRoots[node], 'etc/kubernetes');
      const restoredK = path.join(target, 'etc/kubernetes');
      const expected = describeTree(fixtureK);
      expect({ node, tree: describeTree(restoredK) }).toEqual({ node, tree: expected });
      expect({ node, differing: differingFiles(fixtureK, restoredK, expected) }).toEqual({ node, differing: [] });

      const fixtureKubelet = path.join(nodeRoots[node], 'var/lib/kubelet/config.yaml');
      const restoredKubelet = path.join(target, 'var/lib/kubelet/config.yaml');
      expect({ node, file: describeTree(restoredKubelet) }).toEqual({ node, file: describeTree(fixtureKubelet) });
      expect(fs.readFileSync(restoredKubelet).equals(fs.readFileSync(fixtureKubelet))).toBe(true);
      // The kubelet's client certificate comes back as it was: without it the restored
      // kubelet.conf points at nothing and the node's kubelet cannot start.
      const fixturePki = path.join(nodeRoots[node], 'var/lib/kubelet/pki');
      const restoredPki = path.join(target, 'var/lib/kubelet/pki');
      expect({ node, tree: describeTree(restoredPki) }).toEqual({ node, tree: describeTree(fixturePki) });
      expect(fs.readFileSync(path.join(restoredPki, 'kubelet-client-2026-11-01-10-00-00.pem'), 'utf8')).toContain(node);
    }
  });

  test('GIVEN cp-1 with keep-last 1 WHEN cp-1 runs twice THEN cp-1 keeps 1 snapshot and cp-2, cp-3 and the etcd repository are untouched', async () => {
    // GIVEN: every node backed up once, and an etcd backup repository of the same cluster
    const first = await backedUpOnce();
    for (const node of NODES) expectSucceeded(first[node]);
    const etcdRepo = repo(`k8s/${CLUSTER}/etcd`);
    resticOk(['init'], etcdRepo);
    resticOk(['backup', '--stdin', '--stdin-filename', 'etcd-snapshot.db', '--host', CLUSTER, '--tag', 'etcd-snapshot'], etcdRepo, 'not really an etcd snapshot');
    const etcdObjects = objects(`k8s/${CLUSTER}/etcd`);
    const etcdSnaps = snapshots(etcdRepo, ['--no-lock']).map((s) => s.id);
    expect(etcdSnaps).toHaveLength(1);
    const others = ['cp-2', 'cp-3'].map((node) => ({ node, objects: objects(repoPath(node)), snapshots: nodeSnapshots(node).map((s) => s.id) }));
    for (const o of others) expect(o.snapshots).toHaveLength(1);
    const cp1Before = nodeSnapshots('cp-1');
    expect(cp1Before).toHaveLength(1);

    // WHEN: a chart with keep-last 1 (same cluster, same repository), cp-1's job twice
    const pruning = synth(Retention.keepLast(1));
    const name = jobName(pruning, 'cp-1');
    expect(name).toBe(jobName(mainChart, 'cp-1'));
    const runs = [await runJob(pruning.manifests, name, 'cp-1'), await runJob(pruning.manifests, name, 'cp-1')];

    // THEN
    for (const r of runs) expectSucceeded(r);
    const summaries = runs.map((r) => summaryOf(upload(r)));
    const cp1After = nodeSnapshots('cp-1');
    // Each run removed the one snapshot before it, and says so by id.
    expect(summaries.map((x) => x.retentionRemoved)).toEqual([[cp1Before[0].id], [summaries[0].snapshotId]]);
    expect(summaries[1].snapshotId).toBe(cp1After[0].id);
    // Nothing changed on the node between the runs: restic read no file again and stored next to nothing (the new snapshot's tree).
    for (const x of summaries) {
      expect(x).toMatchObject({ filesNew: 0, filesChanged: 0 });
      expect(x.filesUnmodified).toBe(x.filesTotal);
      expect(x.bytesAdded).toBeLessThan(8192);
    }
    expect(cp1After).toHaveLength(1);
    expect(cp1After[0].hostname).toBe('cp-1');
    expect(cp1After[0].id).not.toBe(cp1Before[0].id);
    expect(Date.parse(cp1After[0].time)).toBeGreaterThan(Date.parse(cp1Before[0].time));
    for (const o of others) {
      expect({ node: o.node, objects: objects(repoPath(o.node)), snapshots: nodeSnapshots(o.node).map((s) => s.id) }).toEqual(o);
    }
    expect(objects(`k8s/${CLUSTER}/etcd`)).toEqual(etcdObjects);
    expect(snapshots(etcdRepo, ['--no-lock']).map((s) => s.id)).toEqual(etcdSnaps);
  });

  test('GIVEN a node without /etc/kubernetes/pki/sa.key WHEN its job runs THEN it fails naming the path and uploads nothing', async () => {
    // GIVEN
    expect(fs.existsSync(path.join(nodeRoots[BROKEN_NODE], 'etc/kubernetes/pki/sa.key'))).toBe(false);
    expect(fs.existsSync(path.join(nodeRoots[BROKEN_NODE], 'etc/kubernetes/pki/ca.crt'))).toBe(true);
    const bucketBefore = s3!.listObjects('');

    // WHEN
    const result = await runJob(mainChart.manifests, jobName(mainChart, BROKEN_NODE), BROKEN_NODE);

    // THEN
    expectFailed(result);
    const c = upload(result);
    expect({ exitCode: c.exitCode, stderr: c.stderr }).toEqual({ exitCode: 1, stderr: expect.stringContaining('/etc/kubernetes/pki/sa.key') });
    expect(c.stderr).toMatch(/required path \/etc\/kubernetes\/pki\/sa\.key does not exist on cp-4/);
    expect(c.stderr).toMatch(/nothing uploaded, nothing pruned/);
    // only sa.key is reported: the other required paths (incl. the encryption config) are there
    expect(c.stderr.match(/required path/g)).toHaveLength(1);
    expect(c.stdout).not.toMatch(/initializing repository/);
    expect(summaryOf(c)).toMatchObject({ kind: 'control-plane-config', host: BROKEN_NODE, result: 'failed', failedStep: 'required-paths', snapshotId: null });
    expect(objects(repoPath(BROKEN_NODE))).toEqual([]);
    expect(s3!.listObjects('')).toEqual(bucketBefore);
  });

  test('GIVEN the job without DAC_READ_SEARCH WHEN it runs THEN restic cannot read the other user\'s 0600 file, the job fails, the incomplete snapshot is removed and nothing is pruned', async () => {
    // GIVEN: cp-3 has a complete backup; its job with keep-last 1 (a forget after the failed
    // backup would remove that backup), minus DAC_READ_SEARCH
    const first = await backedUpOnce();
    expectSucceeded(first['cp-3']);
    const before = nodeSnapshots('cp-3').map((s) => s.id);
    expect(before.length).toBeGreaterThanOrEqual(1);
    const pruning = synth(Retention.keepLast(1));
    const name = jobName(pruning, 'cp-3');
    const manifests = JSON.parse(JSON.stringify(pruning.manifests));
    const cronJob = manifests.find((m: any) => m.kind === 'CronJob' && m.metadata.name === name);
    const container = cronJob.spec.jobTemplate.spec.template.spec.containers.find((c: any) => c.name === 'upload');
    expect(container.securityContext.capabilities).toEqual({ add: ['DAC_READ_SEARCH'], drop: ['ALL'] });
    container.securityContext.capabilities.add = container.securityContext.capabilities.add.filter((c: string) => c !== 'DAC_READ_SEARCH');
    if (container.securityContext.capabilities.add.length === 0) delete container.securityContext.capabilities.add;
    // only the deep copy's cp-3 CronJob is edited
    expect(container.securityContext.capabilities).toEqual({ drop: ['ALL'] });
    const original = pruning.manifests.find((m: any) => m.kind === 'CronJob' && m.metadata.name === name);
    expect(JSON.stringify(original)).toContain('"add":["DAC_READ_SEARCH"]');

    // The webhook kubeconfig was rotated since the last backup (same owner and mode): restic must
    // read it again. (An unchanged file would not be read at all: restic takes its content from
    // the parent snapshot when size, mtime, ctime and inode match, and the job would pass.)
    const foreign = path.join(nodeRoots['cp-3'], 'etc/kubernetes', FOREIGN_FILE);
    fs.writeFileSync(foreign, kubeconfig('cp-3', 'authn-webhook-rotated'));
    expect(describeTree(foreign)['.']).toMatchObject({ type: 'file', mode: '600', uid: FOREIGN_UID, gid: FOREIGN_UID });

    // WHEN
    const result = await runJob(manifests, name, 'cp-3');

    // THEN
    expectFailed(result);
    const c = upload(result);
    expect({ exitCode: c.exitCode, output: c.stdout + c.stderr }).toEqual({
      exitCode: 3,
      output: expect.stringMatching(new RegExp(`/etc/kubernetes/${FOREIGN_FILE.replace(/\./g, '\\.')}: permission denied`)),
    });
    // only the other user's file is unreadable: root still owns (and reads) the rest
    expect(((c.stdout + c.stderr).match(/permission denied/g) ?? []).length).toBe(1);
    expect(c.stdout + c.stderr).not.toMatch(/Applying Policy|remove \d+ snapshots|retention removed|upload: done/);
    // The incomplete snapshot is gone, so the summary names none; the retention never ran.
    expect(summaryOf(c)).toMatchObject({ result: 'failed', failedStep: 'backup', exitCode: 3, snapshotId: null, retentionRemoved: null });
    // restic saved the incomplete snapshot before exiting 3: the job removes it again, so
    // `restore latest` still finds the last complete backup.
    expect(c.stderr).toMatch(/the backup was incomplete \(exit 3, see above\); removed its snapshot [0-9a-f]+; nothing pruned/);
    expect(nodeSnapshots('cp-3').map((s) => s.id)).toEqual(before);
  });
});
