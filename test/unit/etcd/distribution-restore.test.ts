import { Distribution, EtcdVersion } from '../../../src';
import { RestoreContext } from '../../../src/etcd/distribution-restore';
import { EtcdRestoreTool, RestoreScenario } from '../../../src/etcd/restore-procedure';

function context(tool = '3.6.11'): RestoreContext {
  return {
    clusterName: 'prod',
    nodes: [{ name: 'cp-1', address: '10.0.0.1' }, { name: 'cp-2', address: '10.0.0.2' }, { name: 'cp-3', address: '10.0.0.3' }],
    snapshotOnNode: '/tmp/etcd-snapshot.db',
    versionOnNode: '/tmp/etcd-snapshot.etcd-version',
    tool: new EtcdRestoreTool(EtcdVersion.of(tool)),
    certs: { ca: '/pki/ca.crt', cert: '/pki/client.crt', key: '/pki/client.key' },
    dataDir: '/var/lib/etcd',
  };
}

function lines(s: RestoreScenario, node: string): string[] {
  return s.blocks.filter((b) => b.on.includes(node) && !b.once).flatMap((b) => b.lines);
}

describe('Distribution: the facts of each control plane, in one place', () => {
  test('kubeadm, quorum lost: every member stopped before any restore, each restored under its node name, then started', () => {
    const s = Distribution.kubeadm()._restore.quorumLost(context());
    const titles = s.blocks.map((b) => `${b.on.join(',')}: ${b.title}`);
    const firstRestore = titles.findIndex((t) => t.includes('restore member'));
    const lastStop = titles.map((t) => t.includes('stop the API server')).lastIndexOf(true);
    expect(lastStop).toBe(2);
    expect(firstRestore).toBeGreaterThan(lastStop);
    const cp2 = lines(s, 'cp-2').join('\n');
    expect(cp2).toContain('sudo etcdutl snapshot restore /tmp/etcd-snapshot.db --data-dir /var/lib/etcd \\\n  --name cp-2 --initial-cluster '
      + 'cp-1=https://10.0.0.1:2380,cp-2=https://10.0.0.2:2380,cp-3=https://10.0.0.3:2380 \\\n'
      + '  --initial-cluster-token prod-restored --initial-advertise-peer-urls https://10.0.0.2:2380 --bump-revision 1000000000 --mark-compacted');
    expect(cp2).not.toContain('$(hostname)');
    // A rebuilt node has no /var/lib/etcd: moving it aside is conditional.
    expect(cp2).toContain('if sudo test -e /var/lib/etcd; then sudo mv /var/lib/etcd');
  });

  // docs.k3s.io/cli/etcd-snapshot ("Restoring snapshots", multiple servers) and RKE2
  // docs/datastore/backup_restore.md: stop every server; cluster-reset with the restore path on
  // one; start it; remove server/db on the others and start them.
  test.each([
    ['k3s', Distribution.k3s(), 'k3s'],
    ['rke2', Distribution.rke2(), 'rke2-server'],
  ])('%s, quorum lost: the documented cluster-reset on one server, the others rejoin without their db', (name, d, service) => {
    const server = `/var/lib/rancher/${name}/server`;
    expect(d.controlPlaneConfig?.files).toEqual([`${server}/token`]);
    expect(d.controlPlaneConfig?.requiredPaths).toContain(`${server}/token`);
    expect(d.etcdDataDir).toBe(`${server}/db/etcd`);
    const s = d._restore.quorumLost(context());
    expect(s.blocks.map((b) => [b.on, b.lines])).toEqual([
      [['cp-1', 'cp-2', 'cp-3'], [`sudo systemctl stop ${service}`]],
      [['cp-1'], [
        `sudo ${name} server --cluster-reset --cluster-reset-restore-path=/tmp/etcd-snapshot.db --etcd-s3=false --token="$(sudo cat ${server}/token)"`,
        `sudo systemctl start ${service}`,
      ]],
      [['cp-2', 'cp-3'], [
        `if sudo test -e ${server}/db; then sudo mv ${server}/db ${server}/db.before-restore."$(date +%Y%m%d%H%M%S)"; fi`,
        `sudo systemctl start ${service}`,
      ]],
    ]);
    // The original token (from the config backup) and the etcd minor rule, said before the steps.
    expect(s.intro).toContain('the original server token');
    expect(s.intro).toContain('its own etcd minor or a newer one');
  });

  test('external etcd: members restored with their own names, owned by the unit user, started without waiting for each other', () => {
    const d = Distribution.external('/var/lib/etcd/default');
    expect(d.controlPlaneConfig).toBeUndefined();
    expect(d.pkiPaths).toEqual([]);
    expect(d.etcdDataDir).toBe('/var/lib/etcd/default');
    const s = d._restore.quorumLost({ ...context('3.5.24'), dataDir: '/var/lib/etcd/default' });
    const cp1 = lines(s, 'cp-1');
    expect(cp1).toContain('sudo systemctl stop etcd');
    expect(cp1).toContain('sudo chown -R etcd:etcd /var/lib/etcd/default');
    expect(cp1[cp1.length - 1]).toBe('sudo systemctl start --no-block etcd');
  });
});
