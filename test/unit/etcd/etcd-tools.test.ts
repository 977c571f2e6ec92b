import { EtcdTools } from '../../../src';
import { checkEtcdTools } from '../../../src/etcd/etcd-tools';

describe('EtcdTools', () => {
  test('imageVolume: the etcd image mounted read-only into the restic image, its tools at binDir', () => {
    const tools = EtcdTools.imageVolume();
    expect(tools.mountsEtcdImage).toBe(true);
    expect(tools._bind('registry.k8s.io/etcd:3.6.11-0', 'docker.io/restic/restic:0.18.0')).toEqual({
      image: 'docker.io/restic/restic:0.18.0',
      toolsDir: '/etcd-image/usr/local/bin',
      imageVolume: { name: 'etcd-image', image: 'registry.k8s.io/etcd:3.6.11-0', mountPath: '/etcd-image' },
    });
    expect(EtcdTools.imageVolume({ binDir: '/bin' })._bind('e', 'r').toolsDir).toBe('/etcd-image/bin');
  });

  test.each(['bin', '/usr/../bin', '/usr/local/bin/', '/a b', '/./bin'])('imageVolume refuses binDir %j', (binDir) => {
    expect(() => EtcdTools.imageVolume({ binDir })).toThrow(/EtcdTools.imageVolume: binDir must be an absolute, normalized path/);
  });

  test('shellImage: the scripts run in that image, nothing mounted', () => {
    const tools = EtcdTools.shellImage('quay.io/coreos/etcd:v3.5.16');
    expect(tools.mountsEtcdImage).toBe(false);
    expect(tools._bind('registry.k8s.io/etcd:3.6.11-0', 'docker.io/restic/restic:0.18.0')).toEqual({ image: 'quay.io/coreos/etcd:v3.5.16' });
    expect(() => EtcdTools.shellImage('not an image')).toThrow(/EtcdTools.shellImage: image/);
  });

  test('checkEtcdTools takes only an EtcdTools, naming the option', () => {
    const tools = EtcdTools.imageVolume();
    expect(checkEtcdTools('etcdTools', tools)).toBe(tools);
    expect(() => checkEtcdTools('etcdTools', { binDir: '/bin' })).toThrow(/^etcdTools: expected EtcdTools.imageVolume\(\) or EtcdTools.shellImage\('<image>'\); got \{"binDir":"\/bin"\}/);
  });
});
