import { Cron } from 'cdk8s';
import { IAlertPlan } from '../../../src/plan/planned-alert';
import { describeVeleroSchedule, VeleroPlanFacts } from '../../../src/plan/velero-plan';

const nightly = Cron.schedule({ minute: '30', hour: '1' });
const facts: VeleroPlanFacts = {
  name: 'apps',
  namespace: 'velero',
  props: { includedNamespaces: ['shop', 'db'], excludedNamespaces: ['kube-system'], labelSelector: { backup: 'yes' }, snapshotVolumes: false, defaultVolumesToFsBackup: true },
  ttlHours: [168, 840],
  tiers: [{ name: 'apps-daily', schedule: nightly }, { name: 'apps-weekly', schedule: Cron.schedule({ minute: '30', hour: '1', weekDay: '0' }) }],
};

function alertsWatching(...schedules: string[]): IAlertPlan {
  return {
    name: 'prod-backups',
    plannedAlertsForCronJob: () => [],
    plannedAlertsForVeleroSchedule: (s) => schedules.includes(s) ? [{ alert: 'VeleroBackupTooOld', severity: 'critical', fires: 'after 48 h' }] : [],
  };
}

describe('describeVeleroSchedule', () => {
  test('what it backs up, each tier with its ttl, where it goes', () => {
    const md = describeVeleroSchedule(facts);
    expect(md.startsWith('## Velero Schedule: apps\n\n')).toBe(true);
    expect(md).toContain('Velero backs up namespaces `shop` and `db` but `kube-system`, objects labelled `backup=yes`; no volume snapshots and file-system backup of every pod volume.');
    expect(md).toContain('  - `apps-daily`: every day at 01:30');
    expect(md).toMatch(/ {2}- `apps-daily`: .*; each Backup kept 7 days\n/);
    expect(md).toMatch(/ {2}- `apps-weekly`: .*; each Backup kept 35 days\n/);
    expect(md).toContain('- **Goes to**: Velero\'s default BackupStorageLocation');
    expect(md).toContain('- **Alerts**: none given to `describe()`');
  });

  test('every namespace, a named location, paused', () => {
    const md = describeVeleroSchedule({ ...facts, props: { storageLocation: 'primary', paused: true } });
    expect(md).toContain('Velero backs up every namespace. **Created paused: it takes no backups until unpaused.**');
    expect(md).toContain('- **Goes to**: BackupStorageLocation `primary`');
  });

  test('the alerts per Schedule object, or that they do not watch it', () => {
    expect(describeVeleroSchedule(facts, alertsWatching())).toContain('- **Alerts**: none: the alerts `prod-backups` do not watch this Schedule');
    const md = describeVeleroSchedule(facts, alertsWatching('apps-daily', 'apps-weekly'));
    expect(md).toContain('- **Alerts** (PrometheusRule `prod-backups`, per Schedule object;');
    expect(md).toContain('  - `apps-daily`: `VeleroBackupTooOld` (critical) after 48 h');
  });
});
