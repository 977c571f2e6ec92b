import { App, Chart, Cron, Duration, Testing } from 'cdk8s';
import { EtcdSnapshotBackup, EtcdSource, Retention, VeleroSchedule, VeleroVersion } from '../../../src';
import { BackupAlerts } from '../../../src/monitoring/backup-alerts';
import { cron, fleet, nightly, NS, prometheusRule, ruleFor, ruleOf, rulesOf, standardRule, watchAll } from '../../support/alerts';
import { testRepository } from '../../support/charts';
import { describeIfCrds, expectValidCustomResources } from '../../support/crd-validate';

describe('BackupAlerts: thresholds follow the schedules', () => {
  test('hourly etcd backup: too old after 2 × 1 h = 7200 s; never succeeded after 2h', () => {
    const rule = standardRule();
    const tooOld = ruleFor(rule, 'EtcdBackupTooOld');
    expect(tooOld.expr).toBe('time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{namespace="backup-system", cronjob="prod-etcd-backup"}) > 7200');
    expect(tooOld.for).toBe('10m');
    const never = ruleFor(rule, 'EtcdBackupNeverSucceeded');
    expect(never.expr).toBe('absent(kube_cronjob_status_last_successful_time{namespace="backup-system", cronjob="prod-etcd-backup"})');
    expect(never.for).toBe('2h');
    expect(tooOld.labels).toEqual({ severity: 'critical', namespace: NS, cronjob: 'prod-etcd-backup' });
  });

  test('weekdays only (0 2 * * 1-5): the weekend is the longest gap, 72 h → 144 h', () => {
    const f = fleet();
    f.alerts.watchCronJob({ cronJobName: 'db-dump', namespace: 'db', schedule: cron('0 2 * * 1-5'), description: 'Postgres dump of the billing database' });
    const rule = ruleOf(f);
    expect(ruleFor(rule, 'BackupCronJobTooOld').expr).toMatch(/ > 518400$/);
    expect(ruleFor(rule, 'BackupCronJobNeverSucceeded').for).toBe('144h');
    expect(ruleFor(rule, 'BackupCronJobTooOld').annotations.description).toContain('its schedule "0 2 * * 1-5" leaves at most 72h between runs, and the threshold is 2 × that (144h)');
  });

  test('daily config backups: one set of alerts per node CronJob, 48 h', () => {
    const rule = standardRule();
    for (const node of ['cp-1', 'cp-2']) {
      const cronjob = `prod-config-${node}`;
      expect(ruleFor(rule, 'ControlPlaneConfigBackupTooOld', { cronjob }).expr).toMatch(new RegExp(`cronjob="${cronjob}"\\}\\) > 172800$`));
      expect(ruleFor(rule, 'ControlPlaneConfigBackupNeverSucceeded', { cronjob }).for).toBe('48h');
      expect(ruleFor(rule, 'ControlPlaneConfigBackupFailed', { cronjob }).annotations.summary).toBe(`control-plane config of node ${node}: a backup run failed`);
    }
  });

  test('Velero nightly: failures counted over one gap (24h), too old after 48 h', () => {
    const rule = standardRule();
    const labels = { schedule: 'apps' };
    expect(ruleFor(rule, 'VeleroBackupFailed', labels).expr).toBe(
      '(sum by (schedule) (increase(velero_backup_failure_total{schedule="apps"}[24h])) > 0) '
      + 'or (sum by (schedule) (increase(velero_backup_validation_failure_total{schedule="apps"}[24h])) > 0)');
    expect(ruleFor(rule, 'VeleroBackupPartiallyFailed', labels).expr).toBe('sum by (schedule) (increase(velero_backup_partial_failure_total{schedule="apps"}[24h])) > 0');
    expect(ruleFor(rule, 'VeleroBackupTooOld', labels).expr).toBe(
      'time() - max by (schedule) (max_over_time(velero_backup_last_successful_timestamp{schedule="apps"}[48h])) > 172800');
    expect(ruleFor(rule, 'VeleroBackupNeverSucceeded', labels)).toMatchObject({
      expr: '(max by (schedule) (velero_backup_attempt_total{schedule="apps"} offset 48h) or (max by (schedule) (velero_backup_attempt_total{schedule="apps"}) > 0)) '
        + 'unless on (schedule) max by (schedule) (max_over_time(velero_backup_last_successful_timestamp{schedule="apps"}[48h]))',
      for: '6h',
    });
    expect(ruleFor(rule, 'VeleroScheduleMissing', labels)).toMatchObject({
      expr: 'absent(velero_backup_attempt_total{schedule="apps"}) and on () (count(velero_backup_attempt_total{namespace="velero"}) > 0)', for: '15m',
    });
    expect(ruleFor(rule, 'VeleroMetricsAbsent', { namespace: 'velero' })).toMatchObject({ expr: 'absent(velero_backup_attempt_total{namespace="velero"})', for: '10m' });
    expect(rulesOf(rule).some((r) => /velero_backup_last_status/.test(r.expr))).toBe(false);
  });

  test('Velero gfs: one set per tier Schedule, each from the cron it renders', () => {
    const f = fleet();
    const gfs = new VeleroSchedule(f.chart, 'gfs', { schedule: nightly, retention: Retention.gfs({ hourly: 24, daily: 7, weekly: 4 }), allowRetentionFinerThanSchedule: true });
    f.alerts.watchVeleroSchedule(gfs);
    const rule = ruleOf(f);
    expect(ruleFor(rule, 'VeleroBackupTooOld', { schedule: 'gfs-hourly' }).expr).toMatch(/\[2h\]\)\) > 7200$/);
    expect(ruleFor(rule, 'VeleroBackupTooOld', { schedule: 'gfs-daily' }).expr).toMatch(/\[48h\]\)\) > 172800$/);
    expect(ruleFor(rule, 'VeleroBackupTooOld', { schedule: 'gfs-weekly' }).expr).toMatch(/\[336h\]\)\) > 1209600$/);
    expect(ruleFor(rule, 'VeleroBackupFailed', { schedule: 'gfs-hourly' }).expr).toContain('[1h]');
  });

  test('staleAfterGaps scales every threshold (fractions round up to whole seconds)', () => {
    const f = fleet({ staleAfterGaps: 1.5 });
    f.alerts.watch(f.etcd);
    f.alerts.watchCronJob({ cronJobName: 'often', namespace: 'db', schedule: cron('*/45 * * * *'), description: 'every 45 minutes' });
    const rule = ruleOf(f);
    expect(ruleFor(rule, 'EtcdBackupTooOld').expr).toMatch(/ > 5400$/);
    expect(ruleFor(rule, 'EtcdBackupNeverSucceeded').for).toBe('1h30m');
    // */45 runs at :00 and :45, so the longest gap is 45 minutes: 1.5 × 2700 s
    expect(ruleFor(rule, 'BackupCronJobTooOld').expr).toMatch(/ > 4050$/);
    expect(ruleFor(rule, 'BackupCronJobNeverSucceeded').for).toBe('1h7m30s');
  });

  test('outside UTC a daylight-saving switch may move a run by an hour: one hour is added', () => {
    const f = fleet();
    f.alerts.watchCronJob({ cronJobName: 'berlin', namespace: 'db', schedule: cron('0 3 * * *'), timeZone: 'Europe/Berlin', description: 'dump' });
    f.alerts.watchCronJob({ cronJobName: 'utc', namespace: 'db', schedule: cron('0 3 * * *'), timeZone: 'Etc/UTC', description: 'dump' });
    const tz = new VeleroSchedule(f.chart, 'tz', { schedule: nightly, timeZone: 'Europe/Berlin', veleroVersion: VeleroVersion.V1_15, retention: Retention.maxAge(Duration.days(7)) });
    f.alerts.watchVeleroSchedule(tz);
    const rule = ruleOf(f);
    expect(ruleFor(rule, 'BackupCronJobTooOld', { cronjob: 'berlin' }).expr).toMatch(/ > 176400$/);
    expect(ruleFor(rule, 'BackupCronJobTooOld', { cronjob: 'utc' }).expr).toMatch(/ > 172800$/);
    // the CRON_TZ= prefix of the Velero Schedule is stripped before the cron is read
    expect(ruleFor(rule, 'VeleroBackupTooOld', { schedule: 'tz' }).expr).toMatch(/\[49h\]\)\) > 176400$/);
    expect(ruleFor(rule, 'VeleroBackupTooOld', { schedule: 'tz' }).annotations.description).toContain('its schedule "30 1 * * *"');
  });
});

