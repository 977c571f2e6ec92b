import { Cron, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { configError } from '../internal/errors';
import { hardenedContainer } from '../internal/hardening';
import { BackupDefaults } from '../job/backup-defaults';
import { BackupJob, RetainedRepository } from '../job/backup-job';
import { BackupImages } from '../job/backup-job-options';
import { containerResources } from '../job/resource-requirements';
import { resticRepositoryAccess } from '../job/restic-step';
import { JobPlanFacts } from '../plan/job-plan';
import { checkLockPeriod } from '../policy/lock-period';
import { BackupRepository } from '../repository/backup-repository';

/**
 * Options of a {@link RepositoryMaintenance} (what `ClusterBackup` takes as `maintenance`).
 */
export interface RepositoryMaintenanceOptions {
  /**
   * When to apply the retention, prune and check.
   * @default - daily at 05:15
   */
  readonly schedule?: Cron;
  /**
   * Time zone of the schedule.
   * @default 'Etc/UTC'
   */
  readonly timeZone?: string;
  /**
   * Name of the CronJob (≤ 52 characters).
   * @default `${clusterName}-maintenance`
   */
  readonly name?: string;
  /**
   * Namespace: the maintainer's keys are the only ones that can delete backups, so they live
   * in a namespace of their own, which no backup job and no drill shares.
   * @default BackupDefaults.MAINTENANCE_NAMESPACE
   */
  readonly namespace?: string;
  /**
   * How much of the data `restic check` reads at each run (`--read-data-subset`): a
   * percentage (`5%`) or a part (`1/7`: the first seventh), or `none` for the structure only.
   * Reading finds a pack overwritten with garbage; the structure check finds one deleted.
   * @default '5%'
   */
  readonly readDataSubset?: string;
  /**
   * The restic image.
   * @default - BackupDefaults.RESTIC_IMAGE
   */
  readonly images?: BackupImages;
  /**
   * Longest time a run may take.
   * @default Duration.hours(2)
   */
  readonly activeDeadline?: Duration;
}

/**
 * Props of {@link RepositoryMaintenance}.
 */
export interface RepositoryMaintenanceProps extends RepositoryMaintenanceOptions {
  /** The cluster whose backups it maintains. */
  readonly clusterName: string;
  /** The repository root, with split roles (`maintainerCredentials`). */
  readonly repository: BackupRepository;
  /**
   * The repositories to keep, each with its job's retention: the backup jobs'
   * `retainedRepositories` (`ClusterBackup.retainedRepositories` for all of a cluster).
   */
  readonly retained: RetainedRepository[];
}

/**
 * The one job that holds keys able to delete backups, when the backup jobs' keys cannot (split
 * roles): for each repository it removes what the backup jobs marked as discarded, applies their
 * retention per host, prunes, and checks the structure and a part of the data
 * (assets/repository-maintenance.sh).
 *
 * Render it in the cluster (its own namespace and Secret), or in another chart (a management
 * cluster the protected one cannot reach): it reads only the repository.
 *
 * With S3 Object Lock it refuses a lock period shorter than the retention plus the time to notice
 * an attack (two of its own gaps), and every retention must be time-based.
 */
export class RepositoryMaintenance extends BackupJob {
  /** When it runs unless told otherwise: daily at 05:15, after the nightly backups and drills. */
  public static readonly DEFAULT_SCHEDULE = Cron.schedule({ minute: '15', hour: '5' });

  /** The CronJob. */
  public readonly cronJob: kplus.CronJob;
  /** The shortest Object Lock period, in days, that the retention and this schedule need. */
  public readonly minimumLockDays: number;

  private readonly plan: { retained: RetainedRepository[]; repository: BackupRepository; readDataSubset: string };

  constructor(scope: Construct, id: string, props: RepositoryMaintenanceProps) {
    const C = 'RepositoryMaintenance';
    if (!props.repository) throw configError(`${C}: repository is required`);
    super(scope, id, {
      clusterName: props.clusterName,
      repository: props.repository,
      schedule: props.schedule,
      timeZone: props.timeZone,
      images: props.images,
      activeDeadline: props.activeDeadline ?? Duration.hours(2),
      namespace: props.namespace ?? BackupDefaults.MAINTENANCE_NAMESPACE,
      backoffLimit: 1,
      name: props.name ?? `${props.clusterName}-maintenance`,
      component: 'repository-maintenance',
      scripts: ['repository-maintenance.sh'],
      defaultSchedule: RepositoryMaintenance.DEFAULT_SCHEDULE,
      alertPrefix: 'RepositoryMaintenance',
      alertGroup: 'maintenance',
    });
    const repo = props.repository;
    if (!repo.splitRoles) {
      throw configError(`${C}: the repository has one credential for every role, so its backup jobs apply the retention themselves; set maintainerCredentials on the repository to split the roles`);
    }
    if (!props.retained || props.retained.length === 0) {
      throw configError(`${C}: retained names no repository to maintain; pass the backup jobs' retainedRepositories`);
    }
    const subset = props.readDataSubset ?? '5%';
    if (subset !== 'none' && !/^([1-9][0-9]?(\.[0-9]+)?%|100%|[1-9][0-9]*\/[1-9][0-9]*)$/.test(subset)) {
      throw configError(`${C}: readDataSubset must be a percentage ('5%'), a part ('1/7') or 'none'; got ${JSON.stringify(subset)}`);
    }
    this.minimumLockDays = checkLockPeriod(C, repo.immutability?.lockDays, props.retained.map((r) => r.retention), this.schedule);
    this.plan = { retained: props.retained, repository: repo, readDataSubset: subset };

    const lines = props.retained.map((r) => `${repo._resticRepository(r.subPath, 'maintainer')} ${r.tag} ${r.retention.toResticForgetArgs().join(' ')}\n`);
    this.addScriptFile('maintenance-targets.txt', lines.join(''));
    const scriptsVol = this.scriptsVolume(this);
    const tmpVol = this.tmpVolume(this);
    // RESTIC_REPOSITORY is set per line by the script; the access gives the password and keys.
    const access = resticRepositoryAccess(this, repo, repo._resticRepository(props.retained[0].subPath, 'maintainer'), 'maintainer');
    const nonRoot = hardenedContainer(BackupDefaults.NON_ROOT_UID, BackupDefaults.NON_ROOT_UID);
    this.cronJob = this.addCronJob(this, {
      description: `retention, prune and check of cluster ${props.clusterName}'s backups`,
      failureAdvice: 'The maintenance job could not apply the retention, prune or check a repository; its log names the repository and the step. '
        + 'A failed check means a pack is missing or damaged: stop, find out what deleted or overwrote it (the runbook\'s "Backups deleted or overwritten"), before the next prune. '
        + 'A failed prune beside a running backup is retried at the next run; until one succeeds, the repositories only grow.',
      user: BackupDefaults.NON_ROOT_UID,
      containers: [{
        name: 'maintain',
        image: props.images?.restic ?? BackupDefaults.RESTIC_IMAGE,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/bin/sh', '/scripts/repository-maintenance.sh'],
        envVariables: {
          ...access.env,
          MAINTENANCE_TARGETS: kplus.EnvValue.fromValue('/scripts/maintenance-targets.txt'),
          CHECK_READ_DATA_SUBSET: kplus.EnvValue.fromValue(subset === 'none' ? '' : subset),
        },
        volumeMounts: [
          { path: '/tmp', volume: tmpVol },
          { path: '/scripts', volume: scriptsVol, readOnly: true },
          ...access.mounts,
        ],
        securityContext: nonRoot,
        resources: containerResources('', undefined, 100, 1000, 256, 2048),
      }],
    });
  }

  /** @internal */
  public _planFacts(): JobPlanFacts {
    const p = this.plan;
    const base = super._planFacts();
    return {
      ...base,
      what: [
        `Applies the backup jobs' retention with the maintainer's keys (Secret \`${p.repository.maintainerCredentials.secretName}\`, the only keys that can delete), `
        + `removes the snapshots they marked as discarded, prunes, and checks each repository (${p.readDataSubset === 'none' ? 'structure only' : `reading ${p.readDataSubset} of the data`}).`,
        ...p.retained.map((r) => `- \`${r.subPath}\` (tag \`${r.tag}\`): ${r.retention}`),
        `Object Lock needs at least ${this.minimumLockDays} days${p.repository.immutability?.lockDays !== undefined ? ` (declared: ${p.repository.immutability.lockDays})` : ''}.`,
      ],
      readsFrom: p.retained.map((r) => ({ resticRepository: p.repository._resticRepository(r.subPath, 'maintainer') })),
    };
  }
}
