import { CronJobTarget, cronJobRules, promDuration, veleroAbsentRule, veleroRules } from '../../../src/monitoring/alert-rules';

const target: CronJobTarget = {
  prefix: 'EtcdBackup',
  group: 'etcd',
  namespace: 'backup-system',
  name: 'prod-etcd',
  schedule: '0 * * * *',
  description: 'etcd backup of prod',
  severity: 'critical',
  gapSeconds: 3600,
  thresholdSeconds: 7200,
};

describe('alert rules', () => {
  test('a Prometheus duration of whole seconds, rounded up', () => {
    expect([0, 45, 60, 2700, 7200, 5400, 3661, 0.2].map(promDuration)).toEqual(['0s', '45s', '1m', '45m', '2h', '1h30m', '1h1m1s', '1s']);
  });

  test('a CronJob: failed, too old and never succeeded, each labelled with its target', () => {
    const rules = cronJobRules({ staleAfterGaps: 2 }, target);
    expect(rules.map((r) => r.alert)).toEqual(['EtcdBackupFailed', 'EtcdBackupTooOld', 'EtcdBackupNeverSucceeded']);
    for (const r of rules) expect(r.labels).toEqual({ severity: 'critical', namespace: 'backup-system', cronjob: 'prod-etcd' });
    expect(rules[1].expr.value).toBe('time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{namespace="backup-system", cronjob="prod-etcd"}) > 7200');
    expect(rules[2].for).toBe('2h');
    expect(rules[1].annotations!.summary).toBe('etcd backup of prod: no successful backup for more than 2h');
  });

  test('a runbook link per alert, with its anchor, only when there is a runbook', () => {
    expect(cronJobRules({ staleAfterGaps: 2 }, target)[0].annotations!.runbook_url).toBeUndefined();
    expect(cronJobRules({ staleAfterGaps: 2, runbookUrl: 'https://wiki.example.com/prod' }, target)[0].annotations!.runbook_url)
      .toBe('https://wiki.example.com/prod#etcd-backup-failed');
  });

  test('Velero: rules per Schedule object, and one for absent metrics', () => {
    const rules = veleroRules({ staleAfterGaps: 2 }, {
      name: 'apps-daily', namespace: 'velero', schedule: '0 2 * * *', description: 'Velero apps', severity: 'critical', gapSeconds: 86400, thresholdSeconds: 172800,
    });
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.every((r) => r.alert?.startsWith('Velero'))).toBe(true);
    const absent = veleroAbsentRule({ staleAfterGaps: 2 }, 'velero');
    expect(absent.alert).toBe('VeleroMetricsAbsent');
    expect(absent.expr.value).toBe('absent(velero_backup_attempt_total{namespace="velero"})');
  });
});
