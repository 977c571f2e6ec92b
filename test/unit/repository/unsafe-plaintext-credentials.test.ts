import { Testing } from 'cdk8s';
import { UnsafePlaintextCredentialsSecret } from '../../../src';

describe('the Helm chart\'s extra schedule fields and plaintext credentials', () => {
  test('plaintext credentials only through the construct whose name says so, with both views', () => {
    const chart = Testing.chart();
    const secret = new UnsafePlaintextCredentialsSecret(chart, 's', { name: 'test-s3', namespace: 'velero', accessKeyId: 'AKIA', secretAccessKey: 'shh' });
    const [o] = Testing.synth(chart);
    expect(o.stringData).toEqual({ AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'shh', cloud: '[default]\naws_access_key_id=AKIA\naws_secret_access_key=shh\n' });
    expect(o.metadata.annotations['backup.cdk8s.io/plaintext']).toMatch(/unsafe/);
    expect(secret.credentials.secretName).toBe('test-s3');
  });
});

describe('UnsafePlaintextCredentialsSecret', () => {
  test.each([['accessKeyId', { accessKeyId: '', secretAccessKey: 'shh' }], ['secretAccessKey', { accessKeyId: 'AKIA', secretAccessKey: 'a b' }]])(
    'an empty value or one with whitespace is rejected: %s', (option, keys) => {
      expect(() => new UnsafePlaintextCredentialsSecret(Testing.chart(), 's', { name: 'test-s3', ...keys }))
        .toThrow(new RegExp(`UnsafePlaintextCredentialsSecret: ${option} must be a non-empty value`));
    });
});
