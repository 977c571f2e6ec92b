import { Duration, Testing } from 'cdk8s';
import {
  BackupRepository, CaCertificate, Credentials, VeleroBackupStorageLocation, VeleroBackupStorageLocationProps, VeleroServerSideEncryption,
  VeleroVersion,
} from '../../../src';
import { expectValidCustomResources, testIfCrds } from '../../support/crd-validate';
import { veleroLocation } from '../../support/input-checks';
import { cluster, credentials, encryption, s3, schedules } from '../../support/storage-definition';
import { TEST_CA_PEM } from '../../support/test-ca';

function bsl(props: Partial<VeleroBackupStorageLocationProps> = {}): any {
  const chart = Testing.chart();
  new VeleroBackupStorageLocation(chart, 'bsl', { bucket: 'velero-backups', ...props });
  return Testing.synth(chart)[0];
}

/** A location as given; without a repository, of the bucket velero-backups unless another is given. */
function location(props: Partial<VeleroBackupStorageLocationProps>): any {
  const chart = Testing.chart();
  new VeleroBackupStorageLocation(chart, 'bsl', { ...(props.repository ? {} : { bucket: 'velero-backups' }), ...props });
  return Testing.synth(chart)[0];
}

describe('VeleroBackupStorageLocation', () => {
  test('S3-compatible: region, s3Url with path style, CA ref, cloud credentials file, access mode', () => {
    const o = bsl({ prefix: '/prod/', region: 'minio', s3Url: 'https://minio.example.com:9000', caCert: CaCertificate.fromSecret({ name: 'minio-ca', key: 'ca.crt' }), veleroVersion: VeleroVersion.V1_18, credentials: Credentials.fromSecret('velero-s3'), default: true, validationFrequency: Duration.minutes(5) });
    expect(o.metadata).toEqual({ name: 'default', namespace: 'velero' });
    expect(o.spec).toEqual({
      provider: 'aws',
      objectStorage: { bucket: 'velero-backups', prefix: 'prod', caCertRef: { name: 'minio-ca', key: 'ca.crt' } },
      config: { region: 'minio', s3Url: 'https://minio.example.com:9000', s3ForcePathStyle: 'true' },
      credential: { name: 'velero-s3', key: 'cloud' },
      default: true,
      accessMode: 'ReadWrite',
      validationFrequency: '0h5m0s',
    });
  });

  test('server-side encryption: one method at a time', () => {
    expect(bsl({ serverSideEncryption: VeleroServerSideEncryption.kms('alias/velero') }).spec.config).toEqual({ kmsKeyId: 'alias/velero' });
    expect(bsl({ serverSideEncryption: VeleroServerSideEncryption.customerKey('/credentials/sse-c.key') }).spec.config).toEqual({ customerKeyEncryptionFile: '/credentials/sse-c.key' });
    // The AWS plugin ignores serverSideEncryption next to a key source, except the aws:kms kmsKeyId implies.
    expect(() => bsl({ serverSideEncryption: VeleroServerSideEncryption.s3Managed(), config: { kmsKeyId: 'k' } })).toThrow(/serverSideEncryption "AES256" with kmsKeyId is ignored/);
    expect(bsl({ serverSideEncryption: VeleroServerSideEncryption.kms('k'), config: { serverSideEncryption: 'aws:kms' } }).spec.config).toEqual({ kmsKeyId: 'k', serverSideEncryption: 'aws:kms' });
    expect(() => bsl({ config: { kmsKeyId: 'k', customerKeyEncryptionFile: '/k' } })).toThrow(/exclusive \(the AWS plugin takes one key source\)/);
    expect(() => bsl({ serverSideEncryption: VeleroServerSideEncryption.customerKey('/k'), config: { customerKeyEncryptionSecret: 's/k' } })).toThrow(/exclusive/);
    // SSE-C from a Secret: AWS plugin 1.13, Velero 1.17.
    const fromSecret = VeleroServerSideEncryption.customerKeySecret({ name: 'sse-c', key: 'key' });
    expect(() => bsl({ serverSideEncryption: fromSecret })).toThrow(/customerKeyEncryptionSecret, AWS plugin 1\.13\) needs Velero 1\.17/);
    expect(bsl({ serverSideEncryption: fromSecret, veleroVersion: VeleroVersion.V1_17 }).spec.config).toEqual({ customerKeyEncryptionSecret: 'sse-c/key' });
  });

  test('bad input', () => {
    expect(() => bsl({ bucket: 'velero/prod' })).toThrow(/bucket: a bucket name has no slashes/);
    expect(() => bsl({ s3Url: 'minio:9000' })).toThrow(/s3Url/);
    expect(() => bsl({ region: 'eu-west-1', config: { region: 'eu-west-2' } })).toThrow(/region and config.region both set/);
    expect(bsl({ readOnly: true }).spec.accessMode).toBe('ReadOnly');
  });
});

