import { Testing } from 'cdk8s';
import { Credentials, VeleroVolumeSnapshotLocation } from '../../../src';

describe('VeleroVolumeSnapshotLocation and VeleroRestore', () => {
  test('snapshot location', () => {
    const chart = Testing.chart();
    new VeleroVolumeSnapshotLocation(chart, 'vsl', { provider: 'aws', config: { region: 'eu-west-1' }, credentials: Credentials.fromSecret('velero-s3') });
    expect(Testing.synth(chart)[0].spec).toEqual({ provider: 'aws', config: { region: 'eu-west-1' }, credential: { name: 'velero-s3', key: 'cloud' } });
  });
});
