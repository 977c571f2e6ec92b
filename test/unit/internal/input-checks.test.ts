/**
 * The input checks that keep shell syntax out of what we render (runbook commands, restic file
 * lists, env values): paths, endpoints, regions, prefixes, namespaces, and shellQuote itself.
 * Pure checks at synth time; test/e2e/runbook-shell.e2e.test.ts pastes the rendered runbook into
 * real shells.
 */
import { Cron, Testing } from 'cdk8s';
import {
  BackupRepository, ClusterBackup, ClusterBackupProps, ControlPlaneConfigBackup, ControlPlaneConfigBackupProps, Credentials,
  Encryption, EtcdSource, Retention, VeleroBackupStorageLocation, VeleroBackupStorageLocationProps,
} from '../../../src';
import { shellQuote } from '../../../src/internal/shell';
import { testRepository } from '../../support/charts';

const nightly = Cron.schedule({ minute: '0', hour: '2' });
const creds = Credentials.fromSecret('s3.creds-1', { accessKeyId: '-._Ak', secretAccessKey: '_.-Sk', cloudCredentialsFile: '-.cloud_' });
const encryption = Encryption.repositoryPassword({ name: 'repo.pw-1', key: '-._Pw9' });

function build(props: ClusterBackupProps): ClusterBackup {
  const chart = Testing.chart();
  const backup = new ClusterBackup(chart, 'backup', props);
  Testing.synth(chart);
  return backup;
}

describe('shellQuote: the words it writes', () => {
  test('plain words stay bare; the rest is single-quoted with \' as \'\\\'\'', () => {
    expect(shellQuote('s3:https://minio.example.com:9000/backups/k8s/prod/etcd')).toBe('s3:https://minio.example.com:9000/backups/k8s/prod/etcd');
    expect(shellQuote('/etc/kubernetes/.')).toBe('/etc/kubernetes/.');
    expect(shellQuote("a'b")).toBe("'a'\\''b'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('=x')).toBe("'=x'");
    expect(shellQuote('~')).toBe("'~'");
    expect(shellQuote('https://[::1]:9000')).toBe("'https://[::1]:9000'");
  });

  test.each(['a\0b', 'a\tb', 'x\r\ny', '\u001b[200~', 'a\u0003b', 'a\u007fb', 'a\u009bb'])('%j: control characters a terminal acts on are an error, not a changed word', (bad) => {
    // A pasted TAB completes file names, a CR ends the line, ESC starts a key binding; no argument holds a NUL.
    expect(() => shellQuote(bad)).toThrow(/^shellQuote: .* holds a control character other than a line break/);
  });
});

// ---------------------------------------------------------------------------------------------
// Inputs that have no business holding shell syntax are refused at synth time
// ---------------------------------------------------------------------------------------------

const ok = { keysStoredOutsideCluster: true };

function cluster(props: Partial<ClusterBackupProps> = {}): ClusterBackup {
  return build({
    clusterName: 'prod',
    repository: testRepository(),
    etcd: { source: EtcdSource.kubeadm() },
    controlPlaneConfig: { nodes: ['cp-1'] },
    acknowledge: ok,
    ...props,
  });
}

function configBackup(props: Partial<ControlPlaneConfigBackupProps>): void {
  const chart = Testing.chart();
  new ControlPlaneConfigBackup(chart, 'config', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: testRepository(), nodes: ['cp-1'], ...props });
}

function s3(props: { endpoint?: string; region?: string; prefix?: string }): BackupRepository {
  return BackupRepository.s3({ bucket: 'backups', credentials: creds, encryption, ...props });
}

function veleroLocation(props: Partial<VeleroBackupStorageLocationProps>): void {
  new VeleroBackupStorageLocation(Testing.chart(), 'bsl', { bucket: 'velero', ...props });
}

/** Paths with what a shell, a restic file list or YAML would read as syntax. */
const BAD_PATHS = [
  '/etc/x$(touch${IFS}/tmp/pwned)', '/etc/x$(id)', '/etc/`id`', '/etc/a;b', '/etc/{a,b}', "/etc/a'b", '/etc/a"b', '/etc/a b', '/etc/a\nb',
  '/etc/a\tb', '/etc/a|b', '/etc/a&b', '/etc/a>b', '/etc/a*', '/etc/~root', '/etc/a\\b', '/etc/a=b', '/etc/a:b', '/etc/é',
];

