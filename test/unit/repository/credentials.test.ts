import { Credentials } from '../../../src';

describe('Credentials and Encryption', () => {
  test('bad Secret names and keys are rejected', () => {
    expect(() => Credentials.fromSecret('Bad Name')).toThrow(/Credentials.fromSecret\(secretName\)/);
    expect(() => Credentials.fromSecret('ok', { accessKeyId: 'a b' })).toThrow(/keys.accessKeyId/);
  });
});

describe('Credentials', () => {
  test('the keys default to what restic and Velero read; a session token only when given', () => {
    const c = Credentials.fromSecret('backup-s3');
    expect(c.secretName).toBe('backup-s3');
    expect(c.keys).toEqual({
      accessKeyId: 'AWS_ACCESS_KEY_ID',
      secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
      sessionToken: undefined,
      azureAccountKey: 'AZURE_ACCOUNT_KEY',
      gcsServiceAccountKey: 'credentials.json',
      restUsername: 'RESTIC_REST_USERNAME',
      restPassword: 'RESTIC_REST_PASSWORD',
      cloudCredentialsFile: 'cloud',
    });
    expect(Credentials.fromSecret('s3', { accessKeyId: 'id', sessionToken: 'token' }).keys).toMatchObject({ accessKeyId: 'id', sessionToken: 'token' });
  });
});
