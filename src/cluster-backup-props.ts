import type { ControlPlaneConfigOptions } from './config/control-plane-config-backup';
import type { DatabaseDumpBackupOptions } from './database/database-dump-backup';
import type { EtcdSnapshotBackupOptions } from './etcd/etcd-snapshot-backup';
import type { BackupImages } from './job/backup-job-options';
import type { RepositoryMaintenanceOptions } from './maintenance/repository-maintenance';
import type { PitfallAcknowledgements } from './policy/pitfall-acknowledgements';
import type { BackupRepository } from './repository/backup-repository';
import type { ExternalKeysOptions } from './repository/external-secret-keys';
import type { VeleroBackupStorageLocationProps } from './velero/velero-backup-storage-location';
import type { VeleroScheduleProps } from './velero/velero-schedule';
import type { VeleroVersion } from './velero/velero-version';
import type { RestoreDrillOptions } from './verify/restore-drill';

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
 * The maintenance part of a {@link ClusterBackup} whose repository has split roles.
 */
export interface ClusterMaintenanceOptions extends RepositoryMaintenanceOptions {
  /**
   * The maintenance job is rendered elsewhere (a management cluster the protected one cannot
   * reach): a `RepositoryMaintenance` in another chart, from this construct's
   * `retainedRepositories`, with the same schedule. Nothing is rendered here; the lock period is
   * still checked against the schedule given here.
   * @default false
   */
  readonly renderedElsewhere?: boolean;
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
   * The maintenance job, when the repository's roles are split (`maintainerCredentials`): the
   * backup jobs then never prune, and it applies their retention with the maintainer's keys.
   * @default - a RepositoryMaintenance in `BackupDefaults.MAINTENANCE_NAMESPACE`, daily at 05:15
   */
  readonly maintenance?: ClusterMaintenanceOptions;
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

