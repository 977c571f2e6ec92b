import { Chart, Cron, Duration, Testing } from 'cdk8s';
import {
  BackupRepository, Credentials, Encryption, EtcdSnapshotBackup, EtcdSource, Immutability, RepositoryMaintenance, RepositoryMaintenanceProps,
  Retention,
} from '../../../src';
import { testRepository } from '../../support/charts';
import { expectValidManifests } from '../../support/validate';

const encryption = Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' });
function locked(days: number): BackupRepository {
  return BackupRepository.s3({
    bucket: 'backups',
    prefix: 'k8s',
    endpoint: 'https://s3.example.com',
    credentials: Credentials.fromSecret('backup-writer'),
    maintainerCredentials: Credentials.fromSecret('backup-maintainer'),
    encryption,
    immutability: Immutability.s3ObjectLock({ lockPeriod: Duration.days(days) }),
  });
}

function synth(repository: BackupRepository, props: Partial<RepositoryMaintenanceProps> = {}, retention = Retention.maxAge(Duration.days(14))) {
  const chart = new Chart(Testing.app(), 'test');
  const etcd = new EtcdSnapshotBackup(chart, 'etcd', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository, retention, namespace: 'backup-system' });
  const m = new RepositoryMaintenance(chart, 'maintenance', { clusterName: 'prod', repository, retained: etcd.retainedRepositories, ...props });
  const manifests = Testing.synth(chart);
  const cronJob = manifests.find((x) => x.kind === 'CronJob' && x.metadata.name === m.cronJob.name);
  return { m, etcd, manifests, cronJob, spec: cronJob.spec.jobTemplate.spec.template.spec };
}

describe('RepositoryMaintenance', () => {
  test('applies each job\'s retention with the maintainer\'s keys, in a namespace of its own', () => {
    const { manifests, cronJob, spec } = synth(locked(30));
    expect(cronJob.metadata).toMatchObject({ name: 'prod-maintenance', namespace: 'backup-maintenance' });
    expect(cronJob.spec.schedule).toBe('15 5 * * *');
    const env = spec.containers[0].env;
    expect(env).toContainEqual({ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'backup-maintainer', key: 'AWS_ACCESS_KEY_ID' } } });
    expect(JSON.stringify(env)).not.toContain('backup-writer');
    expect(env).toContainEqual({ name: 'CHECK_READ_DATA_SUBSET', value: '5%' });
    const cm = manifests.find((x) => x.kind === 'ConfigMap' && x.metadata.name === 'prod-maintenance-scripts');
    expect(cm.data['maintenance-targets.txt']).toBe('s3:https://s3.example.com/backups/k8s/prod/etcd etcd-snapshot --keep-last 1 --keep-within 14d\n');
    expect(Object.keys(cm.data)).toEqual(expect.arrayContaining(['repository-maintenance.sh', 'restic-lib.sh', 'summary-lib.sh']));
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expectValidManifests(manifests);
  });

  test('the backup jobs of a split repository never prune: no retention flags, the probe must find their keys unable to delete', () => {
    const { etcd } = synth(locked(30));
    const upload = Testing.synth(Chart.of(etcd)).find((x) => x.kind === 'CronJob' && x.metadata.name === 'prod-etcd-backup')
      .spec.jobTemplate.spec.template.spec.containers.find((c: any) => c.name === 'upload');
    expect(upload.args ?? []).toEqual([]);
    expect(upload.env).toContainEqual({ name: 'RETENTION_ELSEWHERE', value: 'the repository\'s maintenance job' });
    expect(upload.env).toContainEqual({ name: 'DELETE_PROTECTION_EXPECTED', value: 'versioned' });
    expect(JSON.stringify(upload.env)).not.toContain('backup-maintainer');
    // They no longer remove each other's locks: each waits for the other's.
    expect(upload.env).toContainEqual({ name: 'RESTIC_FLAGS', value: '--retry-lock 10m' });
    expect(Testing.synth(Chart.of(etcd)).find((x) => x.kind === 'CronJob' && x.metadata.name === 'prod-maintenance')
      .spec.jobTemplate.spec.template.spec.containers[0].env).toContainEqual({ name: 'RESTIC_FLAGS', value: '--retry-lock 10m' });
  });

  test('GIVEN an Object Lock shorter than the retention plus two maintenance gaps THEN synth fails naming the minimum', () => {
    // 14 days kept + 2 × 24 h to notice = 16 days.
    expect(() => synth(locked(15))).toThrow(/Object Lock period \(15 days\) is shorter than the 16 days.*lockPeriod: Duration.days\(16\)/);
    expect(synth(locked(16)).m.minimumLockDays).toBe(16);
    // Weekly maintenance notices later: 14 + 14 days.
    expect(() => synth(locked(16), { schedule: Cron.weekly() })).toThrow(/shorter than the 28 days/);
  });

  test('GIVEN locked storage and a count-based retention THEN the backup job refuses it (restic: append-only needs --keep-within)', () => {
    expect(() => synth(locked(30), {}, Retention.gfs({ hourly: 24, daily: 7 }))).toThrow(/no time-based tier.*Retention.gfs\(\{ daily: 7, weekly: 4, within: Duration.days\(7\) \}\)/);
    expect(() => synth(locked(30), {}, Retention.gfs({ hourly: 24, daily: 7, within: Duration.days(2) }))).not.toThrow();
  });

  test('needs split roles, something to maintain and a valid subset', () => {
    const chart = Testing.chart();
    expect(() => new RepositoryMaintenance(chart, 'a', { clusterName: 'prod', repository: testRepository(), retained: [] })).toThrow(/one credential for every role/);
    expect(() => new RepositoryMaintenance(chart, 'b', { clusterName: 'prod', repository: testRepository({ splitRoles: true }), retained: [] })).toThrow(/names no repository/);
    expect(() => synth(locked(30), { readDataSubset: '120%' })).toThrow(/readDataSubset must be a percentage/);
    expect(synth(locked(30), { readDataSubset: 'none' }).spec.containers[0].env).toContainEqual({ name: 'CHECK_READ_DATA_SUBSET', value: '' });
    expect(synth(locked(30), { readDataSubset: '1/7' }).spec.containers[0].env).toContainEqual({ name: 'CHECK_READ_DATA_SUBSET', value: '1/7' });
  });

  test('a REST server: the maintenance job reaches the maintainer\'s URL', () => {
    const rest = BackupRepository.restServer({
      url: 'https://backup.example.com:8000',
      maintainerUrl: 'https://backup-admin.example.com:8001',
      credentials: Credentials.fromSecret('rest-writer'),
      maintainerCredentials: Credentials.fromSecret('rest-maintainer'),
      encryption,
      immutability: Immutability.restServerAppendOnly(),
    });
    const { manifests, etcd } = synth(rest);
    const cm = manifests.find((x) => x.kind === 'ConfigMap' && x.metadata.name === 'prod-maintenance-scripts');
    expect(cm.data['maintenance-targets.txt']).toMatch(/^rest:https:\/\/backup-admin.example.com:8001\/prod_etcd etcd-snapshot /);
    expect(etcd.resticRepository).toBe('rest:https://backup.example.com:8000/prod_etcd');
  });
});
