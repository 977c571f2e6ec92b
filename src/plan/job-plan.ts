import { Cron, Duration } from 'cdk8s';
import { cronInWords, runsPerDay } from './cron-words';
import { IAlertPlan, PlannedAlert } from './planned-alert';
import { retentionInWords } from './retention-words';
import { code, durationWords, listWords } from './words';
import { longestGapHours, UTC_ZONES } from '../internal/schedule';
import { PitfallAcknowledgements } from '../policy/pitfall-acknowledgements';
import { inClusterEndpointPitfall, shortRetentionPitfall } from '../policy/pitfall-rules';
import { Retention } from '../policy/retention';
import type { BackupRepository } from '../repository/backup-repository';

/**
 * The plan of a backup job: what `describe()` says about it, rendered to Markdown for review
 * next to the YAML. Only typed facts of the constructs, never the rendered YAML read back, and
 * no clock: the same input gives the same text (it is checked into git).
 */

/** A toleration as the plan words it (the fields of the job's `Toleration`). @internal */
export interface PlannedToleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
  readonly tolerationSeconds?: number;
}

/** One CronJob of a job, and where its pods run. @internal */
export interface PlannedCronJob {
  readonly name: string;
  readonly description: string;
  readonly nodeName?: string;
  readonly nodeSelector?: { [label: string]: string };
  readonly tolerations?: PlannedToleration[];
  readonly hostNetwork?: boolean;
}

/** A restic repository the job writes to or reads from. @internal */
export interface PlannedLocation {
  /** Whose it is when a job has several (a node's name). */
  readonly label?: string;
  readonly resticRepository: string;
}

/** Everything the plan of one job says. @internal */
export interface JobPlanFacts {
  /** The heading, e.g. `etcd snapshots`. */
  readonly title: string;
  /** What it does, in a sentence or two (Markdown). */
  readonly what: string[];
  readonly namespace?: string;
  readonly schedule: Cron;
  readonly timeZone: string;
  readonly retention?: Retention;
  readonly allowRetentionFinerThanSchedule: boolean;
  readonly acknowledge: PitfallAcknowledgements;
  readonly cronJobs: PlannedCronJob[];
  readonly repository: BackupRepository;
  /** Where its backups go (empty for a drill). */
  readonly writesTo: PlannedLocation[];
  /** Where it reads backups from (a drill). */
  readonly readsFrom: PlannedLocation[];
  readonly activeDeadline: Duration;
  readonly backoffLimit: number;
  readonly startingDeadline: Duration;
}

/** When: the cron in words, the time zone, the run times in a day, the longest gap. @internal */
export function whenWords(schedule: Cron, timeZone: string | undefined): string {
  const expr = schedule.expressionString.trim();
  const zone = timeZone ?? 'UTC';
  const dst = UTC_ZONES.has(zone) ? '' : ' (a daylight-saving switch can skip or repeat a run)';
  const parts = [`${cronInWords(expr)} (${code(expr)}, time zone ${code(zone)}${dst})`];
  const perDay = runsPerDay(expr);
  if (perDay) parts.push(perDay);
  let gap: number | undefined;
  try {
    gap = longestGapHours(expr);
  } catch {
    gap = undefined;
  }
  if (gap !== undefined) parts.push(`at most ${durationWords(gap * 3600)} between runs`);
  return parts.join('; ');
}

/** A node selector and tolerations in words. */
function placementWords(c: PlannedCronJob): string {
  const parts: string[] = [];
  if (c.nodeName !== undefined) parts.push(`pinned to node ${code(c.nodeName)}`);
  const labels = Object.entries(c.nodeSelector ?? {}).map(([k, v]) => code(v === '' ? k : `${k}=${v}`));
  if (labels.length > 0) parts.push(`on nodes labelled ${listWords(labels)}`);
  const tolerations = (c.tolerations ?? []).map(tolerationWords);
  if (tolerations.length > 0) parts.push(`tolerating ${listWords(tolerations)}`);
  if (c.hostNetwork) parts.push('in the node\'s network namespace');
  return parts.length > 0 ? parts.join(', ') : 'on any node';
}

/** `key=value:Effect` as kubectl shows a taint (`key:Effect` for `Exists`), and for how long. */
function tolerationWords(t: PlannedToleration): string {
  const seconds = t.tolerationSeconds === undefined ? '' : ` for ${durationWords(t.tolerationSeconds)} after it appears`;
  if (t.key === undefined) return `every taint${t.effect ? ` with effect ${code(t.effect)}` : ''}${seconds}`;
  const value = (t.operator ?? 'Equal') === 'Equal' ? `=${t.value ?? ''}` : '';
  return `${code(`${t.key}${value}${t.effect ? `:${t.effect}` : ''}`)}${seconds}`;
}

/** `s3://bucket/path` on its endpoint, and the restic URL. @internal */
export function locationWords(repository: BackupRepository, resticRepository: string): string {
  const s3 = `s3:${repository.endpoint}/`;
  const other = /^(gs|azure):([^:]+):\/(.*)$/.exec(resticRepository);
  let where: string | undefined;
  if (resticRepository.startsWith(s3)) where = `${code(`s3://${resticRepository.slice(s3.length)}`)} on ${repository.endpoint}`;
  else if (other) where = `${code(`${other[1]}://${other[2]}/${other[3]}`)} on ${repository.endpoint}`;
  return where ? `${where} (restic repository ${code(resticRepository)})` : `restic repository ${code(resticRepository)}`;
}

/**
 * Client-side encryption and the keys, in words. (Server-side encryption is the bucket's own
 * setting: this library neither sets nor sees it.) @internal
 */
