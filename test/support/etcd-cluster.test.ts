/**
 * Proves the kubeadm-style control-plane harness itself (etcd-cluster.ts): three members on
 * 127.0.<worker>.11-13:2379/2380 become one healthy cluster; the fake kubelets stop and start members
 * as manifests move; a shell run "on a node" sees the node's disk at the literal kubeadm paths
 * and leaves the host alone; a node has no etcd tools on its PATH until a script installs them
 * from etcd's release (the harness's curl serves the test versions' real binaries); a snapshot
 * restored on every node with `etcdutl snapshot restore` brings the cluster back with exactly the
 * snapshot's keys; the static pod's image tag picks the etcd version that runs; stop() leaves
 * nothing behind.
 * The tests share one harness and run in order (each starts from a healthy cluster).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ControlPlaneHarness, etcdImage, etcdReleaseUrl, nodeIp, startControlPlane } from './etcd-cluster';
import { canConnect, cleanEnv, runningProcesses, sleep, waitFor } from './processes';
import { DEFAULT_ETCD_TEST_VERSION, etcdBinary } from './tools';

const NODES = ['cp-1', 'cp-2', 'cp-3'];

const timings: Record<string, number> = {};
async function timed<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[label] = Date.now() - t0;
  }
}

let cp: ControlPlaneHarness;
/** The host's own /var/lib/etcd (Debian's etcd package makes one): inode and entries, to prove no node touched it. */
let hostVarLibEtcd: { ino?: number; entries?: string[] };

function hostVarLibEtcdNow(): { ino?: number; entries?: string[] } {
  const st = fs.statSync('/var/lib/etcd', { throwIfNoEntry: false });
  return { ino: st?.ino, entries: st ? fs.readdirSync('/var/lib/etcd').sort() : undefined };
}

beforeAll(async () => {
  hostVarLibEtcd = hostVarLibEtcdNow();
  cp = await timed('start to healthy', () => startControlPlane());
});

afterAll(async () => {
  await cp?.stop();
  // One line for whoever tunes the harness.
  console.log(`etcd-cluster timings (ms): ${JSON.stringify(timings)}`);
});

/** Where the tests park a node's etcd.yaml while it is out of the manifests dir. */
function parked(node: string): string {
  return path.join(cp.tmpDir(node), 'etcd.yaml');
}

/** Moves a node's etcd.yaml out of (or back into) its manifests dir, as an operator would. */
function moveManifest(node: string, direction: 'out' | 'in'): void {
  if (direction === 'out') {
    fs.renameSync(cp.manifestPath(node), parked(node));
  } else {
    fs.renameSync(parked(node), cp.manifestPath(node));
  }
}

// A test that failed half-way must not leave the next one a stopped member.
beforeEach(() => {
  for (const node of cp?.nodes ?? []) {
    const off = path.join(cp.nodeRoot(node), 'etc/kubernetes/manifests.off');
    if (fs.existsSync(off) && !fs.existsSync(path.dirname(cp.manifestPath(node)))) {
      fs.renameSync(off, path.dirname(cp.manifestPath(node)));
    }
    if (fs.existsSync(parked(node)) && !fs.existsSync(cp.manifestPath(node))) {
      moveManifest(node, 'in');
    }
  }
});

function subjectAltNames(certFile: string): string {
  return execFileSync('/usr/bin/openssl', ['x509', '-in', certFile, '-noout', '-ext', 'subjectAltName'], { env: cleanEnv() }).toString();
}

test('three members on their own IPs and the real ports: healthy, one leader, a write through cp-1 reads back from cp-3', async () => {
  const health = await cp.waitHealthy(10_000);
  expect(health.map((h) => [h.node, h.endpoint])).toEqual(NODES.map((n, i) => [n, `https://${nodeIp(i)}:2379`]));
  expect(health.filter((h) => h.isLeader)).toHaveLength(1);
  expect(new Set(health.map((h) => h.leaderId)).size).toBe(1);
  expect(health.every((h) => h.version === DEFAULT_ETCD_TEST_VERSION)).toBe(true);
  expect(fs.readFileSync(cp.manifestPath('cp-1'), 'utf8')).toContain(`image: ${etcdImage(DEFAULT_ETCD_TEST_VERSION)}`);

  const members = await cp.memberList();
  expect(members.map((m) => [m.name, m.peerUrls, m.clientUrls]).sort()).toEqual(
    NODES.map((n, i) => [n, [`https://${nodeIp(i)}:2380`], [`https://${nodeIp(i)}:2379`]]));
  expect(new Set(members.map((m) => m.id))).toEqual(new Set(health.map((h) => h.memberId)));

  await cp.put('/registry/test/written-on-cp-1', 'hello from cp-1', { node: 'cp-1' });
  await cp.put('/registry/test/dash', '--looks-like-a-flag', { node: 'cp-1' });
  const read = await cp.getAll('/registry/test/', { node: 'cp-3' });
  expect(read).toEqual(new Map([['/registry/test/dash', '--looks-like-a-flag'], ['/registry/test/written-on-cp-1', 'hello from cp-1']]));
});

