import { BackupRepository, CaCertificate } from '../../../src';
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
