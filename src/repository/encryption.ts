import { SecretKeyRef } from './secret-key-ref';
import { checkSecretKeyRef } from '../internal/secret-checks';

/**
 * Client-side encryption of a backup repository.
 *
 * restic encrypts and authenticates everything it writes (AES-256-CTR + Poly1305) with a key
 * derived from the repository password. There is deliberately no way to build an unencrypted
 * repository: a backup of etcd holds every Secret of the cluster. Server-side encryption of the
 * bucket (e.g. S3 SSE-KMS) may be added on top, never instead.
 */
export class Encryption {
  /**
   * Encrypt with the repository password stored in an existing Secret.
   *
   * Keep a copy of this password OUTSIDE the cluster: without it no backup can be restored.
   */
  public static repositoryPassword(password: SecretKeyRef): Encryption {
    return new Encryption(checkSecretKeyRef('Encryption.repositoryPassword(password)', password));
  }

  /** The Secret key that holds the repository password. */
  public readonly password: SecretKeyRef;

  private constructor(password: SecretKeyRef) {
    this.password = password;
  }
}
