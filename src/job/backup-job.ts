import { ApiObject, Chart, Cron, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BackupDefaults } from './backup-defaults';
import { BackupDestination, BackupJobOptions } from './backup-job-options';
import { ScheduledJob, IBackupJob } from './scheduled-job';
import { checkTolerations, taintQuery, Toleration } from './toleration';
import { scriptsWithLibraries } from '../internal/assets';
import { configError, inHostSpelling } from '../internal/errors';
import { checkDnsLabel, checkTimeZone } from '../internal/names';
import { checkSchedule, expandMacro, longestGapHours } from '../internal/schedule';
import { describeJob, JobPlanFacts, PlannedCronJob } from '../plan/job-plan';
import { IAlertPlan } from '../plan/planned-alert';
import { inClusterEndpointPitfall, shortRetentionPitfall } from '../policy/pitfall-rules';
import { Retention } from '../policy/retention';
import { INLINE_CA_FILE } from '../repository/repository-backend';

/**
 * Props of {@link BackupJob}: the options every backup job takes, plus what the kind decides.
 */
export interface BackupJobProps extends BackupJobOptions, BackupDestination {
  /**
   * Name of the job's ServiceAccount, of its scripts ConfigMap (`<name>-scripts`) and, unless a
   * CronJob is given its own, of its CronJob (≤ 52 characters).
   */
  readonly name: string;
  /** What the job is, as the `app.kubernetes.io/component` label, e.g. `etcd-snapshot`. */
  readonly component: string;
  /**
   * Scripts from the package's `assets/` the containers run, mounted at `/scripts` together with
   * the libraries they source from there (such as `summary-lib.sh`, for the summary line every
   * script ends with).
   */
  readonly scripts: string[];
  /**
   * Further files for `/scripts` (path lists, key lists), by file name.
   * @default - none
   */
  readonly scriptFiles?: { [file: string]: string };
  /** The schedule when `schedule` is not set. */
  readonly defaultSchedule: Cron;
  /**
   * The retention when `retention` is not set; a job that keeps nothing (a drill) has none.
   * @default - the job applies no retention
   */
  readonly defaultRetention?: Retention;
  /** Prefix of the alert names of its CronJobs, e.g. `EtcdBackup`. */
  readonly alertPrefix: string;
  /** Rule group of its alerts, e.g. `etcd`. */
  readonly alertGroup: string;
  /**
   * The Kubernetes API access its pods need. A job without it gets no service-account token.
   * @default - no API access, no token mounted
   */
  readonly apiAccess?: boolean;
}

/**
 * A restic repository a job writes and keeps with its retention: what a maintenance job needs
 * to apply that retention when the job's keys cannot delete (split roles).
 */
export interface RetainedRepository {
  /** The repository's path below the repository root, e.g. `prod/etcd`. */
  readonly subPath: string;
  /** The restic tag of the job's snapshots (the retention applies per host within it). */
  readonly tag: string;
  /** The job's retention. */
  readonly retention: Retention;
}

/**
 * One CronJob of a {@link BackupJob}: its pod and what monitoring says about it.
 */
export interface BackupCronJobOptions {
  /**
   * Name of the CronJob (≤ 52 characters).
   * @default - the job's name
   */
  readonly name?: string;
  /** What it backs up, in words, e.g. `etcd snapshot of cluster prod`. */
  readonly description: string;
  /** What a failed run means and what to do first (Markdown, for the runbook). */
  readonly failureAdvice: string;
  /**
   * Extra labels of the CronJob and its pods.
   * @default - none
   */
  readonly labels?: { [key: string]: string };
  /**
   * Run in the node's network namespace.
   * @default false
   */
  readonly hostNetwork?: boolean;
  /**
   * Node labels the pods must run on.
   * @default - any node
   */
  readonly nodeSelector?: { [label: string]: string };
  /**
   * Taints the pods tolerate.
   * @default - none
   */
  readonly tolerations?: Toleration[];
  /**
   * Pin the pods to exactly this node (node names are not labels: a nodeAffinity on
   * `metadata.name`).
   * @default - not pinned
   */
  readonly nodeName?: string;
  /**
   * User and group of the pod (and its fsGroup when not root).
   * @default 0
   */
  readonly user?: number;
  /**
   * Init containers, run in order before the containers.
   * @default - none
   */
  readonly initContainers?: kplus.ContainerProps[];
  /** The containers. */
  readonly containers: kplus.ContainerProps[];
  /**
   * Images mounted read-only as volumes (Kubernetes `volumes[].image`, KEP-4639; on by default
   * from Kubernetes 1.35), which cdk8s-plus-28 does not model.
   * @default - none
   */
  readonly imageVolumes?: ImageVolumeOptions[];
}

