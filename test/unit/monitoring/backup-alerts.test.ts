import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart, Cron, Duration, Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { ControlPlaneConfigBackup, EtcdSnapshotBackup, EtcdSource, Retention, VeleroSchedule, VeleroVersion } from '../../../src';
import { BackupAlerts, BackupAlertsProps } from '../../../src/monitoring/backup-alerts';
import { testRepository } from '../../support/charts';
import { describeIfCrds, expectValidCustomResources } from '../../support/crd-validate';

const NS = 'backup-system';
const nightly = Cron.schedule({ minute: '30', hour: '1' });

/** A Cron from five fields. */
function cron(expr: string): Cron {
  const [minute, hour, day, month, weekDay] = expr.split(' ');
  return Cron.schedule({ minute, hour, day, month, weekDay });
}

/**
 * GIVEN a chart with BackupAlerts and, created on first use (constructing CronJobs is what
 * takes time), one backup of each kind: etcd hourly, config daily on two nodes, Velero nightly.
 */
class Fleet {
  public readonly chart: Chart;
  public readonly alerts: BackupAlerts;
  private _etcd?: EtcdSnapshotBackup;
  private _config?: ControlPlaneConfigBackup;
  private _velero?: VeleroSchedule;

  constructor(props: BackupAlertsProps, chartNamespace?: string) {
    this.chart = chartNamespace ? new Chart(Testing.app(), 'test', { namespace: chartNamespace }) : Testing.chart();
    this.alerts = new BackupAlerts(this.chart, 'alerts', props);
  }

  public get etcd(): EtcdSnapshotBackup {
    this._etcd ??= new EtcdSnapshotBackup(this.chart, 'etcd', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: testRepository(), namespace: NS });
    return this._etcd;
  }

  public get config(): ControlPlaneConfigBackup {
    this._config ??= new ControlPlaneConfigBackup(this.chart, 'config', {
      clusterName: 'prod', source: EtcdSource.kubeadm(), repository: testRepository(), namespace: NS, nodes: ['cp-1', 'cp-2'],
    });
    return this._config;
  }

  public get velero(): VeleroSchedule {
    this._velero ??= new VeleroSchedule(this.chart, 'apps', { schedule: nightly, retention: Retention.maxAge(Duration.days(30)) });
    return this._velero;
  }
}

function fleet(props: BackupAlertsProps = { runbookUrl: 'https://wiki.example.com/backup-runbook' }, chartNamespace?: string): Fleet {
  return new Fleet(props, chartNamespace);
}

function watchAll(f: Fleet): Fleet {
  f.alerts.watch(f.etcd);
  f.alerts.watch(f.config);
  f.alerts.watchVeleroSchedule(f.velero);
  return f;
}

/** The PrometheusRule as synthesized (running the chart's validations). */
function prometheusRule(chart: Chart): any {
  const rules = Testing.synth(chart).filter((m) => m.kind === 'PrometheusRule');
  expect(rules).toHaveLength(1);
  return rules[0];
}

/** Just the PrometheusRule's JSON (fast: renders no other object). */
function ruleOf(f: Fleet): any {
  return f.alerts.prometheusRule.toJson();
}

let standard: any;
/** The rule of `watchAll(fleet())`, rendered once. */
function standardRule(): any {
  standard ??= ruleOf(watchAll(fleet()));
  return standard;
}

/** Every alerting rule, flattened. */
function rulesOf(rule: any): any[] {
  return rule.spec.groups.flatMap((g: any) => g.rules);
}

/** The one rule with this alert name and these (rule) labels. */
function ruleFor(rule: any, alert: string, labels: Record<string, string> = {}): any {
  const found = rulesOf(rule).filter((r) => r.alert === alert && Object.entries(labels).every(([k, v]) => r.labels[k] === v));
  if (found.length !== 1) throw new Error(`expected one rule ${alert} ${JSON.stringify(labels)}, found ${found.length}`);
  return found[0];
}

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

// ---------------------------------------------------------------------------
// promtool: the rules load, and fire / stay quiet on synthetic series

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const promtoolFound = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' }).status === 0;
const PROMTOOL_MISSING = `${PROMTOOL} not found: install the Debian package "prometheus" (scripts/setup.sh does) or set PROMTOOL`;
const describePromtool = promtoolFound || process.env.CI ? describe : describe.skip;