describe('BackupAlerts: what every alert carries', () => {
  test('severity, summary, description and a runbook link with an anchor per alert', () => {
    const rule = standardRule();
    const rules = rulesOf(rule);
    // etcd, two config nodes, one Velero Schedule (5 rules) and Velero's metrics (1)
    expect(rules).toHaveLength(3 + 2 * 3 + 5 + 1);
    for (const r of rules) {
      expect(['critical', 'warning']).toContain(r.labels.severity);
      expect(r.annotations.summary).toMatch(/\S/);
      expect(r.annotations.description).toMatch(/\S/);
      const anchor = r.alert.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
      expect(r.annotations.runbook_url).toBe(`https://wiki.example.com/backup-runbook#${anchor}`);
    }
    expect(ruleFor(rule, 'EtcdBackupFailed').annotations.runbook_url).toBe('https://wiki.example.com/backup-runbook#etcd-backup-failed');
    expect(ruleFor(rule, 'EtcdBackupFailed').annotations.summary).toBe('etcd snapshot of cluster prod: a backup run failed');
    expect(watchAll(fleet()).alerts.alertNames()).toEqual([...new Set(rules.map((r) => r.alert))].sort());
  });

  test('no runbookUrl: no runbook_url annotation', () => {
    const f = fleet({});
    f.alerts.watchCronJob({ cronJobName: 'db-dump', namespace: 'db', schedule: cron('0 2 * * *'), description: 'Postgres dump' });
    f.alerts.watchVeleroSchedule(f.velero);
    const rule = ruleOf(f);
    for (const r of rulesOf(rule)) expect(Object.keys(r.annotations).sort()).toEqual(['description', 'summary']);
  });

  test('severity per watch; a partially failed Velero backup is always a warning', () => {
    const f = fleet();
    f.alerts.watch(f.etcd, { severity: 'warning', description: 'etcd of the lab cluster' });
    f.alerts.watchVeleroSchedule(f.velero);
    const rule = ruleOf(f);
    expect(ruleFor(rule, 'EtcdBackupFailed').labels.severity).toBe('warning');
    expect(ruleFor(rule, 'EtcdBackupTooOld').annotations.summary).toBe('etcd of the lab cluster: no successful backup for more than 2h');
    expect(ruleFor(rule, 'VeleroBackupFailed').labels.severity).toBe('critical');
    expect(ruleFor(rule, 'VeleroBackupPartiallyFailed').labels.severity).toBe('warning');
  });

  test('the failure alert joins Jobs to their CronJob by owner, and needs the Job\'s Failed condition', () => {
    const expr = ruleFor(standardRule(), 'EtcdBackupFailed').expr;
    expect(expr).toContain('kube_job_owner{namespace="backup-system", owner_kind="CronJob", owner_name="prod-etcd-backup"}');
    expect(expr).toContain('kube_job_failed{namespace="backup-system", condition="true"} == 1');
    expect(expr).not.toContain('kube_job_status_failed');
    expect(ruleFor(standardRule(), 'EtcdBackupFailed').for).toBeUndefined();
  });

  test('metadata: name, the chart\'s namespace by default, operator selection labels', () => {
    const f = watchAll(fleet({ ruleLabels: { release: 'kube-prometheus-stack' } }, 'monitoring'));
    expect(ruleOf(f).metadata).toEqual({
      name: 'cdk8s-backup',
      namespace: 'monitoring',
      labels: { 'app.kubernetes.io/name': 'cdk8s-backup', 'app.kubernetes.io/component': 'alerts', 'release': 'kube-prometheus-stack' },
    });
    const g = fleet({ name: 'backup-alerts', namespace: 'observability' });
    g.alerts.watchVeleroSchedule(g.velero);
    g.alerts.watchCronJob({ cronJobName: 'db-dump', namespace: 'db', schedule: cron('0 2 * * *'), description: 'Postgres dump' });
    const rule = ruleOf(g);
    expect(rule.metadata).toMatchObject({ name: 'backup-alerts', namespace: 'observability' });
    expect(rule.spec.groups.map((x: any) => x.name)).toEqual(['backup-alerts-cronjobs', 'backup-alerts-velero']);
    expect(standardRule().spec.groups.map((x: any) => x.name)).toEqual(['cdk8s-backup-control-plane-config', 'cdk8s-backup-etcd', 'cdk8s-backup-velero']);
  });

  test('a backup without its own namespace is matched in the chart\'s namespace', () => {
    const chart = new Chart(new App(), 'prod', { namespace: 'backups' });
    const alerts = new BackupAlerts(chart, 'alerts');
    alerts.watch(new EtcdSnapshotBackup(chart, 'etcd', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: testRepository() }));
    expect(ruleFor(prometheusRule(chart), 'EtcdBackupTooOld').labels.namespace).toBe('backups');
  });
});

