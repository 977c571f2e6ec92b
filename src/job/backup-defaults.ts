import { Duration } from 'cdk8s';

/**
 * The library's defaults in one place: what a construct uses where an option is not given.
 * Static members, so that every jsii language sees them (jsii drops module constants).
 */
export class BackupDefaults {
  /** Namespace of the jobs that need no host access (`ClusterBackup`'s `namespace`). */
  public static readonly NAMESPACE = 'backup-system';

  /**
   * Namespace of the jobs that read control-plane host files (`ClusterBackup`'s
   * `hostAccessNamespace`), labelled for Pod Security `privileged`.
   */
  public static readonly HOST_ACCESS_NAMESPACE = 'backup-system-host';

  /**
   * Namespace of the maintenance job (`ClusterBackup`'s `maintenance.namespace`): its keys are
   * the only ones that can delete backups, so no other job shares it.
   */
  public static readonly MAINTENANCE_NAMESPACE = 'backup-maintenance';

  /** Velero's namespace: Velero reads Schedules, locations and Restores only from its own. */
  public static readonly VELERO_NAMESPACE = 'velero';

  /** The uid of containers that need not be root (distroless's `nonroot`). */
  public static readonly NON_ROOT_UID = 65532;

  /** How long one run of a job may take before Kubernetes stops it (`activeDeadline`). */
  public static readonly ACTIVE_DEADLINE = Duration.minutes(45);

  /** The etcd image (pinned): the image of `EtcdVersion.DEFAULT`, kubeadm's etcd for Kubernetes 1.34–1.36. */
  public static readonly ETCD_IMAGE = 'registry.k8s.io/etcd:3.6.11-0';

  /**
   * The restic image (pinned): restic 0.18.0 on Alpine 3.21 (busybox 1.37.0), the versions the
   * tests run (Debian trixie's restic 0.18.0 and busybox 1.37.0, scripts/setup.sh).
   */
  public static readonly RESTIC_IMAGE = 'docker.io/restic/restic:0.18.0';

  /**
   * The PostgreSQL image (pinned): PostgreSQL 18.6 on Debian trixie, the version the tests run
   * (Debian's postgresql-18 18.6, scripts/setup.sh); its pg_dump dumps servers 9.2 to 18.
   */
  public static readonly POSTGRES_IMAGE = 'docker.io/library/postgres:18.6-trixie';

  /**
   * The MariaDB image (pinned): MariaDB 11.8.9 (LTS), the version the tests run (Debian trixie's
   * mariadb 11.8.9, scripts/setup.sh).
   */
  public static readonly MARIADB_IMAGE = 'docker.io/library/mariadb:11.8.9';

  private constructor() {}
}
