import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { goDuration } from './velero-common';
import { VeleroVersion } from './velero-version';
import { BackupStorageLocation as RawBackupStorageLocation, BackupStorageLocationSpecAccessMode } from '../imports/velero.io';
import { configError } from '../internal/errors';
import { checkObjectName } from '../internal/names';
import { checkSecretKeyRef } from '../internal/secret-checks';
import { checkHttpUrlHost } from '../internal/urls';
import { BackupDefaults } from '../job/backup-defaults';
import { BackupRepository } from '../repository/backup-repository';
import { CaCertificate } from '../repository/ca-certificate';
import { Credentials } from '../repository/credentials';
import { SecretKeyRef } from '../repository/secret-key-ref';

/**
 * Server-side encryption of the Velero bucket (AWS plugin): exactly one method. It is on top of,
 * never instead of, protecting the bucket itself; Velero has no client-side encryption.
 */
export class VeleroServerSideEncryption {
  /** SSE-KMS with this key (id, ARN or alias). */
  public static kms(keyId: string): VeleroServerSideEncryption {
    if (!keyId || /\s/.test(keyId)) throw configError(`VeleroServerSideEncryption.kms(keyId): expected a KMS key id, ARN or alias; got ${JSON.stringify(keyId)}`);
    return new VeleroServerSideEncryption({ kmsKeyId: keyId });
  }

  /** SSE-S3 (`AES256`): keys managed by the storage service. */
  public static s3Managed(): VeleroServerSideEncryption {
    return new VeleroServerSideEncryption({ serverSideEncryption: 'AES256' });
  }

  /**
   * SSE-C: a customer key file at this path INSIDE the Velero pod (mount it there from a Secret
   * through the Velero deployment). Lose the key and the backups are gone.
   */
  public static customerKey(pathInVeleroPod: string): VeleroServerSideEncryption {
    if (!pathInVeleroPod || !pathInVeleroPod.startsWith('/')) {
      throw configError(`VeleroServerSideEncryption.customerKey(pathInVeleroPod): expected an absolute path inside the Velero pod; got ${JSON.stringify(pathInVeleroPod)}`);
    }
    return new VeleroServerSideEncryption({ customerKeyEncryptionFile: pathInVeleroPod });
  }

  /**
   * SSE-C with the customer key in a Secret in Velero's namespace (`customerKeyEncryptionSecret:
   * <name>/<key>`, the AWS plugin 1.13 that pairs with Velero 1.17): a 32-byte key. Lose the key
   * and the backups are gone.
   */
  public static customerKeySecret(ref: SecretKeyRef): VeleroServerSideEncryption {
    checkSecretKeyRef('VeleroServerSideEncryption.customerKeySecret(ref)', ref);
    return new VeleroServerSideEncryption({ customerKeyEncryptionSecret: `${ref.name}/${ref.key}` });
  }

  /** The provider config entries this method sets. */
  public readonly config: { [key: string]: string };

  private constructor(config: { [key: string]: string }) {
    this.config = config;
  }
}

/** As for restic repositories (BackupRepository). */
const MAX_PREFIX = 512;
const MAX_REGION = 64;

/**
 * The AWS plugin's key sources (velero-plugin-for-aws object_store.go: "you can only use one of:
 * kmsKeyId, customerKeyEncryptionFile, or customerKeyEncryptionSecret").
 */
const SSE_KEY_SOURCES = ['kmsKeyId', 'customerKeyEncryptionFile', 'customerKeyEncryptionSecret'];

/**
 * Props of {@link VeleroBackupStorageLocation}: the Velero Helm chart's `backupStorageLocation:`
 * values, typed.
 */
