import { Credentials } from './credentials';
import { SecretKeyRef } from './secret-key-ref';
import { checkSecretKeyRef, checkSecretName, checkSecretKey } from '../internal/secret-checks';
import { checkHttpUrlHost } from '../internal/urls';
import { Encryption } from '../policy/encryption';

/**
 * A PEM CA certificate (bundle) that signs a private object-storage endpoint.
 */
export class CaCertificate {
  /** The CA bundle is a key of an existing Secret. */
  public static fromSecret(ref: SecretKeyRef): CaCertificate {
    checkSecretKeyRef('CaCertificate.fromSecret(ref)', ref);
    return new CaCertificate('secret', ref.name, ref.key);
  }

  /** The CA bundle is a key of an existing ConfigMap (a CA certificate is not secret). */
  public static fromConfigMap(name: string, key: string = 'ca.crt'): CaCertificate {
    checkSecretName('CaCertificate.fromConfigMap(name)', name);
    checkSecretKey('CaCertificate.fromConfigMap(key)', key);
    return new CaCertificate('configMap', name, key);
  }

  private constructor(
    /** 'secret' or 'configMap'. */
    public readonly source: string,
    /** Name of the Secret or ConfigMap. */
    public readonly name: string,
    /** Key holding the PEM bundle. */
    public readonly key: string,
  ) {}
}

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

/**
 * An environment variable a backend needs.
 * @internal
 */
export interface RepositoryEnv {
  readonly name: string;
  readonly value?: string;
  readonly secret?: SecretKeyRef;
}

/**
 * A file a backend needs, mounted read-only from a Secret or ConfigMap.
 * @internal
 */
export interface RepositoryFile {
  /** Volume name. */
  readonly volume: string;
  /** Directory it is mounted at. */
  readonly mountPath: string;
  /** File name inside the directory. */
  readonly fileName: string;
  readonly secret?: SecretKeyRef;
  readonly configMap?: { readonly name: string; readonly key: string };
}

/** Where repository files are mounted in the restic container. */
const FILES_DIR = '/etc/backup-repository';

/** Generous: real region names are far shorter. */
const MAX_REGION = 64;

/** Far beyond any real layout, and leaves room in S3's 1024-byte object keys for what restic puts below it. */
const MAX_PREFIX = 512;

/**
 * Where backups go: a restic repository root on object storage. Each backup job gets its own
 * repository below it (`<prefix>/<cluster>/<kind>`), because restic's prune takes an exclusive
 * lock and keeps by host/tag group: separate repositories keep jobs from blocking or pruning
 * each other.
 */
export class BackupRepository {
  /** An S3 or S3-compatible bucket. */
  public static s3(props: S3RepositoryProps): BackupRepository {
    checkCommon('BackupRepository.s3', props);
    checkS3Bucket(props.bucket);
    if (props.region !== undefined && (props.region.length > MAX_REGION || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(props.region))) {
      throw new Error(`BackupRepository.s3({ region }): expected a region name like 'eu-west-1' (lowercase letters, digits and single '-', at most ${MAX_REGION} characters); got ${JSON.stringify(props.region)}`);
    }
    const base = props.endpoint !== undefined
      ? checkEndpoint(props.endpoint, props.allowInsecureHttp ?? false)
      : `https://${props.region ? `s3.${props.region}.amazonaws.com` : 's3.amazonaws.com'}`;
    const env: RepositoryEnv[] = [
      { name: 'AWS_ACCESS_KEY_ID', secret: { name: props.credentials.secretName, key: props.credentials.keys.accessKeyId! } },
      { name: 'AWS_SECRET_ACCESS_KEY', secret: { name: props.credentials.secretName, key: props.credentials.keys.secretAccessKey! } },
    ];
    if (props.credentials.keys.sessionToken) {
      env.push({ name: 'AWS_SESSION_TOKEN', secret: { name: props.credentials.secretName, key: props.credentials.keys.sessionToken } });
    }
    if (props.region) env.push({ name: 'AWS_DEFAULT_REGION', value: props.region });
    const files: RepositoryFile[] = [];
    if (props.caCert) {
      files.push(caFile(props.caCert));
    }
    const prefix = checkPrefix('BackupRepository.s3', props.prefix);
    return new BackupRepository('s3', base, props, (sub) => `s3:${base}/${props.bucket}/${join(prefix, sub)}`, env, files);
  }

