import { Cron } from 'cdk8s';
import { Retention } from '../../src';
import { build, cluster } from '../support/input-checks';

const nightly = Cron.schedule({ minute: '0', hour: '2' });

describe('ClusterBackup: namespaces are DNS labels', () => {
  test.each(['hostAccessNamespace', 'namespace', 'veleroNamespace'] as const)('%s "backup;$(id)" is rejected', (option) => {
    // GIVEN a namespace with shell syntax, WHEN configured, THEN synth refuses it and shows it
    expect(() => cluster({ [option]: 'backup;$(id)' })).toThrow(new RegExp(`^ClusterBackup: ${option}: expected lowercase letters, digits and '-'.*; got "backup;\\$\\(id\\)"$`));
    expect(() => cluster({ [option]: 'n'.repeat(64) })).toThrow(new RegExp(`^ClusterBackup: ${option}: .*at most 63 characters`));
  });

  test('a Velero-only cluster checks its clusterName too (no backup job does it there)', () => {
    const velero = { schedules: [{ name: 'apps', schedule: nightly, retention: Retention.daily35Days() }] };
    expect(() => build({ clusterName: 'prod;id', managedControlPlane: true, velero, acknowledge: { noAlerts: true } }))
      .toThrow(/^ClusterBackup: clusterName: expected lowercase letters, digits and '-'.*; got "prod;id"$/);
  });
});