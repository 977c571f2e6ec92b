import { describedAccessPolicies, RepositoryAccessPolicies, restServerAccessPolicies, s3AccessPolicies } from './access-policies';
import { CaCertificate } from './ca-certificate';
import { Credentials } from './credentials';
import { Encryption } from './encryption';
import { Immutability } from './immutability';
import { recoverySection } from './recovery-runbook';
import {
  azureBlobBackend, BackendCredentialKey, gcsBackend, restServerBackend, RepositoryBackend, RepositoryEnv, RepositoryFile, s3Backend,
  VeleroStorageFacts,
} from './repository-backend';
import { AzureBlobRepositoryProps, GcsRepositoryProps, RepositoryCommonProps, RestServerRepositoryProps, S3RepositoryProps } from './repository-props';
import { configError } from '../internal/errors';

/**
 * Who uses a repository, each with its own keys when the roles are split: the backup jobs
 * write, the drills and the runbook read, the maintenance job prunes.
 * @internal
 */
export type RepositoryRole = 'writer' | 'reader' | 'maintainer';

/**
 * Where backups go: a restic repository root on object storage. Each backup job gets its own
 * repository below it (`<prefix>/<cluster>/<kind>`), because restic's prune takes an exclusive
 * lock and keeps by host/tag group: separate repositories keep jobs from blocking or pruning
 * each other.
 *
 * Everything that differs between storage services (URL form, environment, mounted files,
 * which credential keys are read, what an operator exports to reach it) is a fact of its
 * backend, built by the factory: a new service is one factory and one backend function.
 */
export class BackupRepository {
  /** An S3 or S3-compatible bucket. */
  public static s3(props: S3RepositoryProps): BackupRepository {
    const F = 'BackupRepository.s3';
    checkCommon(F, props, 's3-object-lock');
    const writer = s3Backend(props);
    return new BackupRepository(F, props, (credentials) => s3Backend({ ...props, credentials }),
      () => s3AccessPolicies(props.bucket, writer.prefix), writer);
  }

  /** A Google Cloud Storage bucket (credentials: a service-account JSON key). */
  public static gcs(props: GcsRepositoryProps): BackupRepository {
    const F = 'BackupRepository.gcs';
    checkCommon(F, props, undefined);
    const writer = gcsBackend(props);
    return new BackupRepository(F, props, (credentials) => gcsBackend({ ...props, credentials }),
      () => describedAccessPolicies(`GCS bucket ${props.bucket}`, `gs://${props.bucket}/${writer.prefix}`), writer);
  }

  /** An Azure Blob Storage container (credentials: the storage account key). */
  public static azureBlob(props: AzureBlobRepositoryProps): BackupRepository {
    const F = 'BackupRepository.azureBlob';
    checkCommon(F, props, undefined);
    const writer = azureBlobBackend(props);
    return new BackupRepository(F, props, (credentials) => azureBlobBackend({ ...props, credentials }),
      () => describedAccessPolicies(`Azure container ${props.container} of account ${props.accountName}`, `${props.container}/${writer.prefix}`), writer);
  }

  /**
   * A restic REST server (credentials: user and password, keys `restUsername`/`restPassword`).
   * With `Immutability.restServerAppendOnly()` the writer's `url` is an append-only rest-server
   * and `maintainerUrl` one without that mode, on the same data.
   */
  public static restServer(props: RestServerRepositoryProps): BackupRepository {
    const F = 'BackupRepository.restServer';
    checkCommon(F, props, 'append-only');
    const writer = restServerBackend(props, props.url, 'url');
    const maintainer = props.maintainerUrl === undefined ? writer : restServerBackend(props, props.maintainerUrl, 'maintainerUrl');
    if (props.immutability?.kind === 'append-only' && (props.maintainerUrl === undefined || maintainer.endpoint === writer.endpoint)) {
      throw configError(`${F}({ maintainerUrl }): with Immutability.restServerAppendOnly() the append-only rest-server at url refuses the maintenance job's prune; set maintainerUrl to a rest-server without --append-only on the same data (one the cluster cannot reach)`);
    }
    return new BackupRepository(F, props,
      (credentials, role) => restServerBackend({ ...props, credentials }, role === 'maintainer' ? maintainer.endpoint : writer.endpoint, role === 'maintainer' ? 'maintainerUrl' : 'url'),
      () => restServerAccessPolicies(writer.endpoint, maintainer.endpoint, writer.prefix), writer);
  }

