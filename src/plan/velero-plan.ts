import { Cron } from 'cdk8s';
import { whenWords } from './job-plan';
import { IAlertPlan, PlannedAlert } from './planned-alert';
import { code, durationWords, listWords } from './words';

/** What the plan says of a Schedule's scope and storage (fields of `VeleroScheduleProps`). @internal */
export interface VeleroScopeFacts {
  readonly includedNamespaces?: string[];
  readonly excludedNamespaces?: string[];
  readonly labelSelector?: { [key: string]: string };
  readonly snapshotVolumes?: boolean;
  readonly defaultVolumesToFsBackup?: boolean;
  readonly snapshotMoveData?: boolean;
  readonly paused?: boolean;
  readonly storageLocation?: string;
}

/** One Schedule object of a Velero Schedule (one per retention tier). @internal */
export interface VeleroTierFacts {
  readonly name: string;
  readonly schedule: Cron;
  readonly timeZone?: string;
}

/** What the plan of a Velero Schedule says. @internal */
export interface VeleroPlanFacts {
  readonly name: string;
  readonly namespace: string;
  readonly props: VeleroScopeFacts;
  /** Each tier's ttl, in hours, in the order of `tiers`. */
  readonly ttlHours: number[];
  readonly tiers: VeleroTierFacts[];
}

function names(xs: string[] | undefined): string {
  return listWords((xs ?? []).map(code));
}

/** What a Schedule backs up, in words. */
function scopeWords(p: VeleroScopeFacts): string {
  const ns = p.includedNamespaces ? `namespaces ${names(p.includedNamespaces)}` : 'every namespace';
  const but = p.excludedNamespaces?.length ? ` but ${names(p.excludedNamespaces)}` : '';
  const labels = p.labelSelector ? `, objects labelled ${listWords(Object.entries(p.labelSelector).map(([k, v]) => code(`${k}=${v}`)))}` : '';
  const volumes = [
    p.snapshotVolumes === true ? 'volume snapshots' : p.snapshotVolumes === false ? 'no volume snapshots' : undefined,
    p.defaultVolumesToFsBackup ? 'file-system backup of every pod volume' : undefined,
    p.snapshotMoveData ? 'snapshot data moved to the storage' : undefined,
  ].filter((x): x is string => x !== undefined);
  return `${ns}${but}${labels}${volumes.length > 0 ? `; ${listWords(volumes)}` : ''}`;
}

/**
 * The plan of a Velero Schedule, as Markdown starting with a `## ` heading.
 * @internal
 */
export function describeVeleroSchedule(f: VeleroPlanFacts, alerts?: IAlertPlan): string {
  const p = f.props;
  const lines = [`## Velero Schedule: ${f.name}`, ''];
  lines.push(`Velero backs up ${scopeWords(p)}.${p.paused ? ' **Created paused: it takes no backups until unpaused.**' : ''}`, '');
  lines.push(`- **Schedules** (in namespace ${code(f.namespace)}; Velero deletes each Backup when its ttl has passed):`);
  f.tiers.forEach((t, i) => {
    lines.push(`  - ${code(t.name)}: ${whenWords(t.schedule, t.timeZone)}; each Backup kept ${durationWords(f.ttlHours[i] * 3600)}`);
  });
  lines.push(`- **Goes to**: ${p.storageLocation === undefined ? 'Velero\'s default BackupStorageLocation' : `BackupStorageLocation ${code(p.storageLocation)}`}`);
  if (!alerts) {
    lines.push('- **Alerts**: none given to `describe()` (pass the `BackupAlerts` that watch this Schedule)');
  } else {
    const per = f.tiers.map((t) => alerts.plannedAlertsForVeleroSchedule(t.name));
    if (per.every((a) => a.length === 0)) {
      lines.push(`- **Alerts**: none: the alerts ${code(alerts.name)} do not watch this Schedule`);
    } else {
      const text = (a: PlannedAlert[]) => a.map((x) => `${code(x.alert)} (${x.severity}) ${x.fires}`);
      lines.push(`- **Alerts** (PrometheusRule ${code(alerts.name)}, per Schedule object; \`VeleroMetricsAbsent\` when Velero's metrics are missing):`);
      f.tiers.forEach((t, i) => lines.push(`  - ${code(t.name)}: ${text(per[i]).join('; ')}`));
    }
  }
  return lines.join('\n') + '\n';
}
