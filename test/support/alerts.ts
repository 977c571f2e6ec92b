/**
 * Fixtures of the alert tests: a chart with BackupAlerts and one backup of each kind, and the
 * PrometheusRule it renders.
 */
import { Chart, Cron, Duration, Testing } from 'cdk8s';
import { testRepository } from './charts';
import { ControlPlaneConfigBackup, EtcdSnapshotBackup, EtcdSource, Retention, VeleroSchedule } from '../../src';
import { BackupAlerts, BackupAlertsProps } from '../../src/monitoring/backup-alerts';

export const NS = 'backup-system';
export const nightly = Cron.schedule({ minute: '30', hour: '1' });

/** A Cron from five fields. */
export function cron(expr: string): Cron {
  const [minute, hour, day, month, weekDay] = expr.split(' ');
  return Cron.schedule({ minute, hour, day, month, weekDay });
}

/**
 * GIVEN a chart with BackupAlerts and, created on first use (constructing CronJobs is what
 * takes time), one backup of each kind: etcd hourly, config daily on two nodes, Velero nightly.
 */
export class Fleet {
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

export function fleet(props: BackupAlertsProps = { runbookUrl: 'https://wiki.example.com/backup-runbook' }, chartNamespace?: string): Fleet {
  return new Fleet(props, chartNamespace);
}

export function watchAll(f: Fleet): Fleet {
  f.alerts.watch(f.etcd);
  f.alerts.watch(f.config);
  f.alerts.watchVeleroSchedule(f.velero);
  return f;
}

/** The PrometheusRule as synthesized (running the chart's validations). */
export function prometheusRule(chart: Chart): any {
  const rules = Testing.synth(chart).filter((m) => m.kind === 'PrometheusRule');
  expect(rules).toHaveLength(1);
  return rules[0];
}

/** Just the PrometheusRule's JSON (fast: renders no other object). */
export function ruleOf(f: Fleet): any {
  return f.alerts.prometheusRule.toJson();
}

let standard: any;
/** The rule of `watchAll(fleet())`, rendered once. */
export function standardRule(): any {
  standard ??= ruleOf(watchAll(fleet()));
  return standard;
}

/** Every alerting rule, flattened. */
export function rulesOf(rule: any): any[] {
  return rule.spec.groups.flatMap((g: any) => g.rules);
}

/** The one rule with this alert name and these (rule) labels. */
export function ruleFor(rule: any, alert: string, labels: Record<string, string> = {}): any {
  const found = rulesOf(rule).filter((r) => r.alert === alert && Object.entries(labels).every(([k, v]) => r.labels[k] === v));
  if (found.length !== 1) throw new Error(`expected one rule ${alert} ${JSON.stringify(labels)}, found ${found.length}`);
  return found[0];
}
