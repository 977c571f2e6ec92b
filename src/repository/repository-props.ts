import { CaCertificate } from './ca-certificate';
import { Credentials } from './credentials';
import { Encryption } from './encryption';

/**
 * Options common to every repository backend.
 */
export interface RepositoryCommonProps {
  /**
   * Credentials used to reach the storage.
   */
  readonly credentials: Credentials;
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
