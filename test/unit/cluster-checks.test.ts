import { Cron } from 'cdk8s';
import { Database, EtcdSource, Retention } from '../../src';
import { ok, synth } from '../support/cluster';
import { build, cluster } from '../support/input-checks';

const nightly = Cron.schedule({ minute: '0', hour: '2' });

describe('ClusterBackup: namespaces are DNS labels', () => {
  test.each(['hostAccessNamespace', 'namespace', 'veleroNamespace'] as const)('%s "backup;$(id)" is rejected', (option) => {
    // GIVEN a namespace with shell syntax, WHEN configured, THEN synth refuses it and shows it
    expect(() => cluster({ [option]: 'backup;$(id)' })).toThrow(new RegExp(`^ClusterBackup: ${option}: expected lowercase letters, digits and '-'.*; got "backup;\\$\\(id\\)"$`));
    expect(() => cluster({ [option]: 'n'.repeat(64) })).toThrow(new RegExp(`^ClusterBackup: ${option}: .*at most 63 characters`));
  });

  test('a Velero-only cluster checks its clusterName too (no backup job does it there)', () => {
    const velero = { schedules: [{ name: 'apps', schedule: nightly, retention: Retention.daily35Days() }] };
    expect(() => build({ clusterName: 'prod;id', managedControlPlane: true, velero, acknowledge: { noAlerts: true } }))
      .toThrow(/^ClusterBackup: clusterName: expected lowercase letters, digits and '-'.*; got "prod;id"$/);
  });
});

describe('ClusterBackup: pitfall guards (each trips, each has its named opt-out)', () => {
  const velero = { schedules: [{ name: 'apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.daily35Days() }] };

  test('a Velero-only cluster takes no restic repository; a restic repository needs etcd', () => {
    expect(() => synth({ etcd: undefined, controlPlaneConfig: undefined, managedControlPlane: true, velero })).toThrow(/repository is only used for etcd/);
    expect(() => synth({ repository: undefined })).toThrow(/repository is required to back up etcd/);
  });

  test('a ClusterBackup that backs up nothing is an error', () => {
    expect(() => synth({ etcd: undefined, controlPlaneConfig: undefined, repository: undefined, acknowledge: { ...ok, noEtcdBackup: true, noRestoreDrill: true } })).toThrow(/nothing to back up/);
  });

  test('GIVEN namespaces that collide WHEN synthesized THEN the error says which and why', () => {
    expect(() => synth({ hostAccessNamespace: 'backups', namespace: 'backups' }))
      .toThrow(/hostAccessNamespace and namespace are both "backups".*'privileged'.*'restricted'/);
    expect(() => synth({ namespace: 'velero' })).toThrow(/ClusterBackup: namespace is Velero's namespace "velero"/);
    expect(() => synth({ hostAccessNamespace: 'velero' })).toThrow(/ClusterBackup: hostAccessNamespace is Velero's namespace "velero"/);
    expect(() => synth({ namespace: 'ops', veleroNamespace: 'ops' })).toThrow(/namespace is Velero's namespace "ops"/);
    // An external etcd needs no host access namespace, so it may share a name with nothing else.
    expect(() => synth({
      etcd: { source: EtcdSource.external({ endpoint: 'https://etcd.example.com:2379', tlsSecret: 'etcd' }) },
      controlPlaneConfig: undefined,
      hostAccessNamespace: 'backup-system',
    })).not.toThrow();
  });

  test('GIVEN a namespace inside a nested option WHEN synthesized THEN it is refused, not silently overridden', () => {
    expect(() => synth({ etcd: { source: EtcdSource.kubeadm(), namespace: 'x' } })).toThrow(/etcd.namespace: ClusterBackup places its jobs itself; set hostAccessNamespace/);
    expect(() => synth({ etcd: { source: EtcdSource.kubeadm(), acknowledge: { shortRetention: true } } })).toThrow(/etcd.acknowledge: ClusterBackup passes its own acknowledge to every job/);
    expect(() => synth({ restoreDrill: { namespace: 'x' } })).toThrow(/restoreDrill.namespace/);
  });

  test('GIVEN controlPlaneConfig with an external etcd WHEN synthesized THEN it is an error', () => {
    expect(() => synth({ etcd: { source: EtcdSource.external({ endpoint: 'https://etcd.example.com:2379', tlsSecret: 'etcd' }) } }))
      .toThrow(/controlPlaneConfig backs up the control-plane nodes of an etcd on them.*external etcd has none here/);
  });

  test('databases without a repository, or with a nested namespace, are errors', () => {
    const database = Database.postgres({ host: 'db.example.com', database: 'app', credentials: { password: { name: 'db', key: 'pw' } } });
    const managed = { etcd: undefined, controlPlaneConfig: undefined, repository: undefined, managedControlPlane: true };
    expect(() => synth({ ...managed, databases: [{ database }] }))
      .toThrow(/repository is required to back up databases/);
    expect(() => synth({ databases: [{ database, namespace: 'db' }] })).toThrow(/databases\[0\].namespace: ClusterBackup places its jobs itself/);
  });
});
