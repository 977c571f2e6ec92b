/**
 * A key of an existing Kubernetes Secret, in the namespace of the workload that uses it.
 */
export interface SecretKeyRef {
  /** Name of the Secret. */
  readonly name: string;
  /** Key inside the Secret. */
  readonly key: string;
}
