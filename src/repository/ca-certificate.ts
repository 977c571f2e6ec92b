import { SecretKeyRef } from './secret-key-ref';
import { configError } from '../internal/errors';
import { checkSecretKeyRef, checkSecretName, checkSecretKey } from '../internal/secret-checks';

/** Far beyond a real CA bundle; keeps a pasted file or key out of the manifests. */
const MAX_PEM = 64 * 1024;

/**
 * A PEM CA certificate (bundle) that signs a private object-storage endpoint. One type for the
 * restic repository and Velero's location: each renders it the way its reader takes it.
 */
export class CaCertificate {
  /**
   * The CA bundle is a key of an existing Secret. restic jobs mount it; a Velero location
   * renders `objectStorage.caCertRef` (Velero 1.18 and newer), with the Secret in Velero's
   * namespace.
   */
  public static fromSecret(ref: SecretKeyRef): CaCertificate {
    checkSecretKeyRef('CaCertificate.fromSecret(ref)', ref);
    return new CaCertificate('secret', ref.name, ref.key);
  }

  /**
   * The CA bundle is a key of an existing ConfigMap (a CA certificate is not secret). Velero
   * cannot read a ConfigMap: a location from this repository is a synth error.
   */
  public static fromConfigMap(name: string, key: string = 'ca.crt'): CaCertificate {
    checkSecretName('CaCertificate.fromConfigMap(name)', name);
    checkSecretKey('CaCertificate.fromConfigMap(key)', key);
    return new CaCertificate('configMap', name, key);
  }

  /**
   * The CA bundle itself, PEM (`-----BEGIN CERTIFICATE-----` blocks): public, so it may be in
   * the manifests. restic jobs get it in their scripts ConfigMap; a Velero location renders it
   * as `objectStorage.caCert`, which every Velero version reads. The restore runbook prints it.
   */
  public static fromPem(pem: string): CaCertificate {
    const F = 'CaCertificate.fromPem(pem)';
    const text = (pem ?? '').trim();
    if (text.length > MAX_PEM) throw configError(`${F}: expected a PEM CA bundle of at most ${MAX_PEM} bytes; got ${text.length}`);
    if (/PRIVATE KEY/.test(text)) throw configError(`${F}: this PEM holds a private key, which must never be in the manifests; pass only the CA certificate(s)`);
    const blocks = text.match(/-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g) ?? [];
    const rest = blocks.reduce((t, b) => t.replace(b, ''), text).trim();
    if (blocks.length === 0 || rest !== '') {
      throw configError(`${F}: expected one or more '-----BEGIN CERTIFICATE-----' ... '-----END CERTIFICATE-----' blocks and nothing else (the CA's PEM file, e.g. ca.crt); got ${JSON.stringify(text.slice(0, 60))}${text.length > 60 ? '…' : ''}`);
    }
    return new CaCertificate('inline', '', 'ca.crt', `${blocks.join('\n')}\n`);
  }

  private constructor(
    /** 'secret', 'configMap' or 'inline'. */
    public readonly source: string,
    /** Name of the Secret or ConfigMap ('' when inline). */
    public readonly name: string,
    /** Key holding the PEM bundle. */
    public readonly key: string,
    /** The PEM bundle, when inline. */
    public readonly pem?: string,
  ) {}
}