/**
 * An image mounted as a read-only volume into some containers of a pod.
 */
export interface ImageVolumeOptions {
  /** The volume's name. */
  readonly name: string;
  /** The image reference, pinned by tag or digest. */
  readonly image: string;
  /** Where the containers see the image's root. */
  readonly mountPath: string;
  /** Names of the (init) containers that mount it. */
  readonly containers: string[];
}

/**
 * The core every backup kind builds on. It owns what every backup job shares, once:
 * metadata and labels, the ServiceAccount (no token unless the kind asks for API access), the
 * scripts ConfigMap, the scratch volume for `/tmp`, name checks, the typed schedule, time zone
 * and retention, and the CronJob hygiene (no overlap, bounded time and retries, history, explicit
 * time zone, RuntimeDefault seccomp). A kind declares its containers and images, and adds its
 * CronJobs with {@link BackupJob.addCronJob}; each becomes a {@link ScheduledJob} that
 * `BackupAlerts` and the runbook read.
 */
export abstract class BackupJob extends Construct implements IBackupJob {
  /** Name of the job (ServiceAccount, ConfigMap, default CronJob name). */
  public readonly name: string;
  /** The cluster it belongs to. */
  public readonly clusterName: string;
  /** Namespace of its objects (the job's own, or its chart's). */
  public readonly namespace: string | undefined;
  /** Labels of every object of the job. */
  public readonly labels: { [key: string]: string };
  /** When it runs. */
  public readonly schedule: Cron;
  /** Time zone of the schedule. */
  public readonly timeZone: string;
  /** The retention applied after every backup, if the job keeps backups. */
  public readonly retention?: Retention;
  /** The ServiceAccount of its pods. */
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The ConfigMap with its scripts, mounted at `/scripts`. */
  public readonly scripts: kplus.ConfigMap;
  /** Its CronJobs, in the order they were added. */
  public readonly cronJobs: kplus.CronJob[] = [];

  private readonly options: BackupJobProps;
  private readonly retained: RetainedRepository[] = [];
  private readonly apiAccess: boolean;
  private readonly alertPrefix: string;
  private readonly alertGroup: string;
  private readonly scheduled: ScheduledJob[] = [];
  private readonly planned: PlannedCronJob[] = [];

