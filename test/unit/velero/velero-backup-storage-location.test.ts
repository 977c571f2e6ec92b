import { Duration, Testing } from 'cdk8s';
import { CaCertificate, Credentials, VeleroBackupStorageLocation, VeleroBackupStorageLocationProps, VeleroServerSideEncryption, VeleroVersion } from '../../../src';
import { veleroLocation } from '../../support/input-checks';

function bsl(props: Partial<VeleroBackupStorageLocationProps> = {}): any {
  const chart = Testing.chart();
  new VeleroBackupStorageLocation(chart, 'bsl', { bucket: 'velero-backups', ...props });
  return Testing.synth(chart)[0];
}

function location(props: Partial<VeleroBackupStorageLocationProps>): any {
  return bsl(props);
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
