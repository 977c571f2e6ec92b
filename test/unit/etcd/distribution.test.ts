import { Distribution, EtcdSource } from '../../../src';

describe('Distribution: the facts of each control plane, in one place', () => {
  test('kubeadm: config (with the kubelet client certificate and flags), PKI, data dir', () => {
    const d = Distribution.kubeadm();
    expect(d.name).toBe('kubeadm');
    expect(d.controlPlaneConfig).toEqual({
      paths: ['/etc/kubernetes', '/var/lib/kubelet/pki'],
      files: ['/var/lib/kubelet/config.yaml', '/var/lib/kubelet/kubeadm-flags.env'],
      requiredPaths: ['/etc/kubernetes/pki/ca.crt', '/etc/kubernetes/pki/sa.key', '/etc/kubernetes/manifests', '/var/lib/kubelet/pki'],
    });
    expect(d.pkiPaths).toEqual(['/etc/kubernetes/pki']);
    expect(d.etcdDataDir).toBe('/var/lib/etcd');
  });

  test('each EtcdSource carries its distribution', () => {
    expect(EtcdSource.kubeadm().distribution.name).toBe('kubeadm');
    expect(EtcdSource.k3s().distribution.name).toBe('k3s');
    expect(EtcdSource.rke2().distribution.name).toBe('rke2');
    expect(EtcdSource.external({ endpoint: 'https://etcd.example.com:2379', tlsSecret: 'etcd' }).distribution.name).toBe('external');
  });
});
