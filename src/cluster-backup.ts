import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { describeCluster } from './cluster-plan';
import { ControlPlaneConfigBackup, ControlPlaneConfigOptions } from './config/control-plane-config-backup';
import { DatabaseDumpBackup, DatabaseDumpBackupOptions } from './database/database-dump-backup';
import { EtcdSnapshotBackup, EtcdSnapshotBackupOptions } from './etcd/etcd-snapshot-backup';
import { configError } from './internal/errors';
import { alertAnchor, checkDnsLabel } from './internal/names';
import { shellWords } from './internal/shell';
import { checkHttpUrlHost } from './internal/urls';
import { BackupDefaults } from './job/backup-defaults';
import { BackupJob } from './job/backup-job';
import { BackupImages } from './job/backup-job-options';
import { BackupAlerts } from './monitoring/backup-alerts';
import { VeleroPodMonitor } from './monitoring/velero-pod-monitor';
import { PitfallContext, pitfalls } from './pitfalls';
import { PitfallAcknowledgements } from './policy/pitfall-acknowledgements';
import { BackupRepository } from './repository/backup-repository';
import { ExternalKeysOptions, ExternalSecretKeys } from './repository/external-secret-keys';
import { VeleroExternalCredentials } from './repository/velero-external-credentials';
import { VeleroBackupStorageLocation, VeleroBackupStorageLocationProps } from './velero/velero-backup-storage-location';
import { VeleroSchedule, VeleroScheduleProps } from './velero/velero-schedule';
import { VeleroVersion } from './velero/velero-version';
import { RestoreDrill, RestoreDrillOptions } from './verify/restore-drill';

/**
 * The Velero part of a {@link ClusterBackup}.
 */
export interface ClusterVeleroOptions {
  /**
   * The storage location to create. With `repository` (the same storage definition as the restic
   * jobs'), its `prefix` defaults to `<clusterName>/velero` below the repository's, and
   * `externalKeys` also creates its credentials Secret in Velero's namespace.
   * @default - none (use a location that exists)
   */
  readonly storageLocation?: VeleroBackupStorageLocationProps;
  /**
   * The Schedules to create (each as in `VeleroSchedule`). With a `storageLocation`, each writes
   * to it: a Schedule's `storageLocation` may only name that location.
   */
  readonly schedules: VeleroScheduleProps[];
  /**
   * The Velero server version of the cluster, for the location and every Schedule (a feature
   * that version lacks is a synth error naming the version that has it).
   * @default VeleroVersion.MINIMUM (1.14)
   */
  readonly version?: VeleroVersion;
}

/**
 * The alerting part of a {@link ClusterBackup}.
 */
export interface ClusterAlertsOptions {
  /**
   * Labels the Prometheus operator selects rules by, e.g. `{ release: 'kube-prometheus-stack' }`.
   * @default - none
   */
  readonly ruleLabels?: { [key: string]: string };
  /**
   * URL where the rendered `restoreRunbook()` is published; each alert links to its section.
   * @default - no runbook links
   */
  readonly runbookUrl?: string;
  /**
   * How many times the longest gap between scheduled runs may pass without a successful backup.
   * @default 2
   */
  readonly staleAfterGaps?: number;
  /**
   * Render a `VeleroPodMonitor` so that the Prometheus operator scrapes Velero's metrics (the
   * Velero alerts read nothing else). Turn it off if Velero is scraped another way, e.g. the
   * Helm chart's `metrics.serviceMonitor.enabled`; `VeleroMetricsAbsent` still says when it is not.
   * @default true (when there are Velero Schedules)
   */
  readonly scrapeVelero?: boolean;
  /**
   * Labels the Prometheus operator selects PodMonitors by.
   * @default - the `ruleLabels`
   */
  readonly monitorLabels?: { [key: string]: string };
}

/**
 * Props of {@link ClusterBackup}.
 */
