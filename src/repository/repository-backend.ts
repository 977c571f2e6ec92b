import { CaCertificate } from './ca-certificate';
import type { AzureBlobRepositoryProps, GcsRepositoryProps, RestServerRepositoryProps, S3RepositoryProps } from './repository-props';
import { SecretKeyRef } from './secret-key-ref';
import { configError } from '../internal/errors';
import { shellWords } from '../internal/shell';
import { checkHttpUrlHost } from '../internal/urls';

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

/**
 * A credential key a backend reads, and the `ExternalKeysOptions` option that says where it
 * lives in an external store.
 * @internal
 */
export interface BackendCredentialKey {
  readonly option: 'accessKeyId' | 'secretAccessKey' | 'sessionToken' | 'azureAccountKey' | 'gcsServiceAccountKey' | 'restUsername' | 'restPassword';
  readonly secret: SecretKeyRef;
}

/**
 * Every fact about one storage service, decided by its factory at synth time: nothing else
 * switches on which service it is.
 * @internal
 */
export interface RepositoryBackend {
  /** Name for messages: `s3`, `gcs`, `azure`. */
  readonly name: string;
  /** scheme://host[:port] of the service. */
  readonly endpoint: string;
  /** The path below which every repository lies, without leading or trailing `/` (`''`: the root). */
  readonly prefix: string;
  /** Environment of the restic container (besides RESTIC_REPOSITORY/RESTIC_PASSWORD). */
  readonly env: readonly RepositoryEnv[];
  /** Files mounted into the restic container. */
  readonly files: readonly RepositoryFile[];
  /** Where the CA bundle is mounted, when the endpoint has a private CA. */
  readonly caCertPath?: string;
  /** The CA bundle itself, when given inline (jobs add it to their scripts ConfigMap). */
  readonly caCertPem?: string;
  /** The CA as given (for Velero, which reads it its own way). */
  readonly caCert?: CaCertificate;
  /** The keys of the credentials Secret it reads. */
  readonly credentialKeys: readonly BackendCredentialKey[];
  /** What an operator exports on a workstation to reach the service (values to fill are `'…'`). */
  readonly workstationExports: readonly string[];
  /** The names of those variables (for `sudo --preserve-env`). */
  readonly workstationEnv: readonly string[];
  /** S3: where the objects are (the runbook's recovery from object versions). */
  readonly s3Location?: { readonly bucket: string; readonly endpoint: string; readonly region?: string };
  /** The restic repository URL of a path below the prefix. */
  resticUrl(subPath: string): string;
  /**
   * The same storage as Velero's object-store plugin names it, for a path below the prefix; or
   * why Velero cannot use it from this definition.
   */
  veleroLocation(subPath: string): VeleroStorageFacts | string;
}

/**
 * A BackupStorageLocation's storage facts, from a repository definition.
 * @internal
 */
export interface VeleroStorageFacts {
  readonly provider: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly config: { [key: string]: string };
  /** The key of the credentials Secret Velero reads its credentials FILE from. */
  readonly credentialsKey: string;
}

/** Where repository files are mounted in the restic container. */
const FILES_DIR = '/etc/backup-repository';

/** An inline CA bundle: a file of the job's scripts ConfigMap (mounted at /scripts). @internal */
export const INLINE_CA_FILE = 'repository-ca.crt';

/** Generous: real region names are far shorter. */
const MAX_REGION = 64;

/** Far beyond any real layout, and leaves room in S3's 1024-byte object keys for what restic puts below it. */
const MAX_PREFIX = 512;

/** Folder names a rest-server takes for restic's own (v0.13.0 repo/repo.go ObjectTypes, FileTypes). */
const REST_FILE_TYPES = ['data', 'index', 'keys', 'locks', 'snapshots', 'config'];

/** A value the operator fills in from the off-cluster copy of a key. */
const FILL_IN = '\'…\'';

