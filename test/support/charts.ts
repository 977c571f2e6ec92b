import * as fs from 'fs';
import { Chart, Testing } from 'cdk8s';
import { S3Server } from './s3';
import { BackupRepository, CaCertificate, Credentials, Encryption, EtcdSnapshotBackup, EtcdSnapshotBackupProps, EtcdSource } from '../../src';

/** A repository like the one the e2e tests use. */
export function testRepository(overrides: { endpoint?: string; splitRoles?: boolean } = {}): BackupRepository {
  return BackupRepository.s3({
    bucket: 'backups',
    prefix: 'k8s',
    endpoint: overrides.endpoint ?? 'https://minio.example.com:9000',
    credentials: Credentials.fromSecret('backup-s3'),
    maintainerCredentials: overrides.splitRoles ? Credentials.fromSecret('backup-s3-maintainer') : undefined,
    encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
  });
}

/**
 * A repository on the test's S3 server (s3.ts), over HTTPS with its CA, credentials and
 * password from the Secrets `s3Secrets` gives a pod.
 */
export function s3Repository(s3: S3Server, prefix = 'k8s'): BackupRepository {
  return BackupRepository.s3({
    bucket: 'backups',
    prefix,
    endpoint: s3.endpoint,
    caCert: CaCertificate.fromSecret({ name: 'storage-ca', key: 'ca.crt' }),
    credentials: Credentials.fromSecret('backup-s3'),
    encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
  });
}

/** The Secrets (name -> key -> value) a job on `s3Repository` reads. */
export function s3Secrets(s3: S3Server, password: string): Record<string, Record<string, string | Buffer>> {
  return {
    'backup-repository': { password },
    'backup-s3': { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
    'storage-ca': { 'ca.crt': fs.readFileSync(s3.caCertFile) },
  };
}

/** The runbook's Keys section exports for `s3Repository`, as the off-cluster copies give them. */
export function s3Keys(s3: S3Server, password: string): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, RESTIC_PASSWORD: password };
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
