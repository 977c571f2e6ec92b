import { Distribution, EtcdSource } from '../../../src';

describe('Distribution: the facts of each control plane, in one place', () => {
  test('kubeadm: config, PKI, data dir, stop and start', () => {
    const d = Distribution.kubeadm();
    expect(d.name).toBe('kubeadm');
    expect(d.controlPlaneConfig).toEqual({
      paths: ['/etc/kubernetes'],
      files: ['/var/lib/kubelet/config.yaml'],
      requiredPaths: ['/etc/kubernetes/pki/ca.crt', '/etc/kubernetes/pki/sa.key', '/etc/kubernetes/manifests'],
    });
    expect(d.pkiPaths).toEqual(['/etc/kubernetes/pki']);
    expect(d.etcdDataDir).toBe('/var/lib/etcd');
    expect(d._stopControlPlane()[0]).toMatch(/^sudo mv \/etc\/kubernetes\/manifests \/etc\/kubernetes\/manifests.off /);
    expect(d._startControlPlane()).toEqual(['sudo mv /etc/kubernetes/manifests.off /etc/kubernetes/manifests', 'sudo systemctl start kubelet']);
  });

  test.each([['k3s', Distribution.k3s(), 'k3s'], ['rke2', Distribution.rke2(), 'rke2-server']])('%s: its own server paths and service', (name, d, service) => {
    const server = `/var/lib/rancher/${name}/server`;
    expect(d.name).toBe(name);
    expect(d.controlPlaneConfig?.files).toEqual([`${server}/token`]);
    expect(d.pkiPaths).toEqual([`${server}/tls`]);
    expect(d.etcdDataDir).toBe(`${server}/db/etcd`);
    expect(d._stopControlPlane()).toEqual([`sudo systemctl stop ${service}`]);
  });

  test('external etcd: nothing of the control plane is ours', () => {
    const d = Distribution.external();
    expect(d.controlPlaneConfig).toBeUndefined();
    expect(d.pkiPaths).toEqual([]);
    expect(d.etcdDataDir).toBeUndefined();
    expect(d._stopControlPlane()).toEqual([]);
  });

  test('each EtcdSource carries its distribution', () => {
    expect(EtcdSource.kubeadm().distribution.name).toBe('kubeadm');
    expect(EtcdSource.k3s().distribution.name).toBe('k3s');
    expect(EtcdSource.rke2().distribution.name).toBe('rke2');
    expect(EtcdSource.external({ endpoint: 'https://etcd.example.com:2379', tlsSecret: 'etcd' }).distribution.name).toBe('external');
  });
});