describe('version-gated fields', () => {
  test('a CA from a Secret (caCertRef) needs Velero 1.18; a ConfigMap CA is refused (Velero reads Secrets only)', () => {
    const ca = CaCertificate.fromSecret({ name: 'minio-ca', key: 'ca.crt' });
    expect(() => location({ caCert: ca, veleroVersion: VeleroVersion.V1_17 })).toThrow(/caCert: a CA bundle from a Secret \(objectStorage\.caCertRef; CaCertificate\.fromPem works on any version\) needs Velero 1\.18 or newer/);
    expect(location({ caCert: ca, veleroVersion: VeleroVersion.V1_18 }).spec.objectStorage.caCertRef).toEqual({ name: 'minio-ca', key: 'ca.crt' });
    expect(() => location({ caCert: CaCertificate.fromConfigMap('minio-ca'), veleroVersion: VeleroVersion.V1_18 })).toThrow(/cannot read a CA bundle from a ConfigMap; use CaCertificate\.fromPem\(pem\) .* or CaCertificate\.fromSecret/);
  });
});

describe('storage location: options of another plugin', () => {
  test('provider gcp with s3Url (an AWS-plugin key) is an error', () => {
    expect(() => location({ provider: 'gcp', s3Url: 'https://s3.example.com' })).toThrow(/s3Url is for the AWS plugin .* provider is "gcp"/);
    expect(() => location({ provider: 'azure', s3ForcePathStyle: true })).toThrow(/s3ForcePathStyle is for the AWS plugin/);
    expect(location({ provider: 'gcp' }).spec.provider).toBe('gcp');
  });
});

describe('region and prefix lengths are bounded', () => {
  test('Velero: prefix over 512 characters or with \'..\', region over 64 characters or with shell syntax, are rejected', () => {
    expect(() => veleroLocation({ prefix: 'a'.repeat(513) })).toThrow(/VeleroBackupStorageLocation: prefix: expected .*at most 512 characters/);
    expect(() => veleroLocation({ prefix: 'a/../b' })).toThrow(/VeleroBackupStorageLocation: prefix: expected .*no '.' or '..' segment/);
    expect(() => veleroLocation({ region: 'a'.repeat(65) })).toThrow(/VeleroBackupStorageLocation: region: expected a region name .*at most 64 characters/);
    expect(() => veleroLocation({ region: 'eu;id' })).toThrow(/VeleroBackupStorageLocation: region: expected a region name.*; got "eu;id"/);
    expect(() => veleroLocation({ region: 'minio', prefix: 'a'.repeat(512) })).not.toThrow();
  });
});

describe('a Velero location from the restic jobs\' repository', () => {
  test('GIVEN a ClusterBackup with one S3 definition THEN Velero writes to <prefix>/<cluster>/velero of the same bucket, endpoint, region, CA and credentials', () => {
    const { out, backup } = cluster({});
    const derived = out.find((o) => o.kind === 'BackupStorageLocation');
    expect(derived.spec).toEqual({
      provider: 'aws',
      objectStorage: { bucket: 'acme-backups', prefix: 'k8s/prod/velero', caCert: Buffer.from(TEST_CA_PEM.trim() + '\n').toString('base64') },
      config: { region: 'us-east-1', s3Url: 'https://s3.acme.example:9000', s3ForcePathStyle: 'true' },
      credential: { name: 'cluster-backup-s3', key: 'cloud' },
      default: true,
      accessMode: 'ReadWrite',
    });
    // The restic jobs use the same bucket and endpoint, each at a path of its own beside Velero's.
    expect(backup.etcdBackup!.resticRepository).toBe('s3:https://s3.acme.example:9000/acme-backups/k8s/prod/etcd');
    expect(out.filter((o) => o.kind === 'Schedule').every((s) => s.spec.template.storageLocation === 'default')).toBe(true);
    expect(backup.restoreRunbook()).toContain('Velero\'s storage: bucket `acme-backups`, path `k8s/prod/velero`, credentials Secret `cluster-backup-s3` (key `cloud`');
  });

  testIfCrds('the derived location validates against the CRD, inline CA (1.14) and caCertRef (1.18) alike', () => {
    expectValidCustomResources([location({ repository: s3(CaCertificate.fromPem(TEST_CA_PEM)) })]);
    const ref = location({ repository: s3(CaCertificate.fromSecret({ name: 'acme-ca', key: 'ca.crt' })), veleroVersion: VeleroVersion.V1_18 });
    expect(ref.spec.objectStorage.caCertRef).toEqual({ name: 'acme-ca', key: 'ca.crt' });
    expectValidCustomResources([ref]);
  });

  test('standalone, the path defaults to velero below the repository\'s prefix', () => {
    expect(location({ repository: s3() }).spec.objectStorage.prefix).toBe('k8s/velero');
    expect(location({ repository: s3(), prefix: 'edge/velero' }).spec.objectStorage.prefix).toBe('k8s/edge/velero');
  });

  test('AWS itself (no endpoint): no s3Url, the plugin finds the region', () => {
    const aws = BackupRepository.s3({ bucket: 'acme-backups', credentials, encryption });
    expect(location({ repository: aws }).spec.config).toBeUndefined();
  });

  test('GCS: provider gcp, and Velero reads the same service-account JSON key as restic', () => {
    const gcs = BackupRepository.gcs({ bucket: 'acme-backups', projectId: 'acme-prod', prefix: 'k8s', credentials, encryption });
    const derived = location({ repository: gcs });
    expect(derived.spec.provider).toBe('gcp');
    expect(derived.spec.objectStorage).toEqual({ bucket: 'acme-backups', prefix: 'k8s/velero' });
    expect(derived.spec.credential).toEqual({ name: 'cluster-backup-s3', key: 'credentials.json' });
  });
});