  /** Name of the storage service, for messages: `s3`, `gcs` or `azure`. */
  public readonly backend: string;
  /** The storage service's URL (scheme://host[:port]), e.g. to tell whether it is off-cluster. */
  public readonly endpoint: string;
  /** Client-side encryption (repository password). */
  public readonly encryption: Encryption;
  /** Storage credentials: the writer's (the backup jobs'), and every role's unless `splitRoles`. */
  public readonly credentials: Credentials;
  /** The reader's credentials (the drills, the runbook's restore). */
  public readonly readerCredentials: Credentials;
  /** The maintainer's credentials (retention and prune): the writer's unless `splitRoles`. */
  public readonly maintainerCredentials: Credentials;
  /**
   * Whether the maintainer has keys of its own: then the backup jobs never forget or prune, and
   * a maintenance job applies the retention.
   */
  public readonly splitRoles: boolean;
  /** What the storage does to keep written objects, if declared. */
  public readonly immutability?: Immutability;

  /** @internal */
  public readonly _backend: RepositoryBackend;
  private readonly backends: { [role: string]: RepositoryBackend };
  private readonly policies: () => RepositoryAccessPolicies;

  private constructor(
    factory: string,
    props: RepositoryCommonProps,
    backendFor: (credentials: Credentials, role: RepositoryRole) => RepositoryBackend,
    policies: () => RepositoryAccessPolicies,
    writer: RepositoryBackend,
  ) {
    this._backend = writer;
    this.backend = writer.name;
    this.endpoint = writer.endpoint;
    this.encryption = props.encryption;
    this.credentials = props.credentials;
    this.readerCredentials = props.readerCredentials ?? props.credentials;
    this.maintainerCredentials = props.maintainerCredentials ?? props.credentials;
    this.splitRoles = props.maintainerCredentials !== undefined;
    this.immutability = props.immutability;
    this.policies = policies;
    if (this.splitRoles && this.maintainerCredentials.secretName === this.credentials.secretName) {
      throw configError(`${factory}({ maintainerCredentials }): the maintainer's keys are in the same Secret (${this.credentials.secretName}) as the writer's, so every backup job could read them; put them in a Secret of their own, in the maintenance job's namespace`);
    }
    if (props.readerCredentials !== undefined && props.readerCredentials.secretName === this.maintainerCredentials.secretName && this.splitRoles) {
      throw configError(`${factory}({ readerCredentials }): the reader's keys are the maintainer's Secret (${this.maintainerCredentials.secretName}); a drill must not hold keys that can delete: give the reader its own keys, or leave readerCredentials unset (the writer's)`);
    }
    this.backends = {
      writer,
      reader: props.readerCredentials === undefined ? backendFor(props.credentials, 'reader') : backendFor(props.readerCredentials, 'reader'),
      maintainer: backendFor(this.maintainerCredentials, 'maintainer'),
    };
  }

  /** The backend as one role reaches it (its credentials; for a REST server, its URL). @internal */
  public _role(role: RepositoryRole): RepositoryBackend {
    return this.backends[role];
  }

  /**
   * What each role may do at the storage, for its administrator: for S3 the three IAM policy
   * documents, scoped to the prefix (`ClusterBackup` writes them next to its plan); for a REST
   * server and GCS/Azure, the grants in words.
   */
  public accessPolicies(): RepositoryAccessPolicies {
    return this.policies();
  }

  /**
   * The restic repository URL for a path below this repository's prefix, e.g.
   * `s3:https://s3.eu-west-1.amazonaws.com/backups/prod/etcd`.
   */
  public resticRepository(subPath: string): string {
    return this._resticRepository(subPath, 'writer');
  }

