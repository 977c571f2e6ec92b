import { checkSecretKey, checkSecretKeyRef, checkSecretName } from '../../../src/internal/secret-checks';

describe('Secret references', () => {
  test('a Secret name is a DNS subdomain', () => {
    expect(() => checkSecretName('secretName', 'backup-s3.prod')).not.toThrow();
    expect(() => checkSecretName('secretName', 'Backup')).toThrow(/^secretName: a Secret name must be a DNS subdomain.*; got "Backup"$/);
    expect(() => checkSecretName('secretName', 'a'.repeat(254))).toThrow(/secretName/);
  });

  test('a Secret key: letters, digits, \'-\', \'_\' and \'.\'', () => {
    expect(() => checkSecretKey('key', '-._Ab9')).not.toThrow();
    expect(() => checkSecretKey('key', 'a/b')).toThrow(/^key: a Secret key may contain only/);
    expect(() => checkSecretKey('key', '')).toThrow(/^key: /);
  });

  test('a reference: required, its name and key checked under the option, returned as given', () => {
    const ref = { name: 'backup-repository', key: 'password' };
    expect(checkSecretKeyRef('password', ref)).toBe(ref);
    expect(() => checkSecretKeyRef('password', undefined as any)).toThrow(/^password: a Secret reference \{ name, key \} is required$/);
    expect(() => checkSecretKeyRef('password', { name: 'x', key: 'a b' })).toThrow(/^password\.key: /);
    expect(() => checkSecretKeyRef('password', { name: 'X', key: 'k' })).toThrow(/^password\.name: /);
  });
});
