/**
 * The example fleet: one chart per cluster, from one typed list. `npx projen synth-example`
 * writes the YAML to examples/dist/ (what a platform team would check into git).
 */
import { App, Chart, Cron, Duration } from 'cdk8s';
import * as path from 'path';
import {
  BackupRepository, CaCertificate, Credentials, Encryption, EtcdSnapshotBackup, EtcdSource, Retention,
} from '../src';

interface ClusterSpec {
  readonly name: string;
  readonly source: EtcdSource;
  readonly schedule?: Cron;
  readonly retention?: Retention;
}

const fleet: ClusterSpec[] = [
  { name: 'prod-eu', source: EtcdSource.kubeadm() },
  { name: 'edge-k3s', source: EtcdSource.k3s(), schedule: Cron.schedule({ minute: '15', hour: '*/6' }), retention: Retention.gfs({ last: 8, daily: 14 }) },
  { name: 'infra-rke2', source: EtcdSource.rke2(), retention: Retention.maxAge(Duration.days(14)) },
  { name: 'legacy', source: EtcdSource.external({ endpoint: 'https://etcd-0.legacy.example.com:2379', tlsSecret: 'legacy-etcd-client' }) },
];

// One bucket for the fleet; every cluster gets its own repository path below `k8s/`.
const repository = BackupRepository.s3({
  bucket: 'acme-cluster-backups',
  prefix: 'k8s',
  endpoint: 'https://s3.storage.acme.example:9000',
  caCert: CaCertificate.fromConfigMap('acme-storage-ca'),
  credentials: Credentials.fromSecret('cluster-backup-s3'),
  encryption: Encryption.repositoryPassword({ name: 'cluster-backup-repository', key: 'password' }),
});

/** Adds one chart per cluster of the fleet to `app`. */
export function buildFleet(app: App): Chart[] {
  return fleet.map((cluster) => {
    const chart = new Chart(app, cluster.name, { namespace: 'backup-system' });
    new EtcdSnapshotBackup(chart, 'etcd', {
      clusterName: cluster.name,
      source: cluster.source,
      repository,
      schedule: cluster.schedule,
      retention: cluster.retention,
    });
    return chart;
  });
}

if (require.main === module) {
  const app = new App({ outdir: process.env.EXAMPLES_OUTDIR ?? path.join(__dirname, 'dist') });
  buildFleet(app);
  app.synth();
  console.log(`synthesized ${fleet.length} cluster charts into ${app.outdir}`);
}
