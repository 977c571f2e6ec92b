import { ApiObject, Cron, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { VeleroBackupHook } from './velero-backup-hook';
import { checkNames, goDuration } from './velero-common';
import { VeleroResourceFilters } from './velero-resource-filters';
import { VeleroVersion } from './velero-version';
import { Schedule as RawSchedule } from '../imports/velero.io';
import { configError } from '../internal/errors';
import { checkLabels, checkObjectName, checkTimeZone } from '../internal/names';
import { checkSchedule, longestGapHours } from '../internal/schedule';
import { BackupDefaults } from '../job/backup-defaults';
import { IVeleroBackupSchedule, VeleroScheduleTier } from '../job/scheduled-job';
import { IAlertPlan } from '../plan/planned-alert';
import { describeVeleroSchedule, VeleroPlanFacts } from '../plan/velero-plan';
import { Retention } from '../policy/retention';

/**
 * Props of {@link VeleroSchedule}. Every field of the Velero Helm chart's `schedules:` values
 * has a typed counterpart here. `name` is the Schedule's name (with a gfs retention, the prefix
 * of `<name>-daily` etc.); at most 63 characters, because Velero creates no Backups above that.
 */
export interface VeleroScheduleProps extends VeleroResourceFilters {
  /**
   * When to back up. With a `Retention.gfs(...)`, the minute and hour of this schedule place
   * every tier's backups (hourly at that minute, daily at that time, weekly on Sunday, monthly on
   * the 1st, yearly on January 1st).
   */
  readonly schedule: Cron;
  /**
   * Which backups to keep. `maxAge` becomes the Backups' `ttl`; `gfs` becomes one Schedule per
   * tier with `ttl = count × period`. Velero cannot keep "the last N" backups: `keepLast` (and a
   * gfs `last`) is an error.
   */
  readonly retention: Retention;
  /**
   * Time zone of the schedule (rendered as `CRON_TZ=`).
   * @default - Velero's (UTC)
   */
  readonly timeZone?: string;
  /**
   * Cluster-scoped resources to back up.
   * @default - none besides those Velero adds
   */
  readonly includedClusterScopedResources?: string[];
  /**
   * Cluster-scoped resources not to back up.
   * @default - none
   */
  readonly excludedClusterScopedResources?: string[];
  /**
   * Namespace-scoped resources to back up.
   * @default - all
   */
  readonly includedNamespaceScopedResources?: string[];
  /**
   * Namespace-scoped resources not to back up.
   * @default - none
   */
  readonly excludedNamespaceScopedResources?: string[];
  /**
   * Back up only objects with these labels (matchLabels). Exclusive with `orLabelSelectors`.
   * @default - no label filter
   */
  readonly labelSelector?: { [key: string]: string };
  /**
   * Back up objects matching any of these label sets. Exclusive with `labelSelector`.
   * @default - no label filter
   */
  readonly orLabelSelectors?: Array<{ [key: string]: string }>;
  /**
   * Take storage snapshots of persistent volumes.
   * @default - Velero's server default
   */
  readonly snapshotVolumes?: boolean;
  /**
   * Back up all pod volumes with file-system backup (kopia) unless opted out per volume.
   * @default - Velero's server default
   */
  readonly defaultVolumesToFsBackup?: boolean;
  /**
   * Move CSI snapshot data to the backup storage (data mover).
   * @default - false
   */
  readonly snapshotMoveData?: boolean;
  /**
   * BackupStorageLocation name.
   * @default - Velero's default location
   */
  readonly storageLocation?: string;
  /**
   * VolumeSnapshotLocation names.
   * @default - Velero's defaults per provider
   */
  readonly volumeSnapshotLocations?: string[];
  /**
   * How long to wait for CSI snapshots to be ready.
   * @default - Velero's default (10 minutes)
   */
  readonly csiSnapshotTimeout?: Duration;
  /**
   * How long to wait for asynchronous item operations (data mover).
   * @default - Velero's default (4 hours)
   */
  readonly itemOperationTimeout?: Duration;
  /**
   * Consistency hooks run in the application pods.
   * @default - none
   */
  readonly hooks?: VeleroBackupHook[];
  /**
   * Labels of the Backups the Schedule creates. Always set, so Backups never inherit the
   * Schedule's labels (a GitOps tool's tracking label on a Backup makes Argo CD prune it).
   * @default { 'backup.cdk8s.io/schedule': <schedule name> }
   */
  readonly backupLabels?: { [key: string]: string };
  /**
   * Labels of the Schedule object itself (the Helm chart's `schedules.<name>.labels`).
   * @default - none (besides the chart's)
   */
  readonly labels?: { [key: string]: string };
  /**
   * Annotations of the Schedule object.
   * @default - none
   */
  readonly annotations?: { [key: string]: string };
  /**
   * Name of a ConfigMap (in Velero's namespace) holding a Velero resource policy.
   * @default - none
   */
  readonly resourcePolicy?: string;
  /**
   * Files uploaded in parallel by the file-system backup uploader.
   * @default - Velero's default
   */
  readonly parallelFilesUpload?: number;
  /**
   * Backup order of resources: resource → comma-separated `namespace/name` list.
   * @default - none
   */
  readonly orderedResources?: { [resource: string]: string };
  /**
   * Data mover to use with `snapshotMoveData` (`velero` for the built-in one).
   * @default - the built-in data mover
   */
  readonly dataMover?: string;
  /**
   * Create the Schedule paused.
   * @default false
   */
  readonly paused?: boolean;
  /**
   * Render `skipImmediately` (skip the backup Velero takes as soon as the Schedule is created or
   * unpaused). Not rendered by default, because under GitOps it loses backups: Velero's schedule
   * controller patches a `true` back to `false` and sets `status.lastSkipped` on the next
   * reconcile, and computes the next run from `lastSkipped` (velero
   * pkg/controller/schedule_controller.go, velero#8787), so every re-apply by Argo CD self-heal
   * or Flux pushes the next backup past now, and one between the cron tick and the reconcile
   * skips it. Two safe ways to the same effect: Velero's server flag
   * `--schedule-skip-immediately=true`, or `true` here with Argo CD `ignoreDifferences` on
   * `/spec/skipImmediately` and the sync option `RespectIgnoreDifferences=true`.
   * @default - not rendered (Velero's server default, `--schedule-skip-immediately`, false)
   */
  readonly skipImmediately?: boolean;
  /**
   * The Velero server version the Schedule is rendered for: a feature it lacks is a synth error
   * (a time zone needs 1.15).
   * @default VeleroVersion.MINIMUM (1.14)
   */
  readonly veleroVersion?: VeleroVersion;
  /**
   * Accept a retention that backs up more often than the schedule: a gfs hourly tier on a
   * schedule that is not hourly (it adds an hourly Schedule), or gfs on a schedule limited to
   * some days (gfs places its tiers by minute and hour only, so it backs up every day).
   * @default false
   */
  readonly allowRetentionFinerThanSchedule?: boolean;
  /**
   * Accept a `ttl` no longer than the longest gap between two runs of its Schedule: each Backup
   * then expires before (or as) the next one is taken, and there are hours with no backup.
   * @default false
   */
  readonly allowDaysWithoutBackup?: boolean;
  /**
   * Make Backups owned by the Schedule, so deleting the Schedule deletes its Backups (and their
   * data). Off by default: removing a Schedule from git must not destroy its backups.
   * @default false
   */
  readonly useOwnerReferencesInBackup?: boolean;
}

/** GitOps tools' tracking labels: a Backup carrying one is pruned as an unknown object. */
const GITOPS_LABELS = [/^app\.kubernetes\.io\/instance$/, /^argocd\.argoproj\.io\//, /^kustomize\.toolkit\.fluxcd\.io\//, /^helm\.toolkit\.fluxcd\.io\//];

interface Tier { suffix: string; count: number; hours: number; cron: (minute: string, hour: string) => string }

/**
 * A Velero backup Schedule (or one per retention tier), safe under GitOps by default.
 */
export class VeleroSchedule extends Construct implements IVeleroBackupSchedule {
  /** The Schedule objects (one, or one per gfs tier). */
  public readonly schedules: ApiObject[];
  /** Names of the Schedules. */
  public readonly scheduleNames: string[];
  /** Each Schedule object's name, cron and time zone, in the order of `schedules`. */
  public readonly tiers: VeleroScheduleTier[];
  /** Velero's namespace, where the Schedules are. */
  public readonly namespace: string;

  /** What `describe()` says. @internal */
  public readonly _plan: VeleroPlanFacts;

  constructor(scope: Construct, id: string, props: VeleroScheduleProps) {
    super(scope, id);
    const C = 'VeleroSchedule';
    if (!props.schedule) throw configError(`${C}: schedule is required`);
    if (!props.retention) throw configError(`${C}: retention is required (it becomes the Backups' ttl), e.g. Retention.maxAge(Duration.days(30))`);
    const expr = checkSchedule(`${C}: schedule`, props.schedule);
    if (expr.startsWith('@')) throw configError(`${C}: schedule: use five cron fields, not ${expr}`);
    const name = checkObjectName(`${C}: name`, props.name ?? id.toLowerCase(), 63);
    const namespace = checkObjectName(`${C}: namespace`, props.namespace ?? BackupDefaults.VELERO_NAMESPACE, 63);
    this.namespace = namespace;
    const version = props.veleroVersion ?? VeleroVersion.MINIMUM;
    if (props.timeZone !== undefined) {
      checkTimeZone(`${C}: timeZone`, props.timeZone);
      // CRON_TZ= came with robfig/cron v3 (velero#7657, 1.15): before it the Schedule fails validation and never runs.
      version._require(`${C}: timeZone`, VeleroVersion.V1_15, 'a Schedule time zone (CRON_TZ=)');
    }
    checkNamespaceFilters(C, props);
    if (props.labelSelector && props.orLabelSelectors) {
      throw configError(`${C}: labelSelector and orLabelSelectors are exclusive (Velero rejects a Schedule with both); use one`);
    }
    checkLabels(`${C}: labelSelector`, props.labelSelector);
    checkLabels(`${C}: labels`, props.labels);
    (props.orLabelSelectors ?? []).forEach((sel, i) => checkLabels(`${C}: orLabelSelectors[${i}]`, sel));
    // Velero rejects old-style (includeClusterResources, included/excludedResources) and
    // new-style scoped filters in one backup.
    const scoped = [props.includedClusterScopedResources, props.excludedClusterScopedResources,
      props.includedNamespaceScopedResources, props.excludedNamespaceScopedResources].some((f) => f !== undefined);
    const oldStyle = [props.includeClusterResources, props.includedResources, props.excludedResources].some((f) => f !== undefined);
    if (scoped && oldStyle) {
      throw configError(`${C}: includeClusterResources/includedResources/excludedResources cannot be combined with the scoped resource filters (included/excluded{Cluster,Namespace}ScopedResources); use one style`);
    }
    const hookNames = new Set<string>();
    for (const h of props.hooks ?? []) {
      if (hookNames.has(h.name)) throw configError(`${C}: hooks: the name ${JSON.stringify(h.name)} is used twice`);
      hookNames.add(h.name);
      checkHookNamespaces(C, h, props);
    }

    const tiers = tiersOf(C, props.retention, expr, props.allowRetentionFinerThanSchedule ?? false);
    if (!props.allowDaysWithoutBackup) {
      for (const tier of tiers) {
        const cronExpr = tier.cron(...minuteHour(expr));
        const gap = longestGapHours(cronExpr);
        const ttl = tier.hours * tier.count;
        if (ttl <= gap) {
          throw configError(`${C}: retention${tier.suffix ? ` (${tier.suffix} tier)` : ''}: each Backup's ttl is ${ttl} h, but ${JSON.stringify(cronExpr)} leaves up to ${gap} h between backups, so for hours there is no backup at all; keep longer (a ttl over ${gap} h${tier.suffix ? `, e.g. ${tier.suffix}: ${Math.floor(gap / tier.hours) + 1}` : ''}), run more often, or set allowDaysWithoutBackup: true`);
        }
      }
    }
    this.scheduleNames = [];
    this.tiers = [];
    this._plan = { name, namespace, props, ttlHours: tiers.map((t) => t.hours * t.count), tiers: this.tiers };
    this.schedules = tiers.map((tier) => {
      const tierName = tier.suffix ? `${name}-${tier.suffix}` : name;
      checkObjectName(`${C}: name${tier.suffix ? ` (with the -${tier.suffix} tier suffix)` : ''}: Velero creates no Backups for Schedule names over 63 characters`, tierName, 63);
      const backupLabels = props.backupLabels ?? { 'backup.cdk8s.io/schedule': tierName };
      checkLabels(`${C}: backupLabels`, backupLabels);
      if (Object.keys(backupLabels).length === 0) {
        throw configError(`${C}: backupLabels must not be empty: without labels, Backups inherit the Schedule's (and a GitOps tool's) labels`);
      }
      const gitops = Object.keys(backupLabels).find((k) => GITOPS_LABELS.some((re) => re.test(k)));
      if (gitops) throw configError(`${C}: backupLabels: ${gitops} is a GitOps tracking label; Backups carrying it get pruned by Argo CD/Flux`);
      this.scheduleNames.push(tierName);
      const cronExpr = tier.cron(...minuteHour(expr));
      const [minute, hour, day, month, weekDay] = cronExpr.split(/\s+/);
      this.tiers.push({ name: tierName, schedule: Cron.schedule({ minute, hour, day, month, weekDay }), timeZone: props.timeZone });
      return new RawSchedule(this, tier.suffix || 'Resource', {
        metadata: {
          name: tierName,
          namespace,
          labels: props.labels ? { ...props.labels } : undefined,
          annotations: props.annotations ? { ...props.annotations } : undefined,
        },
        spec: {
          schedule: props.timeZone ? `CRON_TZ=${props.timeZone} ${cronExpr}` : cronExpr,
          paused: props.paused ?? false,
          skipImmediately: props.skipImmediately,
          useOwnerReferencesInBackup: props.useOwnerReferencesInBackup ?? false,
          template: {
            metadata: { labels: { ...backupLabels } },
            ttl: goDuration(`${C}: retention`, Duration.hours(tier.hours * tier.count)),
            includedNamespaces: checkNames(`${C}: includedNamespaces`, props.includedNamespaces),
            excludedNamespaces: checkNames(`${C}: excludedNamespaces`, props.excludedNamespaces),
            includedResources: checkNames(`${C}: includedResources`, props.includedResources),
            excludedResources: checkNames(`${C}: excludedResources`, props.excludedResources),
            includeClusterResources: props.includeClusterResources,
            includedClusterScopedResources: checkNames(`${C}: includedClusterScopedResources`, props.includedClusterScopedResources),
            excludedClusterScopedResources: checkNames(`${C}: excludedClusterScopedResources`, props.excludedClusterScopedResources),
            includedNamespaceScopedResources: checkNames(`${C}: includedNamespaceScopedResources`, props.includedNamespaceScopedResources),
            excludedNamespaceScopedResources: checkNames(`${C}: excludedNamespaceScopedResources`, props.excludedNamespaceScopedResources),
            labelSelector: props.labelSelector ? { matchLabels: { ...props.labelSelector } } : undefined,
            orLabelSelectors: props.orLabelSelectors?.map((sel) => ({ matchLabels: { ...sel } })),
            snapshotVolumes: props.snapshotVolumes,
            defaultVolumesToFsBackup: props.defaultVolumesToFsBackup,
            snapshotMoveData: props.snapshotMoveData,
            storageLocation: props.storageLocation === undefined ? undefined : checkObjectName(`${C}: storageLocation`, props.storageLocation, 253),
            volumeSnapshotLocations: props.volumeSnapshotLocations?.map((l) => checkObjectName(`${C}: volumeSnapshotLocations`, l, 253)),
            csiSnapshotTimeout: props.csiSnapshotTimeout ? goDuration(`${C}: csiSnapshotTimeout`, props.csiSnapshotTimeout) : undefined,
            itemOperationTimeout: props.itemOperationTimeout ? goDuration(`${C}: itemOperationTimeout`, props.itemOperationTimeout) : undefined,
            hooks: props.hooks && props.hooks.length > 0 ? { resources: props.hooks.map((h) => h._render()) } : undefined,
            resourcePolicy: props.resourcePolicy === undefined ? undefined
              : { kind: 'configmap', name: checkObjectName(`${C}: resourcePolicy`, props.resourcePolicy, 253) },
            uploaderConfig: props.parallelFilesUpload === undefined ? undefined : { parallelFilesUpload: checkPositive(`${C}: parallelFilesUpload`, props.parallelFilesUpload) },
            orderedResources: props.orderedResources ? { ...props.orderedResources } : undefined,
            datamover: props.dataMover,
          },
        },
      });
    });
  }

  /**
   * The Schedule as a short Markdown summary to review next to its YAML: what it backs up, when
   * each Schedule object runs (in words, with its time zone) and how long its Backups are kept,
   * where they go, and which alerts watch it. Starts with a `## ` heading; the same input gives
   * the same text.
   * @param alerts the alerts that watch this Schedule, to say which and when they fire
   */
  public describe(alerts?: IAlertPlan): string {
    return describeVeleroSchedule(this._plan, alerts);
  }
}

/**
 * Velero matches namespace filters as names or globs (`*`, `app-*`): anything else, such as
 * `Shop`, matches no namespace and yields an empty backup that completes, which no alert sees.
 */
function checkNamespaceFilters(C: string, props: VeleroScheduleProps): void {
  if (props.includedNamespaces !== undefined && props.includedNamespaces.length === 0) {
    throw configError(`${C}: includedNamespaces is empty, which Velero reads as every namespace; omit it to back up all namespaces, or list them`);
  }
  for (const option of ['includedNamespaces', 'excludedNamespaces'] as const) {
    for (const ns of props[option] ?? []) {
      if (!/^[a-z0-9*?]([-a-z0-9*?]{0,61}[a-z0-9*?])?$/.test(ns)) {
        throw configError(`${C}: ${option}: ${JSON.stringify(ns)} is not a namespace name (lowercase letters, digits and '-') or a pattern with '*' and '?'; it matches nothing`);
      }
    }
  }
  const both = (props.includedNamespaces ?? []).filter((ns) => (props.excludedNamespaces ?? []).includes(ns));
  if (both.length > 0) {
    throw configError(`${C}: ${both.join(', ')} is both in includedNamespaces and excludedNamespaces (excluded wins: nothing of it is backed up); keep it in one list`);
  }
}

/** A hook runs only in pods the backup includes: a hook for another namespace never runs. */
function checkHookNamespaces(C: string, hook: VeleroBackupHook, props: VeleroScheduleProps): void {
  const included = props.includedNamespaces;
  if (!included || included.some((ns) => /[*?]/.test(ns))) return;
  const outside = (hook.includedNamespaces ?? []).filter((ns) => !/[*?]/.test(ns) && (!included.includes(ns) || (props.excludedNamespaces ?? []).includes(ns)));
  if (outside.length > 0) {
    throw configError(`${C}: hooks: ${hook.name} runs in ${outside.join(', ')}, which the Schedule does not back up (includedNamespaces: ${included.join(', ')}), so it never runs; add the namespace to includedNamespaces or move the hook to that namespace's Schedule`);
  }
}

function tiersOf(C: string, r: Retention, expr: string, finerOk: boolean): Tier[] {
  if (r.last !== undefined && (r.hourly ?? r.daily ?? r.weekly ?? r.monthly ?? r.yearly) === undefined && !r.keepWithin) {
    throw configError(`${C}: retention: Velero cannot keep "the last N" backups (each Backup only has a ttl); use Retention.maxAge(...) or Retention.gfs({ daily, weekly, ... })`);
  }
  if (r.last !== undefined) {
    throw configError(`${C}: retention: a gfs 'last' tier has no Velero equivalent (Backups only have a ttl); drop 'last'`);
  }
  if (r.keepWithin) {
    return [{ suffix: '', count: 1, hours: r.keepWithin.toHours(), cron: () => expr }];
  }
  const [minute, hour] = minuteHour(expr);
  const tiers: Tier[] = [];
  const needHour = (tier: string) => {
    if (!/^\d+$/.test(hour)) {
      throw configError(`${C}: schedule: with a ${tier} tier, the schedule's hour must be one number (it places the ${tier} backups); got ${JSON.stringify(expr)}`);
    }
  };
  if (!/^\d+$/.test(minute)) {
    throw configError(`${C}: schedule: with a gfs retention, the schedule's minute must be one number (it places every tier's backups); got ${JSON.stringify(expr)}`);
  }
  const [, , day, month, weekDay] = expr.split(/\s+/);
  if (!finerOk && [day, month, weekDay].some((f) => f !== '*')) {
    throw configError(`${C}: schedule: a gfs retention places its tiers by minute and hour only, so ${JSON.stringify(expr)} would back up every day, not only on the days it names; use '*' for day, month and weekday, use Retention.maxAge(...) with this schedule, or set allowRetentionFinerThanSchedule: true`);
  }
  if (!finerOk && r.hourly && hour !== '*') {
    throw configError(`${C}: retention: a gfs hourly tier adds an hourly Schedule, but the schedule ${JSON.stringify(expr)} is not hourly; drop hourly, make the schedule hourly ('${minute} * * * *'), or set allowRetentionFinerThanSchedule: true`);
  }
  if (r.hourly) tiers.push({ suffix: 'hourly', count: r.hourly, hours: 1, cron: (m) => `${m} * * * *` });
  if (r.daily) { needHour('daily'); tiers.push({ suffix: 'daily', count: r.daily, hours: 24, cron: (m, h) => `${m} ${h} * * *` }); }
  if (r.weekly) { needHour('weekly'); tiers.push({ suffix: 'weekly', count: r.weekly, hours: 24 * 7, cron: (m, h) => `${m} ${h} * * 0` }); }
  if (r.monthly) { needHour('monthly'); tiers.push({ suffix: 'monthly', count: r.monthly, hours: 24 * 31, cron: (m, h) => `${m} ${h} 1 * *` }); }
  if (r.yearly) { needHour('yearly'); tiers.push({ suffix: 'yearly', count: r.yearly, hours: 24 * 366, cron: (m, h) => `${m} ${h} 1 1 *` }); }
  return tiers;
}

function checkPositive(option: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw configError(`${option}: expected a whole number ≥ 1; got ${n}`);
  return n;
}

function minuteHour(expr: string): [string, string] {
  const [minute, hour] = expr.split(/\s+/);
  return [minute, hour];
}
