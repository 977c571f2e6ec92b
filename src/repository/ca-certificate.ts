import { SecretKeyRef } from './secret-key-ref';
import { checkSecretKeyRef, checkSecretName, checkSecretKey } from '../internal/secret-checks';

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