describe('host paths: absolute, normalized, path-safe characters only', () => {
  test.each(BAD_PATHS)('config path %j is rejected, naming the option', (bad) => {
    // GIVEN a path with shell syntax, WHEN it is configured, THEN synth refuses it with the value
    const got = new RegExp(`expected an absolute host path .*; got ${literal(JSON.stringify(bad))}$`);
    expect(() => cluster({ controlPlaneConfig: { nodes: ['cp-1'], paths: ['/etc/kubernetes', bad] } })).toThrow(new RegExp(`^ControlPlaneConfigBackup: paths: ${got.source}`));
    expect(() => cluster({ controlPlaneConfig: { nodes: ['cp-1'], encryptionProviderConfig: bad } })).toThrow(new RegExp(`^ControlPlaneConfigBackup: encryptionProviderConfig: ${got.source}`));
    expect(() => configBackup({ paths: ['/etc/kubernetes', bad] })).toThrow(new RegExp(`^ControlPlaneConfigBackup: paths: ${got.source}`));
    expect(() => configBackup({ files: [bad] })).toThrow(new RegExp(`^ControlPlaneConfigBackup: files: ${got.source}`));
    expect(() => configBackup({ requiredPaths: [bad] })).toThrow(new RegExp(`^ControlPlaneConfigBackup: requiredPaths: ${got.source}`));
    expect(() => configBackup({ encryptionProviderConfig: bad })).toThrow(new RegExp(`^ControlPlaneConfigBackup: encryptionProviderConfig: ${got.source}`));
  });

  test.each(['/etc/x\n/etc/y', '/etc/ca crt', '/etc/$(id)/ca.crt', '/etc/`id`', '/etc/a/../ca.crt', '/etc/a/', 'etc/ca.crt'])('etcd certificate path %j is rejected', (bad) => {
    // GIVEN a certificate path with a newline, a space or a command substitution
    for (const [factory, make] of [['kubeadm', EtcdSource.kubeadm], ['k3s', EtcdSource.k3s], ['rke2', EtcdSource.rke2]] as const) {
      for (const field of ['caCert', 'clientCert', 'clientKey'] as const) {
        // WHEN it is set, THEN the factory names the field and shows the value
        expect(() => make({ [field]: bad })).toThrow(new RegExp(`^EtcdSource\\.${factory}\\(\\{ ${field} \\}\\): expected an absolute host path .*; got ${literal(JSON.stringify(bad))}$`));
      }
    }
  });

  test('the path characters real configurations use are accepted', () => {
    expect(() => cluster({ controlPlaneConfig: { nodes: ['cp-1'], paths: ['/etc/kubernetes', '/opt/-a/@b/+c/d.e_f'], encryptionProviderConfig: '/etc/k8s@1/enc+2.yaml' } }))
      .toThrow(/requiredPaths \(kubeadm's default: a rebuilt node needs it\): \/var\/lib\/kubelet\/pki is not inside any backed-up path.*or set requiredPaths yourself/);
    expect(() => cluster({ controlPlaneConfig: { nodes: ['cp-1'], paths: ['/etc/kubernetes', '/var/lib/kubelet/pki', '/opt/-a/@b/+c/d.e_f'], encryptionProviderConfig: '/etc/k8s@1/enc+2.yaml' } }))
      .not.toThrow();
    expect(() => EtcdSource.kubeadm({ caCert: '/etc/pki/etcd@1/ca+2_x-y.crt' })).not.toThrow();
  });
});

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

  test('Velero: prefix over 512 characters or with \'..\', region over 64 characters or with shell syntax, are rejected', () => {
    expect(() => veleroLocation({ prefix: 'a'.repeat(513) })).toThrow(/VeleroBackupStorageLocation: prefix: expected .*at most 512 characters/);
    expect(() => veleroLocation({ prefix: 'a/../b' })).toThrow(/VeleroBackupStorageLocation: prefix: expected .*no '.' or '..' segment/);
    expect(() => veleroLocation({ region: 'a'.repeat(65) })).toThrow(/VeleroBackupStorageLocation: region: expected a region name .*at most 64 characters/);
    expect(() => veleroLocation({ region: 'eu;id' })).toThrow(/VeleroBackupStorageLocation: region: expected a region name.*; got "eu;id"/);
    expect(() => veleroLocation({ region: 'minio', prefix: 'a'.repeat(512) })).not.toThrow();
  });
});

describe('ClusterBackup: namespaces are DNS labels', () => {
  test.each(['hostAccessNamespace', 'namespace', 'veleroNamespace'] as const)('%s "backup;$(id)" is rejected', (option) => {
    // GIVEN a namespace with shell syntax, WHEN configured, THEN synth refuses it and shows it
    expect(() => cluster({ [option]: 'backup;$(id)' })).toThrow(new RegExp(`^ClusterBackup: ${option}: expected lowercase letters, digits and '-'.*; got "backup;\\$\\(id\\)"$`));
    expect(() => cluster({ [option]: 'n'.repeat(64) })).toThrow(new RegExp(`^ClusterBackup: ${option}: .*at most 63 characters`));
  });

  test('a Velero-only cluster checks its clusterName too (no backup job does it there)', () => {
    const velero = { schedules: [{ name: 'apps', schedule: nightly, retention: Retention.daily35Days() }] };
    expect(() => build({ clusterName: 'prod;id', managedControlPlane: true, velero, acknowledge: { noAlerts: true } }))
      .toThrow(/^ClusterBackup: clusterName: expected lowercase letters, digits and '-'.*; got "prod;id"$/);
  });
});

function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
