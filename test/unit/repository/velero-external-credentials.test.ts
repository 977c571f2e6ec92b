import { Testing } from 'cdk8s';
import { BackupRepository, Credentials, VeleroExternalCredentials } from '../../../src';
import { expectValidCustomResources } from '../../support/crd-validate';
import { credentials, encryption } from '../../support/repositories';
import { cluster } from '../../support/storage-definition';

const store = { storeName: 'vault', repositoryPassword: { key: 'backup/password' } };

describe('VeleroExternalCredentials', () => {
  test('an S3 repository: the AWS plugin\'s INI file in Velero\'s namespace, from the store keys', () => {
    const chart = Testing.chart();
    const repository = BackupRepository.s3({ bucket: 'bkt', region: 'eu-west-1', credentials, encryption });
    const creds = new VeleroExternalCredentials(chart, 'creds', {
      ...store, repository, namespace: 'velero', accessKeyId: { key: 'backups/s3', property: 'id' }, secretAccessKey: { key: 'backups/s3', property: 'secret' },
    });
    const [o] = Testing.synth(chart);
    expect(o.metadata).toEqual({ name: 'backup-s3', namespace: 'velero' });
    expect(o.spec.target.template.data).toEqual({ cloud: '[default]\naws_access_key_id={{ .aws_access_key_id }}\naws_secret_access_key={{ .aws_secret_access_key }}\n' });
    expect(o.spec.data.map((d: any) => d.secretKey)).toEqual(['aws_access_key_id', 'aws_secret_access_key']);
    expect(creds.locations[0]).toBe('Secret `backup-s3` in namespace `velero`, key `cloud` ← store `vault`, key `backups/s3`, property `id`');
  });

  test('a GCS repository: the service-account key as it is, no template', () => {
    const chart = Testing.chart();
    const repository = BackupRepository.gcs({ bucket: 'bkt', projectId: 'my-project', credentials: Credentials.fromSecret('gcs'), encryption });
    new VeleroExternalCredentials(chart, 'creds', { ...store, repository, namespace: 'velero', gcsServiceAccountKey: { key: 'backups/gcs' } });
    const [o] = Testing.synth(chart);
    expect(o.spec.target.template).toBeUndefined();
    expect(o.spec.data).toEqual([{ secretKey: 'credentials.json', remoteRef: { key: 'backups/gcs' } }]);
  });

  test('a missing store key is an error naming the option', () => {
    const repository = BackupRepository.s3({ bucket: 'bkt', region: 'eu-west-1', credentials, encryption });
    expect(() => new VeleroExternalCredentials(Testing.chart(), 'creds', { ...store, repository, namespace: 'velero', accessKeyId: { key: 'a' } }))
      .toThrow(/VeleroExternalCredentials: externalKeys.secretAccessKey is required/);
  });
});

describe('Velero\'s credentials from the same vault keys', () => {
  test('GIVEN externalKeys THEN an ExternalSecret in Velero\'s namespace renders the AWS plugin\'s INI file from the same store keys', () => {
    const { out, backup } = cluster({
      externalKeys: {
        storeName: 'vault-backend',
        repositoryPassword: { key: 'backups/prod', property: 'password' },
        accessKeyId: { key: 'backups/s3', property: 'access_key_id' },
        secretAccessKey: { key: 'backups/s3', property: 'secret_access_key' },
      },
    });
    const velero = out.filter((o) => o.kind === 'ExternalSecret' && o.metadata.namespace === 'velero');
    expect(velero).toHaveLength(1);
    expect(velero[0].spec.target.template).toEqual({
      engineVersion: 'v2',
      data: { cloud: '[default]\naws_access_key_id={{ .aws_access_key_id }}\naws_secret_access_key={{ .aws_secret_access_key }}\n' },
    });
    expect(velero[0].spec.data).toEqual([
      { secretKey: 'aws_access_key_id', remoteRef: { key: 'backups/s3', property: 'access_key_id' } },
      { secretKey: 'aws_secret_access_key', remoteRef: { key: 'backups/s3', property: 'secret_access_key' } },
    ]);
    expect(backup.restoreRunbook()).toContain('Secret `cluster-backup-s3` in namespace `velero`, key `cloud` ← store `vault-backend`, key `backups/s3`');
    expectValidCustomResources(out);
  });
});