export interface VeleroBackupStorageLocationProps {
  /**
   * The storage, as the restic jobs reach it: one definition for both. Bucket, endpoint
   * (`s3Url`, path-style), region, CA (inline `caCert` on any Velero, a Secret's `caCertRef` on
   * 1.18) and credentials come from it, and `prefix` is a path below its prefix. Velero reads
   * the credentials FILE from the key `credentials.keys.cloudCredentialsFile` (default `cloud`;
   * for S3 the INI `[default]` with `aws_access_key_id`/`aws_secret_access_key`, for GCS the same
   * service-account JSON key as restic) of a Secret of the same name in Velero's namespace.
   * S3 and GCS repositories; an Azure one is a synth error.
   * @default - the location is given by `bucket` and the provider options
   */
  readonly repository?: BackupRepository;
  /**
   * Bucket (no slashes: paths go in `prefix`). Required without `repository`.
   * @default - the repository's
   */
  readonly bucket?: string;
  /**
   * Path inside the bucket; with `repository`, below the repository's prefix. Velero wants this
   * path to itself (it marks a location whose path holds other directories Unavailable), so
   * with `repository` it must not contain, or lie inside, a restic repository.
   * @default - the bucket root; with `repository`: 'velero' (ClusterBackup: `<clusterName>/velero`)
   */
  readonly prefix?: string;
  /**
   * Object-store plugin.
   * @default 'aws' (S3 and S3-compatible)
   */
  readonly provider?: string;
  /**
   * Name of the location.
   * @default 'default'
   */
  readonly name?: string;
  /**
   * Velero's namespace.
   * @default 'velero'
   */
  readonly namespace?: string;
  /**
   * Region of the bucket (`config.region`).
   * @default - none
   */
  readonly region?: string;
  /**
   * URL of an S3-compatible endpoint (`config.s3Url`).
   * @default - AWS S3
   */
  readonly s3Url?: string;
  /**
   * Path-style addressing, needed by most S3-compatible servers (`config.s3ForcePathStyle`).
   * @default - true when s3Url is set, else unset
   */
  readonly s3ForcePathStyle?: boolean;
  /**
   * CA bundle of a private endpoint: `CaCertificate.fromSecret(...)`, a key of a Secret in
   * Velero's namespace, rendered as `caCertRef` (Velero 1.18 and newer; older servers prune the
   * field, TLS to the endpoint fails and every backup fails validation, so synth refuses it for
   * an older `veleroVersion`).
   * @default - the system CAs
   */
  readonly caCert?: CaCertificate;
  /**
   * The Velero server version the location is rendered for (`caCert` needs 1.18).
   * @default VeleroVersion.MINIMUM (1.14)
   */
  readonly veleroVersion?: VeleroVersion;
  /**
   * Credentials: Velero reads a cloud credentials FILE from the Secret key
   * `credentials.keys.cloudCredentialsFile` (default `cloud`). The Secret must be in Velero's
   * namespace.
   * @default - the Velero deployment's own credentials
   */
  readonly credentials?: Credentials;
  /**
   * Make this the default location.
   * @default false
   */
  readonly default?: boolean;
  /**
   * Read-only location (e.g. restoring from another cluster's backups).
   * @default false
   */
  readonly readOnly?: boolean;
  /**
   * How often Velero syncs Backups from the bucket.
   * @default - Velero's default (1 minute)
   */
  readonly backupSyncPeriod?: Duration;
  /**
   * How often Velero validates the location.
   * @default - Velero's default (1 minute)
   */
  readonly validationFrequency?: Duration;
  /**
   * Server-side encryption of the bucket.
   * @default - the bucket's default
   */
  readonly serverSideEncryption?: VeleroServerSideEncryption;
  /**
   * More provider config (e.g. `profile`, `checksumAlgorithm`, Azure `resourceGroup`).
   * @default - none
   */
  readonly config?: { [key: string]: string };
}

/**
 * A Velero BackupStorageLocation, in Velero's namespace.
 */
export class VeleroBackupStorageLocation extends Construct {
  /** Name of the location (for `VeleroSchedule.storageLocation`). */
  public readonly locationName: string;
  /** True for a ReadOnly location: Schedules cannot write to it. */
  public readonly readOnly: boolean;
  /** The bucket. */
  public readonly bucket: string;
  /** The path inside the bucket, if any. */
  public readonly prefix?: string;
  /** The S3-compatible endpoint (`config.s3Url`), if any. */
  public readonly endpoint?: string;
  /** The credentials Secret (in Velero's namespace) and the key of its credentials file, if any. */
  public readonly credentialsSecret?: SecretKeyRef;

