import { Duration, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { ControlPlaneConfigBackup, EtcdSource, Toleration } from '../../../src';
import { podSpec, synthEtcdBackup, testRepository } from '../../support/charts';
import { expectValidManifests } from '../../support/validate';

const CONTROL_PLANE_NO_SCHEDULE = { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' };

describe('Toleration', () => {
  test('the distributions\' defaults are unchanged, in order, on the source and in the pod', () => {
    const kubeadm = [CONTROL_PLANE_NO_SCHEDULE, { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' }];
    const rancher = [
      CONTROL_PLANE_NO_SCHEDULE,
      { key: 'node-role.kubernetes.io/etcd', operator: 'Exists', effect: 'NoExecute' },
      { key: 'CriticalAddonsOnly', operator: 'Exists' },
    ];
    expect(EtcdSource.kubeadm().tolerations).toEqual(kubeadm);
    expect(EtcdSource.k3s().tolerations).toEqual(rancher);
    expect(EtcdSource.rke2().tolerations).toEqual(rancher);
    expect(EtcdSource.external({ endpoint: 'https://etcd:2379', tlsSecret: 'etcd' }).tolerations).toEqual([]);

    expect(podSpec(synthEtcdBackup().manifests).tolerations).toEqual(kubeadm);
    expect(podSpec(synthEtcdBackup({ source: EtcdSource.k3s() }).manifests).tolerations).toEqual(rancher);
    expect(podSpec(synthEtcdBackup({ source: EtcdSource.external({ endpoint: 'https://etcd:2379', tlsSecret: 'etcd' }) }).manifests).tolerations)
      .toBeUndefined();
  });

  test('GIVEN plain-data tolerations WHEN synthesized THEN the pod has them as written (operator Equal by default), schema-valid', () => {
    // GIVEN
    const tolerations: Toleration[] = [
      { key: 'dedicated', value: 'backup', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'tainted-without-value', operator: 'Equal', value: '' },
      { operator: 'Exists' },
    ];

    // WHEN
    const { manifests } = synthEtcdBackup({ source: EtcdSource.kubeadm({ tolerations }) });

    // THEN
    expect(podSpec(manifests).tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'backup', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'tainted-without-value', operator: 'Equal', value: '' },
      { operator: 'Exists' },
    ]);
    expectValidManifests(manifests);
  });

  test('the source\'s tolerations replace the defaults, reach the config backup too, and are copies of what was given', () => {
    const given: Toleration[] = [{ key: 'backup-only', operator: 'Exists' }];
    const source = EtcdSource.k3s({ tolerations: given });
    expect(source.tolerations).toEqual(given);
    expect(source.tolerations[0]).not.toBe(given[0]);
    const chart = Testing.chart();
    new ControlPlaneConfigBackup(chart, 'config', { clusterName: 'prod', source, repository: testRepository(), nodes: ['cp-1'] });
    const cj = Testing.synth(chart).find((m) => m.kind === 'CronJob');
    expect(cj.spec.jobTemplate.spec.template.spec.tolerations).toEqual([{ key: 'backup-only', operator: 'Exists' }]);
    expect(podSpec(synthEtcdBackup({ source: EtcdSource.kubeadm({ tolerations: [] }) }).manifests).tolerations).toBeUndefined();
  });

  test.each<[string, any, RegExp]>([
    ['Exists with a value', { key: 'dedicated', operator: 'Exists', value: 'backup' }, /\[0\]: operator 'Exists' matches any value, so it takes none; drop value "backup", or use operator 'Equal'/],
    ['an unknown operator', { key: 'dedicated', operator: 'In', value: 'x' }, /\[0\]: operator must be 'Equal' or 'Exists'; got "In"/],
    ['an unknown effect', { key: 'dedicated', operator: 'Exists', effect: 'NO_SCHEDULE' }, /\[0\]: effect must be 'NoSchedule', 'PreferNoSchedule' or 'NoExecute' .*; got "NO_SCHEDULE"/],
    ['Equal (the default) without a value', { key: 'dedicated' }, /\[0\]: operator 'Equal' \(the default\) needs a value; set value .* or operator: 'Exists' to tolerate any value of "dedicated"/],
    ['Equal without a key', { value: 'x' }, /\[0\]: a toleration without a key matches every taint only with operator 'Exists'/],
    ['a key that is no label key', { key: 'bad key!', operator: 'Exists' }, /\[0\]: key must be a taint key .*; got "bad key!"/],
    ['a value that is no label value', { key: 'dedicated', value: '-x-' }, /\[0\]: value must be a taint value .*; got "-x-"/],
    ['tolerationSeconds without NoExecute', { key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 60 }, /\[0\]: tolerationSeconds applies only to effect 'NoExecute'/],
    ['fractional tolerationSeconds', { key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1.5 }, /\[0\]: tolerationSeconds must be a whole number of seconds, 0 or more; got 1.5/],
    ['negative tolerationSeconds', { key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: -1 }, /tolerationSeconds must be a whole number/],
    ['a misspelt field', { key: 'k', operator: 'Exists', efect: 'NoSchedule' }, /\[0\]: unknown field 'efect'; a toleration has key, operator, value, effect and tolerationSeconds/],
  ])('GIVEN %s WHEN the source is made THEN it names the option and the fix', (_, toleration, message) => {
    expect(() => EtcdSource.kubeadm({ tolerations: [toleration] })).toThrow(/^EtcdSource\.kubeadm\(\{ tolerations \}\)\[0\]: /);
    expect(() => EtcdSource.kubeadm({ tolerations: [toleration] })).toThrow(message);
  });

  test('a cdk8s-plus NodeTaintQuery passed from untyped code is refused with the reason', () => {
    const query = kplus.NodeTaintQuery.exists('node.kubernetes.io/unreachable', { effect: kplus.TaintEffect.NO_EXECUTE, evictAfter: Duration.minutes(5) });
    expect(() => EtcdSource.rke2({ tolerations: [CONTROL_PLANE_NO_SCHEDULE, query as any] }))
      .toThrow(/EtcdSource\.rke2\(\{ tolerations \}\)\[1\]: unknown field 'evictAfter'.*\(plain data, not a cdk8s-plus NodeTaintQuery\)/);
  });
});
