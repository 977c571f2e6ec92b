import { Testing } from 'cdk8s';
import { BackupRepository, Credentials, ExternalKeysOptions, ExternalSecretKeys } from '../../../src';
import { encryption } from '../../support/repositories';

describe('a backend owns its facts', () => {
  const store = { storeName: 'vault', repositoryPassword: { key: 'backup/password' } };

  function externalKeyNames(repo: BackupRepository, options: Partial<ExternalKeysOptions>): string[] {
    const chart = Testing.chart();
    new ExternalSecretKeys(chart, 'keys', { ...store, ...options, repository: repo });
    return Testing.synth(chart).flatMap((o) => o.spec.data.map((d: { secretKey: string }) => `${o.metadata.name}/${d.secretKey}`)).sort();
  }

  test('ExternalSecretKeys creates exactly the keys the backend reads, a session token included', () => {
    const s3 = BackupRepository.s3({ bucket: 'bkt', credentials: Credentials.fromSecret('s3', { sessionToken: 'token' }), encryption });
    expect(() => externalKeyNames(s3, { accessKeyId: { key: 'a' }, secretAccessKey: { key: 's' } }))
      .toThrow(/ExternalSecretKeys: sessionToken is required for a s3 repository/);
    expect(externalKeyNames(s3, { accessKeyId: { key: 'a' }, secretAccessKey: { key: 's' }, sessionToken: { key: 't' } }))
      .toEqual(['backup-repository/password', 's3/AWS_ACCESS_KEY_ID', 's3/AWS_SECRET_ACCESS_KEY', 's3/token']);
    const azure = BackupRepository.azureBlob({ accountName: 'acct', container: 'backups', credentials: Credentials.fromSecret('az'), encryption });
    expect(externalKeyNames(azure, { azureAccountKey: { key: 'k' }, accessKeyId: { key: 'ignored' } }))
      .toEqual(['az/AZURE_ACCOUNT_KEY', 'backup-repository/password']);
    const gcs = BackupRepository.gcs({ bucket: 'bkt', projectId: 'my-project', credentials: Credentials.fromSecret('gcs'), encryption });
    expect(externalKeyNames(gcs, { gcsServiceAccountKey: { key: 'g' } })).toEqual(['backup-repository/password', 'gcs/credentials.json']);
  });
});