test('each node has kubeadm\'s files; a script on a node sees them at the literal paths, and the host is untouched', async () => {
  const root = cp.nodeRoot('cp-2');
  for (const f of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'peer.crt', 'peer.key', 'healthcheck-client.crt', 'healthcheck-client.key']) {
    expect(fs.existsSync(path.join(root, 'etc/kubernetes/pki/etcd', f))).toBe(true);
  }
  const sans = subjectAltNames(path.join(root, 'etc/kubernetes/pki/etcd/server.crt'));
  expect(sans).toMatch(new RegExp(`DNS:cp-2, DNS:localhost, IP Address:${nodeIp(1).replace(/\./g, '\\.')}, IP Address:127\\.0\\.0\\.1\\b`));
  const manifest = fs.readFileSync(cp.manifestPath('cp-2'), 'utf8');
  expect(manifest).toContain('- --data-dir=/var/lib/etcd');
  expect(manifest).toContain(`- --initial-cluster=${cp.initialCluster}`);

  const r = await timed('runOnNode', () => cp.runOnNode('cp-2', [
    'hostname',
    'sudo -E id -u',
    'systemctl is-active kubelet',
    'grep -c -- --name=cp-2 /etc/kubernetes/manifests/etcd.yaml',
    'test -d /var/lib/etcd/member && echo data-dir-ok',
    // A kubeadm host: no etcd tools on PATH (the test reaches for the host's by absolute path).
    'command -v etcd etcdctl etcdutl || echo no-etcd-tools',
    `${etcdBinary('etcdctl')} --endpoints=https://${nodeIp(1)}:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt `
      + '--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key '
      + 'get /registry/test/written-on-cp-1 --print-value-only',
    'echo staged > /tmp/from-the-node; pwd; echo "$HOME"',
    'echo oops >&2',
  ].join('\n')));
  expect(r).toMatchObject({ code: 0, stderr: 'oops\n', timedOut: false });
  expect(r.stdout.split('\n')).toEqual(['cp-2', '0', 'active', '1', 'data-dir-ok', 'no-etcd-tools', 'hello from cp-1', '/root', '/root', '']);
  expect(fs.readFileSync(path.join(cp.tmpDir('cp-2'), 'from-the-node'), 'utf8')).toBe('staged\n');

  // -euo pipefail: the first failing command ends the script with its code.
  const failed = await cp.runOnNode('cp-1', 'echo before; false | true; echo not-reached');
  expect(failed).toMatchObject({ code: 1, stdout: 'before\n' });
  expect((await cp.runOnNode('cp-1', 'sleep 30', { timeoutMs: 300 })).timedOut).toBe(true);

  // Nothing of the nodes leaked onto the host.
  expect(fs.existsSync('/etc/kubernetes')).toBe(false);
  expect(fs.existsSync('/tmp/from-the-node')).toBe(false);
  expect(hostVarLibEtcdNow()).toEqual(hostVarLibEtcd);
});

test('moving etcd.yaml out of the manifests dir stops the member; moving it back restarts it with its data', async () => {
  await cp.waitHealthy(10_000);
  const pidBefore = cp.memberPid('cp-2');
  moveManifest('cp-2', 'out');
  await timed('member stop', () => cp.waitStopped('cp-2'));
  expect(cp.events('cp-2').at(-1)).toMatch(/stopped etcd .*no etcd static pod/);
  const health = await cp.health();
  expect(health.find((h) => h.node === 'cp-2')).toMatchObject({
    healthy: false,
    error: `nothing listens on ${nodeIp(1)}:2379`,
  });
  // Two of three still have quorum and take writes.
  await cp.waitHealthy(10_000, { nodes: ['cp-1', 'cp-3'] });
  await cp.put('/registry/test/while-cp-2-was-down', 'yes', { node: 'cp-3' });

  moveManifest('cp-2', 'in');
  await timed('member restart to healthy', () => cp.waitHealthy(15_000));
  expect(cp.memberPid('cp-2')).not.toBe(pidBefore);
  const onCp2 = await cp.getAll('/registry/test/', { node: 'cp-2' });
  expect(onCp2.get('/registry/test/written-on-cp-1')).toBe('hello from cp-1');
  expect(onCp2.get('/registry/test/while-cp-2-was-down')).toBe('yes');

  // `systemctl stop kubelet` pauses the kubelet (the member keeps running); start resumes it.
  expect((await cp.runOnNode('cp-3', 'sudo systemctl stop kubelet; mv /etc/kubernetes/manifests /etc/kubernetes/manifests.off')).code).toBe(0);
  await sleep(600);
  expect(cp.isRunning('cp-3')).toBe(true);
  expect((await cp.runOnNode('cp-3', 'sudo systemctl start kubelet')).code).toBe(0);
  await cp.waitStopped('cp-3');
  expect((await cp.runOnNode('cp-3', 'mv /etc/kubernetes/manifests.off /etc/kubernetes/manifests')).code).toBe(0);
  await cp.waitHealthy(15_000);
});

