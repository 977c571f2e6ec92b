import { Cron } from 'cdk8s';
import { Retention } from '../../src';
import { PitfallContext, pitfalls } from '../../src/pitfalls';
import { testRepository } from '../support/charts';

const repository = testRepository({ splitRoles: true });
const safe: PitfallContext = {
  repository, externalKeys: true, endpoints: [repository.endpoint], etcd: true, managedControlPlane: false, drill: true, retentions: [],
};

describe('pitfalls', () => {
  test('a safe configuration trips nothing', () => {
    expect(pitfalls('ClusterBackup', safe, {})).toEqual([]);
  });

  test('each rule trips, prefixed, and names its acknowledgement', () => {
    const all: PitfallContext = {
      ...safe,
      externalKeys: false,
      endpoints: ['https://minio.minio.svc:9000'],
      repository: testRepository(),
      etcd: false,
      drill: false,
      configPathsWithoutPki: { paths: ['/etc/kubernetes/manifests'], pki: ['/etc/kubernetes/pki'] },
      retentions: [{ option: 'etcd.retention', retention: Retention.keepLast(6), schedule: Cron.hourly() }],
    };
    const found = pitfalls('ClusterBackup', all, {});
    expect(found).toHaveLength(7);
    for (const m of found) expect(m).toMatch(/^ClusterBackup: /);
    for (const ack of ['keysStoredOutsideCluster', 'singleCredential', 'inClusterRepository', 'noEtcdBackup', 'noRestoreDrill', 'configWithoutPki', 'shortRetention']) {
      expect(found.some((m) => m.includes(`acknowledge.${ack}: true`))).toBe(true);
    }
  });

  test('an acknowledgement silences its rule only', () => {
    const ctx: PitfallContext = { ...safe, externalKeys: false, etcd: false, drill: false };
    expect(pitfalls('C', ctx, { keysStoredOutsideCluster: true, noEtcdBackup: true })).toEqual([expect.stringMatching(/^C: no restore drill/)]);
  });

  test('a managed control plane needs neither etcd nor a drill', () => {
    expect(pitfalls('C', { ...safe, repository: undefined, etcd: false, drill: false, managedControlPlane: true }, {})).toEqual([]);
  });
});
