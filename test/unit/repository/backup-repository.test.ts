import { BackupRepository, CaCertificate, Credentials, Encryption, Immutability } from '../../../src';
import { credentials, encryption } from '../../support/repositories';

describe('BackupRepository.s3', () => {
  test('missing credentials or encryption is rejected', () => {
    expect(() => BackupRepository.s3({ bucket: 'bkt', encryption } as any)).toThrow(/credentials are required/);
    expect(() => BackupRepository.s3({ bucket: 'bkt', credentials } as any)).toThrow(/encryption is required/);
  });
});

describe('BackupRepository', () => {
  test('each factory checks its common props under its own name', () => {
    expect(() => BackupRepository.gcs({ bucket: 'bkt', projectId: 'my-project', encryption } as any)).toThrow(/BackupRepository.gcs\(\{ credentials \}\)/);
    expect(() => BackupRepository.azureBlob({ accountName: 'acct', container: 'backups', credentials } as any)).toThrow(/BackupRepository.azureBlob\(\{ encryption \}\)/);
  });

  test('resticRepository takes lowercase path segments only', () => {
    const repo = BackupRepository.s3({ bucket: 'bkt', credentials, encryption });
    for (const bad of ['', 'Prod/etcd', 'prod//etcd', '/prod', 'prod/etcd/', 'prod/../etcd']) {
      expect(() => repo.resticRepository(bad)).toThrow(/BackupRepository.resticRepository\(subPath\)/);
    }
  });

  test('the backend and endpoint are public facts; credentials and encryption are the ones given', () => {
    const repo = BackupRepository.s3({ bucket: 'bkt', endpoint: 'https://minio.example.com:9000', credentials, encryption });
    expect(repo.backend).toBe('s3');
    expect(repo.endpoint).toBe('https://minio.example.com:9000');
    expect(repo.credentials).toBe(credentials);
    expect(repo.encryption).toBe(encryption);
  });

  test('the restic command line on a workstation and as root on a node, with the saved CA when there is one', () => {
    const plain = BackupRepository.s3({ bucket: 'bkt', region: 'eu-west-1', credentials, encryption });
    expect(plain._workstationRestic('s3:x')).toEqual(['restic', '-r', 's3:x']);
    expect(plain._rootRestic('s3:x')).toEqual(['sudo', '--preserve-env=RESTIC_PASSWORD,AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_DEFAULT_REGION', 'restic', '-r', 's3:x']);
    const withCa = BackupRepository.s3({ bucket: 'bkt', endpoint: 'https://minio:9000', caCert: CaCertificate.fromSecret({ name: 'ca', key: 'ca.crt' }), credentials, encryption });
    expect(withCa._workstationRestic('s3:x')).toEqual(['restic', '-r', 's3:x', '--cacert', 'ca.crt']);
  });

  test('the CA source: none, a Secret or a ConfigMap', () => {
    expect(BackupRepository.s3({ bucket: 'bkt', credentials, encryption })._caCertSource()).toBeUndefined();
    expect(BackupRepository.s3({ bucket: 'bkt', endpoint: 'https://minio:9000', caCert: CaCertificate.fromSecret({ name: 'ca', key: 'bundle.pem' }), credentials, encryption })._caCertSource())
      .toEqual({ kind: 'Secret', name: 'ca', key: 'bundle.pem' });
    expect(BackupRepository.s3({ bucket: 'bkt', endpoint: 'https://minio:9000', caCert: CaCertificate.fromConfigMap('ca'), credentials, encryption })._caCertSource())
      .toEqual({ kind: 'ConfigMap', name: 'ca', key: 'ca.crt' });
  });
});