export function encryptionWords(repository: BackupRepository): string {
  const pw = repository.encryption.password;
  const ca = repository._caCertSource();
  const tls = ca === undefined ? '' : ca.pem !== undefined ? '; TLS checked against the CA bundle given inline'
    : `; TLS checked against the CA in ${ca.kind} ${code(ca.name)} (key ${code(ca.key)})`;
  return `client-side by restic (AES-256), repository password from Secret ${code(pw.name)} key ${code(pw.key)}; `
    + `storage credentials from Secret ${code(repository.credentials.secretName)}${tls}`;
}

/** The opt-outs a job reads, in words, and whether this job would trip the check without them. */
const JOB_ACKS: Array<{ key: keyof PitfallAcknowledgements; words: string }> = [
  { key: 'inClusterRepository', words: 'storage inside the cluster (it dies with the cluster)' },
  { key: 'shortRetention', words: 'a retention that keeps less than a day' },
];

/** The pitfalls a job acknowledges, each with whether this job trips it. @internal */
export function jobAcknowledgements(f: JobPlanFacts): string[] {
  const out: string[] = [];
  for (const { key, words } of JOB_ACKS) {
    if (!f.acknowledge[key] || !f.retention) continue;
    const trips = key === 'inClusterRepository'
      ? inClusterEndpointPitfall(f.repository.endpoint).length > 0
      : shortRetentionPitfall('retention', f.retention, f.schedule).length > 0;
    out.push(`${code(key)}: ${words}${trips ? '' : ' (this job does not need it)'}`);
  }
  if (f.allowRetentionFinerThanSchedule) out.push(`${code('allowRetentionFinerThanSchedule')}: a retention tier finer than the schedule keeps fewer distinct backups than it says`);
  return out;
}

/** The alerts of each CronJob, once when every CronJob has the same (one per node). */
function alertLines(f: JobPlanFacts, alerts: IAlertPlan | undefined): string[] {
  if (!alerts) return ['- **Alerts**: none given to `describe()` (pass the `BackupAlerts` that watch this job)'];
  const per = f.cronJobs.map((c) => alerts.plannedAlertsForCronJob(c.name, f.namespace));
  if (per.every((a) => a.length === 0)) return [`- **Alerts**: none: the alerts ${code(alerts.name)} do not watch this job`];
  const text = (a: PlannedAlert[]) => a.map((x) => `  - ${code(x.alert)} (${x.severity}) ${x.fires}`);
  const same = per.every((a) => JSON.stringify(a) === JSON.stringify(per[0]));
  const rule = `PrometheusRule ${code(alerts.name)}`;
  if (per.length === 1 || same) {
    return [`- **Alerts** (${rule}${per.length > 1 ? `, for each of the ${per.length} CronJobs` : ''}):`, ...text(per.find((a) => a.length > 0)!)];
  }
  return [`- **Alerts** (${rule}):`, ...f.cronJobs.flatMap((c, i) => [`  - ${code(c.name)}:`, ...text(per[i]).map((l) => `  ${l}`)])];
}

/**
 * The plan of one job, as Markdown starting with a `## ` heading.
 * @internal
 */
export function describeJob(f: JobPlanFacts, alerts?: IAlertPlan): string {
  const lines: string[] = [`## ${f.title}`, ''];
  lines.push(...f.what, '');
  lines.push(`- **When**: ${whenWords(f.schedule, f.timeZone)}`);
  const ns = f.namespace === undefined ? 'the chart\'s namespace (none set)' : `namespace ${code(f.namespace)}`;
  if (f.cronJobs.length === 1) {
    lines.push(`- **Runs**: CronJob ${code(f.cronJobs[0].name)} in ${ns}, ${placementWords(f.cronJobs[0])}`);
  } else {
    lines.push(`- **Runs**: ${f.cronJobs.length} CronJobs in ${ns}:`);
    for (const c of f.cronJobs) lines.push(`  - ${code(c.name)} (${c.description}), ${placementWords(c)}`);
  }
  lines.push(`- **Limits**: each run at most ${durationWords(f.activeDeadline.toSeconds())}, ${f.backoffLimit === 0 ? 'no retries' : `${f.backoffLimit} ${f.backoffLimit === 1 ? 'retry' : 'retries'}`}, `
    + `a missed run still starts up to ${durationWords(f.startingDeadline.toSeconds())} late, never two runs at once`);
  if (f.retention) {
    const gap = longestGapHours(f.schedule.expressionString.trim());
    const when = f.repository.splitRoles
      ? 'applied by the maintenance job with the maintainer\'s keys: this job\'s keys cannot delete'
      : 'after every successful backup';
    lines.push(`- **Keeps**: ${retentionInWords(f.retention, gap)} (${code(`restic forget --prune ${f.retention.toResticForgetArgs().join(' ')}`)} ${when})`);
  }
  const locations = (label: string, ls: PlannedLocation[]) => {
    if (ls.length === 1 && ls[0].label === undefined) return [`- **${label}**: ${locationWords(f.repository, ls[0].resticRepository)}`];
    return [`- **${label}**:`, ...ls.map((l) => `  - ${l.label ? `${code(l.label)}: ` : ''}${locationWords(f.repository, l.resticRepository)}`)];
  };
  if (f.writesTo.length > 0) lines.push(...locations('Goes to', f.writesTo));
  if (f.readsFrom.length > 0) lines.push(...locations('Reads from', f.readsFrom));
  lines.push(`- **Encryption**: ${encryptionWords(f.repository)}`);
  lines.push(...alertLines(f, alerts));
  const acks = jobAcknowledgements(f);
  lines.push(`- **Pitfalls acknowledged**: ${acks.length === 0 ? 'none' : listWords(acks)}`);
  return lines.join('\n') + '\n';
}
