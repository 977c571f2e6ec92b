import { Cron, Duration, Testing } from 'cdk8s';
import {
  BackupAlerts, BackupRepository, ControlPlaneConfigBackup, Credentials, Database, DatabaseDumpBackup, Encryption, EtcdSnapshotBackup, EtcdSource,
  RestoreDrill, Retention,
} from '../../../src';
import { testRepository } from '../../support/charts';

const dest = { clusterName: 'prod', repository: testRepository() };

describe('describe() of a job', () => {
  test('etcd: when, where, what it keeps, where it goes, encryption', () => {
    const etcd = new EtcdSnapshotBackup(Testing.chart(), 'etcd', { ...dest, source: EtcdSource.kubeadm(), namespace: 'backup-system-host' });
    const md = etcd.describe();
    expect(md.startsWith('## etcd snapshots: prod-etcd-backup\n')).toBe(true);
    expect(md).toContain('every hour at minute 0 (`0 * * * *`, time zone `Etc/UTC`); 24 runs a day: 00:00, 01:00, 02:00, 03:00, …, 23:00; at most 1 h between runs');
    expect(md).toContain('CronJob `prod-etcd-backup` in namespace `backup-system-host`, on nodes labelled `node-role.kubernetes.io/control-plane`, '
      + 'tolerating `node-role.kubernetes.io/control-plane:NoSchedule` and `node-role.kubernetes.io/master:NoSchedule`');
    expect(md).toContain('keeps 24 hourly, 7 daily and 4 weekly backups, reaching back 4 weeks');
    expect(md).toContain('`restic forget --prune --keep-last 1 --keep-hourly 24 --keep-daily 7 --keep-weekly 4`');
    expect(md).toContain('**Goes to**: `s3://backups/k8s/prod/etcd` on https://minio.example.com:9000 (restic repository `s3:https://minio.example.com:9000/backups/k8s/prod/etcd`)');
    expect(md).toContain('client-side by restic (AES-256), repository password from Secret `backup-repository` key `password`; storage credentials from Secret `backup-s3`');
    expect(md).toContain('a drop of more than 50 % in keys');
    expect(md).toContain('**Alerts**: none given to `describe()`');
    expect(md).toContain('**Pitfalls acknowledged**: none');
  });

  test('the alerts that watch it, with when they fire', () => {
    const chart = Testing.chart();
    const etcd = new EtcdSnapshotBackup(chart, 'etcd', { ...dest, source: EtcdSource.kubeadm(), namespace: 'ns' });
    const alerts = new BackupAlerts(chart, 'alerts', { name: 'prod-backups' });
    expect(etcd.describe(alerts)).toContain('**Alerts**: none: the alerts `prod-backups` do not watch this job');
    alerts.watch(etcd);
    const md = etcd.describe(alerts);
    expect(md).toContain('- **Alerts** (PrometheusRule `prod-backups`):\n'
      + '  - `EtcdBackupFailed` (critical) when a run fails (retries exhausted or deadline exceeded)\n'
      + '  - `EtcdBackupTooOld` (critical) when the last successful run is older than 2 h (2 × the longest gap between runs, 1 h) for 10 min\n'
      + '  - `EtcdBackupNeverSucceeded` (critical) when no successful run is recorded for 2 h\n');
  });

  test('a time zone outside UTC says that daylight saving time moves runs; the alerts allow an hour more', () => {
    const chart = Testing.chart();
    const etcd = new EtcdSnapshotBackup(chart, 'etcd', {
      ...dest,
      source: EtcdSource.kubeadm(),
      namespace: 'ns',
      timeZone: 'Europe/Berlin',
      schedule: Cron.schedule({ minute: '30', hour: '3', weekDay: '1' }),
      retention: Retention.gfs({ weekly: 8 }),
    });
    const alerts = new BackupAlerts(chart, 'alerts');
    alerts.watch(etcd);
    const md = etcd.describe(alerts);
    expect(md).toContain('on Mondays at 03:30 (`30 3 * * 1`, time zone `Europe/Berlin` (a daylight-saving switch can skip or repeat a run)); at most 7 days between runs');
    expect(md).toContain('older than 14 days 1 h');
  });

  test('config: one CronJob and one repository per node, pinned to it', () => {
    const config = new ControlPlaneConfigBackup(Testing.chart(), 'config', { ...dest, source: EtcdSource.kubeadm(), nodes: ['cp-1', 'cp-2'], namespace: 'h' });
    const md = config.describe();
    expect(md).toContain('every day at 00:00 (`0 0 * * *`');
    expect(md).toContain('  - `prod-config-cp-2` (control-plane config of node cp-2), pinned to node `cp-2`, tolerating');
    expect(md).toContain('  - `cp-1`: `s3://backups/k8s/prod/config/cp-1` on https://minio.example.com:9000');
    expect(md).toContain('keeps 7 daily, 4 weekly and 12 monthly backups, reaching back about 12 months');
    expect(md).toContain('`/etc/kubernetes`');
  });

  test('drill: what it reads and checks, no retention of its own', () => {
    const chart = Testing.chart();
    const etcd = new EtcdSnapshotBackup(chart, 'etcd', { ...dest, source: EtcdSource.kubeadm() });
    const md = new RestoreDrill(chart, 'drill', { backup: etcd }).describe();
    expect(md).toContain('every day at 04:30');
    expect(md).toContain('**Reads from**: `s3://backups/k8s/prod/etcd`');
    expect(md).toContain('no retries');
    expect(md).not.toContain('**Keeps**');
    expect(md).toContain('`/registry/namespaces/kube-system`');
  });

  test('database dump and its drill; other storage services by their own URLs', () => {
    const chart = Testing.chart();
    const repository = BackupRepository.gcs({
      bucket: 'acme-backups',
      projectId: 'acme-prod',
      prefix: 'k8s',
      credentials: Credentials.fromSecret('gcs', { gcsServiceAccountKey: 'key.json' }),
      encryption: Encryption.repositoryPassword({ name: 'repo', key: 'pw' }),
    });
    const db = new DatabaseDumpBackup(chart, 'db', {
      clusterName: 'prod',
      repository,
      namespace: 'ns',
      database: Database.postgres({ host: 'db.example.com', database: 'orders', credentials: { password: { name: 'p', key: 'k' } } }),
      drill: { requiredTable: 'orders', minRows: 10 },
      acknowledge: { shortRetention: true },
    });
    const md = db.describe();
    expect(md).toContain('Dumps the PostgreSQL database orders on db.example.com:5432');
    expect(md).toContain('`gs://acme-backups/k8s/prod/database/prod-pg-orders` on https://storage.googleapis.com');
    // An opt-out this job does not need says so.
    expect(md).toContain('**Pitfalls acknowledged**: `shortRetention`: a retention that keeps less than a day (this job does not need it)');
    expect(db.drill!.describe()).toContain('table `orders` of database `orders` has at least 10 rows');
  });

  test('an acknowledged short retention that the job needs is listed as such', () => {
    const etcd = new EtcdSnapshotBackup(Testing.chart(), 'etcd', {
      ...dest, source: EtcdSource.kubeadm(), retention: Retention.maxAge(Duration.hours(6)), acknowledge: { shortRetention: true },
    });
    expect(etcd.describe()).toContain('**Pitfalls acknowledged**: `shortRetention`: a retention that keeps less than a day\n');
  });

  test('the same input gives the same text', () => {
    const make = () => new EtcdSnapshotBackup(Testing.chart(), 'etcd', { ...dest, source: EtcdSource.k3s() }).describe();
    expect(make()).toBe(make());
  });
});
