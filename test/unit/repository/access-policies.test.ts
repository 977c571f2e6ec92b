import { BackupRepository, Credentials, Encryption, Immutability } from '../../../src';

const encryption = Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' });

function statements(doc: string): any[] {
  return JSON.parse(doc).Statement;
}
function allowed(doc: string): Array<[string, string]> {
  return statements(doc).filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action.map((a: string) => [a, s.Resource]));
}

describe('accessPolicies', () => {
  const repo = BackupRepository.s3({
    bucket: 'backups', prefix: 'k8s', credentials: Credentials.fromSecret('w'), maintainerCredentials: Credentials.fromSecret('m'), encryption,
  });
  const p = repo.accessPolicies();

  test('S3: the writer reads and adds below the prefix and deletes only lock files', () => {
    expect(p.format).toBe('aws-iam-policy');
    expect(allowed(p.writer)).toEqual([
      ['s3:ListBucket', 'arn:aws:s3:::backups'],
      ['s3:GetBucketLocation', 'arn:aws:s3:::backups'],
      ['s3:GetObject', 'arn:aws:s3:::backups/k8s/*'],
      ['s3:PutObject', 'arn:aws:s3:::backups/k8s/*'],
      ['s3:DeleteObject', 'arn:aws:s3:::backups/k8s/*/locks/*'],
    ]);
    expect(statements(p.writer)[0].Condition).toEqual({ StringLike: { 's3:prefix': ['k8s/*'] } });
  });

  test('S3: the reader only reads (and its locks); the maintainer may delete below the prefix, nothing on the bucket', () => {
    expect(allowed(p.reader).filter(([a]) => a === 's3:DeleteObject' || a === 's3:PutObject').map(([, r]) => r)).toEqual(['arn:aws:s3:::backups/k8s/*/locks/*', 'arn:aws:s3:::backups/k8s/*/locks/*']);
    expect(allowed(p.maintainer)).toContainEqual(['s3:DeleteObject', 'arn:aws:s3:::backups/k8s/*']);
    expect(allowed(p.maintainer).map(([a]) => a)).not.toContain('s3:DeleteObjectVersion');
  });

  test('S3: the maintainer may list and read older versions (the runbook\'s recovery copies them), no other role may', () => {
    expect(allowed(p.maintainer)).toEqual(expect.arrayContaining([
      ['s3:ListBucketVersions', 'arn:aws:s3:::backups'],
      ['s3:GetObjectVersion', 'arn:aws:s3:::backups/k8s/*'],
    ]));
    expect(statements(p.maintainer).find((s) => s.Sid === 'ListTheRepositoriesVersions').Condition).toEqual({ StringLike: { 's3:prefix': ['k8s/*'] } });
    for (const doc of [p.writer, p.reader]) {
      expect(allowed(doc).map(([a]) => a)).not.toEqual(expect.arrayContaining(['s3:ListBucketVersions']));
      expect(allowed(doc).map(([a]) => a)).not.toEqual(expect.arrayContaining(['s3:GetObjectVersion']));
    }
  });

  test('S3: every role is denied what would undo versions and locks, whatever else its user is given', () => {
    for (const doc of [p.writer, p.reader, p.maintainer]) {
      const deny = statements(doc).find((s) => s.Effect === 'Deny');
      expect(deny.Action).toEqual(expect.arrayContaining(['s3:DeleteObjectVersion', 's3:BypassGovernanceRetention', 's3:PutBucketVersioning', 's3:PutBucketObjectLockConfiguration', 's3:PutLifecycleConfiguration']));
      expect(deny.Resource).toEqual(['arn:aws:s3:::backups', 'arn:aws:s3:::backups/*']);
    }
  });

  test('S3 without a prefix: the whole bucket, no prefix condition', () => {
    const root = BackupRepository.s3({ bucket: 'backups', credentials: Credentials.fromSecret('w'), encryption }).accessPolicies();
    expect(allowed(root.writer)).toContainEqual(['s3:DeleteObject', 'arn:aws:s3:::backups/*/locks/*']);
    expect(statements(root.writer)[0].Condition).toBeUndefined();
  });

  test('a REST server: the writer at the append-only URL, the maintainer at the other', () => {
    const rest = BackupRepository.restServer({
      url: 'https://backup.example.com:8000',
      maintainerUrl: 'https://backup-admin.example.com:8001',
      prefix: 'prod',
      credentials: Credentials.fromSecret('w'),
      maintainerCredentials: Credentials.fromSecret('m'),
      encryption,
      immutability: Immutability.restServerAppendOnly(),
    }).accessPolicies();
    expect(rest.format).toBe('text');
    expect(rest.writer).toContain('https://backup.example.com:8000 started with --append-only');
    expect(rest.maintainer).toContain('WITHOUT --append-only at https://backup-admin.example.com:8001');
  });

  test('GCS and Azure: the grants in words', () => {
    const gcs = BackupRepository.gcs({ bucket: 'backups', projectId: 'acme-prod', credentials: Credentials.fromSecret('w'), encryption }).accessPolicies();
    expect(gcs.format).toBe('text');
    expect(gcs.writer).toMatch(/delete only objects whose name contains \/locks\//);
  });
});
