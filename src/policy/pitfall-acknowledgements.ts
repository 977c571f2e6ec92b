/**
 * Explicit opt-outs of the pitfall checks. Each one names the risk you accept.
 */
export interface PitfallAcknowledgements {
  /**
   * Accept a self-managed control plane without etcd snapshots (API objects from Velero only:
   * no cluster state, no Secrets as etcd had them).
   * @default false
   */
  readonly noEtcdBackup?: boolean;
  /**
   * Accept a repository endpoint inside the cluster (`*.svc`, `localhost`, a bare host name): a
   * backup that dies with the cluster is no backup.
   * @default false
   */
  readonly inClusterRepository?: boolean;
  /**
   * Accept a config backup that does not include the cluster's PKI.
   * @default false
   */
  readonly configWithoutPki?: boolean;
  /**
   * Accept backups that are never test-restored.
   * @default false
   */
  readonly noRestoreDrill?: boolean;
  /**
   * Accept a retention that keeps less than a day of history.
   * @default false
   */
  readonly shortRetention?: boolean;
  /**
   * Accept backups nobody is alerted about when they stop (no PrometheusRule: e.g. no
   * Prometheus operator in the cluster).
   * @default false
   */
  readonly noAlerts?: boolean;
  /**
   * Accept one credential for every role of the repository: the backup jobs' keys can delete
   * every backup, so whoever compromises the cluster (a Secret reader, root on a control-plane
   * node) can erase the off-cluster copies too.
   * @default false
   */
  readonly singleCredential?: boolean;
  /**
   * Confirm that the repository password and the storage credentials are ALSO kept outside the
   * cluster (password manager, vault): a restore happens when the cluster and its Secrets are
   * gone. Required, because the Secrets this library references live in the cluster.
   * @default false
   */
  readonly keysStoredOutsideCluster?: boolean;
}