export interface ClusterBackupProps {
  /** Name of the cluster (repository paths, restic hosts, object names). */
  readonly clusterName: string;
  /**
   * Where the etcd and config backups go (required with `etcd`).
   * @default - none: a Velero-only (managed) cluster keeps its backups in Velero's storage location
   */
  readonly repository?: BackupRepository;
  /**
   * The etcd backup: which etcd (`source`) and, optionally, every option of
   * `EtcdSnapshotBackup` (schedule, retention, keyDropGuard, snapshotTimeout, resources, ...).
   * Omit only for a managed control plane (set `managedControlPlane`).
   * @default - no etcd backup
   */
  readonly etcd?: EtcdSnapshotBackupOptions;
  /**
   * The control plane is managed by a provider (EKS, GKE, AKS): there is no etcd and no
   * control-plane node to back up; Velero is the whole backup.
   * @default false
   */
  readonly managedControlPlane?: boolean;
  /**
   * The control-plane config backup: every control-plane node (`nodes`) and, optionally, every
   * option of `ControlPlaneConfigBackup` (paths, encryptionProviderConfig, schedule, retention,
   * ...). Its distribution is the etcd's `source`.
   * @default - required with an etcd on the cluster's own nodes (kubeadm, k3s, RKE2)
   */
  readonly controlPlaneConfig?: ControlPlaneConfigOptions;
  /**
   * Databases to dump (PostgreSQL, MySQL/MariaDB), each with every option of
   * `DatabaseDumpBackup` (its `database`, schedule, retention, drill, ...). They need the
   * repository and run in `namespace`.
   * @default - none
   */
  readonly databases?: DatabaseDumpBackupOptions[];
  /**
   * The restore drill of the etcd backup (schedule, requiredKeys, ...).
   * @default - a drill with RestoreDrill's defaults (daily at 04:30)
   */
  readonly restoreDrill?: RestoreDrillOptions;
  /**
   * Velero Schedules (and a storage location). Required for a managed control plane.
   * @default - no Velero objects
   */
  readonly velero?: ClusterVeleroOptions;
  /**
   * Create the repository's Secrets with external-secrets.io from a store outside the cluster, in
   * every namespace of ours that needs them. This keeps the keys a restore needs off the cluster
   * (and satisfies `acknowledge.keysStoredOutsideCluster`). Velero's own credentials are not
   * included.
   * @default - the Secrets exist already (you confirm a copy outside the cluster)
   */
  readonly externalKeys?: ExternalKeysOptions;
  /**
   * Alerts (a PrometheusRule in `namespace`) when a backup, a config archive, a drill or a Velero
   * Schedule fails or stops.
   * @default - alerts with no rule labels and no runbook links
   */
  readonly alerts?: ClusterAlertsOptions;
  /**
   * Namespace of the jobs that read host paths (etcd, config). Its Pod Security level must be
   * `privileged`.
   * @default 'backup-system-host'
   */
  readonly hostAccessNamespace?: string;
  /**
   * Namespace of everything else of ours (the restore drill): `restricted` holds there.
   * @default 'backup-system'
   */
  readonly namespace?: string;
  /**
   * Velero's namespace.
   * @default 'velero'
   */
  readonly veleroNamespace?: string;
  /**
   * Also render the two Namespaces with their Pod Security labels.
   * @default true
   */
  readonly createNamespaces?: boolean;
  /**
   * Images.
   * @default - pinned defaults
   */
  readonly images?: BackupImages;
  /**
   * Explicit opt-outs of the pitfall checks.
   * @default - every check is an error
   */
  readonly acknowledge?: PitfallAcknowledgements;
}

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

  private readonly props: ClusterBackupProps;
  private readonly pitfallContext: PitfallContext;

  constructor(scope: Construct, id: string, props: ClusterBackupProps) {
    super(scope, id);
    const C = 'ClusterBackup';
    const ack = props.acknowledge ?? {};
    this.props = props;
    const repository = props.repository;
    const databases = props.databases ?? [];
    if (props.etcd && !repository) throw configError(`${C}: repository is required to back up etcd (and the control-plane config)`);
    if (databases.length > 0 && !repository) throw configError(`${C}: repository is required to back up databases`);
    if (repository && !props.etcd && databases.length === 0) {
      throw configError(`${C}: repository is only used for etcd, control-plane config and database backups; a Velero-only cluster uses velero.storageLocation (pass the same definition there as velero.storageLocation.repository)`);
    }
    if (props.externalKeys && !repository) throw configError(`${C}: externalKeys creates the repository's Secrets: it needs repository`);
    checkInputs(C, props);
    if (props.etcd && props.managedControlPlane) {
      throw configError(`${C}: etcd and managedControlPlane are exclusive: a managed control plane gives no etcd access`);
    }
    if (!props.etcd && databases.length === 0 && (!props.velero || props.velero.schedules.length === 0)) {
      throw configError(`${C}: nothing to back up: set etcd, databases and/or velero.schedules`);
    }
    if (props.managedControlPlane && (!props.velero || props.velero.schedules.length === 0)) {
      throw configError(`${C}: a managed control plane is backed up by Velero only: set velero.schedules`);
    }
    const source = props.etcd?.source;
    if (props.etcd && !source) throw configError(`${C}: etcd.source is required, e.g. { source: EtcdSource.kubeadm() }`);
    if (props.controlPlaneConfig && !source?.usesHostPaths) {
      throw configError(`${C}: controlPlaneConfig backs up the control-plane nodes of an etcd on them (kubeadm, k3s, RKE2); ${source ? 'an external etcd has none here' : 'set etcd'}`);
    }
    // The composite decides where its jobs live (Pod Security differs): a nested namespace would
    // be silently overridden, so it is an error.
    const nestedOptions: Array<[string, { namespace?: string; acknowledge?: PitfallAcknowledgements } | undefined]> = [
      ['etcd', props.etcd], ['controlPlaneConfig', props.controlPlaneConfig], ['restoreDrill', props.restoreDrill],
      ...databases.map((d, k): [string, { namespace?: string; acknowledge?: PitfallAcknowledgements }] => [`databases[${k}]`, d]),
    ];
    for (const [option, nested] of nestedOptions) {
      if (nested?.namespace !== undefined) {
        throw configError(`${C}: ${option}.namespace: ClusterBackup places its jobs itself; set hostAccessNamespace (host-path jobs) or namespace (everything else) instead`);
      }
      // One place for opt-outs: the composite passes its own to every job.
      if (nested?.acknowledge !== undefined) {
        throw configError(`${C}: ${option}.acknowledge: ClusterBackup passes its own acknowledge to every job it composes; set acknowledge on the ClusterBackup instead`);
      }
    }

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
    });
  }

  /**
   * Markdown with the exact restore commands for this cluster's configuration: where each key
   * lives, the repositories, and the order of steps.
   */
  public restoreRunbook(): string {
    const p = this.props;
    const repo = p.repository;
    const lines: string[] = [];
    const add = (...l: string[]) => lines.push(...l);
    add(`# Restore runbook: cluster \`${p.clusterName}\``, '');
    add('Generated by cdk8s-backup from the same typed configuration as the backup jobs.', '');
    add('## 0. Keys (needed when the cluster is gone)', '');
    const velero = this.veleroStorageLocation;
    if (velero) {
      const creds = velero.credentialsSecret;
      add(`- Velero's storage: bucket \`${velero.bucket}\`${velero.prefix ? `, path \`${velero.prefix}\`` : ''}${creds ? `, credentials Secret \`${creds.name}\` (key \`${creds.key}\`, a cloud credentials file: for the AWS plugin the INI \`[default]\` with \`aws_access_key_id\` and \`aws_secret_access_key\`) in namespace \`${p.veleroNamespace ?? BackupDefaults.VELERO_NAMESPACE}\`` : ''} — reinstall Velero on the new cluster with the same location (read-only at first).`);
    }
    const namespaces = [...new Set(this.backupJobs.map((j) => j.namespace).filter((n): n is string => n !== undefined))].map((n) => `\`${n}\``).join(' and ');
    if (!repo) {
      add('');
    } else if (this.keyLocations.length > 0) {
      add(`Read them from the secret store (the cluster's copies, in namespace ${namespaces}, came from there):`, '');
      for (const l of this.keyLocations) add(`- ${l}`);
    } else {
      add(`- Repository password: Secret \`${repo.encryption.password.name}\`, key \`${repo.encryption.password.key}\` (in namespace ${namespaces}) — use your off-cluster copy.`);
      add(`- Storage credentials: Secret \`${repo.credentials.secretName}\`, keys ${repo._credentialKeys().map((k) => `\`${k.secret.key}\``).join(', ')} (in namespace ${namespaces}) — use your off-cluster copy.`);
    }
    if (repo) {
      const ca = repo._caCertSource();
      if (ca?.pem !== undefined) {
        add('- The storage endpoint\'s CA bundle, from the configuration: save it as `ca.crt` in the directory you run restic from.', '', '```pem', ...ca.pem.trimEnd().split('\n'), '```', '');
      } else if (ca) {
        add(`- The storage endpoint's CA bundle (PEM): ${ca.kind} \`${ca.name}\`, key \`${ca.key}\` (in namespace ${namespaces}); save your copy as \`ca.crt\` in the directory you run restic from.`);
      }
      const token = p.etcd?.source.distribution.serverTokenFile;
      if (token) add(`- The server token (\`${token}\`): in each server's config backup, and keep a copy with these keys: it decrypts the CA keys stored in the etcd snapshot, and a reset with another token fails.`);
      add('- restic 0.14.0 or newer on your workstation: the repositories use restic\'s format version 2.');
      add('');
      add('```sh');
      add(...repo._workstationExports());
      add('export RESTIC_PASSWORD=\'…\'', '```', '');
    }

    let step = 1;
    // Sections the jobs write about themselves (one per job that has one).
    for (const job of this.backupJobs) {
      const section = job.restoreSection();
      if (section !== undefined) add(section.replace(/^## /, `## ${step++}. `).replace(/\n*$/, ''), '');
    }
    if (this.veleroSchedules.length > 0) {
      add(`## ${step++}. Workloads and volumes, with Velero`, '');
      add('Once the API server answers and Velero runs with the storage location, restore each Schedule ONCE, from its newest completed backup (with gfs tiers: from the newest tier that has one):', '');
      add('```sh');
      for (const s of this.veleroSchedules) {
        const names = s.scheduleNames;
        add(shellWords('velero', 'backup', 'get', '--selector', `velero.io/schedule-name in (${names.join(',')})`));
        add(`${shellWords('velero', 'restore', 'create', '--from-schedule', names[0], '--wait')}   # or: --from-backup <newest completed backup above>`);
      }
      add('```', '');
    }
    if (this.alerts) {
      add('## Alerts', '');
      add(`What each alert means and what to do first. Every backup job logs why it failed: \`${shellWords('kubectl', 'logs', 'job/<job>', '--all-containers')}\`.`, '');
      for (const { alert, advice } of this.alerts.alertAdvice()) {
        add(`### ${alertAnchor(alert)}`, '', `\`${alert}\`: ${advice}`, '');
      }
    }
    if (this.restoreDrill) {
      add(`## ${step++}. Afterwards`, '');
      const drill = this.restoreDrill.cronJob.name;
      const runNow = shellWords('kubectl', 'create', 'job', `--from=cronjob/${drill}`, 'drill-now', '-n', p.namespace ?? BackupDefaults.NAMESPACE);
      add(`- The restore drill \`${drill}\` runs on \`${this.restoreDrill.schedule.expressionString}\`; run it once now: \`${runNow}\`.`);
    }
    return lines.join('\n') + '\n';
  }
}

