import { Duration } from 'cdk8s';
import { BackupRepository, Credentials, Encryption, Immutability } from '../../../src';

const encryption = Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' });
const credentials = Credentials.fromSecret('backup-writer');
const maintainerCredentials = Credentials.fromSecret('backup-maintainer');

describe('Immutability', () => {
  test('S3 Object Lock counts whole days, COMPLIANCE unless told GOVERNANCE', () => {
    const lock = Immutability.s3ObjectLock({ lockPeriod: Duration.days(30) });
    expect(lock).toMatchObject({ kind: 's3-object-lock', lockDays: 30, lockMode: 'COMPLIANCE' });
    expect(Immutability.s3ObjectLock({ lockPeriod: Duration.days(7), governance: true }).lockMode).toBe('GOVERNANCE');
    expect(() => Immutability.s3ObjectLock({ lockPeriod: Duration.hours(36) })).toThrow(/whole days.*got 1 day 12 hours/);
    expect(() => Immutability.s3ObjectLock({} as any)).toThrow(/lockPeriod is required/);
  });

  test('it belongs to its storage: Object Lock on S3, append-only on a REST server', () => {
    const s3 = { bucket: 'backups', credentials, maintainerCredentials, encryption };
    expect(() => BackupRepository.s3({ ...s3, immutability: Immutability.restServerAppendOnly() })).toThrow(/property of BackupRepository.restServer storage/);
    const lock = Immutability.s3ObjectLock({ lockPeriod: Duration.days(30) });
    expect(() => BackupRepository.gcs({ bucket: 'backups', projectId: 'acme-prod', credentials, maintainerCredentials, encryption, immutability: lock }))
      .toThrow(/restic#1544/);
    expect(BackupRepository.s3({ ...s3, immutability: lock }).immutability?.lockDays).toBe(30);
  });

  test('it needs split roles: one credential would make the backup jobs prune what the storage keeps', () => {
    expect(() => BackupRepository.s3({ bucket: 'backups', credentials, encryption, immutability: Immutability.s3ObjectLock({ lockPeriod: Duration.days(30) }) }))
      .toThrow(/needs split roles.*set maintainerCredentials/);
  });
});
