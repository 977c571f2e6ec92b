/**
 * The example fleet: one chart per cluster, from one typed list. `npx projen synth-example`
 * writes the YAML, each cluster's restore runbook and its plan (`describe()`) to examples/dist/
 * (what a platform team would check into git).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Cron, Duration } from 'cdk8s';
import {
  BackupRepository, CaCertificate, ClusterBackup, ClusterVeleroOptions, Credentials, Database, DatabaseDumpBackupOptions, Encryption,
  EtcdSnapshotBackupOptions, EtcdSource, EtcdVersion, Immutability, Retention, SpreadSchedule, VeleroVersion,
} from '../src';

interface ClusterSpec {
  readonly name: string;
  /** Self-managed control plane: its etcd and control-plane nodes. */
  readonly etcd?: EtcdSnapshotBackupOptions;
  readonly controlPlaneNodes?: string[];
  readonly velero?: ClusterVeleroOptions;
  readonly databases?: DatabaseDumpBackupOptions[];
  /** Retention of the control-plane config backups (time-based: the bucket is locked). */
  readonly configRetention?: Retention;
}

// Every job of the fleet starts at its own minute, derived from its name (stable across synths),
// so the clusters do not all hit the bucket at once; nightly jobs between 01:00 and 04:59.
const night = { fromHour: 1, toHour: 5 };

// One storage definition for the fleet's restic backups: every cluster and kind of backup gets its
// own path in it (restic repositories at k8s/<cluster>/<kind>). The bucket survives a compromised
// cluster: the backup jobs hold writer keys that cannot delete, only each cluster's maintenance
// job holds the maintainer's, and S3 Object Lock keeps every version 30 days (the plan says why
// that is enough and writes the three IAM policies next to it).
const storage = {
  endpoint: 'https://s3.storage.acme.example:9000',
  region: 'us-east-1',
  // A CA bundle from a Secret: the restic jobs mount it, Velero reads it as caCertRef (1.18).
  caCert: CaCertificate.fromSecret({ name: 'acme-storage-ca', key: 'ca.crt' }),
  encryption: Encryption.repositoryPassword({ name: 'cluster-backup-repository', key: 'password' }),
};
const repository = BackupRepository.s3({
  ...storage,
  bucket: 'acme-cluster-backups',
  prefix: 'k8s',
  credentials: Credentials.fromSecret('cluster-backup-s3'),
  maintainerCredentials: Credentials.fromSecret('cluster-backup-s3-maintainer'),
  immutability: Immutability.s3ObjectLock({ lockPeriod: Duration.days(30) }),
});
// Velero cannot work with a locked bucket (vmware-tanzu/velero#8686): its own bucket, at
// <cluster>/velero.
const veleroStorage = BackupRepository.s3({
  ...storage,
  bucket: 'acme-velero-backups',
  credentials: Credentials.fromSecret('cluster-backup-s3'),
});

const appsBackup = (cluster: string): ClusterVeleroOptions => ({
  // The same storage as the restic jobs'; Velero's credentials Secret of the same name holds
  // the INI file (key `cloud`), created from the vault where externalKeys is set.
  storageLocation: { repository: veleroStorage, default: true },
  schedules: [{
    name: `${cluster}-apps`,
    schedule: SpreadSchedule.daily(`${cluster}/velero-apps`, night),
    retention: Retention.gfs({ daily: 7, weekly: 5, monthly: 12 }),
    excludedNamespaces: ['kube-system', 'velero'],
    snapshotVolumes: true,
  }],
  // caCertRef (the CA from a Secret) needs Velero 1.18.
  version: VeleroVersion.V1_18,
});