describe('BackupAlerts: rendered at synth time, deterministically', () => {
  test('watch calls after construction (and after other objects) are included', () => {
    const f = fleet();
    expect(() => Testing.synth(f.chart)).toThrow(/BackupAlerts: nothing is watched/);
    const g = fleet();
    g.alerts.watchVeleroSchedule(g.velero);
    expect(rulesOf(prometheusRule(g.chart)).map((r) => r.alert)).toEqual([
      'VeleroMetricsAbsent', 'VeleroBackupFailed', 'VeleroBackupPartiallyFailed', 'VeleroBackupTooOld', 'VeleroBackupNeverSucceeded', 'VeleroScheduleMissing',
    ]);
  });

  test('same input → same output, whatever the order of the watch calls', () => {
    const a = watchAll(fleet());
    const b = fleet();
    expect([b.etcd, b.config, b.velero]).toHaveLength(3); // the same objects, in the same order
    b.alerts.watchVeleroSchedule(b.velero);
    b.alerts.watch(b.config);
    b.alerts.watch(b.etcd);
    const first = JSON.stringify(Testing.synth(a.chart));
    expect(JSON.stringify(Testing.synth(a.chart))).toBe(first);
    expect(JSON.stringify(Testing.synth(b.chart))).toBe(first);
  });
});

