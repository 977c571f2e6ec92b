import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { BackupRepository } from './backup-repository';
import {
  ExternalSecret as RawExternalSecret, ExternalSecretSpecSecretStoreRefKind, ExternalSecretSpecTargetCreationPolicy,
  ExternalSecretSpecTargetDeletionPolicy,
} from '../imports/external-secrets.io';
import { configError } from '../internal/errors';

/**
 * A value in an external secret store (Vault, AWS Secrets Manager, GCP Secret Manager, ...).
 */
export interface RemoteSecretRef {
  /** Key (path/name) of the secret in the store. */
  readonly key: string;
  /**
   * Property inside that secret (for JSON or key/value secrets).
   * @default - the whole value
   */
  readonly property?: string;
}

/**
 * Where one role's storage credentials live in the external store: the keys its backend reads.
 */
export interface ExternalCredentialRefs {
  /**
   * S3 access key id (S3 repositories).
   * @default - none
   */
  readonly accessKeyId?: RemoteSecretRef;
  /**
   * S3 secret access key (S3 repositories).
   * @default - none
   */
  readonly secretAccessKey?: RemoteSecretRef;
  /**
   * S3 session token (S3 repositories whose credentials name a `sessionToken` key).
   * @default - none
   */
  readonly sessionToken?: RemoteSecretRef;
  /**
   * Azure storage account key (Azure repositories).
   * @default - none
   */
  readonly azureAccountKey?: RemoteSecretRef;
  /**
   * Google service-account key JSON (GCS repositories).
   * @default - none
   */
  readonly gcsServiceAccountKey?: RemoteSecretRef;
  /**
   * User name at a restic REST server (REST server repositories).
   * @default - none
   */
  readonly restUsername?: RemoteSecretRef;
  /**
   * Password at a restic REST server (REST server repositories).
   * @default - none
   */
  readonly restPassword?: RemoteSecretRef;
}

/**
 * Where the repository's keys live outside the cluster.
 */
export interface ExternalKeysOptions extends ExternalCredentialRefs {
  /** Name of the external-secrets.io store to read from. */
  readonly storeName: string;
  /**
   * The store is a namespaced `SecretStore` (in every namespace that needs the keys) rather than
   * a `ClusterSecretStore`.
   * @default false
   */
  readonly namespacedStore?: boolean;
  /** The repository password. */
  readonly repositoryPassword: RemoteSecretRef;
  /**
   * The reader's credentials, when the repository has `readerCredentials` of their own.
   * @default - none
   */
  readonly readerKeys?: ExternalCredentialRefs;
  /**
   * The maintainer's credentials, when the repository's roles are split: rendered only in the
   * maintenance job's namespace.
   * @default - none
   */
  readonly maintainerKeys?: ExternalCredentialRefs;
  /**
   * How often the in-cluster Secrets are refreshed from the store.
   * @default Duration.hours(1)
   */
  readonly refreshInterval?: Duration;
}

/**
 * Props of {@link ExternalSecretKeys}.
 */
export interface ExternalSecretKeysProps extends ExternalKeysOptions {
  /** The repository whose Secrets (password, credentials) to create. */
  readonly repository: BackupRepository;
  /**
   * Namespace of the Secrets (the namespace of the jobs that use them).
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /**
   * Render the maintainer's Secrets (the password and `maintainerKeys`) instead of the writer's
   * and reader's: for the maintenance job's namespace, and only there.
   * @default false
   */
  readonly maintainer?: boolean;
}

/**
 * The repository's Secrets, created by external-secrets.io from a store outside the cluster: the
 * keys a restore needs survive the cluster, and nothing secret is in the manifests. One
 * `ExternalSecret` per Secret the repository references, with exactly the keys it reads.
 */
export class ExternalSecretKeys extends Construct {
  /** `secretName/key ← store key[.property]`, for runbooks. */
  public readonly locations: string[];

  constructor(scope: Construct, id: string, props: ExternalSecretKeysProps) {
    super(scope, id);
    const C = 'ExternalSecretKeys';
    if (!props.storeName || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(props.storeName)) {
      throw configError(`${C}: storeName must be the name of a (Cluster)SecretStore; got ${JSON.stringify(props.storeName)}`);
    }
    const repo = props.repository;
    const wanted: Array<[string, string, RemoteSecretRef | undefined, string]> = [
      [repo.encryption.password.name, repo.encryption.password.key, props.repositoryPassword, 'repositoryPassword'],
    ];
    // The backend says which credential keys it reads; each names the option that locates it.
    const role = (r: 'writer' | 'reader' | 'maintainer', refs: ExternalCredentialRefs | undefined, option: string) => {
      for (const k of repo._credentialKeys(r)) wanted.push([k.secret.name, k.secret.key, refs?.[k.option], `${option}${k.option}`]);
    };
    if (props.maintainer) {
      if (!repo.splitRoles) throw configError(`${C}: maintainer is set, but the repository has no maintainerCredentials of its own`);
      role('maintainer', props.maintainerKeys, 'maintainerKeys.');
    } else {
      role('writer', props, '');
      if (repo.readerCredentials.secretName !== repo.credentials.secretName) role('reader', props.readerKeys, 'readerKeys.');
    }
    for (const [, , ref, option] of wanted) {
      if (!ref) throw configError(`${C}: ${option} is required for a ${repo.backend} repository (where does it live in the store?)`);
      if (!ref.key || /\s/.test(ref.key)) throw configError(`${C}: ${option}.key must be a non-empty store key; got ${JSON.stringify(ref.key)}`);
    }

    const bySecret = new Map<string, Array<[string, RemoteSecretRef]>>();
    for (const [secret, key, ref] of wanted) {
      bySecret.set(secret, [...(bySecret.get(secret) ?? []), [key, ref!]]);
    }
    const refresh = props.refreshInterval ?? Duration.hours(1);
    this.locations = [];
    for (const [secret, keys] of [...bySecret.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      new RawExternalSecret(this, secret, {
        metadata: { name: secret, namespace: props.namespace },
        spec: {
          secretStoreRef: {
            name: props.storeName,
            kind: props.namespacedStore
              ? ExternalSecretSpecSecretStoreRefKind.SECRET_STORE
              : ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE,
          },
          refreshInterval: `${refresh.toSeconds()}s`,
          // Deleting the ExternalSecret (e.g. a GitOps prune) must not delete the keys the jobs use.
          target: {
            name: secret,
            creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER,
            deletionPolicy: ExternalSecretSpecTargetDeletionPolicy.RETAIN,
          },
          data: keys.map(([key, ref]) => ({ secretKey: key, remoteRef: { key: ref.key, property: ref.property } })),
        },
      });
      for (const [key, ref] of keys) {
        this.locations.push(`Secret \`${secret}\`, key \`${key}\` ← store \`${props.storeName}\`, key \`${ref.key}\`${ref.property ? `, property \`${ref.property}\`` : ''}`);
      }
    }
  }
}