/** @internal */
export function s3Backend(props: S3RepositoryProps): RepositoryBackend {
  checkS3Bucket(props.bucket);
  if (props.region !== undefined && (props.region.length > MAX_REGION || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(props.region))) {
    throw configError(`BackupRepository.s3({ region }): expected a region name like 'eu-west-1' (lowercase letters, digits and single '-', at most ${MAX_REGION} characters); got ${JSON.stringify(props.region)}`);
  }
  const base = props.endpoint !== undefined
    ? checkEndpoint(props.endpoint, props.allowInsecureHttp ?? false)
    : `https://${props.region ? `s3.${props.region}.amazonaws.com` : 's3.amazonaws.com'}`;
  const creds = props.credentials;
  const credentialKeys: BackendCredentialKey[] = [
    { option: 'accessKeyId', secret: { name: creds.secretName, key: creds.keys.accessKeyId! } },
    { option: 'secretAccessKey', secret: { name: creds.secretName, key: creds.keys.secretAccessKey! } },
  ];
  if (creds.keys.sessionToken) {
    credentialKeys.push({ option: 'sessionToken', secret: { name: creds.secretName, key: creds.keys.sessionToken } });
  }
  const envNames: { [option: string]: string } = {
    accessKeyId: 'AWS_ACCESS_KEY_ID', secretAccessKey: 'AWS_SECRET_ACCESS_KEY', sessionToken: 'AWS_SESSION_TOKEN',
  };
  const env: RepositoryEnv[] = credentialKeys.map((k) => ({ name: envNames[k.option], secret: k.secret }));
  if (props.region) env.push({ name: 'AWS_DEFAULT_REGION', value: props.region });
  const ca = props.caCert ? caFile(props.caCert) : undefined;
  const prefix = checkPrefix('BackupRepository.s3', props.prefix);
  return {
    name: 's3',
    endpoint: base,
    prefix,
    s3Location: { bucket: props.bucket, endpoint: base, region: props.region },
    resticUrl: (sub) => `s3:${base}/${props.bucket}/${join(prefix, sub)}`,
    // velero-plugin-for-aws object_store.go: without s3Url or region it asks AWS for the bucket's
    // region; with s3Url and no region the SDK has no region to sign with and every request fails.
    veleroLocation: (sub) => (props.endpoint !== undefined && props.region === undefined
      ? 'Velero\'s AWS plugin needs the region of an S3-compatible endpoint (it cannot look it up there, and requests fail without one); set region on BackupRepository.s3 (the one most S3-compatible servers accept is \'us-east-1\')'
      : {
        provider: 'aws',
        bucket: props.bucket,
        prefix: join(prefix, sub),
        config: {
          ...(props.region ? { region: props.region } : {}),
          // Path-style addressing, as restic uses for an S3-compatible endpoint.
          ...(props.endpoint !== undefined ? { s3Url: base, s3ForcePathStyle: 'true' } : {}),
        },
        credentialsKey: creds.keys.cloudCredentialsFile!,
      }),
    env,
    files: ca?.file ? [ca.file] : [],
    caCertPath: ca?.path,
    caCertPem: props.caCert?.pem,
    caCert: props.caCert,
    credentialKeys,
    workstationExports: [exportLine([
      ...credentialKeys.map((k) => `${envNames[k.option]}=${FILL_IN}`),
      ...(props.region ? [`AWS_DEFAULT_REGION=${shellWords(props.region)}`] : []),
    ])],
    workstationEnv: [...credentialKeys.map((k) => envNames[k.option]), ...(props.region ? ['AWS_DEFAULT_REGION'] : [])],
  };
}

/** @internal */
export function gcsBackend(props: GcsRepositoryProps): RepositoryBackend {
  if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(props.bucket ?? '')) {
    throw configError(`BackupRepository.gcs({ bucket }): expected a GCS bucket name (lowercase letters, digits, '-', '_', '.'; no slashes: put paths in 'prefix'); got ${JSON.stringify(props.bucket)}`);
  }
  if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(props.projectId ?? '')) {
    throw configError(`BackupRepository.gcs({ projectId }): expected a Google Cloud project id; got ${JSON.stringify(props.projectId)}`);
  }
  const key: BackendCredentialKey = {
    option: 'gcsServiceAccountKey',
    secret: { name: props.credentials.secretName, key: props.credentials.keys.gcsServiceAccountKey! },
  };
  const keyFile: RepositoryFile = { volume: 'repository-gcs-key', mountPath: `${FILES_DIR}/gcs`, fileName: 'credentials.json', secret: key.secret };
  const prefix = checkPrefix('BackupRepository.gcs', props.prefix);
  return {
    name: 'gcs',
    endpoint: 'https://storage.googleapis.com',
    prefix,
    resticUrl: (sub) => `gs:${props.bucket}:/${join(prefix, sub)}`,
    // velero-plugin-for-gcp reads the same service-account JSON key as its credentials file.
    veleroLocation: (sub) => ({ provider: 'gcp', bucket: props.bucket, prefix: join(prefix, sub), config: {}, credentialsKey: key.secret.key }),
    env: [
      { name: 'GOOGLE_PROJECT_ID', value: props.projectId },
      { name: 'GOOGLE_APPLICATION_CREDENTIALS', value: `${keyFile.mountPath}/${keyFile.fileName}` },
    ],
    files: [keyFile],
    credentialKeys: [key],
    // The key file is saved from the off-cluster copy next to the operator.
    workstationExports: [exportLine([`GOOGLE_PROJECT_ID=${shellWords(props.projectId)}`, 'GOOGLE_APPLICATION_CREDENTIALS="$PWD/credentials.json"'])],
    workstationEnv: ['GOOGLE_PROJECT_ID', 'GOOGLE_APPLICATION_CREDENTIALS'],
  };
}