/**
 * What the runbook prints and the composed constructs would only check later, or not at all
 * (namespaces), or after a first use (Velero's s3Url is parsed for the in-cluster guard).
 */
function checkInputs(C: string, props: ClusterBackupProps): void {
  checkDnsLabel(`${C}: clusterName`, props.clusterName, 63);
  for (const option of ['hostAccessNamespace', 'namespace', 'veleroNamespace'] as const) {
    const value = props[option];
    if (value !== undefined) checkDnsLabel(`${C}: ${option}`, value, 63);
  }
  const s3Url = props.velero?.storageLocation?.s3Url;
  if (s3Url !== undefined) checkHttpUrlHost(`${C}: velero.storageLocation.s3Url`, s3Url);
}

/**
 * Velero marks a location Unavailable when its path holds directories other than its own
 * (velero pkg/persistence/object_store.go IsValid: "Backup store contains invalid top-level
 * directories"), and a restic repository with Velero's directories inside is not ours alone.
 */
function checkVeleroPathApart(C: string, velero: string, restic: string[]): void {
  for (const r of restic) {
    if (r === velero || r.startsWith(`${velero}/`) || velero.startsWith(`${r}/`)) {
      throw configError(`${C}: velero.storageLocation.prefix puts Velero's location at ${velero}, which ${r.startsWith(`${velero}/`) ? 'contains' : r === velero ? 'is' : 'lies inside'} the restic repository ${r}; Velero marks a location whose path holds other directories Unavailable, so give it a path of its own (the default is '<clusterName>/velero')`);
    }
  }
}

