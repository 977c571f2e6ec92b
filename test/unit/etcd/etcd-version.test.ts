import { EtcdVersion } from '../../../src';

describe('EtcdVersion', () => {
  test('of: major.minor.patch as `etcd --version` prints it', () => {
    const v = EtcdVersion.of('3.5.24');
    expect([v.major, v.minor, v.patch, v.version, v.toString(), v.minorVersion]).toEqual([3, 5, 24, '3.5.24', '3.5.24', '3.5']);
  });

  test.each(['3.6', 'v3.6.11', '3.6.11-0', '', undefined as any])('of(%p) is not a version', (bad) => {
    expect(() => EtcdVersion.of(bad)).toThrow(/^etcdVersion: expected an etcd version like '3\.6\.11'/);
  });

  test.each(['3.4.23', '3.8.0', '4.0.0'])('of(%p) is outside 3.5 to 3.7', (bad) => {
    expect(() => EtcdVersion.of(bad)).toThrow(/^etcdVersion: etcd 3\.5 to 3\.7 are supported/);
  });

  test('the image is registry.k8s.io\'s tag of the version; the default is 3.6.11', () => {
    expect(EtcdVersion.V3_7_1.image).toBe('registry.k8s.io/etcd:3.7.1-0');
    expect(EtcdVersion.DEFAULT).toBe(EtcdVersion.V3_6_11);
  });

  test('the revision bump exists from 3.5.10 and in every later minor', () => {
    expect(EtcdVersion.of('3.5.9').canBumpRevision).toBe(false);
    expect(EtcdVersion.of('3.5.10').canBumpRevision).toBe(true);
    expect(EtcdVersion.of('3.6.0').canBumpRevision).toBe(true);
  });
});
