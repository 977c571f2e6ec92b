import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { ClusterBackupProps } from './cluster-backup-props';
import { configError } from './internal/errors';
import { checkDnsLabel } from './internal/names';
import { checkHttpUrlHost } from './internal/urls';
import type { PitfallAcknowledgements } from './policy/pitfall-acknowledgements';

/**
 * What ClusterBackup checks of its props before it composes anything: the combinations of kinds
 * that make sense, the options it decides itself (nested namespaces and acknowledgements), and
 * the names the runbook prints.
 * @internal
 */
export function checkClusterProps(C: string, props: ClusterBackupProps): void {
  const repository = props.repository;
  const databases = props.databases ?? [];
  const source = props.etcd?.source;
  if (props.etcd && !repository) throw configError(`${C}: repository is required to back up etcd (and the control-plane config)`);
  if (databases.length > 0 && !repository) throw configError(`${C}: repository is required to back up databases`);
  if (repository && !props.etcd && databases.length === 0) {
    throw configError(`${C}: repository is only used for etcd, control-plane config and database backups; a Velero-only cluster uses velero.storageLocation (pass the same definition there as velero.storageLocation.repository)`);
  }
  if (props.externalKeys && !repository) throw configError(`${C}: externalKeys creates the repository's Secrets: it needs repository`);
  checkInputs(C, props);
  if (props.etcd && props.managedControlPlane) {
    throw configError(`${C}: etcd and managedControlPlane are exclusive: a managed control plane gives no etcd access`);
  }
  if (!props.etcd && databases.length === 0 && (!props.velero || props.velero.schedules.length === 0)) {
    throw configError(`${C}: nothing to back up: set etcd, databases and/or velero.schedules`);
  }
  if (props.managedControlPlane && (!props.velero || props.velero.schedules.length === 0)) {
    throw configError(`${C}: a managed control plane is backed up by Velero only: set velero.schedules`);
  }
  if (props.etcd && !source) throw configError(`${C}: etcd.source is required, e.g. { source: EtcdSource.kubeadm() }`);
  if (props.controlPlaneConfig && !source?.usesHostPaths) {
    throw configError(`${C}: controlPlaneConfig backs up the control-plane nodes of an etcd on them (kubeadm, k3s, RKE2); ${source ? 'an external etcd has none here' : 'set etcd'}`);
  }
  // The composite decides where its jobs live (Pod Security differs): a nested namespace would
  // be silently overridden, so it is an error.
  const nestedOptions: Array<[string, { namespace?: string; acknowledge?: PitfallAcknowledgements } | undefined]> = [
    ['etcd', props.etcd], ['controlPlaneConfig', props.controlPlaneConfig], ['restoreDrill', props.restoreDrill],
    ...databases.map((d, k): [string, { namespace?: string; acknowledge?: PitfallAcknowledgements }] => [`databases[${k}]`, d]),
  ];
  for (const [option, nested] of nestedOptions) {
    if (nested?.namespace !== undefined) {
      throw configError(`${C}: ${option}.namespace: ClusterBackup places its jobs itself; set hostAccessNamespace (host-path jobs) or namespace (everything else) instead`);
    }
    // One place for opt-outs: the composite passes its own to every job.
    if (nested?.acknowledge !== undefined) {
      throw configError(`${C}: ${option}.acknowledge: ClusterBackup passes its own acknowledge to every job it composes; set acknowledge on the ClusterBackup instead`);
    }
  }
}

/**
 * What the runbook prints and the composed constructs would only check later, or not at all
 * (namespaces), or after a first use (Velero's s3Url is parsed for the in-cluster guard).
 */
function checkInputs(C: string, props: ClusterBackupProps): void {
  checkDnsLabel(`${C}: clusterName`, props.clusterName, 63);
  for (const option of ['hostAccessNamespace', 'namespace', 'veleroNamespace'] as const) {
    const value = props[option];
    if (value !== undefined) checkDnsLabel(`${C}: ${option}`, value, 63);
  }
  const s3Url = props.velero?.storageLocation?.s3Url;
  if (s3Url !== undefined) checkHttpUrlHost(`${C}: velero.storageLocation.s3Url`, s3Url);
}

/**
 * Velero marks a location Unavailable when its path holds directories other than its own
 * (velero pkg/persistence/object_store.go IsValid: "Backup store contains invalid top-level
 * directories"), and a restic repository with Velero's directories inside is not ours alone.
 * @internal
 */
export function checkVeleroPathApart(C: string, velero: string, restic: string[]): void {
  for (const r of restic) {
    if (r === velero || r.startsWith(`${velero}/`) || velero.startsWith(`${r}/`)) {
      throw configError(`${C}: velero.storageLocation.prefix puts Velero's location at ${velero}, which ${r.startsWith(`${velero}/`) ? 'contains' : r === velero ? 'is' : 'lies inside'} the restic repository ${r}; Velero marks a location whose path holds other directories Unavailable, so give it a path of its own (the default is '<clusterName>/velero')`);
    }
  }
}

/** A namespace labelled for one Pod Security level. @internal */
export function namespace(scope: Construct, id: string, name: string, level: string): kplus.Namespace {
  return new kplus.Namespace(scope, id, {
    metadata: {
      name,
      labels: {
        'pod-security.kubernetes.io/enforce': level,
        'pod-security.kubernetes.io/audit': level,
        'pod-security.kubernetes.io/warn': level,
      },
    },
  });
}

/**
 * The namespaces must not collide: one name cannot be both `privileged` and `restricted`, and
 * Velero's namespace is Velero's (Pod Security `restricted` there breaks its node agent).
 * @internal
 */
export function checkNamespaces(C: string, n: { hostNs: string; ns: string; veleroNs: string; hostAccess: boolean; etcd: boolean }): void {
  if (n.hostAccess && n.hostNs === n.ns) {
    throw configError(`${C}: hostAccessNamespace and namespace are both ${JSON.stringify(n.ns)}; the host-path jobs need Pod Security 'privileged' and everything else is kept 'restricted', so give them different namespaces`);
  }
  for (const [option, value] of [['namespace', n.ns], ['hostAccessNamespace', n.hostNs]] as const) {
    if ((option === 'namespace' ? n.etcd : n.hostAccess) && value === n.veleroNs) {
      throw configError(`${C}: ${option} is Velero's namespace ${JSON.stringify(value)}; ours get Pod Security labels (which would break Velero's node agent), so use another namespace`);
    }
  }
}
