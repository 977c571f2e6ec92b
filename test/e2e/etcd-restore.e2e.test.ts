/**
 * The restore runbook, run as written. Three kubeadm-style control-plane nodes (real etcd members
 * of the harness's etcd version, 3.5.30, with TLS on 127.0.0.11-13:2379/2380, static-pod manifests and a kubelet that honours
 * them: test/support/etcd-cluster.ts) are backed up by the rendered EtcdSnapshotBackup pod to
 * s3rver over HTTPS; then quorum is lost. Every shell block of the rendered runbook's
 * "Fetch the snapshot" and "Quorum lost" scenario runs where its `# on:` line says (the
 * workstation, or each node in turn) with nothing filled in by the test: the node addresses
 * are inputs, the keys are the environment the Keys section names. The cluster must come back
 * with every key and value of the snapshot, one healthy member per node. The same members as an
 * external etcd under systemd: its "Quorum lost" steps, and its "One member lost" steps, which
 * remove a rebuilt host's member, add it back and start it empty through a systemd drop-in.
 */
import { execFileSync } from 'child_process';
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
import { DEFAULT_ETCD_TEST_VERSION } from '../support/tools';

const PASSWORD = 'restore at 3 a.m.';
const NODES = ['cp-1', 'cp-2', 'cp-3'];

let work: string;
let cp: ControlPlaneHarness;
let s3: S3Server;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-restore-e2e-'));
  s3 = await startS3({ bucket: 'backups' });
  // The members run the harness's etcd (3.5.30; no 3.6 binaries here): the backup is told so
  // (etcdVersion below), each snapshot records it, and the nodes get that version's tools from
  // the release as the runbook says.
  cp = await startControlPlane({ nodes: NODES, etcdVersion: DEFAULT_ETCD_TEST_VERSION });
  // What a kubeadm node also has in its manifests: the runbook moves them too.
  for (const node of NODES) {
    for (const component of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      fs.writeFileSync(path.join(path.dirname(cp.manifestPath(node)), `${component}.yaml`),
        `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${component}\nspec:\n  containers:\n  - name: ${component}\n    command: [${component}]\n`);
    }
  }
}, 120_000);

afterAll(async () => {
  await cp?.stop();
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const SECRETS = () => s3Secrets(s3, PASSWORD);
const KEYS = () => s3Keys(s3, PASSWORD);

function backupConstruct(): { manifests: any[]; backup: EtcdSnapshotBackup } {
  const chart = Testing.chart();
  const backup = new EtcdSnapshotBackup(chart, 'etcd', {
    clusterName: 'prod',
    // The test's S3 server is on 127.0.0.1; one snapshot is all this test needs.
    acknowledge: { inClusterRepository: true, shortRetention: true },
    source: EtcdSource.kubeadm(),
    controlPlaneNodes: NODES,
    memberAddresses: Object.fromEntries(NODES.map((n) => [n, cp.ip(n)])),
    // The members' version (the harness's default etcd): the runbook restores with its tools.
    etcdVersion: EtcdVersion.of(DEFAULT_ETCD_TEST_VERSION),
    repository: s3Repository(s3),
    retention: Retention.keepLast(3),
  });
  return { manifests: Testing.synth(chart), backup };
}

/** The members as an external etcd: the backup reads them with certificates from a Secret. */
function externalBackup(): { manifests: any[]; backup: EtcdSnapshotBackup } {
  const chart = Testing.chart();
  const backup = new EtcdSnapshotBackup(chart, 'etcd', {
    clusterName: 'legacy',
    acknowledge: { inClusterRepository: true, shortRetention: true },
    source: EtcdSource.external({ endpoint: `https://${cp.ip('cp-1')}:2379`, tlsSecret: 'etcd-client' }),
    // The members and their addresses; the data dir is the unit's default, /var/lib/etcd.
    memberAddresses: Object.fromEntries(NODES.map((n) => [n, cp.ip(n)])),
    etcdVersion: EtcdVersion.of(DEFAULT_ETCD_TEST_VERSION),
    repository: s3Repository(s3),
    retention: Retention.keepLast(3),
  });
  return { manifests: Testing.synth(chart), backup };
}

function runner(): RunbookRunner {
  return new RunbookRunner({ cp, workDir: work, keys: KEYS(), caCertFile: s3.caCertFile, timeoutMs: 120_000 });
}

/** The rendered etcd backup pod, on cp-1. */
async function runEtcdBackup(manifests: any[], backup: EtcdSnapshotBackup): Promise<void> {
  const result = await runPod({
    manifests,
    name: backup.cronJob.name,
    images: { 'registry.k8s.io/etcd': ETCD_IMAGE_PROFILE, [BackupDefaults.RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE },
    hostPaths: { '/etc/kubernetes': path.join(cp.nodeRoot('cp-1'), 'etc/kubernetes') },
    secrets: SECRETS(),
    fieldRefs: { 'status.hostIP': cp.ip('cp-1'), 'spec.nodeName': 'cp-1' },
    timeoutMs: 90_000,
  });
  result.cleanup();
  if (!result.succeeded) throw new Error(result.containers.map((c) => `--- ${c.name}\n${c.stdout}\n${c.stderr}`).join('\n'));
}

/** What else a kubeadm node holds that its config backup requires: the cluster CA and SA key, the kubelet's files. */
function kubeadmNodeFiles(node: string): void {
  const root = cp.nodeRoot(node);
  const write = (rel: string, content: string, mode: number) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content, { mode });
  };
  write('etc/kubernetes/pki/ca.crt', `cluster CA of ${node}\n`, 0o644);
  write('etc/kubernetes/pki/sa.key', `service-account key of ${node}\n`, 0o600);
  write('var/lib/kubelet/config.yaml', 'kind: KubeletConfiguration\n', 0o644);
  write('var/lib/kubelet/kubeadm-flags.env', `KUBELET_KUBEADM_ARGS="--node-ip=${cp.ip(node)}"\n`, 0o644);
  write('var/lib/kubelet/pki/kubelet-client-2026-12-01.pem', `kubelet client of ${node}\n`, 0o600);
  fs.symlinkSync('/var/lib/kubelet/pki/kubelet-client-2026-12-01.pem', path.join(root, 'var/lib/kubelet/pki/kubelet-client-current.pem'));
}

/** Every file of the node's config paths, with mode and content (or link target). */
function nodeConfig(node: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = path.join(cp.nodeRoot(node), rel);
    const st = fs.lstatSync(abs);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(abs)) walk(path.join(rel, e));
    } else {
      out.set(rel, `${(st.mode % 0o10000).toString(8)} ${st.isSymbolicLink() ? `-> ${fs.readlinkSync(abs)}` : fs.readFileSync(abs, 'utf8')}`);
    }
  };
  for (const rel of ['etc/kubernetes', 'var/lib/kubelet']) walk(rel);
  return out;
}