const fleet: ClusterSpec[] = [
  {
    name: 'prod-eu',
    etcd: { source: EtcdSource.kubeadm(), retention: Retention.gfs({ hourly: 24, daily: 7, weekly: 4, within: Duration.days(2) }) },
    controlPlaneNodes: ['prod-eu-cp-1', 'prod-eu-cp-2', 'prod-eu-cp-3'],
    velero: appsBackup('prod-eu'),
    // The orders database runs outside the cluster: a consistent dump, drilled every morning.
    databases: [{
      database: Database.postgres({
        host: 'orders-db.prod-eu.acme.example',
        database: 'orders',
        credentials: { user: 'backup', password: { name: 'orders-db-backup', key: 'password' } },
      }),
      retention: Retention.gfs({ daily: 7, weekly: 4, monthly: 12, within: Duration.days(14) }),
      schedule: SpreadSchedule.daily('prod-eu/orders-db', night),
      drill: { requiredTable: 'orders', schedule: SpreadSchedule.daily('prod-eu/orders-db-drill', { fromHour: 5, toHour: 7 }) },
    }],
  },
  {
    name: 'edge-k3s',
    etcd: {
      source: EtcdSource.k3s(),
      etcdVersion: EtcdVersion.V3_7_1, // k3s 1.37
      schedule: Cron.schedule({ minute: '15', hour: '*/6' }),
      retention: Retention.gfs({ last: 8, daily: 14, within: Duration.days(3) }),
    },
    controlPlaneNodes: ['edge-k3s-server-0'],
  },
  { name: 'infra-rke2', etcd: { source: EtcdSource.rke2(), etcdVersion: EtcdVersion.V3_6_14, retention: Retention.maxAge(Duration.days(14)) }, controlPlaneNodes: ['infra-1', 'infra-2', 'infra-3'] },
  { name: 'legacy', etcd: { source: EtcdSource.external({ endpoint: 'https://etcd-0.legacy.example.com:2379', tlsSecret: 'legacy-etcd-client' }), etcdVersion: EtcdVersion.V3_5_24, retention: Retention.maxAge(Duration.days(7)) } },
  { name: 'eks-shop', velero: appsBackup('eks-shop') },
];

/** Adds one chart per cluster of the fleet to `app`. */
export function buildFleet(app: App): Array<{ chart: Chart; backup: ClusterBackup }> {
  return fleet.map((cluster) => {
    const chart = new Chart(app, cluster.name);
    const selfManaged = cluster.etcd !== undefined;
    const backup = new ClusterBackup(chart, 'backup', {
      clusterName: cluster.name,
      // A managed control plane (no etcd access) is backed up by Velero only.
      repository: selfManaged ? repository : undefined,
      etcd: cluster.etcd && { schedule: SpreadSchedule.hourly(`${cluster.name}/etcd`), ...cluster.etcd },
      managedControlPlane: !selfManaged,
      controlPlaneConfig: cluster.controlPlaneNodes
        ? {
          nodes: cluster.controlPlaneNodes,
          schedule: SpreadSchedule.daily(`${cluster.name}/config`, night),
          retention: cluster.configRetention ?? Retention.gfs({ daily: 7, weekly: 4, monthly: 12, within: Duration.days(7) }),
        } : undefined,
      maintenance: selfManaged ? { schedule: SpreadSchedule.daily(`${cluster.name}/maintenance`, { fromHour: 7, toHour: 9 }) } : undefined,
      restoreDrill: selfManaged ? { schedule: SpreadSchedule.daily(`${cluster.name}/drill`, { fromHour: 5, toHour: 7 }) } : undefined,
      velero: cluster.velero,
      databases: cluster.databases,
      // The repository password and S3 keys come from the platform team's vault.
      externalKeys: !selfManaged ? undefined : {
        storeName: 'vault-backend',
        repositoryPassword: { key: `cluster-backups/${cluster.name}`, property: 'password' },
        accessKeyId: { key: 'cluster-backups/s3', property: 'access_key_id' },
        secretAccessKey: { key: 'cluster-backups/s3', property: 'secret_access_key' },
        maintainerKeys: {
          accessKeyId: { key: 'cluster-backups/s3-maintainer', property: 'access_key_id' },
          secretAccessKey: { key: 'cluster-backups/s3-maintainer', property: 'secret_access_key' },
        },
      },
      alerts: { ruleLabels: { release: 'kube-prometheus-stack' }, runbookUrl: `https://git.acme.example/platform/fleet/-/blob/main/dist/${cluster.name}.runbook.md` },
    });
    return { chart, backup };
  });
}

if (require.main === module) {
  const app = new App({ outdir: process.env.EXAMPLES_OUTDIR ?? path.join(__dirname, 'dist') });
  const built = buildFleet(app);
  app.synth();
  for (const { chart, backup } of built) {
    fs.writeFileSync(path.join(app.outdir, `${chart.node.id}.runbook.md`), backup.restoreRunbook());
    // What runs where and when, in words: the file to read in the pull request next to the YAML.
    fs.writeFileSync(path.join(app.outdir, `${chart.node.id}.plan.md`), backup.describe());
    // The storage administrator's part: one IAM policy per role, to attach to its user.
    if (backup.maintenance) {
      const policies = repository.accessPolicies();
      for (const role of ['writer', 'reader', 'maintainer'] as const) {
        fs.writeFileSync(path.join(app.outdir, `iam-${role}.json`), `${policies[role]}\n`);
      }
    }
  }
  console.log(`synthesized ${fleet.length} cluster charts, runbooks and plans into ${app.outdir}`);
}
