import { Cron } from 'cdk8s';
import { inHostSpelling } from './internal/errors';
import { PitfallAcknowledgements } from './policy/pitfall-acknowledgements';
import { inClusterEndpointPitfall, shortRetentionPitfall } from './policy/pitfall-rules';
import { Retention } from './policy/retention';
import { BackupRepository } from './repository/backup-repository';


/**
 * What the composite's pitfall rules look at: what only the composition shows (no etcd backup,
 * no drill, keys, PKI left out) and the inputs that have no backup job (Velero). Each backup job
 * checks its own storage and retention (policy/pitfall-rules.ts) with the same opt-outs.
 * @internal
 */
export interface PitfallContext {
  readonly repository?: BackupRepository;
  readonly externalKeys: boolean;
  /** Endpoints of the storage no backup job checks itself (Velero's location). */
  readonly endpoints: string[];
  readonly etcd: boolean;
  readonly managedControlPlane: boolean;
  readonly drill: boolean;
  /** Paths of the config backup, when it was given paths of its own that leave out the PKI. */
  readonly configPathsWithoutPki?: { readonly paths: string[]; readonly pki: string[] };
  /** Retentions no backup job checks itself (Velero's): the option name, the retention, the schedule. */
  readonly retentions: Array<{ readonly option: string; readonly retention?: Retention; readonly schedule: Cron }>;
}

/**
 * One named rule: the acknowledgement that switches it off, and what it finds.
 * @internal
 */
interface PitfallRule {
  readonly acknowledgement: keyof PitfallAcknowledgements;
  check(c: PitfallContext): string[];
}

const RULES: PitfallRule[] = [
  {
    acknowledgement: 'keysStoredOutsideCluster',
    check: (c) => c.repository && !c.externalKeys
      ? [`the repository password (Secret ${c.repository.encryption.password.name}) and the storage credentials (Secret ${c.repository.credentials.secretName}) must also exist outside the cluster, or no backup can be restored once it is gone; set externalKeys (external-secrets.io) or keep copies in your vault and set acknowledge.keysStoredOutsideCluster: true`]
      : [],
  },
  {
    acknowledgement: 'singleCredential',
    check: (c) => c.repository && !c.repository.splitRoles
      ? [`the backup jobs' keys (Secret ${c.repository.credentials.secretName}) can delete every backup: whoever compromises the cluster can erase its off-cluster copies too. Split the roles: set maintainerCredentials on the repository (a maintenance job then prunes) and give each role its policy (BackupRepository.accessPolicies()), or set acknowledge.singleCredential: true`]
      : [],
  },
  {
    acknowledgement: 'inClusterRepository',
    check: (c) => c.endpoints.flatMap(inClusterEndpointPitfall),
  },
  {
    acknowledgement: 'noEtcdBackup',
    check: (c) => !c.etcd && !c.managedControlPlane
      ? ['no etcd backup: set etcd (e.g. { source: EtcdSource.kubeadm() }), or managedControlPlane: true for EKS/GKE/AKS, or acknowledge.noEtcdBackup: true']
      : [],
  },
  {
    acknowledgement: 'noRestoreDrill',
    check: (c) => !c.drill && !c.managedControlPlane
      ? ['no restore drill (it drills the etcd backup): set etcd, or acknowledge.noRestoreDrill: true']
      : [],
  },
  {
    acknowledgement: 'configWithoutPki',
    check: (c) => c.configPathsWithoutPki
      ? [`the config backup paths (${c.configPathsWithoutPki.paths.join(', ')}) do not include the cluster PKI (${c.configPathsWithoutPki.pki.join(' or ')}); without the CA and service-account keys a restored etcd is unusable. Add it, or set acknowledge.configWithoutPki: true`]
      : [],
  },
  {
    acknowledgement: 'shortRetention',
    check: (c) => c.retentions.flatMap((r) => shortRetentionPitfall(r.option, r.retention, r.schedule)),
  },
];

/**
 * Every pitfall the context shows, minus the acknowledged ones, prefixed with `prefix`.
 * @internal
 */
export function pitfalls(prefix: string, context: PitfallContext, ack: PitfallAcknowledgements): string[] {
  return RULES.filter((r) => !ack[r.acknowledgement]).flatMap((r) => r.check(context)).map((m) => inHostSpelling(`${prefix}: ${m}`));
}

