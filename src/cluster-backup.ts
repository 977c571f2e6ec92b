import { Construct } from 'constructs';
import type { ClusterBackupProps } from './cluster-backup-props';
import { checkClusterProps, checkNamespaces, checkVeleroPathApart, namespace } from './cluster-checks';
import { describeCluster } from './cluster-plan';
import { ControlPlaneConfigBackup } from './config/control-plane-config-backup';
import { DatabaseDumpBackup } from './database/database-dump-backup';
import { EtcdSnapshotBackup } from './etcd/etcd-snapshot-backup';
import { configError } from './internal/errors';
import { BackupDefaults } from './job/backup-defaults';
import { BackupJob, RetainedRepository } from './job/backup-job';
import { RepositoryMaintenance } from './maintenance/repository-maintenance';
import { BackupAlerts } from './monitoring/backup-alerts';
import { VeleroPodMonitor } from './monitoring/velero-pod-monitor';
import { PitfallContext, pitfalls } from './pitfalls';
import { checkLockPeriod } from './policy/lock-period';
import { ExternalSecretKeys } from './repository/external-secret-keys';
import { VeleroExternalCredentials } from './repository/velero-external-credentials';
import { clusterRunbook } from './runbook';
import { VeleroBackupStorageLocation } from './velero/velero-backup-storage-location';
import { VeleroSchedule } from './velero/velero-schedule';
import { RestoreDrill } from './verify/restore-drill';

/**
 * Everything a cluster needs to survive the loss of its state, composed with coherent names,
 * labels and namespaces: etcd snapshots, control-plane config of every node, Velero Schedules,
 * a restore drill — and a runbook with the exact restore commands.
 *
 * It refuses the well-known pitfalls at synth time (each has a named opt-out in `acknowledge`):
 * no etcd backup on a self-managed control plane; a repository inside the cluster; a config
 * backup without PKI; no restore drill; a retention that keeps less than a day; a retention finer
 * than its schedule; keys that exist only in the cluster.
 */
export class ClusterBackup extends Construct {
  /** The etcd backup, if any. */
  public readonly etcdBackup?: EtcdSnapshotBackup;
  /** The control-plane config backup, if any. */
  public readonly configBackup?: ControlPlaneConfigBackup;
  /** The restore drill, if any. */
  public readonly restoreDrill?: RestoreDrill;
  /** The Velero Schedules. */
  public readonly veleroSchedules: VeleroSchedule[];
  /** The Velero storage location, if created. */
  public readonly veleroStorageLocation?: VeleroBackupStorageLocation;
  /** The alerts, unless acknowledged away. */
  public readonly alerts?: BackupAlerts;
  /** The PodMonitor that makes Prometheus scrape Velero, if rendered. */
  public readonly veleroPodMonitor?: VeleroPodMonitor;
  /** Where each key lives outside the cluster, when `externalKeys` is set. */
  public readonly keyLocations: string[];
  /** The database dump backups, in the order of `databases`. */
  public readonly databaseBackups: DatabaseDumpBackup[];
  /** The maintenance job, when the repository's roles are split and it is rendered here. */
  public readonly maintenance?: RepositoryMaintenance;

  private readonly props: ClusterBackupProps;
  /** With split roles, the shortest Object Lock period the retention and the maintenance schedule need. */
  private readonly minimumLockDays?: number;
  private readonly pitfallContext: PitfallContext;