test('the static pod\'s image tag picks the etcd that runs; a tag of a version the machine lacks does not start', async () => {
  await cp.waitHealthy(10_000);
  const manifest = cp.manifestPath('cp-3');
  const original = fs.readFileSync(manifest, 'utf8');
  const withImage = (image: string) => original.replace(`image: ${etcdImage(DEFAULT_ETCD_TEST_VERSION)}`, `image: ${image}`);
  try {
    // The other test version joins the cluster as cp-3 (3.5 patch versions mix in one cluster).
    fs.writeFileSync(manifest, withImage(etcdImage('3.5.16')));
    // The kubelet restarts the member at once on a changed manifest: wait for the new version to answer.
    await waitFor(async () => (await cp.health()).find((h) => h.node === 'cp-3')?.version === '3.5.16', 15_000,
      { intervalMs: 100, description: 'cp-3 to run etcd 3.5.16' });
    await cp.waitHealthy(15_000);
    expect((await cp.health()).map((h) => [h.node, h.version])).toEqual([['cp-1', '3.5.30'], ['cp-2', '3.5.30'], ['cp-3', '3.5.16']]);
    expect(cp.events('cp-3').at(-1)).toMatch(/started etcd .*registry\.k8s\.io\/etcd:3\.5\.16-0/);

    fs.writeFileSync(manifest, withImage('registry.k8s.io/etcd:3.4.23-0'));
    await cp.waitStopped('cp-3');
    await sleep(500);
    expect(cp.isRunning('cp-3')).toBe(false);
    expect(cp.events('cp-3').join('\n')).toMatch(/cannot start etcd: image registry\.k8s\.io\/etcd:3\.4\.23-0: etcd 3\.4\.23 is not a test version/);
  } finally {
    fs.writeFileSync(manifest, original);
  }
  await cp.waitHealthy(15_000);
});

test('all stopped, every node installs etcd\'s release and restores the snapshot with etcdutl: a healthy 3-member cluster with exactly the snapshot\'s keys', async () => {
  await cp.waitHealthy(10_000);
  await cp.loadKeys(300, { prefix: '/registry/fixtures/key-', node: 'cp-1' });
  await cp.put('/registry/test/binary', Buffer.from([0, 1, 2, 255]), { node: 'cp-1' });
  const snapshot = await timed('snapshot save', () => cp.snapshotSave(path.join(cp.root, 'snapshot.db'), { node: 'cp-2' }));
  const expected = await cp.getAll('', { encoding: 'latin1' });
  expect(expected.size).toBe(304);
  await cp.put('/registry/test/after-the-snapshot', 'must not come back');
  const oldIds = new Set((await cp.memberList()).map((m) => m.id));

  // The operator: stop etcd on every node (manifest out of the dir), then wait for it to be gone.
  const stopScript = 'sudo mv /etc/kubernetes/manifests/etcd.yaml /tmp/etcd.yaml';
  expect((await Promise.all(NODES.map((n) => cp.runOnNode(n, stopScript)))).map((r) => r.code)).toEqual([0, 0, 0]);
  await timed('all members stop', () => Promise.all(NODES.map((n) => cp.waitStopped(n))));

  const token = 'restored-cluster';
  const v = DEFAULT_ETCD_TEST_VERSION;
  const restore = (node: string) => [
    // As the runbook installs them: the release tarball, into the node's own /usr/local/bin.
    `curl -fsSL ${etcdReleaseUrl(v)} | sudo tar -xz -C /usr/local/bin --strip-components=1 etcd-v${v}-linux-amd64/etcdutl etcd-v${v}-linux-amd64/etcdctl`,
    // sed reads it all: head would stop early, and under pipefail etcdutl's SIGPIPE fails the script.
    'etcdutl version | sed -n 1p',
    'sudo mv /var/lib/etcd /var/lib/etcd.broken',
    `sudo etcdutl snapshot restore /tmp/snapshot.db --name "$(hostname)" --initial-cluster ${cp.initialCluster} \\`,
    `  --initial-cluster-token ${token} --initial-advertise-peer-urls https://${cp.ip(node)}:2380 --data-dir /var/lib/etcd`,
    'sudo mv /tmp/etcd.yaml /etc/kubernetes/manifests/etcd.yaml',
  ].join('\n');
  for (const n of NODES) {
    fs.copyFileSync(snapshot, path.join(cp.tmpDir(n), 'snapshot.db'));
  }
  const results = await timed('restore on all nodes', () => Promise.all(NODES.map((n) => cp.runOnNode(n, restore(n)))));
  for (const r of results) {
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain(`etcdutl version: ${v}\n`);
  }
  // Installed on each node's disk, not on the host.
  expect(fs.readdirSync(path.join(cp.nodeRoot('cp-2'), 'usr/local/bin')).sort()).toEqual(['etcdctl', 'etcdutl']);
  expect(fs.existsSync('/usr/local/bin/etcdutl')).toBe(false);
  // Anything but a test version's release URL is not found.
  const missing = await cp.runOnNode('cp-1', 'curl -fsSL https://github.com/etcd-io/etcd/releases/download/v3.4.23/etcd-v3.4.23-linux-amd64.tar.gz >/dev/null');
  expect(missing).toMatchObject({ code: 22, stderr: expect.stringContaining('404') });
  await timed('restored cluster healthy', () => cp.waitHealthy(20_000));

  const members = await cp.memberList();
  expect(members.map((m) => m.name).sort()).toEqual(NODES);
  expect(members.some((m) => oldIds.has(m.id))).toBe(false); // new member ids: a new cluster from the snapshot
  for (const node of ['cp-1', 'cp-3']) {
    expect(await cp.getAll('', { node, encoding: 'latin1' })).toEqual(expected);
  }
  for (const n of NODES) {
    expect(fs.existsSync(path.join(cp.nodeRoot(n), 'var/lib/etcd.broken/member/snap/db'))).toBe(true);
  }
});

