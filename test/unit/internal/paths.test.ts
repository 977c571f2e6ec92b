import { EtcdSource } from '../../../src';
import { checkHostPath } from '../../../src/internal/paths';
import { cluster, configBackup, literal } from '../../support/input-checks';

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

describe('checkHostPath', () => {
  test('returns the path; the longest segment and path Linux allows pass, longer ones do not', () => {
    expect(checkHostPath('paths', '/etc/kubernetes/pki')).toBe('/etc/kubernetes/pki');
    expect(() => checkHostPath('paths', `/${'a'.repeat(255)}`)).not.toThrow();
    expect(() => checkHostPath('paths', `/${'a'.repeat(256)}`)).toThrow(/^paths: expected an absolute host path/);
    expect(() => checkHostPath('paths', `/${'a/'.repeat(2048)}a`)).toThrow(/^paths: expected an absolute host path/);
  });

  test('the error shows the example it is given', () => {
    expect(() => checkHostPath('dataDir', 'var/lib/etcd', '/var/lib/etcd')).toThrow(/e\.g\. \/var\/lib\/etcd; got "var\/lib\/etcd"$/);
  });
});
