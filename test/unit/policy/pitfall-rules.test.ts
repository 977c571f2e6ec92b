import { Cron, Duration } from 'cdk8s';
import { Retention } from '../../../src';
import { inClusterEndpointPitfall, shortRetentionPitfall } from '../../../src/policy/pitfall-rules';

describe('inClusterEndpointPitfall', () => {
  test.each(['https://minio.backup.svc:9000', 'https://minio.backup.svc.cluster.local', 'http://localhost:9000', 'http://127.0.0.1:9000', 'https://minio:9000'])(
    '%s looks inside the cluster', (endpoint) => {
      expect(inClusterEndpointPitfall(endpoint)).toEqual([expect.stringMatching(/looks like it is inside the cluster.*acknowledge\.inClusterRepository: true$/)]);
    });

  test.each(['https://s3.amazonaws.com', 'https://minio.example.com:9000', 'https://10.0.0.5:9000'])('%s does not', (endpoint) => {
    expect(inClusterEndpointPitfall(endpoint)).toEqual([]);
  });
});

describe('shortRetentionPitfall', () => {
  const hourly = Cron.schedule({ minute: '0' });
  const daily = Cron.schedule({ minute: '0', hour: '2' });

  test('less than a day of backups trips, naming the option and the opt-out', () => {
    expect(shortRetentionPitfall('retention', Retention.keepLast(6), hourly))
      .toEqual([expect.stringMatching(/^retention \(.*\) keeps only about 6 hours of backups; .*acknowledge\.shortRetention: true$/)]);
    expect(shortRetentionPitfall('retention', Retention.maxAge(Duration.hours(12)), hourly)).toHaveLength(1);
  });

  test('a day or more, any daily or coarser tier, or no retention, does not', () => {
    expect(shortRetentionPitfall('retention', Retention.keepLast(24), hourly)).toEqual([]);
    expect(shortRetentionPitfall('retention', Retention.keepLast(2), daily)).toEqual([]);
    expect(shortRetentionPitfall('retention', Retention.gfs({ hourly: 6, daily: 1 }), hourly)).toEqual([]);
    expect(shortRetentionPitfall('retention', undefined, hourly)).toEqual([]);
  });
});