describe('what would make the two definitions disagree, or Velero\'s location Unavailable, is a synth error', () => {
  test.each(['bucket', 's3Url', 'region', 'credentials', 'caCert', 'provider'] as const)('%s given beside repository', (option) => {
    const values: { [k: string]: unknown } = {
      bucket: 'other', s3Url: 'https://s3.other.example', region: 'eu-west-1', credentials, caCert: CaCertificate.fromPem(TEST_CA_PEM), provider: 'aws',
    };
    expect(() => location({ repository: s3(), [option]: values[option] })).toThrow(new RegExp(`${option} comes from repository; drop it \\(one storage definition\\)`));
  });
  test('an S3-compatible endpoint without a region (Velero\'s AWS plugin cannot sign without one)', () => {
    const noRegion = BackupRepository.s3({ bucket: 'acme-backups', endpoint: 'https://s3.acme.example:9000', credentials, encryption });
    expect(() => location({ repository: noRegion })).toThrow(/repository: Velero's AWS plugin needs the region of an S3-compatible endpoint.*set region on BackupRepository\.s3/);
    expect(() => location({ bucket: 'velero', s3Url: 'https://minio.example.com' })).toThrow(/region is required with s3Url/);
  });
  test('a CA from a ConfigMap (Velero reads only inline PEM or a Secret)', () => {
    expect(() => location({ repository: s3(CaCertificate.fromConfigMap('acme-ca')) })).toThrow(/caCert \(the repository's\): Velero cannot read a CA bundle from a ConfigMap; use CaCertificate\.fromPem/);
  });
  test('a CA from a Secret on a Velero older than 1.18', () => {
    expect(() => location({ repository: s3(CaCertificate.fromSecret({ name: 'acme-ca', key: 'ca.crt' })) })).toThrow(/caCert \(the repository's\): .* needs Velero 1\.18 or newer/);
  });
  test('an Azure repository (its plugin needs facts the definition lacks)', () => {
    const azure = BackupRepository.azureBlob({ accountName: 'acmebackups', container: 'backups', credentials, encryption });
    expect(() => location({ repository: azure })).toThrow(/cannot be derived from an Azure Blob repository yet .* provider: 'azure'/);
  });
  test.each([
    ['prod', 'contains the restic repository s3:https://s3.acme.example:9000/acme-backups/k8s/prod/etcd'],
    ['prod/etcd', 'is the restic repository'],
    ['prod/config/cp-1/velero', 'lies inside the restic repository'],
  ])('a Velero path %s that overlaps a restic repository', (prefix, what) => {
    const repository = s3();
    expect(() => cluster({ repository, velero: { storageLocation: { repository, prefix }, schedules } })).toThrow(new RegExp(`Velero's location at .* which ${what.replace(/[.]/g, '\\.')}`));
  });
  test('prefix below the repository must be lowercase path segments', () => {
    expect(() => location({ repository: s3(), prefix: 'Prod/../velero' })).toThrow(/prefix \(below the repository's prefix\): expected lowercase path segments/);
  });
});