describe('BackupRepository: roles with their own keys', () => {
  const enc = Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' });

  test('one credential: every role uses it, and the roles are not split', () => {
    const r = BackupRepository.s3({ bucket: 'backups', credentials: Credentials.fromSecret('s3'), encryption: enc });
    expect(r.splitRoles).toBe(false);
    expect([r.credentials, r.readerCredentials, r.maintainerCredentials].map((c) => c.secretName)).toEqual(['s3', 's3', 's3']);
  });

  test('split: each role reads its own Secret; the reader defaults to the writer\'s keys', () => {
    const r = BackupRepository.s3({ bucket: 'backups', credentials: Credentials.fromSecret('w'), maintainerCredentials: Credentials.fromSecret('m'), encryption: enc });
    expect(r.splitRoles).toBe(true);
    expect(r._env('writer').find((e) => e.name === 'AWS_ACCESS_KEY_ID')?.secret?.name).toBe('w');
    expect(r._env('reader').find((e) => e.name === 'AWS_ACCESS_KEY_ID')?.secret?.name).toBe('w');
    expect(r._env('maintainer').find((e) => e.name === 'AWS_ACCESS_KEY_ID')?.secret?.name).toBe('m');
    const withReader = BackupRepository.s3({
      bucket: 'backups', credentials: Credentials.fromSecret('w'), readerCredentials: Credentials.fromSecret('r'), maintainerCredentials: Credentials.fromSecret('m'), encryption: enc,
    });
    expect(withReader._env('reader').find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')?.secret?.name).toBe('r');
  });

  test('the maintainer\'s keys never share a Secret with the writer or the reader', () => {
    expect(() => BackupRepository.s3({ bucket: 'backups', credentials: Credentials.fromSecret('s3'), maintainerCredentials: Credentials.fromSecret('s3', { accessKeyId: 'ADMIN_ID' }), encryption: enc }))
      .toThrow(/same Secret \(s3\) as the writer's/);
    expect(() => BackupRepository.s3({
      bucket: 'backups', credentials: Credentials.fromSecret('w'), readerCredentials: Credentials.fromSecret('m'), maintainerCredentials: Credentials.fromSecret('m'), encryption: enc,
    })).toThrow(/a drill must not hold keys that can delete/);
  });

  test('a REST server: user and password from the environment, the maintainer at its own URL', () => {
    const r = BackupRepository.restServer({
      url: 'https://backup.example.com:8000/',
      maintainerUrl: 'https://backup-admin.example.com:8001',
      prefix: 'prod',
      credentials: Credentials.fromSecret('rest-writer'),
      maintainerCredentials: Credentials.fromSecret('rest-maintainer'),
      encryption: enc,
      immutability: Immutability.restServerAppendOnly(),
    });
    expect(r.backend).toBe('rest');
    // rest-server serves repositories at most two folders deep: the prefix, then one folder per job.
    expect(r.resticRepository('prod-eu/etcd')).toBe('rest:https://backup.example.com:8000/prod/prod-eu_etcd');
    expect(r.resticRepository('prod-eu/config/cp-1.example.com')).toBe('rest:https://backup.example.com:8000/prod/prod-eu_config_cp-1.example.com');
    expect(r._resticRepository('prod-eu/etcd', 'maintainer')).toBe('rest:https://backup-admin.example.com:8001/prod/prod-eu_etcd');
    expect(r._env('writer')).toEqual([
      { name: 'RESTIC_REST_USERNAME', secret: { name: 'rest-writer', key: 'RESTIC_REST_USERNAME' } },
      { name: 'RESTIC_REST_PASSWORD', secret: { name: 'rest-writer', key: 'RESTIC_REST_PASSWORD' } },
    ]);
    expect(r._env('maintainer')[0].secret?.name).toBe('rest-maintainer');
    expect(r._veleroLocation('x')).toMatch(/Velero cannot write to a restic REST server/);
  });

  test('a REST server: bad URLs and an append-only server without a maintainer URL are refused', () => {
    const base = { credentials: Credentials.fromSecret('w'), maintainerCredentials: Credentials.fromSecret('m'), encryption: enc };
    expect(() => BackupRepository.restServer({ ...base, url: 'https://user:pw@backup.example.com' })).toThrow(/user and password in credentials/);
    expect(() => BackupRepository.restServer({ ...base, url: 'http://backup.example.com' })).toThrow(/https:\/\/ \(or http:\/\/ with allowInsecureHttp/);
    expect(() => BackupRepository.restServer({ ...base, url: 'https://backup.example.com/repo' })).toThrow(/paths go in 'prefix'/);
    expect(() => BackupRepository.restServer({ ...base, url: 'https://backup.example.com', prefix: 'team/k8s' })).toThrow(/at most two folders deep, so the prefix is one folder/);
    expect(() => BackupRepository.restServer({ ...base, url: 'https://backup.example.com', prefix: 'data' })).toThrow(/not data, index, keys/);
    expect(() => BackupRepository.restServer({ ...base, url: 'https://backup.example.com', immutability: Immutability.restServerAppendOnly() }))
      .toThrow(/maintainerUrl.*without --append-only/);
    expect(() => BackupRepository.restServer({ ...base, url: 'https://b.example.com', maintainerUrl: 'https://b.example.com/', immutability: Immutability.restServerAppendOnly() }))
      .toThrow(/maintainerUrl/);
    expect(BackupRepository.restServer({ ...base, url: 'http://127.0.0.1:8000', allowInsecureHttp: true }).endpoint).toBe('http://127.0.0.1:8000');
  });
});