  constructor(scope: Construct, id: string, props: ClusterBackupProps) {
    super(scope, id);
    const C = 'ClusterBackup';
    const ack = props.acknowledge ?? {};
    this.props = props;
    const repository = props.repository;
    const databases = props.databases ?? [];
    const source = props.etcd?.source;
    checkClusterProps(C, props);

    const hostNs = props.hostAccessNamespace ?? BackupDefaults.HOST_ACCESS_NAMESPACE;
    const ns = props.namespace ?? BackupDefaults.NAMESPACE;
    const veleroNs = props.veleroNamespace ?? BackupDefaults.VELERO_NAMESPACE;
    checkNamespaces(C, { hostNs, ns, veleroNs, hostAccess: source?.usesHostPaths ?? false, etcd: props.etcd !== undefined || databases.length > 0 });
    if (props.createNamespaces ?? true) {
      if (source?.usesHostPaths) namespace(this, 'HostAccessNamespace', hostNs, 'privileged');
      if (props.etcd || databases.length > 0) namespace(this, 'Namespace', ns, 'restricted');
    }

    const usedNamespaces = [...new Set([
      ...(source?.usesHostPaths ? [hostNs] : []),
      ...(props.etcd || databases.length > 0 ? [ns] : []),
    ])];
    this.keyLocations = [];
    if (props.externalKeys) {
      usedNamespaces.forEach((n, i) => {
        const keys = new ExternalSecretKeys(this, `Keys${i}`, { ...props.externalKeys!, repository: repository!, namespace: n });
        if (i === 0) this.keyLocations.push(...keys.locations);
      });
    }

    let configPathsWithoutPki: { paths: string[]; pki: string[] } | undefined;
    if (props.etcd && source) {
      const dest = { clusterName: props.clusterName, repository: repository!, acknowledge: ack };
      // The node files first: the runbook restores them before etcd (it needs their PKI).
      if (source.usesHostPaths) {
        const config = props.controlPlaneConfig;
        if (!config || !config.nodes || config.nodes.length === 0) {
          throw configError(`${C}: controlPlaneConfig.nodes must list every control-plane node, so their certificates and manifests are backed up too (etcd alone cannot bring a ${source.distribution.name} control plane back)`);
        }
        const members = props.etcd.controlPlaneNodes;
        if (members !== undefined && [...members].sort().join(',') !== [...config.nodes].sort().join(',')) {
          throw configError(`${C}: etcd.controlPlaneNodes (${members.join(', ')}) and controlPlaneConfig.nodes (${config.nodes.join(', ')}) differ; every control-plane node runs an etcd member: leave etcd.controlPlaneNodes unset`);
        }
        // Pitfall: a config backup without the PKI (CA, service-account keys).
        const pki = source.distribution.pkiPaths;
        const pkiCovered = config.paths === undefined || config.paths.some((p) => pki.some((k) => k === p || k.startsWith(`${p}/`)));
        if (!pkiCovered) configPathsWithoutPki = { paths: config.paths!, pki };
        this.configBackup = new ControlPlaneConfigBackup(this, 'Config', {
          ...config,
          ...dest,
          source,
          // Without the PKI (acknowledged), require what was chosen instead.
          requiredPaths: config.requiredPaths ?? (pkiCovered ? undefined : config.paths),
          namespace: hostNs,
          images: config.images ?? props.images,
        });
      }
      this.etcdBackup = new EtcdSnapshotBackup(this, 'Etcd', {
        ...props.etcd,
        ...dest,
        namespace: source.usesHostPaths ? hostNs : ns,
        images: props.etcd.images ?? props.images,
        controlPlaneNodes: source.usesHostPaths ? props.controlPlaneConfig!.nodes : undefined,
      });
      this.restoreDrill = new RestoreDrill(this, 'Drill', {
        ...props.restoreDrill,
        backup: this.etcdBackup,
        namespace: ns,
        images: props.restoreDrill?.images ?? props.images,
      });
    }
    // Database dumps need no host access: the restricted namespace, like the drill.
    this.databaseBackups = databases.map((d, k) => new DatabaseDumpBackup(this, `Database${k}`, {
      ...d,
      acknowledge: ack,
      clusterName: props.clusterName,
      repository: repository!,
      namespace: ns,
      images: d.images ?? props.images,
    }));

    // Split roles: the backup jobs never prune; the one job with the maintainer's keys does, in a
    // namespace of its own (here), or in another chart (renderedElsewhere).
    const m = props.maintenance ?? {};
    if (repository?.splitRoles) {
      const maintenanceNs = m.namespace ?? BackupDefaults.MAINTENANCE_NAMESPACE;
      if (!m.renderedElsewhere) {
        if (maintenanceNs === ns || maintenanceNs === hostNs) {
          throw configError(`${C}: maintenance.namespace is ${JSON.stringify(maintenanceNs)}, a namespace of the backup jobs: the maintainer's keys (the only ones that can delete backups) would be readable wherever theirs are; give it a namespace of its own`);
        }
        if (props.createNamespaces ?? true) namespace(this, 'MaintenanceNamespace', maintenanceNs, 'restricted');
        this.maintenance = new RepositoryMaintenance(this, 'Maintenance', {
          ...m,
          namespace: maintenanceNs,
          clusterName: props.clusterName,
          repository,
          retained: this.retainedRepositories,
          images: m.images ?? props.images,
        });
        if (props.externalKeys) {
          const keys = new ExternalSecretKeys(this, 'MaintainerKeys', { ...props.externalKeys, repository, namespace: maintenanceNs, maintainer: true });
          this.keyLocations.push(...keys.locations.map((l) => `${l} (namespace \`${maintenanceNs}\` only)`));
        }
        this.minimumLockDays = this.maintenance.minimumLockDays;
      } else {
        // Rendered elsewhere, with the same schedule: checked here all the same.
        this.minimumLockDays = checkLockPeriod(C, repository.immutability?.lockDays, this.retainedRepositories.map((r) => r.retention),
          m.schedule ?? RepositoryMaintenance.DEFAULT_SCHEDULE);
      }
    } else if (props.maintenance) {
      throw configError(`${C}: maintenance is set, but the repository has one credential for every role, so the backup jobs prune themselves; set maintainerCredentials on the repository, or remove maintenance`);
    }

    const veleroVersion = props.velero?.version;
    const locationProps = props.velero?.storageLocation;
    if (locationProps) {
      const locationRepository = locationProps.repository;
      const prefix = locationRepository ? locationProps.prefix ?? `${props.clusterName}/velero` : locationProps.prefix;
      this.veleroStorageLocation = new VeleroBackupStorageLocation(this, 'VeleroLocation', { namespace: veleroNs, veleroVersion, ...locationProps, prefix });
      if (locationRepository) {
        checkVeleroPathApart(C, locationRepository.resticRepository(prefix!.replace(/^\/+|\/+$/g, '')), this.resticRepositories());
        if (props.externalKeys) {
          const creds = new VeleroExternalCredentials(this, 'VeleroKeys', { ...props.externalKeys, repository: locationRepository, namespace: veleroNs });
          this.keyLocations.push(...creds.locations);
        }
      }
    }
    const location = this.veleroStorageLocation;
    this.veleroSchedules = (props.velero?.schedules ?? []).map((s, i) => {
      const option = `${C}: velero.schedules[${s.name ?? i}]`;
      if (location && s.storageLocation !== undefined && s.storageLocation !== location.locationName) {
        throw configError(`${option}.storageLocation is ${JSON.stringify(s.storageLocation)}, but this ClusterBackup creates the location ${JSON.stringify(location.locationName)} for its Schedules; omit storageLocation to write there (a location created elsewhere: leave velero.storageLocation out)`);
      }
      if (location?.readOnly) {
        throw configError(`${option}: velero.storageLocation is readOnly, so every backup of this Schedule fails; make the location read-write, or restore from it without Schedules`);
      }
      return new VeleroSchedule(this, `Velero${i}`, {
        namespace: veleroNs,
        veleroVersion,
        // Wired to the location created here: Velero's default is whichever location is marked default.
        storageLocation: location?.locationName,
        ...s,
        name: s.name ?? `${props.clusterName}-${i}`,
      });
    });
    const seen = new Map<string, number>();
    this.veleroSchedules.forEach((v, i) => v.scheduleNames.forEach((n) => {
      const first = seen.get(n);
      if (first !== undefined && first !== i) {
        throw configError(`${C}: velero.schedules[${i}] and velero.schedules[${first}] both create the Schedule ${JSON.stringify(n)}; on apply the last one wins and a tier is lost; give them different names`);
      }
      seen.set(n, i);
    }));

    if (!ack.noAlerts) {
      const alertsNs = props.managedControlPlane ? veleroNs : ns;
      this.alerts = new BackupAlerts(this, 'Alerts', {
        name: `${props.clusterName}-backups`,
        namespace: alertsNs,
        ruleLabels: props.alerts?.ruleLabels,
        runbookUrl: props.alerts?.runbookUrl,
        staleAfterGaps: props.alerts?.staleAfterGaps,
      });
      for (const job of this.backupJobs) this.alerts.watch(job);
      for (const s of this.veleroSchedules) this.alerts.watchVeleroSchedule(s);
      if (this.veleroSchedules.length > 0 && (props.alerts?.scrapeVelero ?? true)) {
        this.veleroPodMonitor = new VeleroPodMonitor(this, 'VeleroMetrics', {
          namespace: veleroNs,
          name: `${props.clusterName}-velero`,
          labels: props.alerts?.monitorLabels ?? props.alerts?.ruleLabels,
        });
      }
    }

    // The named pitfall rules (src/pitfalls.ts) look at the jobs as built, and report through the
    // construct tree, so a fleet of charts says which cluster's backup trips which rule.
    const context: PitfallContext = {
      repository,
      externalKeys: props.externalKeys !== undefined,
      endpoints: [this.veleroStorageLocation?.endpoint].filter((e): e is string => e !== undefined),
      etcd: this.etcdBackup !== undefined,
      managedControlPlane: props.managedControlPlane ?? false,
      drill: this.restoreDrill !== undefined,
      configPathsWithoutPki,
      retentions: [
        ...this.veleroSchedules.map((_v, k) => ({
          option: `velero.schedules[${props.velero!.schedules[k].name ?? k}].retention`,
          retention: props.velero!.schedules[k].retention,
          schedule: props.velero!.schedules[k].schedule,
        })),
      ],
    };
    this.pitfallContext = context;
    // From what is built here, so computed once (cdk8s validates the whole app once per chart).
    let found: string[] | undefined;
    this.node.addValidation({ validate: () => found ??= pitfalls(C, context, ack) });
  }