test('the etcd unit: `cat` shows Debian\'s unit and its drop-ins; `start` with a drop-in\'s EnvironmentFile runs the member with that env in place of the flag', async () => {
  await cp.waitHealthy(15_000);
  const dropIn = '/etc/systemd/system/etcd.service.d/90-test.conf';
  const script = [
    'sudo systemctl stop etcd',
    'mkdir -p /etc/systemd/system/etcd.service.d',
    'printf \'%s\\n\' ETCD_SNAPSHOT_COUNT=5000 > /etc/etcd-test.env',
    `printf '%s\\n' '[Service]' 'EnvironmentFile=/etc/etcd-test.env' > ${dropIn}`,
    'sudo systemctl cat etcd',
    'sudo systemctl start --no-block etcd',
  ].join('\n');
  const r = await cp.runOnNode('cp-2', script);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toContain('ExecStart=/usr/bin/etcd $DAEMON_ARGS');
  expect(r.stdout).toContain(`# ${dropIn}\n[Service]\nEnvironmentFile=/etc/etcd-test.env`);
  await cp.waitHealthy(15_000);
  // etcd says which of its settings came from the environment.
  expect(cp.memberLog('cp-2', 1_048_576)).toMatch(/recognized and used environment variable.*ETCD_SNAPSHOT_COUNT.*5000/);

  // A drop-in setting the shim does not emulate fails the start, and the member stays stopped.
  const bad = await cp.runOnNode('cp-2', `sudo systemctl stop etcd; mkdir -p ${path.posix.dirname(dropIn)}; printf '%s\\n' '[Service]' 'Environment=X=1' > ${dropIn}; sudo systemctl start etcd`);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('only [Service] EnvironmentFile= is emulated');
  expect((await cp.runOnNode('cp-2', 'sudo systemctl start etcd')).code).toBe(0);
  await cp.waitHealthy(15_000);
});

test('stop() ends every member and leaves no process, listener or directory behind', async () => {
  const pids = NODES.map((n) => cp.memberPid(n));
  expect(pids.every((p) => p !== undefined)).toBe(true);
  await timed('stop', () => cp.stop());
  expect(runningProcesses()).toEqual([]);
  for (const [i] of NODES.entries()) {
    expect(await canConnect(2379, nodeIp(i), 200)).toBe(false);
    expect(await canConnect(2380, nodeIp(i), 200)).toBe(false);
  }
  expect(fs.existsSync(cp.root)).toBe(false);
  // The restore moved /var/lib/etcd on every node: none of that reached the host.
  expect(hostVarLibEtcdNow()).toEqual(hostVarLibEtcd);
  expect(fs.existsSync('/etc/kubernetes')).toBe(false);
});