describe('BackupAlerts: mistakes fail at synth time, naming the option', () => {
  test('bad severity', () => {
    const f = fleet();
    expect(() => f.alerts.watch(f.etcd, { severity: 'page' })).toThrow(/watch: severity: expected 'critical' or 'warning'; got "page"/);
    expect(() => f.alerts.watchCronJob({ cronJobName: 'x', namespace: 'db', schedule: cron('0 * * * *'), description: 'x', severity: 'CRITICAL' })).toThrow(/watchCronJob: severity/);
  });

  test('staleAfterGaps below 1 or not finite', () => {
    for (const bad of [0.5, 0, -1, NaN, Infinity]) {
      expect(() => new BackupAlerts(Testing.chart(), 'a', { staleAfterGaps: bad })).toThrow(/BackupAlerts: staleAfterGaps must be a finite number ≥ 1/);
    }
    expect(() => new BackupAlerts(Testing.chart(), 'a', { staleAfterGaps: 1 })).not.toThrow();
  });

  test('runbookUrl must be http(s), without a fragment', () => {
    for (const bad of ['wiki/backup', 'ftp://example.com/runbook', 'file:///etc/runbook.md', 'https://wiki.example.com/r#top', 'https://wiki.example.com/{{ x }}']) {
      expect(() => new BackupAlerts(Testing.chart(), 'a', { runbookUrl: bad })).toThrow(/BackupAlerts: runbookUrl/);
    }
    expect(() => new BackupAlerts(Testing.chart(), 'a', { runbookUrl: 'http://runbooks.internal/backup' })).not.toThrow();
  });

  test('the same CronJob or Velero Schedule watched twice', () => {
    const f = watchAll(fleet());
    expect(() => f.alerts.watch(f.etcd)).toThrow(/watch: the CronJob backup-system\/prod-etcd-backup is already watched/);
    expect(() => f.alerts.watchCronJob({ cronJobName: 'prod-config-cp-1', namespace: NS, schedule: cron('0 0 * * *'), description: 'config' }))
      .toThrow(/watchCronJob: the CronJob backup-system\/prod-config-cp-1 is already watched/);
    expect(() => f.alerts.watchVeleroSchedule(f.velero)).toThrow(/watchVeleroSchedule: the Velero Schedule "apps" is already watched/);
    // the same name in another namespace is another CronJob
    expect(() => f.alerts.watchCronJob({ cronJobName: 'prod-etcd-backup', namespace: 'other', schedule: cron('0 * * * *'), description: 'etcd' })).not.toThrow();
  });

  test('watchCronJob: name, namespace, schedule and description are checked', () => {
    const f = fleet();
    const ok = { cronJobName: 'db-dump', namespace: 'db', schedule: cron('0 2 * * *'), description: 'Postgres dump' };
    expect(() => f.alerts.watchCronJob({ ...ok, cronJobName: 'DB_dump' })).toThrow(/watchCronJob: cronJobName/);
    expect(() => f.alerts.watchCronJob({ ...ok, namespace: '' })).toThrow(/watchCronJob: namespace/);
    expect(() => f.alerts.watchCronJob({ ...ok, schedule: { expressionString: '0 2 * *' } as Cron })).toThrow(/watchCronJob: schedule of db\/db-dump: a CronJob schedule has 5 fields/);
    expect(() => f.alerts.watchCronJob({ ...ok, schedule: cron('0 25 * * *') })).toThrow(/watchCronJob: schedule of db\/db-dump: invalid cron expression/);
    expect(() => f.alerts.watchCronJob({ ...ok, description: ' ' })).toThrow(/watchCronJob: description: expected what is backed up/);
    expect(() => f.alerts.watchCronJob({ ...ok, description: 'dump of {{ $labels.x }}' })).toThrow(/watchCronJob: description: must not contain \{\{/);
    expect(() => f.alerts.watchCronJob(ok)).not.toThrow();
  });

  test('bad name, namespace or ruleLabels', () => {
    expect(() => new BackupAlerts(Testing.chart(), 'a', { name: 'Backup_Alerts' })).toThrow(/BackupAlerts: name/);
    expect(() => new BackupAlerts(Testing.chart(), 'a', { namespace: 'Monitoring' })).toThrow(/BackupAlerts: namespace/);
    expect(() => new BackupAlerts(Testing.chart(), 'a', { ruleLabels: { release: 'not a value' } })).toThrow(/BackupAlerts: ruleLabels/);
  });

  test('a backup with no namespace anywhere cannot be matched', () => {
    const chart = Testing.chart();
    const alerts = new BackupAlerts(chart, 'alerts', { namespace: 'monitoring' });
    const etcd = new EtcdSnapshotBackup(chart, 'etcd', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: testRepository() });
    expect(() => alerts.watch(etcd)).toThrow(/EtcdSnapshotBackup: the CronJob prod-etcd-backup has no namespace/);
  });
});

describeIfCrds('BackupAlerts: the PrometheusRule validates against the upstream CRD', () => {
  test('strict about unknown fields, durations and names', () => {
    const f = watchAll(fleet({ ruleLabels: { release: 'kube-prometheus-stack' }, runbookUrl: 'https://wiki.example.com/backup' }, 'monitoring'));
    f.alerts.watchCronJob({ cronJobName: 'db-dump', namespace: 'db', schedule: cron('*/45 * * * 1-5'), description: 'Postgres dump', severity: 'warning' });
    const manifests = Testing.synth(f.chart);
    expectValidCustomResources(manifests.filter((m) => m.kind === 'PrometheusRule'));
    // and the check is not vacuous
    const rule = manifests.find((m) => m.kind === 'PrometheusRule');
    const broken = { ...rule, spec: { groups: [{ ...rule.spec.groups[0], rules: [{ ...rule.spec.groups[0].rules[0], for: '2 hours' }] }] } };
    expect(() => expectValidCustomResources([broken])).toThrow(/for/);
  });
});