  /**
   * Every backup job it composes (etcd, config, drills, databases), in the order they were
   * created, as alerts and the runbook read them. Found in the construct tree, so a kind that
   * adds a job of its own (a database's drill) needs no line here.
   */
  public get backupJobs(): BackupJob[] {
    return this.node.findAll().filter((c): c is BackupJob => c instanceof BackupJob);
  }

  /**
   * The repositories its backup jobs keep with their retention: what a `RepositoryMaintenance`
   * rendered elsewhere (`maintenance.renderedElsewhere`) maintains.
   */
  public get retainedRepositories(): RetainedRepository[] {
    return this.backupJobs.flatMap((j) => j.retainedRepositories);
  }

  /** The restic repository of every job it composes (etcd, each node's config, each database). */
  private resticRepositories(): string[] {
    return [
      ...(this.etcdBackup ? [this.etcdBackup.resticRepository] : []),
      ...Object.values(this.configBackup?.resticRepositories ?? {}),
      ...this.databaseBackups.map((d) => d.resticRepository),
    ];
  }

  /**
   * The backup plan of this cluster as short Markdown, to review next to the YAML in a pull
   * request: a summary table, then per job what runs where and when (the cron in words, its time
   * zone, its runs in a day), what it keeps, where it goes and how it is encrypted, which alerts
   * watch it; the Velero Schedules and location; the keys; the acknowledged pitfalls (and whether
   * this configuration needs each). The same input gives the same text (no clock is read).
   */
  public describe(): string {
    const p = this.props;
    return describeCluster({
      clusterName: p.clusterName,
      jobs: this.backupJobs,
      veleroSchedules: this.veleroSchedules,
      veleroLocation: this.veleroStorageLocation,
      veleroNamespace: p.veleroNamespace ?? BackupDefaults.VELERO_NAMESPACE,
      alerts: this.alerts,
      alertsNamespace: p.managedControlPlane ? p.veleroNamespace ?? BackupDefaults.VELERO_NAMESPACE : p.namespace ?? BackupDefaults.NAMESPACE,
      keyLocations: this.keyLocations,
      externalKeys: p.externalKeys !== undefined,
      acknowledge: p.acknowledge ?? {},
      pitfallContext: this.pitfallContext,
      maintenance: this.minimumLockDays !== undefined ? {
        minimumLockDays: this.minimumLockDays,
        where: this.maintenance ? `CronJob \`${this.maintenance.cronJob.name}\` in namespace \`${this.maintenance.namespace}\`` : 'rendered elsewhere, `maintenance.renderedElsewhere`',
      } : undefined,
    });
  }

  /**
   * Markdown with the exact restore commands for this cluster's configuration: where each key
   * lives, the repositories, and the order of steps.
   */
  public restoreRunbook(): string {
    const p = this.props;
    const drill = this.restoreDrill;
    return clusterRunbook({
      clusterName: p.clusterName,
      repository: p.repository,
      namespace: p.namespace ?? BackupDefaults.NAMESPACE,
      veleroNamespace: p.veleroNamespace ?? BackupDefaults.VELERO_NAMESPACE,
      veleroLocation: this.veleroStorageLocation,
      serverTokenFile: p.etcd?.source.distribution.serverTokenFile,
      jobs: this.backupJobs,
      keyLocations: this.keyLocations,
      veleroScheduleNames: this.veleroSchedules.map((s) => s.scheduleNames),
      alertAdvice: this.alerts?.alertAdvice(),
      drill: drill && { cronJobName: drill.cronJob.name, schedule: drill.schedule.expressionString },
      retainedPaths: this.retainedRepositories.map((r) => r.subPath),
    });
  }
}

