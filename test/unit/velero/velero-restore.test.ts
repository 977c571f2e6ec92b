import { Testing } from 'cdk8s';
import { VeleroRestore } from '../../../src';

describe('VeleroVolumeSnapshotLocation and VeleroRestore', () => {
  test('restore from a schedule\'s latest backup into a scratch namespace', () => {
    const chart = Testing.chart();
    new VeleroRestore(chart, 'drill', { scheduleName: 'apps-daily', includedNamespaces: ['shop'], namespaceMapping: { shop: 'shop-drill' } });
    expect(Testing.synth(chart)[0]).toEqual({
      apiVersion: 'velero.io/v1',
      kind: 'Restore',
      metadata: { name: 'drill', namespace: 'velero' },
      spec: { scheduleName: 'apps-daily', includedNamespaces: ['shop'], namespaceMapping: { shop: 'shop-drill' }, restorePVs: true, existingResourcePolicy: 'none' },
    });
  });

  test('exactly one of backupName and scheduleName', () => {
    expect(() => new VeleroRestore(Testing.chart(), 'r', {})).toThrow(/exactly one of backupName and scheduleName/);
    expect(() => new VeleroRestore(Testing.chart(), 'r', { backupName: 'b', scheduleName: 's' })).toThrow(/exactly one/);
  });
});
