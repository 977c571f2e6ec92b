import { Cron, Duration } from 'cdk8s';
import { PitfallAcknowledgements } from '../policy/pitfall-acknowledgements';
import { Retention } from '../policy/retention';
import { BackupRepository } from '../repository/backup-repository';

/**
 * Container images. Pin them (by tag or digest) to what your registry mirrors.
 */
export interface BackupImages {
  /**
   * The cluster's etcd image: its `etcdctl` takes the snapshots, its `etcdutl` and `etcd` restore
   * them in the drill. It needs no shell (`EtcdTools.imageVolume()` mounts it into the restic
   * image's container); a tag that names a version must name the `etcdVersion`.
   * @default - the image of `etcdVersion`, `registry.k8s.io/etcd:<version>-0` ('registry.k8s.io/etcd:3.6.11-0')
   */
  readonly etcd?: string;
  /**
   * The restic image (alpine based, busybox shell). Also the shell of the etcd jobs, into which
   * the etcd image is mounted.
   * @default 'docker.io/restic/restic:0.18.0'
   */
  readonly restic?: string;
  /**
   * The PostgreSQL image that dumps (`pg_dump`/`pg_dumpall`) and, in a drill, restores. Its major
   * version must be the server's or newer (pg_dump refuses newer servers): the default's pg_dump 18
   * dumps servers 9.2 to 18.
   * @default 'docker.io/library/postgres:18.6-trixie'
   */
  readonly postgres?: string;
  /**
   * The MariaDB image that dumps MariaDB and MySQL servers (`mariadb-dump`). The default's
   * mariadb-dump 11.8 dumps MariaDB servers up to 11.8 and MySQL 5.7/8.x (a MySQL account with
   * `caching_sha2_password` needs TLS or the server's RSA key).
   * @default 'docker.io/library/mariadb:11.8.9'
   */
  readonly mariadb?: string;
}


/**
 * Options every backup CronJob of this library takes. A composite (`ClusterBackup`) passes them
 * through unchanged in its nested per-kind options; the cluster name and the repository come
 * from the composite (or, for a job on its own, from the job's props).
 */
export interface BackupJobOptions {
  /**
   * When to back up.
   * @default - hourly for etcd snapshots, daily for control-plane config
   */
  readonly schedule?: Cron;
  /**
   * Time zone of the schedule (IANA name).
   * @default 'Etc/UTC'
   */
  readonly timeZone?: string;
  /**
   * Which backups to keep.
   * @default - etcd: Retention.hourly24Daily7Weekly4(); config: Retention.gfs({ daily: 7, weekly: 4, monthly: 12 })
   */
  readonly retention?: Retention;
  /**
   * Allow a retention whose finest tier (e.g. hourly) is finer than the schedule (e.g. daily):
   * such a tier then keeps far fewer distinct backups, over a much longer time, than it says.
   * @default false
   */
  readonly allowRetentionFinerThanSchedule?: boolean;
  /**
   * Namespace of the CronJobs. Host-path jobs need a namespace whose Pod Security level is
   * `privileged`.
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /**
   * Images.
   * @default - pinned defaults, see BackupImages
   */
  readonly images?: BackupImages;
  /**
   * Longest time a run may take before Kubernetes stops it.
   * @default Duration.minutes(45)
   */
  readonly activeDeadline?: Duration;
  /**
   * How many times a failed run is retried.
   * @default 2
   */
  readonly backoffLimit?: number;
  /**
   * How late a missed run may still start.
   * @default Duration.minutes(15)
   */
  readonly startingDeadline?: Duration;
  /**
   * PriorityClass of the pods.
   * @default - none (the cluster default)
   */
  readonly priorityClassName?: string;
  /**
   * Opt-outs of the pitfall checks this job makes of itself: its storage inside the cluster
   * (`inClusterRepository`), a retention that keeps less than a day (`shortRetention`). The
   * other acknowledgements concern a whole cluster's backup and are read by `ClusterBackup`,
   * which passes its own `acknowledge` to every job it composes.
   * @default - no opt-outs
   */
  readonly acknowledge?: PitfallAcknowledgements;
}

/**
 * What a backup job on its own needs besides its options: whose backups they are, and where they
 * go. (Inside a `ClusterBackup`, the composite gives both.)
 */
export interface BackupDestination {
  /**
   * Name of the cluster: part of the restic repository path (`<prefix>/<clusterName>/...`) and
   * of the object names.
   */
  readonly clusterName: string;
  /** Where the backups go. */
  readonly repository: BackupRepository;
}