/** Prometheus' humanizeDuration for whole seconds ≥ 1 minute (what our tests need). */
function humanizeDuration(v: number): string {
  const d = Math.floor(v / 86400);
  const h = Math.floor(v / 3600) % 24;
  const m = Math.floor(v / 60) % 60;
  const s = v % 60;
  if (d) return `${d}d ${h}h ${m}m ${s}s`;
  if (h) return `${h}h ${m}m ${s}s`;
  return `${m}m ${s}s`;
}

/** What promtool renders for an annotation template with these labels and this value. */
function render(template: string, labels: Record<string, string>, value?: number): string {
  return template
    .replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_, k) => labels[k] ?? '')
    .replace(/\{\{\s*\$value \| humanizeDuration\s*\}\}/g, () => humanizeDuration(value!));
}

/** An expected firing alert of `rule` (found by name + rule labels), with the series' labels. */
function firing(rule: any, alert: string, ruleLabels: Record<string, string>, seriesLabels: Record<string, string> = {}, value?: number): any {
  const r = ruleFor(rule, alert, ruleLabels);
  const labels = { ...seriesLabels, ...r.labels };
  const annotations = Object.fromEntries(Object.entries(r.annotations as Record<string, string>).map(([k, v]) => [k, render(v, labels, value)]));
  return { exp_labels: labels, exp_annotations: annotations };
}

interface PromCase {
  readonly name: string;
  readonly series: Record<string, string>;
  /** [eval time, alert name, expected alerts] */
  readonly checks: Array<[string, string, any[]]>;
}

/**
 * Writes the rules and a promtool unit test file and runs `promtool test rules`. Rules are
 * evaluated every `evaluationInterval` (long scenarios use 5m to stay fast; eval times must
 * then be multiples of it).
 */
