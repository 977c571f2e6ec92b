import { Chart, Testing } from 'cdk8s';
import { BackupRepository, Credentials, Encryption, EtcdSnapshotBackup, EtcdSnapshotBackupProps, EtcdSource } from '../../src';

/** A repository like the one the e2e tests use. */
export function testRepository(overrides: { endpoint?: string } = {}): BackupRepository {
  return BackupRepository.s3({
    bucket: 'backups',
    prefix: 'k8s',
    endpoint: overrides.endpoint ?? 'https://minio.example.com:9000',
    credentials: Credentials.fromSecret('backup-s3'),
    encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
  });
}

/** Synthesizes one EtcdSnapshotBackup in a fresh chart. */
export function synthEtcdBackup(props: Partial<EtcdSnapshotBackupProps> = {}): { chart: Chart; manifests: any[]; backup: EtcdSnapshotBackup } {
  const chart = Testing.chart();
  const backup = new EtcdSnapshotBackup(chart, 'etcd', {
    clusterName: 'prod',
    source: EtcdSource.kubeadm(),
    repository: testRepository(),
    ...props,
  });
  return { chart, manifests: Testing.synth(chart), backup };
}

/** The pod spec of the only CronJob in a list of manifests. */
export function podSpec(manifests: any[]): any {
  const cronJobs = manifests.filter((m) => m.kind === 'CronJob');
  if (cronJobs.length !== 1) throw new Error(`expected one CronJob, got ${cronJobs.length}`);
  return cronJobs[0].spec.jobTemplate.spec.template.spec;
}
