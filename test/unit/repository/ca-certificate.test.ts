import { CaCertificate } from '../../../src';
import { TEST_CA_PEM } from '../../support/test-ca';

describe('an inline CA (CaCertificate.fromPem) for the restic jobs', () => {
  test.each([
    ['not PEM', 'hello'],
    ['a private key', `${TEST_CA_PEM}\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----`],
    ['text around the blocks', `subject=CN=ca\n${TEST_CA_PEM}`],
  ])('fromPem refuses %s', (_what, pem) => {
    expect(() => CaCertificate.fromPem(pem)).toThrow(/CaCertificate\.fromPem\(pem\)/);
  });
});

describe('CaCertificate', () => {
  test('fromPem keeps the certificate blocks, trimmed, with one final newline', () => {
    const ca = CaCertificate.fromPem(`\n\n${TEST_CA_PEM.trim()}\n\n`);
    expect(ca.source).toBe('inline');
    expect(ca.key).toBe('ca.crt');
    expect(ca.pem).toBe(`${TEST_CA_PEM.trim()}\n`);
  });

  test('fromSecret and fromConfigMap name where the bundle is (ca.crt by default)', () => {
    expect(CaCertificate.fromSecret({ name: 'minio-ca', key: 'bundle.pem' })).toMatchObject({ source: 'secret', name: 'minio-ca', key: 'bundle.pem' });
    expect(CaCertificate.fromConfigMap('minio-ca')).toMatchObject({ source: 'configMap', name: 'minio-ca', key: 'ca.crt' });
  });

  test('bad names and keys are rejected, naming the option', () => {
    expect(() => CaCertificate.fromSecret({ name: 'Bad Name', key: 'ca.crt' })).toThrow(/CaCertificate.fromSecret\(ref\).name/);
    expect(() => CaCertificate.fromConfigMap('ca', 'a b')).toThrow(/CaCertificate.fromConfigMap\(key\)/);
  });
});