  /** The restic repository URL of a path as one role reaches it. @internal */
  public _resticRepository(subPath: string, role: RepositoryRole): string {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)*$/.test(subPath)) {
      throw configError(`BackupRepository.resticRepository(subPath): expected lowercase path segments separated by '/'; got ${JSON.stringify(subPath)}`);
    }
    return this.backends[role].resticUrl(subPath);
  }

  /** Environment the backend needs (besides RESTIC_REPOSITORY/RESTIC_PASSWORD), for a role. @internal */
  public _env(role: RepositoryRole = 'writer'): RepositoryEnv[] {
    return [...this.backends[role].env];
  }

  /** Files the backend needs mounted, for a role. @internal */
  public _files(role: RepositoryRole = 'writer'): RepositoryFile[] {
    return [...this.backends[role].files];
  }

  /** Path of the CA bundle inside the container, if any. @internal */
  public _caCertPath(): string | undefined {
    return this._backend.caCertPath;
  }

  /** Where the CA bundle comes from, when the endpoint has a private CA. @internal */
  public _caCertSource(): { kind: string; name: string; key: string; pem?: string } | undefined {
    if (this._backend.caCertPem !== undefined) return { kind: 'inline', name: '', key: '', pem: this._backend.caCertPem };
    const ca = this._backend.files.find((f) => f.volume === 'repository-ca');
    if (!ca) return undefined;
    return ca.secret ? { kind: 'Secret', ...ca.secret } : { kind: 'ConfigMap', ...ca.configMap! };
  }

  /** The CA bundle given inline, which each job adds to its scripts ConfigMap. @internal */
  public _caCertPem(): string | undefined {
    return this._backend.caCertPem;
  }

  /** The CA as given (Velero reads it its own way). @internal */
  public _caCert(): CaCertificate | undefined {
    return this._backend.caCert;
  }

  /**
   * This storage as a Velero BackupStorageLocation sees it, for a path below the prefix; a
   * string says why Velero cannot use it. @internal
   */
  public _veleroLocation(subPath: string): VeleroStorageFacts | string {
    return this._backend.veleroLocation(subPath);
  }

  /** The credential keys the backend reads, each with the option naming its store location. @internal */
  public _credentialKeys(role: RepositoryRole = 'writer'): BackendCredentialKey[] {
    return [...this.backends[role].credentialKeys];
  }

  /**
   * The restic command line an operator runs on a workstation for one repository below this
   * one (with the saved CA bundle when the endpoint has a private CA). @internal
   */
  public _workstationRestic(resticRepository: string): string[] {
    return ['restic', '-r', resticRepository, ...(this._backend.caCertPath ? ['--cacert', 'ca.crt'] : [])];
  }

  /**
   * The restic command line as root on a node (a restore that keeps owners), with the exported
   * keys passed through sudo. @internal
   */
  public _rootRestic(resticRepository: string): string[] {
    const env = ['RESTIC_PASSWORD', ...this._backend.workstationEnv].join(',');
    return ['sudo', `--preserve-env=${env}`, ...this._workstationRestic(resticRepository)];
  }

  /**
   * The runbook's section for backups deleted or overwritten, for a cluster's repositories (their
   * paths below the root); none where this library has no recovery to offer (GCS, Azure). @internal
   */
  public _recoverySection(clusterName: string, subPaths: string[]): string[] {
    const s3 = this._backend.s3Location;
    if (s3) {
      const prefix = this._backend.prefix;
      const path = prefix ? `${prefix}/${clusterName}` : clusterName;
      return recoverySection({ kind: 's3', bucket: s3.bucket, path, endpoint: s3.endpoint, region: s3.region }, clusterName);
    }
    if (this.backend === 'rest') {
      return recoverySection({ kind: 'rest', maintainerRepositories: subPaths.map((p) => this._resticRepository(p, 'maintainer')) }, clusterName);
    }
    return [];
  }

  /** Shell lines an operator runs on a workstation before restic can reach the repository. @internal */
  public _workstationExports(): string[] {
    return [...this._backend.workstationExports];
  }
}


function checkCommon(factory: string, props: RepositoryCommonProps, immutability: string | undefined): void {
  if (!props) throw configError(`${factory}(props): props are required`);
  if (!props.credentials) {
    throw configError(`${factory}({ credentials }): credentials are required, e.g. Credentials.fromSecret('backup-s3')`);
  }
  if (!props.encryption) {
    throw configError(`${factory}({ encryption }): encryption is required (an etcd backup holds every Secret of the cluster), e.g. Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' })`);
  }
  const declared = props.immutability;
  if (declared !== undefined) {
    if (declared.kind !== immutability) {
      const fits: { [kind: string]: string } = { 's3-object-lock': 'BackupRepository.s3', 'append-only': 'BackupRepository.restServer' };
      throw configError(`${factory}({ immutability }): ${declared.description} is a property of ${fits[declared.kind]} storage, not of this one${immutability === undefined ? ' (GCS retention and Azure immutability policies would lock restic\'s lock files too, restic#1544: split the roles with maintainerCredentials instead)' : ''}`);
    }
    if (props.maintainerCredentials === undefined) {
      throw configError(`${factory}({ maintainerCredentials }): immutability (${declared.description}) needs split roles: with one credential the backup jobs would prune, which the storage refuses or undoes; set maintainerCredentials (the keys of the maintenance job, in a Secret of their own)`);
    }
  }
}
