/**
 * Fixtures of the input-check tests (paths, endpoints, regions, prefixes, namespaces): inputs
 * that have no business holding shell syntax are refused at synth time.
 */
import { Testing } from 'cdk8s';
import { testRepository } from './charts';
import {
  BackupRepository, ClusterBackup, ClusterBackupProps, ControlPlaneConfigBackup, ControlPlaneConfigBackupProps, Credentials,
  Encryption, EtcdSource, VeleroBackupStorageLocation, VeleroBackupStorageLocationProps,
} from '../../src';

/** Credentials whose Secret name and keys use every character a Secret allows. */
export const creds = Credentials.fromSecret('s3.creds-1', { accessKeyId: '-._Ak', secretAccessKey: '_.-Sk', cloudCredentialsFile: '-.cloud_' });
/** A repository password whose Secret name and key use every character a Secret allows. */
export const encryption = Encryption.repositoryPassword({ name: 'repo.pw-1', key: '-._Pw9' });

/** A ClusterBackup synthesized in a fresh chart. */
export function build(props: ClusterBackupProps): ClusterBackup {
  const chart = Testing.chart();
  const backup = new ClusterBackup(chart, 'backup', props);
  Testing.synth(chart);
  return backup;
}

const ok = { keysStoredOutsideCluster: true, singleCredential: true };

/** A kubeadm ClusterBackup (etcd and one node's config), synthesized. */
export function cluster(props: Partial<ClusterBackupProps> = {}): ClusterBackup {
  return build({
    clusterName: 'prod',
    repository: testRepository(),
    etcd: { source: EtcdSource.kubeadm() },
    controlPlaneConfig: { nodes: ['cp-1'] },
    acknowledge: ok,
    ...props,
  });
}

/** A ControlPlaneConfigBackup of one kubeadm node. */
export function configBackup(props: Partial<ControlPlaneConfigBackupProps>): void {
  const chart = Testing.chart();
  new ControlPlaneConfigBackup(chart, 'config', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: testRepository(), nodes: ['cp-1'], ...props });
}

/** An S3 repository of the bucket `backups`. */
export function s3(props: { endpoint?: string; region?: string; prefix?: string }): BackupRepository {
  return BackupRepository.s3({ bucket: 'backups', credentials: creds, encryption, ...props });
}

/** A VeleroBackupStorageLocation of the bucket `velero`. */
export function veleroLocation(props: Partial<VeleroBackupStorageLocationProps>): void {
  new VeleroBackupStorageLocation(Testing.chart(), 'bsl', { bucket: 'velero', ...props });
}

/** A string as a literal in a RegExp. */
export function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