describe('the etcd restore runbook, run as written on three kubeadm nodes', () => {
  test('GIVEN a backup by the rendered job and quorum lost WHEN the "Quorum lost" steps run THEN every member is back with every key and value', async () => {
    await cp.loadKeys(400, { prefix: '/registry/fixtures/key-' });
    await cp.put('/registry/secrets/kube-system/bootstrap-token', 'value with spaces, "quotes" and \\backslashes\\');
    const { manifests, backup } = backupConstruct();
    await runEtcdBackup(manifests, backup);
    const backedUp = await cp.getAll('/');

    // After the backup: a write the restore must not bring back, then two members lose their data.
    await cp.put('/registry/after-the-backup', 'lost');
    for (const node of ['cp-2', 'cp-3']) {
      await cp.loseData(node);
    }

    const runbook = backup.restoreSection();
    const t0 = Date.now();
    const run = runner();
    await run.runSection(runbook, 'Fetch the snapshot');
    await run.runSection(runbook, 'Quorum lost, or the whole cluster lost');
    const health = await cp.waitHealthy(60_000, { members: NODES.length });
    const seconds = (Date.now() - t0) / 1000;

    expect(health.map((h) => [h.node, h.healthy])).toEqual(NODES.map((n) => [n, true]));
    const members = await cp.memberList();
    expect(members.map((m) => [m.name, m.peerUrls]).sort()).toEqual(NODES.map((n) => [n, [`https://${cp.ip(n)}:2380`]]));
    const restored = await cp.getAll('/');
    expect(restored.get('/registry/after-the-backup')).toBeUndefined();
    expect(restored).toEqual(backedUp);
    // The other control-plane static pods are back where the kubelet reads them.
    for (const node of NODES) {
      expect(fs.readdirSync(path.dirname(cp.manifestPath(node))).sort())
        .toEqual(['etcd.yaml', 'kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml']);
    }
    console.log(`restore to a healthy 3-member cluster: ${seconds.toFixed(1)} s (${backedUp.size} keys)`);
  });

  test('GIVEN config and etcd backups by the rendered jobs WHEN every node is rebuilt from nothing THEN the config steps, then "Quorum lost", bring the cluster back', async () => {
    for (const node of NODES) kubeadmNodeFiles(node);
    await cp.put('/registry/configmaps/default/rebuilt', 'from the rebuild test');
    const chart = Testing.chart();
    const config = new ControlPlaneConfigBackup(chart, 'config', {
      clusterName: 'prod',
      source: EtcdSource.kubeadm(),
      nodes: NODES,
      repository: s3Repository(s3),
      acknowledge: { inClusterRepository: true },
    });
    const configManifests = Testing.synth(chart);
    for (const [k, node] of NODES.entries()) {
      const result = await runPod({
        manifests: configManifests,
        name: config.cronJobs[k].name,
        images: { [BackupDefaults.RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE },
        hostPaths: {
          '/etc/kubernetes': path.join(cp.nodeRoot(node), 'etc/kubernetes'),
          '/var/lib/kubelet': path.join(cp.nodeRoot(node), 'var/lib/kubelet'),
        },
        secrets: SECRETS(),
        fieldRefs: { 'spec.nodeName': node, 'status.hostIP': cp.ip(node) },
        timeoutMs: 60_000,
      });
      result.cleanup();
      if (!result.succeeded) throw new Error(result.containers.map((c) => `--- ${c.name}\n${c.stdout}\n${c.stderr}`).join('\n'));
    }
    const { manifests, backup } = backupConstruct();
    await runEtcdBackup(manifests, backup);
    const backedUp = await cp.getAll('/');
    const configs = new Map(NODES.map((n) => [n, nodeConfig(n)]));

    // Every node lost: no manifests (the kubelet stops etcd), no PKI, no kubelet files, no data.
    for (const node of NODES) {
      fs.rmSync(path.join(cp.nodeRoot(node), 'etc/kubernetes'), { recursive: true, force: true });
      await cp.waitStopped(node);
      for (const rel of ['var/lib/etcd', 'var/lib/kubelet', 'tmp']) fs.rmSync(path.join(cp.nodeRoot(node), rel), { recursive: true, force: true });
      fs.mkdirSync(path.join(cp.nodeRoot(node), 'tmp'), { mode: 0o1777 });
    }

    // Rebuilt nodes: Kubernetes reinstalled, the kubelet kept stopped (as the runbook's config step says).
    for (const node of NODES) {
      const r = await cp.runOnNode(node, 'systemctl stop kubelet');
      expect(r.code).toBe(0);
    }
    // The runbook as a whole: the config steps first (each node's own), then etcd.
    const chart2 = Testing.chart();
    const runbookConfig = new ControlPlaneConfigBackup(chart2, 'config', {
      clusterName: 'prod', source: EtcdSource.kubeadm(), nodes: NODES, repository: s3Repository(s3),
    }).restoreSection();
    const run = runner();
    await run.runSection(runbookConfig, 'Control-plane config, on each rebuilt control-plane node');
    for (const node of NODES) expect({ node, config: nodeConfig(node) }).toEqual({ node, config: configs.get(node) });
    const runbook = backup.restoreSection();
    await run.runSection(runbook, 'Fetch the snapshot');
    await run.runSection(runbook, 'Quorum lost, or the whole cluster lost');
    await cp.waitHealthy(60_000, { members: NODES.length });
    expect(await cp.getAll('/')).toEqual(backedUp);
    expect(backedUp.get('/registry/configmaps/default/rebuilt')).toBe('from the rebuild test');
  });

  test('GIVEN one node lost for good and quorum intact WHEN the "One control-plane node lost" removal step runs THEN the others serve without it', async () => {
    await cp.waitHealthy(60_000, { members: NODES.length });
    const manifest = cp.manifestPath('cp-3');
    const away = path.join(cp.nodeRoot('cp-3'), 'etcd.yaml.away');
    fs.renameSync(manifest, away);
    await cp.waitStopped('cp-3');
    const { backup } = backupConstruct();
    const section = backup.restoreSection();
    expect(section).toContain("LOST='<lost-node>'");
    // The node to remove is the one placeholder this step names; the join steps need kubeadm.
    const run = new RunbookRunner({ cp, workDir: work, keys: KEYS(), placeholders: { '<lost-node>': 'cp-3' }, timeoutMs: 120_000 });
    // A healthy kubeadm node has no etcd tools (etcd runs from its image): the quorum restore
    // above installed them on cp-1, so take them away; the step must bring etcdctl itself.
    const tools = path.join(cp.nodeRoot('cp-1'), 'usr/local/bin');
    for (const t of ['etcdctl', 'etcdutl']) fs.rmSync(path.join(tools, t), { force: true });
    await run.runSection(section, 'One control-plane node lost', [0]);
    expect(fs.readdirSync(tools).sort()).toEqual(['etcdctl']);
    const members = await cp.memberList();
    expect(members.map((m) => m.name).sort()).toEqual(['cp-1', 'cp-2']);
    await cp.waitHealthy(30_000, { nodes: ['cp-1', 'cp-2'], members: 2 });
    fs.renameSync(away, manifest);
  });

  test('GIVEN an external etcd (members under systemd) backed up with certificates from a Secret WHEN its "Quorum lost" steps run THEN every member is back', async () => {
    const { manifests, backup } = externalBackup();
    // cp-3's member was removed by the test before (its etcd now fails to start): the snapshot
    // comes from what cp-1 and cp-2 serve, and the restore makes three members of it again.
    const result = await runPod({
      manifests,
      name: backup.cronJob.name,
      images: { 'registry.k8s.io/etcd': ETCD_IMAGE_PROFILE, [BackupDefaults.RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE },
      secrets: {
        ...SECRETS(),
        'etcd-client': { 'ca.crt': fs.readFileSync(cp.pki.caCert), 'tls.crt': fs.readFileSync(cp.pki.clientCert), 'tls.key': fs.readFileSync(cp.pki.clientKey) },
      },
      fieldRefs: { 'spec.nodeName': 'worker-1', 'status.hostIP': '127.0.0.1' },
      timeoutMs: 90_000,
    });
    result.cleanup();
    if (!result.succeeded) throw new Error(result.containers.map((c) => `--- ${c.name}\n${c.stdout}\n${c.stderr}`).join('\n'));
    const backedUp = await cp.getAll('/', { node: 'cp-1' });
    // Quorum lost: two members' data gone.
    for (const node of ['cp-1', 'cp-2']) fs.rmSync(cp.dataDir(node), { recursive: true, force: true });

    const runbook = backup.restoreSection();
    expect(runbook).toContain('### Quorum lost, or the whole etcd cluster lost');
    const run = runner();
    await run.runSection(runbook, 'Fetch the snapshot');
    await run.runSection(runbook, 'Quorum lost, or the whole etcd cluster lost');
    await cp.waitHealthy(60_000, { members: NODES.length });
    expect(await cp.getAll('/')).toEqual(backedUp);
    // Owned by the unit's user, as etcd's systemd unit runs it.
    for (const node of NODES) expect(fs.statSync(cp.dataDir(node)).uid).toBe(Number(execFileSync('id', ['-u', 'etcd'], { encoding: 'utf8' }).trim()));
  });
});

describe('the external etcd "One member lost" steps, run as written', () => {
  test('GIVEN a member whose host was rebuilt (unit stopped, no data) WHEN the steps run with the placeholders they name THEN it rejoins empty and serves every key', async () => {
    await cp.waitHealthy(60_000, { members: NODES.length });
    await cp.put('/registry/configmaps/default/before-the-loss', 'replicated to the new member');
    const expected = await cp.getAll('/', { node: 'cp-1' });
    // The host of cp-3 rebuilt: etcd installed, not started, its data dir gone.
    expect((await cp.runOnNode('cp-3', 'systemctl stop etcd')).code).toBe(0);
    fs.rmSync(cp.dataDir('cp-3'), { recursive: true, force: true });
    const oldId = (await cp.memberList()).find((m) => m.name === 'cp-3')?.id;

    const section = externalBackup().backup.restoreSection();
    const run = new RunbookRunner({
      cp,
      workDir: work,
      keys: KEYS(),
      timeoutMs: 120_000,
      // What the runbook names: the lost member, and the client certificates on the members' hosts.
      placeholders: {
        '<lost-member>': 'cp-3',
        '<etcd-ca.crt>': '/etc/kubernetes/pki/etcd/ca.crt',
        '<etcd-client.crt>': '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
        '<etcd-client.key>': '/etc/kubernetes/pki/etcd/healthcheck-client.key',
      },
    });
    await run.runSection(section, 'One member lost');

    const members = await cp.memberList();
    expect(members.map((m) => [m.name, m.peerUrls]).sort()).toEqual(NODES.map((n) => [n, [`https://${cp.ip(n)}:2380`]]));
    expect(members.find((m) => m.name === 'cp-3')?.id).not.toEqual(oldId);
    await cp.waitHealthy(30_000, { members: NODES.length });
    // Served by the new member itself: it replicated everything.
    expect(await cp.getAll('/', { node: 'cp-3' })).toEqual(expected);
    // The drop-in's first-start settings are gone; the data dir belongs to the unit's user.
    expect(fs.statSync(cp.dataDir('cp-3')).uid).toBe(Number(execFileSync('id', ['-u', 'etcd'], { encoding: 'utf8' }).trim()));
  });
});
