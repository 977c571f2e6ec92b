import { checkSecretKey, checkSecretName } from '../internal/secret-checks';

/**
 * Which keys of the credentials Secret hold which value. Only the keys the repository's backend
 * needs are read (S3: access key pair; Azure: account key; GCS: service-account JSON; REST server:
 * user and password).
 */
export interface CredentialKeys {
  /**
   * S3 access key id.
   * @default 'AWS_ACCESS_KEY_ID'
   */
  readonly accessKeyId?: string;
  /**
   * S3 secret access key.
   * @default 'AWS_SECRET_ACCESS_KEY'
   */
  readonly secretAccessKey?: string;
  /**
   * S3 session token, for temporary credentials.
   * @default - no session token
   */
  readonly sessionToken?: string;
  /**
   * Azure storage account key.
   * @default 'AZURE_ACCOUNT_KEY'
   */
  readonly azureAccountKey?: string;
  /**
   * Google Cloud service-account key file (JSON).
   * @default 'credentials.json'
   */
  readonly gcsServiceAccountKey?: string;
  /**
   * User name at a restic REST server (HTTP basic auth).
   * @default 'RESTIC_REST_USERNAME'
   */
  readonly restUsername?: string;
  /**
   * Password at a restic REST server (HTTP basic auth).
   * @default 'RESTIC_REST_PASSWORD'
   */
  readonly restPassword?: string;
  /**
   * Velero's view of the same credentials: a cloud credentials FILE (for the AWS plugin, the
   * INI format `[default]\naws_access_key_id=…\naws_secret_access_key=…`).
   * @default 'cloud'
   */
  readonly cloudCredentialsFile?: string;
}

/**
 * How a backup repository is reached. Credentials are always references to Secrets that
 * exist in the cluster; nothing secret is rendered into the manifests.
 *
 * Keep a copy of these credentials outside the cluster: a restore happens when it is gone.
 */
export class Credentials {
  /**
   * Read the credentials from an existing Secret (in the namespace of the backup jobs).
   *
   * @param secretName name of the Secret
   * @param keys which keys of the Secret hold which value
   */
  public static fromSecret(secretName: string, keys: CredentialKeys = {}): Credentials {
    checkSecretName('Credentials.fromSecret(secretName)', secretName);
    const resolved: Required<Omit<CredentialKeys, 'sessionToken'>> & { sessionToken?: string } = {
      accessKeyId: keys.accessKeyId ?? 'AWS_ACCESS_KEY_ID',
      secretAccessKey: keys.secretAccessKey ?? 'AWS_SECRET_ACCESS_KEY',
      sessionToken: keys.sessionToken,
      azureAccountKey: keys.azureAccountKey ?? 'AZURE_ACCOUNT_KEY',
      gcsServiceAccountKey: keys.gcsServiceAccountKey ?? 'credentials.json',
      restUsername: keys.restUsername ?? 'RESTIC_REST_USERNAME',
      restPassword: keys.restPassword ?? 'RESTIC_REST_PASSWORD',
      cloudCredentialsFile: keys.cloudCredentialsFile ?? 'cloud',
    };
    for (const [field, key] of Object.entries(resolved)) {
      if (key !== undefined) checkSecretKey(`Credentials.fromSecret(keys.${field})`, key);
    }
    return new Credentials(secretName, resolved);
  }

  /** Name of the Secret holding the credentials. */
  public readonly secretName: string;
  /** The keys inside the Secret, with defaults applied. */
  public readonly keys: CredentialKeys;

  private constructor(secretName: string, keys: CredentialKeys) {
    this.secretName = secretName;
    this.keys = keys;
  }
}