  constructor(scope: Construct, id: string, props: VeleroBackupStorageLocationProps) {
    super(scope, id);
    const C = 'VeleroBackupStorageLocation';
    // Velero reads a credentials FILE: for S3 its own key of the Secret, for GCS restic's JSON key.
    let credentialsKey = props.credentials?.keys.cloudCredentialsFile;
    const caOption = props.repository ? "caCert (the repository's)" : 'caCert';
    if (props.repository) {
      ({ props, credentialsKey } = fromRepository(C, props, props.repository));
    }
    if (!props.bucket) throw configError(`${C}: bucket is required (or repository, to use the restic jobs' storage)`);
    if (props.bucket.includes('/')) {
      throw configError(`${C}: bucket: a bucket name has no slashes; put the path in 'prefix'; got ${JSON.stringify(props.bucket)}`);
    }
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(props.bucket)) {
      throw configError(`${C}: bucket: expected 3-63 lowercase letters, digits, '.' and '-'; got ${JSON.stringify(props.bucket)}`);
    }
    const prefix = props.prefix?.replace(/^\/+|\/+$/g, '');
    if (prefix !== undefined && (prefix.length > MAX_PREFIX || !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(prefix) || prefix.split('/').some((seg) => seg === '.' || seg === '..'))) {
      throw configError(`${C}: prefix: expected path segments of letters, digits, '.', '_' and '-' separated by single '/' (no '.' or '..' segment), at most ${MAX_PREFIX} characters; got ${JSON.stringify(props.prefix)}`);
    }
    if (props.region !== undefined && (props.region.length > MAX_REGION || !/^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?$/.test(props.region))) {
      throw configError(`${C}: region: expected a region name like 'eu-west-1' (letters, digits, '-' and '_', at most ${MAX_REGION} characters); got ${JSON.stringify(props.region)}`);
    }
    const provider = props.provider ?? 'aws';
    // s3Url and s3ForcePathStyle are the AWS plugin's config keys (velero-plugin-for-aws
    // README, "BackupStorageLocation config"); other plugins ignore them.
    for (const option of ['s3Url', 's3ForcePathStyle'] as const) {
      if (props[option] !== undefined && provider !== 'aws') {
        throw configError(`${C}: ${option} is for the AWS plugin (S3 and S3-compatible storage), but provider is ${JSON.stringify(provider)}, which ignores it; drop ${option}, or use provider 'aws' for S3-compatible storage`);
      }
    }
    const version = props.veleroVersion ?? VeleroVersion.MINIMUM;
    const caCert = props.caCert;
    if (caCert) {
      if (caCert.source === 'configMap') {
        throw configError(`${C}: ${caOption}: Velero cannot read a CA bundle from a ConfigMap; use CaCertificate.fromPem(pem) (objectStorage.caCert, any Velero) or CaCertificate.fromSecret({ name, key }) (objectStorage.caCertRef, Velero 1.18, with the Secret in Velero's namespace)`);
      }
      if (caCert.source === 'secret') {
        version._require(`${C}: ${caOption}`, VeleroVersion.V1_18, 'a CA bundle from a Secret (objectStorage.caCertRef; CaCertificate.fromPem works on any version)');
      }
    }
    const config: { [key: string]: string } = { ...(props.config ?? {}) };
    const set = (key: string, value: string | undefined, option: string) => {
      if (value === undefined) return;
      if (key in config) throw configError(`${C}: ${option} and config.${key} both set; use ${option}`);
      config[key] = value;
    };
    set('region', props.region, 'region');
    if (props.s3Url !== undefined) {
      let url: URL;
      try {
        url = new URL(props.s3Url);
      } catch {
        throw configError(`${C}: s3Url: expected a URL like https://minio.example.com:9000; got ${JSON.stringify(props.s3Url)}`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw configError(`${C}: s3Url: expected http(s)://; got ${JSON.stringify(props.s3Url)}`);
      if (url.username || url.password || url.search || url.hash || !/^(\/[A-Za-z0-9._~-]+)*\/?$/.test(url.pathname)) {
        throw configError(`${C}: s3Url: expected http(s)://host[:port][/path] (no credentials, query or fragment; the Secret in credentials holds the keys); got ${JSON.stringify(props.s3Url)}`);
      }
      checkHttpUrlHost(`${C}: s3Url`, props.s3Url);
      set('s3Url', props.s3Url, 's3Url');
    }
    if (provider === 'aws' && props.s3Url !== undefined && config.region === undefined) {
      throw configError(`${C}: region is required with s3Url: Velero's AWS plugin cannot look up the region of an S3-compatible endpoint and its requests fail without one; set region (the one most S3-compatible servers accept is 'us-east-1')`);
    }
    const pathStyle = props.s3ForcePathStyle ?? (props.s3Url !== undefined ? true : undefined);
    set('s3ForcePathStyle', pathStyle === undefined ? undefined : String(pathStyle), 's3ForcePathStyle');
    for (const [k, v] of Object.entries(props.serverSideEncryption?.config ?? {})) set(k, v, 'serverSideEncryption');
    const sources = SSE_KEY_SOURCES.filter((k) => k in config);
    if (sources.length > 1) {
      throw configError(`${C}: server-side encryption: ${sources.join(' and ')} are exclusive (the AWS plugin takes one key source); choose one method (VeleroServerSideEncryption.kms(), .customerKey() or .customerKeySecret())`);
    }
    // With a key source the plugin decides the mode itself (kmsKeyId forces aws:kms, an SSE-C key
    // AES256 SSE-C) and ignores serverSideEncryption: only the value it forces is consistent.
    const mode = config.serverSideEncryption;
    if (mode !== undefined && sources.length === 1 && !(sources[0] === 'kmsKeyId' && mode === 'aws:kms')) {
      throw configError(`${C}: server-side encryption: serverSideEncryption ${JSON.stringify(mode)} with ${sources[0]} is ignored by the AWS plugin (${sources[0] === 'kmsKeyId' ? 'kmsKeyId means aws:kms' : 'a customer key means SSE-C'}); drop serverSideEncryption`);
    }
    if ('customerKeyEncryptionSecret' in config) {
      version._require(`${C}: serverSideEncryption`, VeleroVersion.V1_17, 'a customer key from a Secret (customerKeyEncryptionSecret, AWS plugin 1.13)');
    }

    this.locationName = checkObjectName(`${C}: name`, props.name ?? 'default', 253);
    this.readOnly = props.readOnly ?? false;
    this.bucket = props.bucket;
    this.prefix = prefix || undefined;
    this.endpoint = config.s3Url;
    this.credentialsSecret = props.credentials ? { name: props.credentials.secretName, key: credentialsKey! } : undefined;
    new RawBackupStorageLocation(this, 'Resource', {
      metadata: { name: this.locationName, namespace: checkObjectName(`${C}: namespace`, props.namespace ?? BackupDefaults.VELERO_NAMESPACE, 63) },
      spec: {
        provider,
        objectStorage: {
          bucket: props.bucket,
          prefix: prefix || undefined,
          caCert: caCert?.source === 'inline' ? Buffer.from(caCert.pem!).toString('base64') : undefined,
          caCertRef: caCert?.source === 'secret' ? { name: caCert.name, key: caCert.key } : undefined,
        },
        config: Object.keys(config).length > 0 ? config : undefined,
        credential: this.credentialsSecret,
        default: props.default ?? false,
        accessMode: props.readOnly ? BackupStorageLocationSpecAccessMode.READ_ONLY : BackupStorageLocationSpecAccessMode.READ_WRITE,
        backupSyncPeriod: props.backupSyncPeriod ? goDuration(`${C}: backupSyncPeriod`, props.backupSyncPeriod) : undefined,
        validationFrequency: props.validationFrequency ? goDuration(`${C}: validationFrequency`, props.validationFrequency) : undefined,
      },
    });
  }
}

/** The options a repository decides; given with `repository`, they would be a second definition. */
const FROM_REPOSITORY = ['bucket', 'provider', 'region', 's3Url', 's3ForcePathStyle', 'caCert', 'credentials'] as const;

/** The location's storage options, from the restic jobs' storage definition. */
function fromRepository(C: string, props: VeleroBackupStorageLocationProps, repository: BackupRepository): {
  props: VeleroBackupStorageLocationProps; credentialsKey: string;
} {
  const given = FROM_REPOSITORY.filter((o) => props[o] !== undefined);
  if (given.length > 0) {
    throw configError(`${C}: ${given.join(', ')} ${given.length === 1 ? 'comes' : 'come'} from repository; drop ${given.length === 1 ? 'it' : 'them'} (one storage definition), or drop repository and give the location on its own`);
  }
  const sub = (props.prefix ?? 'velero').replace(/^\/+|\/+$/g, '');
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)*$/.test(sub)) {
    throw configError(`${C}: prefix (below the repository's prefix): expected lowercase path segments separated by '/', e.g. 'prod/velero'; got ${JSON.stringify(props.prefix)}`);
  }
  // Velero deletes expired backups with plain DELETEs and has no notion of locked versions: an
  // Object Lock bucket is an open design question upstream (vmware-tanzu/velero#8686).
  if (repository.immutability) {
    throw configError(`${C}: repository declares ${repository.immutability.description}, which Velero cannot work with (its garbage collection deletes expired backups; vmware-tanzu/velero#8686); give Velero's location a bucket of its own (bucket, provider and credentials instead of repository)`);
  }
  const facts = repository._veleroLocation(sub);
  if (typeof facts === 'string') throw configError(`${C}: repository: ${facts}`);
  for (const key of Object.keys(facts.config)) {
    if (props.config && key in props.config) throw configError(`${C}: config.${key} comes from repository; drop it`);
  }
  return {
    props: {
      ...props,
      repository: undefined,
      bucket: facts.bucket,
      prefix: facts.prefix,
      provider: facts.provider,
      config: { ...(props.config ?? {}), ...facts.config },
      caCert: repository._caCert(),
      credentials: repository.credentials,
    },
    credentialsKey: facts.credentialsKey,
  };
}