  /** A Google Cloud Storage bucket (credentials: a service-account JSON key). */
  public static gcs(props: GcsRepositoryProps): BackupRepository {
    checkCommon('BackupRepository.gcs', props);
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(props.bucket ?? '')) {
      throw new Error(`BackupRepository.gcs({ bucket }): expected a GCS bucket name (lowercase letters, digits, '-', '_', '.'; no slashes: put paths in 'prefix'); got ${JSON.stringify(props.bucket)}`);
    }
    if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(props.projectId ?? '')) {
      throw new Error(`BackupRepository.gcs({ projectId }): expected a Google Cloud project id; got ${JSON.stringify(props.projectId)}`);
    }
    const keyFile: RepositoryFile = {
      volume: 'repository-gcs-key',
      mountPath: `${FILES_DIR}/gcs`,
      fileName: 'credentials.json',
      secret: { name: props.credentials.secretName, key: props.credentials.keys.gcsServiceAccountKey! },
    };
    const env: RepositoryEnv[] = [
      { name: 'GOOGLE_PROJECT_ID', value: props.projectId },
      { name: 'GOOGLE_APPLICATION_CREDENTIALS', value: `${keyFile.mountPath}/${keyFile.fileName}` },
    ];
    const prefix = checkPrefix('BackupRepository.gcs', props.prefix);
    return new BackupRepository('gcs', 'https://storage.googleapis.com', props, (sub) => `gs:${props.bucket}:/${join(prefix, sub)}`, env, [keyFile]);
  }

  /** An Azure Blob Storage container (credentials: the storage account key). */
  public static azureBlob(props: AzureBlobRepositoryProps): BackupRepository {
    checkCommon('BackupRepository.azureBlob', props);
    if (!/^[a-z0-9]{3,24}$/.test(props.accountName ?? '')) {
      throw new Error(`BackupRepository.azureBlob({ accountName }): expected 3-24 lowercase letters and digits; got ${JSON.stringify(props.accountName)}`);
    }
    if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(props.container ?? '')) {
      throw new Error(`BackupRepository.azureBlob({ container }): expected 3-63 lowercase letters, digits and single hyphens (no slashes: put paths in 'prefix'); got ${JSON.stringify(props.container)}`);
    }
    const env: RepositoryEnv[] = [
      { name: 'AZURE_ACCOUNT_NAME', value: props.accountName },
      { name: 'AZURE_ACCOUNT_KEY', secret: { name: props.credentials.secretName, key: props.credentials.keys.azureAccountKey! } },
    ];
    const prefix = checkPrefix('BackupRepository.azureBlob', props.prefix);
    return new BackupRepository('azure', `https://${props.accountName}.blob.core.windows.net`, props, (sub) => `azure:${props.container}:/${join(prefix, sub)}`, env, []);
  }

  /** Backend: `s3`, `gcs` or `azure`. */
  public readonly backend: string;
  /** The storage service's URL (scheme://host[:port]), e.g. to tell whether it is off-cluster. */
  public readonly endpoint: string;
  /** Client-side encryption (repository password). */
  public readonly encryption: Encryption;
  /** Storage credentials. */
  public readonly credentials: Credentials;

  private constructor(
    backend: string,
    endpoint: string,
    props: RepositoryCommonProps,
    private readonly url: (subPath: string) => string,
    private readonly env: RepositoryEnv[],
    private readonly files: RepositoryFile[],
  ) {
    this.backend = backend;
    this.endpoint = endpoint;
    this.encryption = props.encryption;
    this.credentials = props.credentials;
  }

  /**
   * The restic repository URL for a path below this repository's prefix, e.g.
   * `s3:https://s3.eu-west-1.amazonaws.com/backups/prod/etcd`.
   */
  public resticRepository(subPath: string): string {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)*$/.test(subPath)) {
      throw new Error(`BackupRepository.resticRepository(subPath): expected lowercase path segments separated by '/'; got ${JSON.stringify(subPath)}`);
    }
    return this.url(subPath);
  }

  /** Environment the backend needs (besides RESTIC_REPOSITORY/RESTIC_PASSWORD). @internal */
  public _env(): RepositoryEnv[] {
    return [...this.env];
  }

  /** Files the backend needs mounted. @internal */
  public _files(): RepositoryFile[] {
    return [...this.files];
  }

  /** Path of the CA bundle inside the container, if any. @internal */
  public _caCertPath(): string | undefined {
    const ca = this.files.find((f) => f.volume === 'repository-ca');
    return ca ? `${ca.mountPath}/${ca.fileName}` : undefined;
  }
}

