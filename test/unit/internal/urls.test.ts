import { checkHttpUrlHost, isHost } from '../../../src/internal/urls';
import { cluster, literal, s3, veleroLocation } from '../../support/input-checks';

describe('storage endpoints: a host is a DNS name, an IPv4 or a bracketed IPv6 address', () => {
  test.each([
    "https://x';{touch,pwned};'.example.com:9000", 'https://a;b.example.com', 'https://{a}.example.com', 'https://x$(id).example.com',
    'https://x`id`.example.com', 'https://a_b.example.com', 'https://1.2.3', 'https://0x7f.1', 'https://010.0.0.1',
    'https://minio.example.com:0', 'https://-minio.example.com', 'https://minio.example.com.',
  ])('S3 endpoint %j is rejected', (bad) => {
    // GIVEN an endpoint whose host WHATWG URL parsing accepts but no DNS knows
    // WHEN it is the repository endpoint, THEN the factory refuses it and shows it
    expect(() => s3({ endpoint: bad })).toThrow(new RegExp(`^BackupRepository\\.s3\\(\\{ endpoint \\}\\): expected http\\(s\\)://HOST\\[:PORT\\] .*; got ${literal(JSON.stringify(bad))}$`));
  });

  test('an endpoint with a line break or a tab (which URL parsing silently drops) is rejected', () => {
    expect(() => s3({ endpoint: 'https://mi\nnio.example.com' })).toThrow(/BackupRepository.s3\(\{ endpoint \}\): expected http\(s\):\/\/HOST/);
    expect(() => s3({ endpoint: 'https://minio.example.com/\t' })).toThrow(/BackupRepository.s3\(\{ endpoint \}\): expected a URL without whitespace or control characters/);
  });

  test('DNS names, IPv4 and bracketed IPv6 addresses with ports are accepted', () => {
    for (const good of ['https://minio.example.com:9000', 'https://MinIO.Example.com', 'https://minio', 'https://10.0.0.1:65535', 'https://[2001:db8::1]:9000', 'https://[::ffff:10.0.0.1]']) {
      expect(() => s3({ endpoint: good })).not.toThrow();
    }
  });

  test.each(["https://x';{touch,pwned};'.example.com:9000", 'https://a;b.example.com/s3', 'https://x$(id).example.com'])('Velero s3Url %j is rejected', (bad) => {
    // GIVEN the same hosts as Velero's s3Url, WHEN set, THEN the location and ClusterBackup name it
    expect(() => veleroLocation({ s3Url: bad })).toThrow(new RegExp(`^VeleroBackupStorageLocation: s3Url: expected http\\(s\\)://HOST.*; got ${literal(JSON.stringify(bad))}$`));
    expect(() => cluster({ velero: { storageLocation: { bucket: 'velero', s3Url: bad }, schedules: [] } }))
      .toThrow(new RegExp(`^ClusterBackup: velero\\.storageLocation\\.s3Url: expected http\\(s\\)://HOST.*; got ${literal(JSON.stringify(bad))}$`));
  });

  test('ClusterBackup names Velero\'s s3Url when it is no URL at all (not a bare "Invalid URL")', () => {
    expect(() => cluster({ velero: { storageLocation: { bucket: 'velero', s3Url: 'minio:9000' }, schedules: [] } }))
      .toThrow(/^ClusterBackup: velero\.storageLocation\.s3Url: expected http\(s\):\/\/HOST\[:PORT\]/);
  });

  test('Velero s3Url: credentials, query and fragment are rejected; a path is kept', () => {
    for (const bad of ['https://user:pw@minio.example.com', 'https://minio.example.com/?a=b', 'https://minio.example.com/#x', 'https://minio.example.com/a b']) {
      expect(() => veleroLocation({ s3Url: bad })).toThrow(/VeleroBackupStorageLocation: s3Url: expected http\(s\):\/\/host\[:port\]\[\/path\]|expected a URL without whitespace/);
    }
    expect(() => veleroLocation({ s3Url: 'https://rgw.example.com/s3', region: 'us-east-1' })).not.toThrow();
  });
});

describe('isHost', () => {
  test.each(['minio', 'minio.example.com', '10.0.0.1', '[2001:db8::1]', '[::1]'])('%s is a host', (host) => {
    expect(isHost(host)).toBe(true);
  });

  test.each(['', 'a_b', '1.2.3', '256.0.0.1', '[zz::1]', '::1', `${'a'.repeat(64)}.com`])('%j is not', (host) => {
    expect(isHost(host)).toBe(false);
  });
});

describe('checkHttpUrlHost', () => {
  test('names the option; what follows the host is the caller\'s to check', () => {
    expect(() => checkHttpUrlHost('s3Url', 'https://minio.example.com:9000/any/path?x')).not.toThrow();
    expect(() => checkHttpUrlHost('s3Url', 'ftp://minio.example.com')).toThrow(/^s3Url: expected http\(s\):\/\/HOST\[:PORT\]/);
    expect(() => checkHttpUrlHost('s3Url', 'https://minio.example.com:65536')).toThrow(/^s3Url: expected http\(s\):\/\/HOST\[:PORT\]/);
  });
});
