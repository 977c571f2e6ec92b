import { CaCertificate } from './ca-certificate';
import { Credentials } from './credentials';
import { Encryption } from './encryption';
import {
  azureBlobBackend, BackendCredentialKey, gcsBackend, RepositoryBackend, RepositoryEnv, RepositoryFile, s3Backend, VeleroStorageFacts,
} from './repository-backend';
import { AzureBlobRepositoryProps, GcsRepositoryProps, RepositoryCommonProps, S3RepositoryProps } from './repository-props';
import { configError } from '../internal/errors';

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
    checkCommon('BackupRepository.s3', props);
    return new BackupRepository(props, s3Backend(props));
  }

  /** A Google Cloud Storage bucket (credentials: a service-account JSON key). */
  public static gcs(props: GcsRepositoryProps): BackupRepository {
    checkCommon('BackupRepository.gcs', props);
    return new BackupRepository(props, gcsBackend(props));
  }

  /** An Azure Blob Storage container (credentials: the storage account key). */
  public static azureBlob(props: AzureBlobRepositoryProps): BackupRepository {
    checkCommon('BackupRepository.azureBlob', props);
    return new BackupRepository(props, azureBlobBackend(props));
  }

  /** Name of the storage service, for messages: `s3`, `gcs` or `azure`. */
  public readonly backend: string;
  /** The storage service's URL (scheme://host[:port]), e.g. to tell whether it is off-cluster. */
  public readonly endpoint: string;
  /** Client-side encryption (repository password). */
  public readonly encryption: Encryption;
  /** Storage credentials. */
  public readonly credentials: Credentials;

  /** @internal */
  public readonly _backend: RepositoryBackend;

  private constructor(props: RepositoryCommonProps, backend: RepositoryBackend) {
    this._backend = backend;
    this.backend = backend.name;
    this.endpoint = backend.endpoint;
    this.encryption = props.encryption;
    this.credentials = props.credentials;
  }

  /**
   * The restic repository URL for a path below this repository's prefix, e.g.
   * `s3:https://s3.eu-west-1.amazonaws.com/backups/prod/etcd`.
   */
  public resticRepository(subPath: string): string {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)*$/.test(subPath)) {
      throw configError(`BackupRepository.resticRepository(subPath): expected lowercase path segments separated by '/'; got ${JSON.stringify(subPath)}`);
    }
    return this._backend.resticUrl(subPath);
  }

  /** Environment the backend needs (besides RESTIC_REPOSITORY/RESTIC_PASSWORD). @internal */
  public _env(): RepositoryEnv[] {
    return [...this._backend.env];
  }

  /** Files the backend needs mounted. @internal */
  public _files(): RepositoryFile[] {
    return [...this._backend.files];
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
  public _credentialKeys(): BackendCredentialKey[] {
    return [...this._backend.credentialKeys];
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

  /** Shell lines an operator runs on a workstation before restic can reach the repository. @internal */
  public _workstationExports(): string[] {
    return [...this._backend.workstationExports];
  }
}


function checkCommon(factory: string, props: RepositoryCommonProps): void {
  if (!props) throw configError(`${factory}(props): props are required`);
  if (!props.credentials) {
    throw configError(`${factory}({ credentials }): credentials are required, e.g. Credentials.fromSecret('backup-s3')`);
  }
  if (!props.encryption) {
    throw configError(`${factory}({ encryption }): encryption is required (an etcd backup holds every Secret of the cluster), e.g. Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' })`);
  }
}
