import { BackupRepository, CaCertificate, Credentials } from '../../../src';
import { creds, s3 } from '../../support/input-checks';
import { credentials, encryption } from '../../support/repositories';

describe('BackupRepository.s3', () => {
  test('AWS default endpoint, regional endpoint, custom endpoint', () => {
    expect(BackupRepository.s3({ bucket: 'bkt', credentials, encryption }).resticRepository('c/etcd'))
      .toBe('s3:https://s3.amazonaws.com/bkt/c/etcd');
    expect(BackupRepository.s3({ bucket: 'bkt', region: 'eu-west-1', prefix: '/k8s/', credentials, encryption }).resticRepository('c/etcd'))
      .toBe('s3:https://s3.eu-west-1.amazonaws.com/bkt/k8s/c/etcd');
    expect(BackupRepository.s3({ bucket: 'bkt', endpoint: 'https://minio.local:9000/', credentials, encryption }).resticRepository('c/etcd'))
      .toBe('s3:https://minio.local:9000/bkt/c/etcd');
  });

  test('env references the Secret, never a value', () => {
    const repo = BackupRepository.s3({ bucket: 'bkt', region: 'eu-west-1', credentials: Credentials.fromSecret('s3', { sessionToken: 'token' }), encryption });
    expect(repo._env()).toEqual([
      { name: 'AWS_ACCESS_KEY_ID', secret: { name: 's3', key: 'AWS_ACCESS_KEY_ID' } },
      { name: 'AWS_SECRET_ACCESS_KEY', secret: { name: 's3', key: 'AWS_SECRET_ACCESS_KEY' } },
      { name: 'AWS_SESSION_TOKEN', secret: { name: 's3', key: 'token' } },
      { name: 'AWS_DEFAULT_REGION', value: 'eu-west-1' },
    ]);
  });

  test('a private CA is mounted and named', () => {
    const repo = BackupRepository.s3({ bucket: 'bkt', endpoint: 'https://minio:9000', caCert: CaCertificate.fromSecret({ name: 'ca', key: 'bundle.pem' }), credentials, encryption });
    expect(repo._caCertPath()).toBe('/etc/backup-repository/ca/ca.crt');
    expect(repo._files()[0].secret).toEqual({ name: 'ca', key: 'bundle.pem' });
  });

  test.each([
    [{ bucket: '' }, /bucket is required/],
    [{ bucket: 'a/b' }, /no slashes; put the path in 'prefix'/],
    [{ bucket: 'Upper' }, /BackupRepository.s3\(\{ bucket \}\)/],
    [{ bucket: 'bkt', endpoint: 'minio:9000' }, /BackupRepository.s3\(\{ endpoint \}\)/],
    [{ bucket: 'bkt', endpoint: 'ftp://minio' }, /scheme must be https/],
    [{ bucket: 'bkt', endpoint: 'http://minio' }, /allowInsecureHttp/],
    [{ bucket: 'bkt', endpoint: 'https://minio/bucket' }, /scheme:\/\/host\[:port\] only/],
    [{ bucket: 'bkt', endpoint: 'https://user:pw@minio' }, /never credentials/],
    [{ bucket: 'bkt', prefix: 'a//b' }, /BackupRepository.s3\(\{ prefix \}\)/],
    [{ bucket: 'bkt', prefix: 'a/../b' }, /prefix/],
    [{ bucket: 'bkt', region: 'EU WEST' }, /region/],
  ])('bad input %p is rejected', (props, message) => {
    expect(() => BackupRepository.s3({ credentials, encryption, ...props } as any)).toThrow(message);
  });

  test('plain http only with the loud opt-out', () => {
    expect(BackupRepository.s3({ bucket: 'bkt', endpoint: 'http://minio:9000', allowInsecureHttp: true, credentials, encryption }).resticRepository('x'))
      .toBe('s3:http://minio:9000/bkt/x');
  });
});

describe('other backends', () => {
  test('GCS mounts the service-account key and sets the project', () => {
    const repo = BackupRepository.gcs({ bucket: 'my-backups', projectId: 'my-project-1', prefix: 'k8s', credentials: Credentials.fromSecret('gcs'), encryption });
    expect(repo.resticRepository('c/etcd')).toBe('gs:my-backups:/k8s/c/etcd');
    expect(repo._env()).toContainEqual({ name: 'GOOGLE_APPLICATION_CREDENTIALS', value: '/etc/backup-repository/gcs/credentials.json' });
    expect(repo._files()[0].secret).toEqual({ name: 'gcs', key: 'credentials.json' });
  });

  test('Azure uses the account name and key', () => {
    const repo = BackupRepository.azureBlob({ accountName: 'acct1', container: 'backups', credentials: Credentials.fromSecret('az'), encryption });
    expect(repo.resticRepository('c/etcd')).toBe('azure:backups:/c/etcd');
    expect(repo._env()).toContainEqual({ name: 'AZURE_ACCOUNT_KEY', secret: { name: 'az', key: 'AZURE_ACCOUNT_KEY' } });
    expect(() => BackupRepository.azureBlob({ accountName: 'Bad_Name', container: 'backups', credentials, encryption })).toThrow(/accountName/);
  });
});

describe('a backend owns its facts', () => {
  test('workstation exports: secrets to fill in, known values literal and quoted', () => {
    expect(BackupRepository.s3({ bucket: 'bkt', region: 'eu-west-1', credentials, encryption })._workstationExports())
      .toEqual(['export AWS_ACCESS_KEY_ID=\'…\' AWS_SECRET_ACCESS_KEY=\'…\' AWS_DEFAULT_REGION=eu-west-1']);
    expect(BackupRepository.gcs({ bucket: 'bkt', projectId: 'my-project', credentials, encryption })._workstationExports())
      .toEqual(['export GOOGLE_PROJECT_ID=my-project GOOGLE_APPLICATION_CREDENTIALS="$PWD/credentials.json"']);
    expect(BackupRepository.azureBlob({ accountName: 'acct', container: 'backups', credentials, encryption })._workstationExports())
      .toEqual(['export AZURE_ACCOUNT_NAME=acct AZURE_ACCOUNT_KEY=\'…\'']);
  });
});

describe('region and prefix lengths are bounded', () => {
  test('an S3 region over 64 characters is rejected', () => {
    // GIVEN a region of 65 valid characters, WHEN used, THEN refused with the limit
    expect(() => s3({ region: 'a'.repeat(65) })).toThrow(/BackupRepository.s3\(\{ region \}\): expected a region name like 'eu-west-1' \(.*at most 64 characters\); got "a{65}"/);
    expect(() => s3({ region: 'a'.repeat(64) })).not.toThrow();
  });

  test('a repository prefix over 512 characters is rejected, for every backend', () => {
    const long = Array.from({ length: 52 }, () => 'abcdefghi').join('/'); // 519 characters
    expect(() => s3({ prefix: long })).toThrow(/BackupRepository.s3\(\{ prefix \}\): expected .*at most 512 characters; got ".*" \(519 characters\)/);
    expect(() => BackupRepository.gcs({ bucket: 'bkt', projectId: 'proj-123456', prefix: long, credentials: creds, encryption })).toThrow(/BackupRepository.gcs\(\{ prefix \}\): .*at most 512 characters/);
    expect(() => BackupRepository.azureBlob({ accountName: 'acct', container: 'c-1', prefix: long, credentials: creds, encryption })).toThrow(/BackupRepository.azureBlob\(\{ prefix \}\): .*at most 512 characters/);
    expect(() => s3({ prefix: long.slice(0, 512) })).not.toThrow();
  });
});