function namespace(scope: Construct, id: string, name: string, level: string): kplus.Namespace {
  return new kplus.Namespace(scope, id, {
    metadata: {
      name,
      labels: {
        'pod-security.kubernetes.io/enforce': level,
        'pod-security.kubernetes.io/audit': level,
        'pod-security.kubernetes.io/warn': level,
      },
    },
  });
}

/**
 * The namespaces must not collide: one name cannot be both `privileged` and `restricted`, and
 * Velero's namespace is Velero's (Pod Security `restricted` there breaks its node agent).
 */
function checkNamespaces(C: string, n: { hostNs: string; ns: string; veleroNs: string; hostAccess: boolean; etcd: boolean }): void {
  if (n.hostAccess && n.hostNs === n.ns) {
    throw configError(`${C}: hostAccessNamespace and namespace are both ${JSON.stringify(n.ns)}; the host-path jobs need Pod Security 'privileged' and everything else is kept 'restricted', so give them different namespaces`);
  }
  for (const [option, value] of [['namespace', n.ns], ['hostAccessNamespace', n.hostNs]] as const) {
    if ((option === 'namespace' ? n.etcd : n.hostAccess) && value === n.veleroNs) {
      throw configError(`${C}: ${option} is Velero's namespace ${JSON.stringify(value)}; ours get Pod Security labels (which would break Velero's node agent), so use another namespace`);
    }
  }
}
