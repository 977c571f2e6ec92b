import { Cron } from 'cdk8s';
import { longestGapHours } from './internal/schedule';
import { BackupJob } from './job/backup-job';
import { PitfallAcknowledgements } from './pitfall-acknowledgements';
import { Retention } from './policy/retention';
import { BackupRepository } from './repository/backup-repository';


/**
 * What the pitfall rules look at: the composed jobs as they were built (their resolved
 * schedules and retentions, never defaults re-applied here), and the inputs that have no job.
 * @internal
 */
export interface PitfallContext {
  readonly repository?: BackupRepository;
  readonly externalKeys: boolean;
  /** Endpoints of every storage the backups go to (restic repository, Velero's location). */
  readonly endpoints: string[];
  readonly etcd: boolean;
  readonly managedControlPlane: boolean;
  readonly drill: boolean;
  /** Paths of the config backup, when it was given paths of its own that leave out the PKI. */
  readonly configPathsWithoutPki?: { readonly paths: string[]; readonly pki: string[] };
  /** Jobs whose retention must keep a day: the option name, the job. */
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
    acknowledgement: 'inClusterRepository',
    check: (c) => c.endpoints.filter((e) => inCluster(new URL(e).hostname)).map((e) =>
      `the storage endpoint ${e} looks like it is inside the cluster; a backup that dies with the cluster is no backup. Use off-cluster storage, or set acknowledge.inClusterRepository: true`),
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
    check: (c) => c.retentions.flatMap((r) => shortRetention(r.option, r.retention, r.schedule)),
  },
];

/**
 * Every pitfall the context shows, minus the acknowledged ones, prefixed with `prefix`.
 * @internal
 */
export function pitfalls(prefix: string, context: PitfallContext, ack: PitfallAcknowledgements): string[] {
  return RULES.filter((r) => !ack[r.acknowledgement]).flatMap((r) => r.check(context)).map((m) => `${prefix}: ${m}`);
}

/** The retention pitfall input of a job: its resolved schedule and retention. @internal */
export function jobRetention(option: string, job: BackupJob): { option: string; retention?: Retention; schedule: Cron } {
  return { option, retention: job.retention, schedule: job.schedule };
}

function inCluster(host: string): boolean {
  return /\.svc(\.|$)|\.cluster\.local$/.test(host) || host === 'localhost' || /^127\./.test(host) || !host.includes('.');
}

/**
 * How long back a retention keeps backups, at least, for a schedule: a policy that covers less
 * than a day cannot undo yesterday's mistake.
 */
function shortRetention(option: string, r: Retention | undefined, schedule: Cron): string[] {
  if (!r || r.daily || r.weekly || r.monthly || r.yearly) return [];
  const gap = longestGapHours(schedule.expressionString.trim());
  const spanHours = Math.max(
    r.keepWithin ? r.keepWithin.toHours() : 0,
    (r.last ?? 0) * gap,
    (r.hourly ?? 0) * Math.max(1, gap),
  );
  return spanHours < 24
    ? [`${option} (${r}) keeps only about ${spanHours} hours of backups; keep at least a day (e.g. add a daily tier), or set acknowledge.shortRetention: true`]
    : [];
}
