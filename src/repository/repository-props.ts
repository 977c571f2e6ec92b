import { CaCertificate } from './ca-certificate';
import { Credentials } from './credentials';
import { Encryption } from './encryption';
import { Immutability } from './immutability';

/**
 * Options common to every repository backend.
 */
export interface RepositoryCommonProps {
  /**
   * Credentials used to reach the storage.
   */
  readonly credentials: Credentials;
  /**
   * The maintainer's keys: the only ones that may delete (retention, prune). Setting them splits
   * the repository's roles: `credentials` become the writer's (the backup jobs add snapshots and
   * remove only their own locks; they never forget or prune), and the retention runs in a
   * maintenance job (`RepositoryMaintenance`; `ClusterBackup` renders one) that holds these.
   * Give each role the policy `BackupRepository.accessPolicies()` renders (S3), so that a
   * compromised cluster holds no key that can delete its backups.
   * @default - one credential for every role: the backup jobs' keys can delete every backup
   * (`ClusterBackup` reports it as a pitfall, `acknowledge.singleCredential`)
   */
  readonly maintainerCredentials?: Credentials;
  /**
   * The reader's keys, for the restore drills (and the runbook's restore): read, and take and
   * remove their own locks.
   * @default - the writer's `credentials` (they can read too)
   */
  readonly readerCredentials?: Credentials;
  /**
   * What the storage does to keep written objects from being deleted or overwritten (S3 Object
   * Lock; the REST server's append-only mode). Requires `maintainerCredentials` and time-based
   * retention; the backup jobs' delete probe must then find their keys unable to delete.
   * @default - none: the roles' policies alone protect the backups
   */
  readonly immutability?: Immutability;
  /**
   * Client-side encryption of the repository (required: there is no unencrypted repository).
   */
  readonly encryption: Encryption;
  /**
   * Path inside the bucket/container under which all repositories of this library live. Each
   * backup job appends its own `<cluster>/<kind>` path, so no two jobs share a repository.
   * Segments of letters, digits, `.`, `_` and `-` separated by `/`; at most 512 characters.
   * @default - the bucket root
   */
  readonly prefix?: string;
}

/**
 * An S3 or S3-compatible bucket (MinIO, Ceph RGW, Wasabi, ...).
 */
export interface S3RepositoryProps extends RepositoryCommonProps {
  /** Bucket name (no slashes: put paths in `prefix`). */
  readonly bucket: string;
  /**
   * Region of the bucket (lowercase letters, digits and `-`; at most 64 characters).
   * @default - restic detects it (AWS) or the endpoint ignores it
   */
  readonly region?: string;
  /**
   * Endpoint URL of an S3-compatible service, e.g. `https://minio.example.com:9000`: the host is a
   * DNS name, an IPv4 address or a bracketed IPv6 address, with an optional port.
   * @default - AWS S3 (`https://s3.amazonaws.com`, or the regional endpoint when `region` is set)
   */
  readonly endpoint?: string;
  /**
   * CA certificate of a private endpoint.
   * @default - the image's system CA store
   */
  readonly caCert?: CaCertificate;
  /**
   * Allow a plain `http://` endpoint. restic still encrypts the data, but anyone on the path
   * can read which objects exist and delete or replace them.
   * @default false
   */
  readonly allowInsecureHttp?: boolean;
}

/**
 * A Google Cloud Storage bucket.
 */
export interface GcsRepositoryProps extends RepositoryCommonProps {
  /** Bucket name. */
  readonly bucket: string;
  /** Google Cloud project id that owns the bucket. */
  readonly projectId: string;
}

/**
 * An Azure Blob Storage container.
 */
export interface AzureBlobRepositoryProps extends RepositoryCommonProps {
  /** Storage account name. */
  readonly accountName: string;
  /** Blob container name. */
  readonly container: string;
}

/**
 * A restic REST server (`rest-server`), e.g. on a backup host outside the cluster.
 *
 * For backups that survive a compromised cluster, run two rest-servers on the same data
 * directory: one with `--append-only` at `url`, which the cluster reaches, and one without it at
 * `maintainerUrl`, which only the maintenance job reaches (a management cluster or the backup
 * host itself). A rest-server serves repositories at most two folders deep: `prefix` is one
 * folder (with `--private-repos`, the user's name), each job's repository one folder below it
 * (`<prefix>/<cluster>_<kind>[_<node>]`).
 */
export interface RestServerRepositoryProps extends RepositoryCommonProps {
  /**
   * URL of the writer's rest-server, `https://host[:port]` (no path: put paths in `prefix`; no
   * user or password: they come from `credentials`, keys `restUsername`/`restPassword`).
   */
  readonly url: string;
  /**
   * URL of the maintainer's rest-server (the same data, without `--append-only`).
   * @default - `url` (a rest-server without --append-only: the writer can delete)
   */
  readonly maintainerUrl?: string;
  /**
   * CA certificate of the servers' TLS certificates.
   * @default - the image's system CA store
   */
  readonly caCert?: CaCertificate;
  /**
   * Allow plain `http://` URLs (restic still encrypts the data, but anyone on the path can read
   * the credentials and which objects exist).
   * @default false
   */
  readonly allowInsecureHttp?: boolean;
}