/** @internal */
export function azureBlobBackend(props: AzureBlobRepositoryProps): RepositoryBackend {
  if (!/^[a-z0-9]{3,24}$/.test(props.accountName ?? '')) {
    throw configError(`BackupRepository.azureBlob({ accountName }): expected 3-24 lowercase letters and digits; got ${JSON.stringify(props.accountName)}`);
  }
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(props.container ?? '')) {
    throw configError(`BackupRepository.azureBlob({ container }): expected 3-63 lowercase letters, digits and single hyphens (no slashes: put paths in 'prefix'); got ${JSON.stringify(props.container)}`);
  }
  const key: BackendCredentialKey = {
    option: 'azureAccountKey',
    secret: { name: props.credentials.secretName, key: props.credentials.keys.azureAccountKey! },
  };
  const prefix = checkPrefix('BackupRepository.azureBlob', props.prefix);
  return {
    name: 'azure',
    endpoint: `https://${props.accountName}.blob.core.windows.net`,
    prefix,
    resticUrl: (sub) => `azure:${props.container}:/${join(prefix, sub)}`,
    // The Azure plugin reads an env-style credentials file (AZURE_STORAGE_ACCOUNT_ACCESS_KEY=...)
    // and a resource group, neither of which this definition has.
    veleroLocation: () => 'a Velero location cannot be derived from an Azure Blob repository yet (Velero\'s Azure plugin reads an env-style credentials file and the storage account\'s resource group); give the location bucket, provider: \'azure\' and config ({ storageAccount, resourceGroup }) instead of repository',
    env: [
      { name: 'AZURE_ACCOUNT_NAME', value: props.accountName },
      { name: 'AZURE_ACCOUNT_KEY', secret: key.secret },
    ],
    files: [],
    credentialKeys: [key],
    workstationExports: [exportLine([`AZURE_ACCOUNT_NAME=${shellWords(props.accountName)}`, `AZURE_ACCOUNT_KEY=${FILL_IN}`])],
    workstationEnv: ['AZURE_ACCOUNT_NAME', 'AZURE_ACCOUNT_KEY'],
  };
}

/**
 * A restic REST server: `rest:<url>/<prefix>/<sub>`, user and password from the environment
 * (restic 0.18 internal/backend/rest/config.go ApplyEnvironment reads RESTIC_REST_USERNAME and
 * RESTIC_REST_PASSWORD when the URL has no user), so they never appear in a URL or a log.
 * `url` is the URL of this role (the writer's or the maintainer's).
 * @internal
 */
export function restServerBackend(props: RestServerRepositoryProps, url: string, option: string): RepositoryBackend {
  const base = checkRestUrl(option, url, props.allowInsecureHttp ?? false);
  const creds = props.credentials;
  const credentialKeys: BackendCredentialKey[] = [
    { option: 'restUsername', secret: { name: creds.secretName, key: creds.keys.restUsername! } },
    { option: 'restPassword', secret: { name: creds.secretName, key: creds.keys.restPassword! } },
  ];
  const ca = props.caCert ? caFile(props.caCert) : undefined;
  const prefix = checkPrefix('BackupRepository.restServer', props.prefix);
  // rest-server serves repositories at most two folders deep (v0.13.0 handlers.go MaxFolderDepth
  // = 2: a deeper path is a 404) and takes a folder named like a restic file type for that type
  // (isValidType): a prefix of one folder, and each job's `<cluster>/<kind>[/<node>]` as one
  // folder name, its parts joined by `_` (never part of a cluster, kind, node or database name,
  // so no two paths meet).
  if (prefix.includes('/') || REST_FILE_TYPES.includes(prefix)) {
    throw configError(`BackupRepository.restServer({ prefix }): a rest-server serves repositories at most two folders deep, so the prefix is one folder (with --private-repos: the user's name), not ${REST_FILE_TYPES.join(', ')}; got ${JSON.stringify(props.prefix)}`);
  }
  return {
    name: 'rest',
    endpoint: base,
    prefix,
    resticUrl: (sub) => `rest:${base}/${join(prefix, sub.split('/').join('_'))}`,
    veleroLocation: () => 'Velero cannot write to a restic REST server; give the location its own bucket (bucket and provider instead of repository)',
    env: [
      { name: 'RESTIC_REST_USERNAME', secret: credentialKeys[0].secret },
      { name: 'RESTIC_REST_PASSWORD', secret: credentialKeys[1].secret },
    ],
    files: ca?.file ? [ca.file] : [],
    caCertPath: ca?.path,
    caCertPem: props.caCert?.pem,
    caCert: props.caCert,
    credentialKeys,
    workstationExports: [exportLine([`RESTIC_REST_USERNAME=${FILL_IN}`, `RESTIC_REST_PASSWORD=${FILL_IN}`])],
    workstationEnv: ['RESTIC_REST_USERNAME', 'RESTIC_REST_PASSWORD'],
  };
}

