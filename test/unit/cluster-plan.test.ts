import { Chart, Cron, Duration, Testing } from 'cdk8s';
import { ClusterBackup, ClusterBackupProps, Credentials, EtcdSource, Retention } from '../../src';
import { testRepository } from '../support/charts';

function cluster(props: Partial<ClusterBackupProps> = {}): ClusterBackup {
  const chart = new Chart(Testing.app(), 'prod');
  return new ClusterBackup(chart, 'backup', {
    clusterName: 'prod',
    repository: testRepository(),
    etcd: { source: EtcdSource.kubeadm() },
    controlPlaneConfig: { nodes: ['cp-1', 'cp-2', 'cp-3'] },
    velero: { schedules: [{ name: 'prod-apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.gfs({ daily: 7, weekly: 4 }) }] },
    alerts: { runbookUrl: 'https://wiki.example.com/prod-runbook' },
    acknowledge: { keysStoredOutsideCluster: true, singleCredential: true },
    ...props,
  });
}

describe('ClusterBackup.describe()', () => {
  test('kubeadm: what runs when, what it keeps, where it goes, which alerts watch it', () => {
    const md = cluster().describe();
    expect(md.startsWith('# Backup plan: cluster `prod`\n')).toBe(true);
    // The summary: one row per job and Velero Schedule object.
    expect(md).toContain('| etcd snapshots: prod-etcd-backup | every hour at minute 0 (Etc/UTC) | hourly 24, daily 7, weekly 4 | `s3://backups/k8s/prod/etcd` |');
    expect(md).toContain('| Control-plane config: prod-config-<node> | every day at 00:00 (Etc/UTC) | daily 7, weekly 4, monthly 12 | `s3://backups/k8s/prod/config/<node>` |');
    expect(md).toContain('| Restore drill: prod-etcd-drill | every day at 04:30 (Etc/UTC) | — | reads `s3://backups/k8s/prod/etcd` |');
    expect(md).toContain('| Velero Schedule prod-apps-weekly | on Sundays at 02:00 (UTC) | each Backup 28 days |');
    // Each part in detail.
    expect(md).toContain('every hour at minute 0 (`0 * * * *`, time zone `Etc/UTC`); 24 runs a day');
    expect(md).toContain('keeps 24 hourly, 7 daily and 4 weekly backups, reaching back 4 weeks');
    expect(md).toContain('`s3://backups/k8s/prod/config/cp-3` on https://minio.example.com:9000');
    for (const alert of ['EtcdBackupFailed', 'EtcdBackupTooOld', 'ControlPlaneConfigBackupNeverSucceeded', 'RestoreDrillFailed', 'VeleroBackupTooOld', 'VeleroMetricsAbsent']) {
      expect(md).toContain(`\`${alert}\``);
    }
    expect(md).toContain('`EtcdBackupTooOld` (critical) when the last successful run is older than 2 h');
    expect(md).toContain('PrometheusRule `prod-backups` in namespace `backup-system`');
    expect(md).toContain('https://wiki.example.com/prod-runbook');
    expect(md).toContain('`prod-apps-daily`: every day at 02:00 (`0 2 * * *`, time zone `UTC`); at most 24 h between runs; each Backup kept 7 days');
    // The acknowledgement of keys kept outside the cluster, which this configuration needs.
    expect(md).toContain('## Pitfalls acknowledged\n\n- `keysStoredOutsideCluster`: you confirm the repository password and the storage credentials are also kept outside the cluster\n');
    // The parts in the order the runbook restores them: config, etcd, drill.
    expect(md.indexOf('## Control-plane config')).toBeLessThan(md.indexOf('## etcd snapshots'));
    expect(md.indexOf('## etcd snapshots')).toBeLessThan(md.indexOf('## Restore drill'));
  });

  test('an opt-out this configuration does not need says so', () => {
    const acknowledge = { keysStoredOutsideCluster: true, singleCredential: true, noRestoreDrill: true, shortRetention: true };
    const md = cluster({ acknowledge }).describe();
    expect(md).toContain('- `noRestoreDrill`: backups that are never test-restored (not needed by this configuration)\n');
    expect(md).toContain('- `shortRetention`: a retention that keeps less than a day (not needed by this configuration)\n');
    const short = cluster({
      etcd: { source: EtcdSource.kubeadm(), retention: Retention.maxAge(Duration.hours(12)) },
      acknowledge: { keysStoredOutsideCluster: true, singleCredential: true, shortRetention: true },
    }).describe();
    expect(short).toContain('- `shortRetention`: a retention that keeps less than a day\n');
  });

  test('no alerts: said so', () => {
    const md = cluster({ acknowledge: { keysStoredOutsideCluster: true, singleCredential: true, noAlerts: true } }).describe();
    expect(md).toContain('## Alerts\n\nNone: no PrometheusRule is rendered (`noAlerts`).');
    expect(md).toContain('- `noAlerts`: nobody is alerted when backups stop\n');
  });

  test('managed control plane: the Velero location and Schedules only', () => {
    const md = cluster({
      repository: undefined,
      etcd: undefined,
      controlPlaneConfig: undefined,
      managedControlPlane: true,
      acknowledge: {},
      velero: {
        storageLocation: { bucket: 'velero-prod', prefix: 'prod', region: 'eu-west-1', credentials: Credentials.fromSecret('velero-s3') },
        schedules: [{ name: 'prod-apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.maxAge(Duration.days(30)) }],
      },
    }).describe();
    expect(md).toContain('| Velero Schedule prod-apps | every day at 02:00 (UTC) | each Backup 30 days | bucket `velero-prod/prod` |');
    expect(md).toContain('- **Where**: bucket `velero-prod`, path `prod`, in namespace `velero`');
    expect(md).toContain('PrometheusRule `prod-backups` in namespace `velero`');
    expect(md).toContain('None: every pitfall check is an error.');
  });

  test('the same configuration gives the same plan, byte for byte', () => {
    expect(cluster().describe()).toBe(cluster().describe());
  });

  test('the plan of a kubeadm cluster with Velero, as a whole (for review)', () => {
    expect(cluster().describe()).toMatchSnapshot();
  });
});