function caFile(ca: CaCertificate): RepositoryFile {
  return {
    volume: 'repository-ca',
    mountPath: `${FILES_DIR}/ca`,
    fileName: 'ca.crt',
    secret: ca.source === 'secret' ? { name: ca.name, key: ca.key } : undefined,
    configMap: ca.source === 'configMap' ? { name: ca.name, key: ca.key } : undefined,
  };
}

function checkCommon(factory: string, props: RepositoryCommonProps): void {
  if (!props) throw new Error(`${factory}(props): props are required`);
  if (!props.credentials) {
    throw new Error(`${factory}({ credentials }): credentials are required, e.g. Credentials.fromSecret('backup-s3')`);
  }
  if (!props.encryption) {
    throw new Error(`${factory}({ encryption }): encryption is required (an etcd backup holds every Secret of the cluster), e.g. Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' })`);
  }
}

function checkS3Bucket(bucket: string): void {
  if (!bucket) {
    throw new Error('BackupRepository.s3({ bucket }): bucket is required and must not be empty');
  }
  if (bucket.includes('/')) {
    throw new Error(`BackupRepository.s3({ bucket }): a bucket name has no slashes; put the path in 'prefix'; got ${JSON.stringify(bucket)}`);
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new Error(`BackupRepository.s3({ bucket }): expected 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit; got ${JSON.stringify(bucket)}`);
  }
}

function checkEndpoint(endpoint: string, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`BackupRepository.s3({ endpoint }): expected a URL like 'https://minio.example.com:9000'; got ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`BackupRepository.s3({ endpoint }): the scheme must be https:// (or http:// with allowInsecureHttp); got ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol === 'http:' && !allowHttp) {
    throw new Error(`BackupRepository.s3({ endpoint }): plain http exposes the repository to tampering; use https:// (with caCert for a private CA) or set allowInsecureHttp: true; got ${JSON.stringify(endpoint)}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new Error(`BackupRepository.s3({ endpoint }): the endpoint is scheme://host[:port] only (put the bucket in 'bucket' and paths in 'prefix'; never credentials); got ${JSON.stringify(endpoint)}`);
  }
  checkHttpUrlHost('BackupRepository.s3({ endpoint })', endpoint);
  return `${url.protocol}//${url.host}`;
}

function checkPrefix(factory: string, prefix: string | undefined): string {
  if (prefix === undefined) return '';
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  if (trimmed.length > MAX_PREFIX || !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(trimmed) || trimmed.split('/').some((s) => s === '.' || s === '..')) {
    throw new Error(`${factory}({ prefix }): expected path segments of letters, digits, '.', '_' and '-' separated by single '/', at most ${MAX_PREFIX} characters; got ${JSON.stringify(prefix)}${trimmed.length > MAX_PREFIX ? ` (${trimmed.length} characters)` : ''}`);
  }
  return trimmed;
}

function join(prefix: string, sub: string): string {
  return prefix ? `${prefix}/${sub}` : sub;
}