function checkRestUrl(option: string, url: string, allowHttp: boolean): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw configError(`BackupRepository.restServer({ ${option} }): expected a URL like 'https://backup.example.com:8000'; got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && allowHttp)) {
    throw configError(`BackupRepository.restServer({ ${option} }): the scheme must be https:// (or http:// with allowInsecureHttp: true, which sends the password in the clear); got ${JSON.stringify(url)}`);
  }
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username || u.password) {
    throw configError(`BackupRepository.restServer({ ${option} }): the URL is scheme://host[:port] only (paths go in 'prefix'; user and password in credentials, keys restUsername/restPassword); got ${JSON.stringify(url)}`);
  }
  checkHttpUrlHost(`BackupRepository.restServer({ ${option} })`, url);
  return `${u.protocol}//${u.host}`;
}

function exportLine(assignments: string[]): string {
  return `export ${assignments.join(' ')}`;
}

function caFile(ca: CaCertificate): { file?: RepositoryFile; path: string } {
  // Inline: every restic container mounts its job's scripts ConfigMap at /scripts.
  if (ca.source === 'inline') return { path: `/scripts/${INLINE_CA_FILE}` };
  const file: RepositoryFile = {
    volume: 'repository-ca',
    mountPath: `${FILES_DIR}/ca`,
    fileName: 'ca.crt',
    secret: ca.source === 'secret' ? { name: ca.name, key: ca.key } : undefined,
    configMap: ca.source === 'configMap' ? { name: ca.name, key: ca.key } : undefined,
  };
  return { file, path: `${file.mountPath}/${file.fileName}` };
}

function checkS3Bucket(bucket: string): void {
  if (!bucket) {
    throw configError('BackupRepository.s3({ bucket }): bucket is required and must not be empty');
  }
  if (bucket.includes('/')) {
    throw configError(`BackupRepository.s3({ bucket }): a bucket name has no slashes; put the path in 'prefix'; got ${JSON.stringify(bucket)}`);
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw configError(`BackupRepository.s3({ bucket }): expected 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit; got ${JSON.stringify(bucket)}`);
  }
}

function checkEndpoint(endpoint: string, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw configError(`BackupRepository.s3({ endpoint }): expected a URL like 'https://minio.example.com:9000'; got ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(`BackupRepository.s3({ endpoint }): the scheme must be https:// (or http:// with allowInsecureHttp); got ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol === 'http:' && !allowHttp) {
    throw configError(`BackupRepository.s3({ endpoint }): plain http exposes the repository to tampering; use https:// (with caCert for a private CA) or set allowInsecureHttp: true; got ${JSON.stringify(endpoint)}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw configError(`BackupRepository.s3({ endpoint }): the endpoint is scheme://host[:port] only (put the bucket in 'bucket' and paths in 'prefix'; never credentials); got ${JSON.stringify(endpoint)}`);
  }
  checkHttpUrlHost('BackupRepository.s3({ endpoint })', endpoint);
  return `${url.protocol}//${url.host}`;
}

function checkPrefix(factory: string, prefix: string | undefined): string {
  if (prefix === undefined) return '';
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  if (trimmed.length > MAX_PREFIX || !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(trimmed) || trimmed.split('/').some((s) => s === '.' || s === '..')) {
    throw configError(`${factory}({ prefix }): expected path segments of letters, digits, '.', '_' and '-' separated by single '/', at most ${MAX_PREFIX} characters; got ${JSON.stringify(prefix)}${trimmed.length > MAX_PREFIX ? ` (${trimmed.length} characters)` : ''}`);
  }
  return trimmed;
}

function join(prefix: string, sub: string): string {
  return prefix ? `${prefix}/${sub}` : sub;
}
