import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { BackupRepository } from './backup-repository';
import { ExternalKeysOptions } from './external-secret-keys';
import {
  ExternalSecret as RawExternalSecret, ExternalSecretSpecSecretStoreRefKind, ExternalSecretSpecTargetCreationPolicy,
  ExternalSecretSpecTargetDeletionPolicy, ExternalSecretSpecTargetTemplateEngineVersion,
} from '../imports/external-secrets.io';
import { configError } from '../internal/errors';

/**
 * Props of {@link VeleroExternalCredentials}.
 */
export interface VeleroExternalCredentialsProps extends ExternalKeysOptions {
  /** The storage definition Velero's location is derived from (`VeleroBackupStorageLocationProps.repository`). */
  readonly repository: BackupRepository;
  /** Velero's namespace (where its location reads the credentials Secret). */
  readonly namespace: string;
}

/**
 * The credentials Secret of a Velero location derived from a repository, created by
 * external-secrets.io in Velero's namespace from the same store keys as the restic jobs': Velero
 * reads a credentials FILE, so for S3 the Secret's one key is the INI file rendered from the
 * access key pair (external-secrets template engine v2), for GCS the service-account JSON key.
 * Of the `ExternalKeysOptions`, it reads the store, the credential keys and the refresh interval
 * (not `repositoryPassword`: Velero has no repository password).
 */
export class VeleroExternalCredentials extends Construct {
  /** `secretName/key ← store key[.property]`, for runbooks. */
  public readonly locations: string[];

  constructor(scope: Construct, id: string, props: VeleroExternalCredentialsProps) {
    super(scope, id);
    const C = 'VeleroExternalCredentials';
    const repo = props.repository;
    const facts = repo._veleroLocation('velero');
    if (typeof facts === 'string') throw configError(`${C}: repository: ${facts}`);
    const secret = repo.credentials.secretName;
    const keys = repo._credentialKeys().map((k) => {
      const ref = props[k.option];
      if (!ref || !ref.key || /\s/.test(ref.key)) throw configError(`${C}: externalKeys.${k.option} is required for Velero's credentials from a ${repo.backend} repository`);
      return { option: k.option, ref };
    });
    // The INI profile the AWS plugin reads (its README, "Set permissions for Velero").
    const ini: { [option: string]: string } = {
      accessKeyId: 'aws_access_key_id', secretAccessKey: 'aws_secret_access_key', sessionToken: 'aws_session_token',
    };
    const s3 = facts.provider === 'aws';
    const refresh = props.refreshInterval ?? Duration.hours(1);
    new RawExternalSecret(this, 'Resource', {
      metadata: { name: secret, namespace: props.namespace },
      spec: {
        secretStoreRef: {
          name: props.storeName,
          kind: props.namespacedStore ? ExternalSecretSpecSecretStoreRefKind.SECRET_STORE : ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE,
        },
        refreshInterval: `${refresh.toSeconds()}s`,
        target: {
          name: secret,
          creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER,
          deletionPolicy: ExternalSecretSpecTargetDeletionPolicy.RETAIN,
          template: s3 ? {
            engineVersion: ExternalSecretSpecTargetTemplateEngineVersion.V2,
            data: { [facts.credentialsKey]: ['[default]', ...keys.map((k) => `${ini[k.option]}={{ .${ini[k.option]} }}`), ''].join('\n') },
          } : undefined,
        },
        data: keys.map((k) => ({
          secretKey: s3 ? ini[k.option] : facts.credentialsKey,
          remoteRef: { key: k.ref.key, property: k.ref.property },
        })),
      },
    });
    this.locations = keys.map((k) => `Secret \`${secret}\` in namespace \`${props.namespace}\`, key \`${facts.credentialsKey}\` ← store \`${props.storeName}\`, key \`${k.ref.key}\`${k.ref.property ? `, property \`${k.ref.property}\`` : ''}`);
  }
}
