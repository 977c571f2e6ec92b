/**
 * One storage definition for restic and Velero: a BackupRepository renders the restic jobs'
 * access and Velero's BackupStorageLocation (bucket, path, endpoint, region, CA, credentials).
 * Fixtures of the tests that check the two agree.
 */
import { Cron, Testing } from 'cdk8s';
import { TEST_CA_PEM } from './test-ca';
import { BackupRepository, CaCertificate, ClusterBackup, ClusterBackupProps, Credentials, Encryption, EtcdSource, Retention } from '../../src';

export const credentials = Credentials.fromSecret('cluster-backup-s3');
export const encryption = Encryption.repositoryPassword({ name: 'cluster-backup-repository', key: 'password' });

/** The S3 definition: bucket acme-backups, prefix k8s, an S3-compatible endpoint with a region. */
export function s3(caCert?: CaCertificate): BackupRepository {
  return BackupRepository.s3({ bucket: 'acme-backups', prefix: 'k8s', endpoint: 'https://s3.acme.example:9000', region: 'us-east-1', caCert, credentials, encryption });
}

export const schedules = [{ name: 'apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.gfs({ daily: 7 }) }];

/** A kubeadm ClusterBackup whose Velero location is derived from its repository (with an inline CA by default). */
export function cluster(props: Partial<ClusterBackupProps>): { out: any[]; backup: ClusterBackup } {
  const chart = Testing.chart();
  const repository = props.repository ?? s3(CaCertificate.fromPem(TEST_CA_PEM));
  const backup = new ClusterBackup(chart, 'backup', {
    clusterName: 'prod',
    repository,
    etcd: { source: EtcdSource.kubeadm() },
    controlPlaneConfig: { nodes: ['cp-1'] },
    velero: { storageLocation: { repository, default: true }, schedules },
    acknowledge: props.externalKeys ? { singleCredential: true } : { keysStoredOutsideCluster: true, singleCredential: true },
    ...props,
  });
  return { out: Testing.synth(chart), backup };
}
