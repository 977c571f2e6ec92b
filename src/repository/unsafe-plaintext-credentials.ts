import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Credentials } from './credentials';
import { configError } from '../internal/errors';

/**
 * Props of {@link UnsafePlaintextCredentialsSecret}.
 */
export interface UnsafePlaintextCredentialsSecretProps {
  /** Name of the Secret. */
  readonly name: string;
  /**
   * Namespace of the Secret (Velero reads its credentials only from its own namespace).
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /** S3 access key id — ends up in the rendered YAML in plain text. */
  readonly accessKeyId: string;
  /** S3 secret access key — ends up in the rendered YAML in plain text. */
  readonly secretAccessKey: string;
}

/**
 * A Secret with S3 credentials written into the manifests IN PLAIN TEXT: for throwaway test
 * clusters only, never for YAML that is committed to git. Use `Credentials.fromSecret` with a
 * Secret managed elsewhere (sealed-secrets, external-secrets, ...) for anything real.
 *
 * It holds both views of the same credentials: restic's environment keys
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) and Velero's cloud credentials file (`cloud`,
 * AWS INI format).
 */
export class UnsafePlaintextCredentialsSecret extends Construct {
  /** Credentials referencing this Secret. */
  public readonly credentials: Credentials;

  constructor(scope: Construct, id: string, props: UnsafePlaintextCredentialsSecretProps) {
    super(scope, id);
    for (const [k, v] of [['accessKeyId', props.accessKeyId], ['secretAccessKey', props.secretAccessKey]]) {
      if (!v || /[\s\n]/.test(v)) throw configError(`UnsafePlaintextCredentialsSecret: ${k} must be a non-empty value without whitespace`);
    }
    this.credentials = Credentials.fromSecret(props.name);
    new kplus.Secret(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, annotations: { 'backup.cdk8s.io/plaintext': 'unsafe: credentials in plain text' } },
      stringData: {
        AWS_ACCESS_KEY_ID: props.accessKeyId,
        AWS_SECRET_ACCESS_KEY: props.secretAccessKey,
        cloud: `[default]\naws_access_key_id=${props.accessKeyId}\naws_secret_access_key=${props.secretAccessKey}\n`,
      },
    });
  }
}
