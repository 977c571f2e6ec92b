import { EtcdSource } from '../../../src';

describe('EtcdSource', () => {
  test('kubeadm: node IP endpoint, no host network, healthcheck client cert', () => {
    const s = EtcdSource.kubeadm();
    expect(s.endpoint).toBe('https://$(HOST_IP):2379');
    expect(s.hostNetwork).toBe(false);
    expect(s.certificates).toEqual({
      ca: '/etc/kubernetes/pki/etcd/ca.crt',
      cert: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
      key: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
    });
    expect(s.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(s.usesHostPaths).toBe(true);
  });

  test('k3s and RKE2: localhost with host network, their own cert paths and label values', () => {
    const k3s = EtcdSource.k3s();
    expect(k3s.hostNetwork).toBe(true);
    expect(k3s.endpoint).toBe('https://127.0.0.1:2379');
    expect(k3s.certificates.ca).toBe('/var/lib/rancher/k3s/server/tls/etcd/server-ca.crt');
    expect(k3s.nodeSelector).toEqual({ 'node-role.kubernetes.io/etcd': 'true' });
    expect(EtcdSource.rke2().certificates.key).toBe('/var/lib/rancher/rke2/server/tls/etcd/client.key');
  });

  test('everything is overridable', () => {
    const s = EtcdSource.kubeadm({ endpoint: 'https://10.0.0.1:2379', caCert: '/pki/ca.pem', hostNetwork: true, nodeSelector: { role: 'etcd' } });
    expect(s.endpoint).toBe('https://10.0.0.1:2379');
    expect(s.certificates.ca).toBe('/pki/ca.pem');
    expect(s.hostNetwork).toBe(true);
    expect(s.nodeSelector).toEqual({ role: 'etcd' });
  });

  test('external: certificates from a Secret, no host access', () => {
    const s = EtcdSource.external({ endpoint: 'https://etcd.example.com:2379', tlsSecret: 'etcd-client' });
    expect(s.usesHostPaths).toBe(false);
    expect(s.certificates).toEqual({ ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' });
    expect(s.nodeSelector).toEqual({});
  });

  test.each([
    ['https://a:2379,https://b:2379', /exactly one endpoint/],
    ['https://a:2379 https://b:2379', /exactly one endpoint/],
    ['http://a:2379', /expected https:\/\/HOST:PORT/],
    ['https://a', /expected https:\/\/HOST:PORT/],
    ['https://a:99999', /expected https:\/\/HOST:PORT/],
    // docs/etcd-backup.md promises DNS names or IP addresses: nothing a shell or a flag parser reads otherwise.
    ['https://--help:2379', /HOST is a DNS name, an IPv4 address/],
    ['https://a*:2379', /HOST is a DNS name, an IPv4 address/],
    ['https://$(echo${IFS}x):2379', /HOST is a DNS name, an IPv4 address/],
    ['https://$(POD_IP):2379', /HOST is a DNS name, an IPv4 address/],
    ['https://1.2.3:2379', /HOST is a DNS name, an IPv4 address/],
  ])('endpoint %p is rejected', (endpoint, message) => {
    expect(() => EtcdSource.external({ endpoint, tlsSecret: 'x' })).toThrow(message);
    expect(() => EtcdSource.kubeadm({ endpoint })).toThrow(/EtcdSource.kubeadm\(\{ endpoint \}\)/);
  });

  test.each(['https://$(HOST_IP):2379', 'https://10.0.0.1:2379', 'https://[fd00::1]:2379', 'https://etcd-0.example.com:2379'])('endpoint %p is accepted', (endpoint) => {
    expect(EtcdSource.kubeadm({ endpoint }).endpoint).toBe(endpoint);
  });

  test('cert paths must be absolute', () => {
    expect(() => EtcdSource.kubeadm({ caCert: 'pki/ca.crt' })).toThrow(/EtcdSource.kubeadm\(\{ caCert \}\): expected an absolute host path/);
    expect(() => EtcdSource.k3s({ clientKey: '/a/../b.key' })).toThrow(/clientKey/);
  });

  test('bad label selectors and Secret names are rejected', () => {
    expect(() => EtcdSource.kubeadm({ nodeSelector: { 'bad key!': 'x' } })).toThrow(/nodeSelector/);
    expect(() => EtcdSource.external({ endpoint: 'https://e:2379', tlsSecret: 'Bad_Secret' })).toThrow(/tlsSecret/);
  });
});