  constructor(scope: Construct, id: string, props: BackupJobProps) {
    super(scope, id);
    const C = this.constructor.name;
    if (!props.repository) throw configError(`${C}: repository is required, e.g. BackupRepository.s3({...})`);
    checkDnsLabel(`${C}: clusterName`, props.clusterName, 63);
    checkDnsLabel(`${C}: name (CronJob names are limited to 52 characters; set \`name\` to a shorter one)`, props.name, 52);
    if (props.namespace !== undefined) checkDnsLabel(`${C}: namespace`, props.namespace, 63);
    if (props.backoffLimit !== undefined && (!Number.isInteger(props.backoffLimit) || props.backoffLimit < 0 || props.backoffLimit > 10)) {
      throw configError(`${C}: backoffLimit must be a whole number from 0 to 10; got ${props.backoffLimit}`);
    }
    if (props.priorityClassName !== undefined) checkDnsLabel(`${C}: priorityClassName`, props.priorityClassName, 253);
    if (props.timeZone !== undefined) checkTimeZone(`${C}: timeZone`, props.timeZone);
    const schedule = props.schedule ?? props.defaultSchedule;
    checkSchedule(`${C}: schedule`, schedule);
    const retention = props.retention ?? props.defaultRetention;
    const immutability = props.repository.immutability;
    if (retention && immutability && !retention.keepWithin) {
      // restic doc 060_forget.rst (v0.18.0): an append-only repository must be pruned with
      // --keep-within, or a writer could plant snapshots that push the real ones out of the
      // count-based tiers; the same holds for keys that can add but not delete on locked storage.
      throw configError(`${C}: retention (${retention}) has no time-based tier, but the repository declares ${immutability.description}: the writer's keys could add snapshots that push real ones out of count-based tiers. Use Retention.maxAge(Duration.days(35)), or add within to the tiers, e.g. Retention.gfs({ daily: 7, weekly: 4, within: Duration.days(7) })`);
    }
    if (retention) {
      const finest = retention.finestPeriodHours;
      const gap = longestGapHours(schedule.expressionString.trim());
      if (finest !== undefined && gap > finest && !props.allowRetentionFinerThanSchedule) {
        throw configError(`${C}: retention (${retention}) keeps backups per ${finest === 1 ? 'hour' : `${finest} hours`}, but the schedule ${JSON.stringify(schedule.expressionString)} runs only every ${gap} hours at worst; run more often, use a coarser retention, or set allowRetentionFinerThanSchedule: true`);
      }
    }
    for (const [k, v] of Object.entries(props.images ?? {})) {
      if (v !== undefined) checkImage(`${C}: images.${k}`, v);
    }

    this.options = props;
    this.name = props.name;
    this.clusterName = props.clusterName;
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    this.schedule = schedule;
    this.timeZone = props.timeZone ?? 'Etc/UTC';
    this.retention = retention;
    this.apiAccess = props.apiAccess ?? false;
    this.alertPrefix = props.alertPrefix;
    this.alertGroup = props.alertGroup;
    this.labels = {
      'app.kubernetes.io/name': 'cdk8s-backup',
      'app.kubernetes.io/component': props.component,
      'app.kubernetes.io/instance': props.name,
      'backup.cdk8s.io/cluster': props.clusterName,
    };
    const metadata = { name: props.name, namespace: props.namespace, labels: this.labels };
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: this.apiAccess });
    // The pitfalls a job sees for itself, reported with its construct path at synth (a job that
    // writes no backups, a drill, has no storage or retention of its own to check).
    const ack = props.acknowledge ?? {};
    if (retention) {
      // From the props alone, so computed once: cdk8s validates the whole app once per chart,
      // which in a fleet is charts x jobs calls.
      let found: string[] | undefined;
      this.node.addValidation({
        validate: () => found ??= [
          ...(ack.inClusterRepository ? [] : inClusterEndpointPitfall(props.repository.endpoint)),
          ...(ack.shortRetention ? [] : shortRetentionPitfall('retention', retention, schedule)),
        ].map((m) => inHostSpelling(`${C}: ${m}`)),
      });
    }
    const data: { [file: string]: string } = scriptsWithLibraries(props.scripts);
    Object.assign(data, props.scriptFiles ?? {});
    // An inline CA bundle is public: it travels with the scripts every restic container mounts.
    const caPem = props.repository._caCertPem();
    if (caPem !== undefined) data[INLINE_CA_FILE] = caPem;
    this.scripts = new kplus.ConfigMap(this, 'Scripts', { metadata: { ...metadata, name: `${props.name}-scripts` }, data });
  }

  /**
   * The repositories this job writes and keeps with its retention (none for a drill): what a
   * maintenance job applies when the repository's roles are split.
   */
  public get retainedRepositories(): RetainedRepository[] {
    return [...this.retained];
  }

  /** Every CronJob of the job, as monitoring and the runbook read it. */
  public get scheduledJobs(): ScheduledJob[] {
    return [...this.scheduled];
  }

  /**
   * The job as a short Markdown summary to review next to its YAML: when it runs (the cron in
   * words, its time zone, its run times in a day), where its pods run, what it keeps, where its
   * backups go and how they are encrypted, which alerts watch it and the pitfalls it
   * acknowledges. Starts with a `## ` heading. The same input gives the same text (no clock is
   * read), so it can be checked into git with the YAML.
   * @param alerts the alerts that watch this job, to say which and when they fire
   */
  public describe(alerts?: IAlertPlan): string {
    return describeJob(this._planFacts(), alerts);
  }

  /**
   * What `describe()` says; a kind adds what it does and where its backups go.
   * @internal
   */
  public _planFacts(): JobPlanFacts {
    const o = this.options;
    return {
      title: `${this.constructor.name} ${this.name}`,
      what: [],
      namespace: this.namespace,
      schedule: this.schedule,
      timeZone: this.timeZone,
      retention: this.retention,
      allowRetentionFinerThanSchedule: o.allowRetentionFinerThanSchedule ?? false,
      acknowledge: o.acknowledge ?? {},
      cronJobs: [...this.planned],
      repository: o.repository,
      writesTo: [],
      readsFrom: [],
      ...this.limits(),
    };
  }

  /** The CronJobs' time and retry bounds, as rendered and as the plan states them. */
  private limits(): { activeDeadline: Duration; backoffLimit: number; startingDeadline: Duration } {
    const o = this.options;
    return {
      activeDeadline: o.activeDeadline ?? BackupDefaults.ACTIVE_DEADLINE,
      backoffLimit: o.backoffLimit ?? 2,
      startingDeadline: o.startingDeadline ?? Duration.minutes(15),
    };
  }

  /**
   * The job's section of the restore runbook: Markdown that starts with a `## ` heading (without
   * a number: the runbook numbers its steps), with the exact commands to restore what this job
   * backed up. Every value in a shell block must be quoted for the shell (the runbook is pasted
   * into one at 3 a.m.).
   * @returns undefined when the job has nothing to restore (a drill) or the runbook covers it
   * elsewhere
   */
  public restoreSection(): string | undefined {
    return undefined;
  }

  /**
   * Declares a repository this job writes with its retention, below the repository root
   * (`<cluster>/<kind>`), with the tag of its snapshots.
   */
  protected retainRepository(subPath: string, tag: string): void {
    if (!this.retention) throw new Error(`${this.constructor.name}: retainRepository needs a retention`);
    this.retained.push({ subPath, tag, retention: this.retention });
  }

  /** Adds a file (a path list, a key list) next to the scripts in `/scripts`. */
  protected addScriptFile(file: string, content: string): void {
    this.scripts.addData(file, content);
  }

  /**
   * The scripts ConfigMap as a volume (mount it at `/scripts`, read-only), in `scope` (one per
   * CronJob when a job has several).
   */
  protected scriptsVolume(scope: Construct): kplus.Volume {
    return kplus.Volume.fromConfigMap(scope, 'ScriptsVolume', this.scripts, { name: 'scripts', defaultMode: 0o555 });
  }

  /** A sized emptyDir for `/tmp` (the root filesystem is read-only), in `scope`. */
  protected tmpVolume(scope: Construct): kplus.Volume {
    return kplus.Volume.fromEmptyDir(scope, 'TmpVolume', 'tmp', { sizeLimit: Size.gibibytes(1) });
  }

  /**
   * Adds a CronJob, in `scope` with id `Resource` (so a job with one CronJob has it as its
   * default child), with the hygiene every backup job gets.
   */
  protected addCronJob(scope: Construct, options: BackupCronJobOptions): kplus.CronJob {
    const o = this.options;
    const name = options.name ?? this.name;
    checkDnsLabel(`${this.constructor.name}: CronJob name (at most 52 characters)`, name, 52);
    const labels = { ...this.labels, ...options.labels };
    const [minute, hour, day, month, weekDay] = expandMacro(this.schedule.expressionString.trim()).split(/\s+/);
    const user = options.user ?? 0;
    const hostNetwork = options.hostNetwork ?? false;
    const cronJob = new kplus.CronJob(scope, 'Resource', {
      metadata: { name, namespace: o.namespace, labels },
      schedule: Cron.schedule({ minute, hour, day, month, weekDay }),
      timeZone: this.timeZone,
      concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
      startingDeadline: this.limits().startingDeadline,
      successfulJobsRetained: 3,
      failedJobsRetained: 3,
      backoffLimit: this.limits().backoffLimit,
      activeDeadline: this.limits().activeDeadline,
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: this.apiAccess,
      restartPolicy: kplus.RestartPolicy.NEVER,
      hostNetwork,
      dns: hostNetwork ? { policy: kplus.DnsPolicy.CLUSTER_FIRST_WITH_HOST_NET } : undefined,
      securityContext: user ? { ensureNonRoot: true, user, group: user, fsGroup: user } : { ensureNonRoot: false, user: 0, group: 0 },
      podMetadata: { labels },
      initContainers: (options.initContainers ?? []).map((c) => this.withSummaryEnv(c, name)),
      containers: options.containers.map((c) => this.withSummaryEnv(c, name)),
    });
    const tolerations = checkTolerations(`${this.constructor.name}: tolerations`, options.tolerations ?? []);
    if (tolerations.length > 0) cronJob.scheduling.tolerate(kplus.Node.tainted(...tolerations.map(taintQuery)));

    // Fields cdk8s-plus-28 does not model.
    const pod = '/spec/jobTemplate/spec/template/spec';
    const raw = ApiObject.of(cronJob);
    raw.addJsonPatch(JsonPatch.add(`${pod}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }));
    const nodeSelector = options.nodeSelector ?? {};
    if (Object.keys(nodeSelector).length > 0) raw.addJsonPatch(JsonPatch.add(`${pod}/nodeSelector`, nodeSelector));
    if (options.nodeName !== undefined) {
      raw.addJsonPatch(JsonPatch.add(`${pod}/affinity`, {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [options.nodeName] }] }],
          },
        },
      }));
    }
    if (o.priorityClassName) raw.addJsonPatch(JsonPatch.add(`${pod}/priorityClassName`, o.priorityClassName));
    // Image volumes are newer than the 1.28 API cdk8s-plus-28 renders, and its L1 (KubeCronJob)
    // maps what it renders through the 1.28 types, which drops unknown fields, JSON patches
    // included: they are added to what it renders instead.
    const imagePatches: JsonPatch[] = [];
    for (const v of options.imageVolumes ?? []) {
      checkImage(`${this.constructor.name}: image volume ${v.name}`, v.image);
      imagePatches.push(JsonPatch.add(`${pod}/volumes/-`, { name: v.name, image: { reference: v.image, pullPolicy: 'IfNotPresent' } }));
      for (const c of v.containers) {
        const init = (options.initContainers ?? []).findIndex((x) => x.name === c);
        const main = options.containers.findIndex((x) => x.name === c);
        if (init < 0 && main < 0) throw new Error(`${this.constructor.name}: image volume ${v.name}: no container ${c}`);
        const at = init >= 0 ? `initContainers/${init}` : `containers/${main}`;
        imagePatches.push(JsonPatch.add(`${pod}/${at}/volumeMounts/-`, { name: v.name, mountPath: v.mountPath, readOnly: true }));
      }
    }
    if (imagePatches.length > 0) {
      const render = raw.toJson.bind(raw);
      raw.toJson = () => {
        // `-` appends to an array that must exist: a pod without volumes (or a container without
        // mounts) has none rendered.
        const json = render();
        const spec = json.spec.jobTemplate.spec.template.spec;
        spec.volumes ??= [];
        const mounted = new Set((options.imageVolumes ?? []).flatMap((v) => v.containers));
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) if (mounted.has(c.name)) c.volumeMounts ??= [];
        return JsonPatch.apply(json, ...imagePatches);
      };
    }

    this.cronJobs.push(cronJob);
    this.planned.push({ name, description: options.description, nodeName: options.nodeName, nodeSelector, tolerations, hostNetwork });
    const job = this;
    this.scheduled.push({
      cronJobName: name,
      // Read only by consumers that match by namespace (alerts): a job in a chart without a
      // namespace is fine until something needs to find it.
      get namespace(): string {
        if (!job.namespace) {
          throw configError(`${job.constructor.name}: the CronJob ${name} has no namespace (neither the namespace option nor its chart's namespace is set); `
            + 'the alerts match kube-state-metrics series by namespace, so set one of them');
        }
        return job.namespace;
      },
      schedule: this.schedule,
      timeZone: this.timeZone,
      description: options.description,
      alertPrefix: this.alertPrefix,
      alertGroup: this.alertGroup,
      // A job that writes with split roles also fails when its keys turn out able to delete.
      failureAdvice: o.repository.splitRoles && this.retained.length > 0
        ? `${options.failureAdvice} With split roles an incomplete backup is marked discarded, not removed: the drills skip it and the maintenance job removes it. `
          + 'If its log says DELETE PROTECTION MISSING, the backup was kept but the job\'s Secret holds keys that can delete every backup: give them the writer\'s policy of the plan (`describe()`, "Who can delete backups").'
        : options.failureAdvice,
    });
    return cronJob;
  }

  /**
   * What the summary line a script ends with names (assets/summary-lib.sh): the job's kind (its
   * component label), cluster and CronJob. Only for containers that run one of the scripts.
   */
  private withSummaryEnv(c: kplus.ContainerProps, cronJobName: string): kplus.ContainerProps {
    if (!(c.command ?? []).some((w) => w.startsWith('/scripts/'))) return c;
    return {
      ...c,
      envVariables: {
        ...c.envVariables,
        SUMMARY_KIND: kplus.EnvValue.fromValue(this.labels['app.kubernetes.io/component']),
        SUMMARY_CLUSTER: kplus.EnvValue.fromValue(this.clusterName),
        SUMMARY_JOB: kplus.EnvValue.fromValue(cronJobName),
      },
    };
  }
}

/** An image reference (registry/repository:tag or @digest). @internal */
export function checkImage(option: string, image: string): string {
  if (!/^[a-z0-9]+([._\-/:@][a-zA-Z0-9_.-]+)+$/.test(image)) {
    throw configError(`${option} must be an image reference like registry.example.com/etcd:3.5.16-0; got ${JSON.stringify(image)}`);
  }
  return image;
}