function promtoolTest(rule: any, cases: PromCase[], evaluationInterval: string = '1m'): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-alerts-'));
  try {
    fs.writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
    const tests = cases.map((c) => ({
      name: c.name,
      interval: '1m',
      input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: c.checks.map(([evalTime, alertname, exp]) => ({ eval_time: evalTime, alertname, exp_alerts: exp })),
    }));
    fs.writeFileSync(path.join(dir, 'test.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: evaluationInterval, tests }));
    const r = spawnSync(PROMTOOL, ['test', 'rules', path.join(dir, 'test.yaml')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`promtool test rules failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    expect(r.stdout).toMatch(/SUCCESS/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describePromtool(`BackupAlerts: promtool${promtoolFound ? '' : process.env.CI ? '' : ` [skipped: ${PROMTOOL_MISSING}]`}`, () => {
  let rule: any;

  beforeAll(() => {
    if (!promtoolFound) throw new Error(`${PROMTOOL_MISSING}; CI is set, so the promtool tests must run`);
    const f = watchAll(fleet());
    f.alerts.watchCronJob({ cronJobName: 'db-dump', namespace: 'db', schedule: cron('0 2 * * 1-5'), description: 'Postgres dump' });
    rule = ruleOf(f);
  });

  test('promtool check rules passes (syntax, templates, no duplicate rules)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-alerts-'));
    try {
      const file = path.join(dir, 'rules.yaml');
      fs.writeFileSync(file, stringify({ groups: rule.spec.groups }));
      const r = spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`promtool check rules failed:\n${r.stdout}${r.stderr}`);
      expect(r.stdout).toMatch(/SUCCESS: 18 rules found/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const etcd = { namespace: NS, cronjob: 'prod-etcd-backup' };
  const ksm = `job="kube-state-metrics", namespace="${NS}"`;
  const cj = `${ksm}, cronjob="prod-etcd-backup"`;
  const job = (name: string) => `${ksm}, job_name="${name}"`;
  const owner = (name: string, cronjob: string) => `kube_job_owner{${job(name)}, owner_kind="CronJob", owner_name="${cronjob}", owner_is_controller="true"}`;

  test('etcd (hourly): too old only after 2 h + 10 m, never succeeded only after 2 h', () => {
    promtoolTest(rule, [
      {
        name: 'fresh successes: quiet',
        series: { [`kube_cronjob_status_last_successful_time{${cj}}`]: '0+60x200', [`kube_cronjob_created{${cj}}`]: '0x200' },
        checks: [['2h30m', 'EtcdBackupTooOld', []], ['2h30m', 'EtcdBackupNeverSucceeded', []], ['2h30m', 'EtcdBackupFailed', []]],
      },
      {
        name: 'last success at 0: pending after 2h, firing after 2h + 10m',
        series: { [`kube_cronjob_status_last_successful_time{${cj}}`]: '0x200', [`kube_cronjob_created{${cj}}`]: '0x200' },
        checks: [
          ['1h59m', 'EtcdBackupTooOld', []],
          ['2h5m', 'EtcdBackupTooOld', []],
          ['2h15m', 'EtcdBackupTooOld', [firing(rule, 'EtcdBackupTooOld', etcd, {}, 8100)]],
          ['2h15m', 'EtcdBackupNeverSucceeded', []],
        ],
      },
      {
        name: 'brand-new CronJob that never succeeds: quiet for 2h, then never succeeded',
        series: { [`kube_cronjob_created{${cj}}`]: '0x200' },
        checks: [
          ['1h50m', 'EtcdBackupNeverSucceeded', []],
          ['2h5m', 'EtcdBackupNeverSucceeded', [firing(rule, 'EtcdBackupNeverSucceeded', etcd)]],
          ['2h5m', 'EtcdBackupTooOld', []],
        ],
      },
    ]);
  });

  test('etcd: a failed run fires until a later run succeeds; old, foreign and successful Jobs do not', () => {
    const failedJob = 'prod-etcd-backup-28000060';
    promtoolTest(rule, [
      {
        name: 'failed run after the last success',
        series: {
          [`kube_cronjob_created{${cj}}`]: '0x200',
          // last success at 1000 s, then a later run succeeds at 2h05m (7500 s)
          [`kube_cronjob_status_last_successful_time{${cj}}`]: '1000x124 7500x75',
          // the failed run: started at 1h, Failed condition from 1h10m
          [owner(failedJob, 'prod-etcd-backup')]: '1x200',
          [`kube_job_status_start_time{${job(failedJob)}}`]: '3600x200',
          [`kube_job_failed{${job(failedJob)}, condition="true"}`]: '0x69 1x130',
          // an older failed run (before the last success), still in the failed-jobs history
          [owner('prod-etcd-backup-27999999', 'prod-etcd-backup')]: '1x200',
          [`kube_job_status_start_time{${job('prod-etcd-backup-27999999')}}`]: '500x200',
          [`kube_job_failed{${job('prod-etcd-backup-27999999')}, condition="true"}`]: '1x200',
          // a run that succeeded
          [owner('prod-etcd-backup-28000000', 'prod-etcd-backup')]: '1x200',
          [`kube_job_status_start_time{${job('prod-etcd-backup-28000000')}}`]: '5000x200',
          [`kube_job_failed{${job('prod-etcd-backup-28000000')}, condition="true"}`]: '0x200',
          // another CronJob's failed run in the same namespace
          [owner('restore-drill-28000030', 'restore-drill')]: '1x200',
          [`kube_job_status_start_time{${job('restore-drill-28000030')}}`]: '5400x200',
          [`kube_job_failed{${job('restore-drill-28000030')}, condition="true"}`]: '1x200',
        },
        checks: [
          ['1h5m', 'EtcdBackupFailed', []],
          ['1h30m', 'EtcdBackupFailed', [firing(rule, 'EtcdBackupFailed', etcd, { job: 'kube-state-metrics', job_name: failedJob, owner_name: 'prod-etcd-backup' })]],
          ['2h10m', 'EtcdBackupFailed', []],
        ],
      },
      {
        name: 'a CronJob that never succeeded: its failed run fires',
        series: {
          [`kube_cronjob_created{${cj}}`]: '0x30',
          [owner(failedJob, 'prod-etcd-backup')]: '1x30',
          [`kube_job_status_start_time{${job(failedJob)}}`]: '60x30',
          [`kube_job_failed{${job(failedJob)}, condition="true"}`]: '1x30',
        },
        checks: [['10m', 'EtcdBackupFailed', [firing(rule, 'EtcdBackupFailed', etcd, { job: 'kube-state-metrics', job_name: failedJob, owner_name: 'prod-etcd-backup' })]]],
      },
      {
        name: 'the CronJob\'s own series missing (a failed scrape): quiet, not a false failure',
        series: {
          [owner(failedJob, 'prod-etcd-backup')]: '1x30',
          [`kube_job_status_start_time{${job(failedJob)}}`]: '60x30',
          [`kube_job_failed{${job(failedJob)}, condition="true"}`]: '1x30',
        },
        checks: [['10m', 'EtcdBackupFailed', []]],
      },
    ]);
  });

  test('weekdays CronJob: a weekend without runs is quiet, 144 h without success fires', () => {
    const db = { namespace: 'db', cronjob: 'db-dump' };
    const dbSeries = 'job="kube-state-metrics", namespace="db", cronjob="db-dump"';
    promtoolTest(rule, [
      {
        // last success Friday 02:00, now Monday 01:20: 71 h 20 m
        name: 'a weekend',
        series: { [`kube_cronjob_status_last_successful_time{${dbSeries}}`]: '-255600x30' },
        checks: [['20m', 'BackupCronJobTooOld', []]],
      },
      {
        // last success 143 h 53 m 20 s before the test starts: over 144 h from 6m40s on
        name: 'six days',
        series: { [`kube_cronjob_status_last_successful_time{${dbSeries}}`]: '-518000x30' },
        checks: [
          ['15m', 'BackupCronJobTooOld', []],
          ['20m', 'BackupCronJobTooOld', [firing(rule, 'BackupCronJobTooOld', db, {}, 518000 + 1200)]],
        ],
      },
    ]);
  });

  test('Velero: failures (not restarts) fire for one gap; partial failures warn', () => {
    const apps = { schedule: 'apps' };
    const velero = 'job="velero", namespace="velero", pod="velero-7d9f", schedule="apps"';
    promtoolTest(rule, [
      {
        name: 'a failed backup at 10m fires for 24h',
        series: { [`velero_backup_failure_total{${velero}}`]: '0x9 1x1500', [`velero_backup_partial_failure_total{${velero}}`]: '0x1510' },
        checks: [
          ['5m', 'VeleroBackupFailed', []],
          ['20m', 'VeleroBackupFailed', [firing(rule, 'VeleroBackupFailed', apps)]],
          ['20m', 'VeleroBackupPartiallyFailed', []],
          ['24h20m', 'VeleroBackupFailed', []],
        ],
      },
      {
        name: 'a backup that failed validation fires too',
        series: { [`velero_backup_failure_total{${velero}}`]: '0x30', [`velero_backup_validation_failure_total{${velero}}`]: '0x9 1x20' },
        checks: [['20m', 'VeleroBackupFailed', [firing(rule, 'VeleroBackupFailed', apps)]]],
      },
      {
        name: 'a Velero restart resets the counters: quiet',
        series: { [`velero_backup_failure_total{${velero}}`]: '3x10 0x20', [`velero_backup_partial_failure_total{${velero}}`]: '2x10 0x20' },
        checks: [['20m', 'VeleroBackupFailed', []], ['20m', 'VeleroBackupPartiallyFailed', []]],
      },
      {
        name: 'a partially failed backup: warning',
        series: { [`velero_backup_failure_total{${velero}}`]: '0x30', [`velero_backup_partial_failure_total{${velero}}`]: '0x9 1x20' },
        checks: [
          ['20m', 'VeleroBackupPartiallyFailed', [firing(rule, 'VeleroBackupPartiallyFailed', { ...apps, severity: 'warning' })]],
          ['20m', 'VeleroBackupFailed', []],
        ],
      },
    ], '5m');
  });

  test('Velero: too old after 48 h, also across a Velero restart; never succeeded takes over', () => {
    const apps = { schedule: 'apps' };
    const pod = (name: string) => `velero_backup_last_successful_timestamp{job="velero", namespace="velero", pod="${name}", schedule="apps"}`;
    promtoolTest(rule, [
      {
        name: 'fresh: quiet',
        series: { [pod('velero-a')]: '0+60x60' },
        checks: [['50m', 'VeleroBackupTooOld', []], ['50m', 'VeleroBackupNeverSucceeded', []]],
      },
      {
        // last success 47 h 46 m 40 s before the test starts: over 48 h from 13m20s on
        name: 'two days without success',
        series: { [pod('velero-a')]: '-172000x60' },
        checks: [
          ['20m', 'VeleroBackupTooOld', []],
          ['30m', 'VeleroBackupTooOld', [firing(rule, 'VeleroBackupTooOld', apps, {}, 172000 + 1800)]],
        ],
      },
      {
        name: 'Velero restarted (new pod) and backed up since: the old pod\'s value does not count',
        series: { [pod('velero-a')]: '-172000x10', [pod('velero-b')]: '_x10 600x50' },
        checks: [['40m', 'VeleroBackupTooOld', []], ['40m', 'VeleroBackupNeverSucceeded', []]],
      },
      {
        // last success 100000 s before the start; Velero restarts at 10m, attempts and never succeeds again
        name: 'Velero restarted and no success since',
        series: {
          [pod('velero-a')]: '-100000x9',
          ['velero_backup_attempt_total{job="velero", namespace="velero", pod="velero-b", schedule="apps"}']: '_x10 0x60 1x4000',
          ['velero_backup_failure_total{job="velero", namespace="velero", pod="velero-b", schedule="apps"}']: '_x10 0x60 1x4000',
        },
        checks: [
          ['21h', 'VeleroBackupTooOld', [firing(rule, 'VeleroBackupTooOld', apps, {}, 100000 + 21 * 3600)]],
          ['21h', 'VeleroBackupNeverSucceeded', []],
          // The old success leaves the 48 h window at 48h9m: pending for 6 h, then firing.
          ['48h20m', 'VeleroBackupTooOld', []],
          ['48h20m', 'VeleroBackupNeverSucceeded', []],
          ['54h30m', 'VeleroBackupNeverSucceeded', [firing(rule, 'VeleroBackupNeverSucceeded', apps)]],
        ],
      },
    ], '5m');
  });

  test('Velero: a Schedule that never backs up (e.g. FailedValidation) is caught by its age, not by a weeks-long for', () => {
    const apps = { schedule: 'apps' };
    const attempts = 'velero_backup_attempt_total{job="velero", namespace="velero", pod="velero-a", schedule="apps"}';
    promtoolTest(rule, [
      {
        name: 'a new Schedule waiting for its first run: quiet',
        series: { [attempts]: '0x600' },
        checks: [['10h', 'VeleroBackupNeverSucceeded', []], ['10h', 'VeleroScheduleMissing', []], ['10h', 'VeleroMetricsAbsent', []]],
      },
      {
        // Velero created the counters at 0 and never attempted: 48 h later it is 2 × the gap old.
        name: 'known to Velero for 48 h, no backup at all',
        series: { [attempts]: '0x4000' },
        checks: [
          ['47h', 'VeleroBackupNeverSucceeded', []],
          ['48h30m', 'VeleroBackupNeverSucceeded', []],
          ['54h30m', 'VeleroBackupNeverSucceeded', [firing(rule, 'VeleroBackupNeverSucceeded', apps)]],
        ],
      },
      {
        name: 'a success within the window keeps it quiet',
        series: { [attempts]: '0x1000 1x3000', 'velero_backup_last_successful_timestamp{job="velero", namespace="velero", pod="velero-a", schedule="apps"}': '_x1000 60000+60x3000' },
        checks: [['60h', 'VeleroBackupNeverSucceeded', []]],
      },
    ], '5m');
  });

  test('Velero: missing Schedule and absent metrics fire as Velero exports its series', () => {
    const manual = 'velero_backup_attempt_total{job="velero", namespace="velero", pod="velero-a", schedule=""}';
    promtoolTest(rule, [
      {
        // Velero exports the manual-backup counters (schedule="") from its start, but nothing for apps.
        name: 'Velero scraped, the Schedule not there (not applied, paused, other namespace)',
        series: { [manual]: '0x60' },
        checks: [
          ['10m', 'VeleroScheduleMissing', []],
          ['20m', 'VeleroScheduleMissing', [firing(rule, 'VeleroScheduleMissing', { schedule: 'apps' })]],
          ['20m', 'VeleroMetricsAbsent', []],
        ],
      },
      {
        name: 'no Velero metrics at all: absent fires, the per-Schedule alert leaves it to that one',
        series: { 'up{job="something-else"}': '1x60' },
        checks: [
          ['5m', 'VeleroMetricsAbsent', []],
          ['15m', 'VeleroMetricsAbsent', [firing(rule, 'VeleroMetricsAbsent', { namespace: 'velero' }, { namespace: 'velero' })]],
          ['15m', 'VeleroScheduleMissing', []],
        ],
      },
    ], '5m');
  });
});
