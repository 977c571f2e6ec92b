import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { CronJobTarget, cronJobRules, promDuration, veleroAbsentRule, veleroRules } from '../../../src/monitoring/alert-rules';
import { cron, fleet, NS, ruleFor, ruleOf, watchAll } from '../../support/alerts';

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
