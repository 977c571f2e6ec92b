import { Duration } from 'cdk8s';
import { configError } from '../internal/errors';

/**
 * Options of {@link Immutability.s3ObjectLock}.
 */
export interface S3ObjectLockOptions {
  /**
   * The bucket's default retention (Object Lock `DefaultRetention`): how long every object
   * version restic writes stays locked. It must cover the longest time-based retention of the
   * repository's jobs plus the time it takes to notice an attack (the maintenance job's
   * `restic check` runs and its alert fires): a shorter lock is a synth error that names the
   * minimum. Whole days.
   */
  readonly lockPeriod: Duration;
  /**
   * GOVERNANCE mode (users with `s3:BypassGovernanceRetention` can shorten it) instead of
   * COMPLIANCE (nobody can, not even the account's root user, until the period ends).
   * @default false
   */
  readonly governance?: boolean;
}

/**
 * What keeps written backups from being deleted or overwritten even by keys that may write:
 * a property of the storage, which this library cannot create, only declare, check against the
 * retention and the roles, and prove at every run (the backup jobs' delete probe).
 *
 * Declaring it makes the retention time-based (`--keep-within`, restic's advice for append-only
 * repositories: with count-based tiers, a writer could plant snapshots that push real ones out)
 * and requires the roles to be split (`maintainerCredentials`): only the maintenance job prunes.
 *
 * GCS bucket retention policies and Azure container immutability policies lock restic's lock
 * files too, so no restic command could release its lock (restic#1544): they are not offered.
 * Split roles with IAM do not depend on them.
 */
export class Immutability {
  /**
   * S3 Object Lock on a versioned bucket (`BackupRepository.s3` only). A writer's DELETE
   * becomes a delete marker and an overwrite a new version; the locked versions stay until the
   * lock period ends, and the runbook's "backups deleted or overwritten" section brings them back.
   */
  public static s3ObjectLock(options: S3ObjectLockOptions): Immutability {
    if (!options || !options.lockPeriod) {
      throw configError('Immutability.s3ObjectLock({ lockPeriod }): lockPeriod is required (the bucket\'s default retention), e.g. Duration.days(30)');
    }
    const days = options.lockPeriod.toHours() / 24;
    if (!Number.isInteger(days) || days < 1) {
      throw configError(`Immutability.s3ObjectLock({ lockPeriod }): S3 Object Lock counts whole days (DefaultRetention.Days); use a whole number of days ≥ 1, e.g. Duration.days(30); got ${options.lockPeriod.toHumanString()}`);
    }
    return new Immutability('s3-object-lock', `S3 Object Lock (${options.governance ? 'GOVERNANCE' : 'COMPLIANCE'}, ${days} days) on a versioned bucket`, days, options.governance ? 'GOVERNANCE' : 'COMPLIANCE');
  }

  /**
   * restic's REST server started with `--append-only` at the writer's URL
   * (`BackupRepository.restServer` only): it refuses every DELETE but those of lock files.
   * The maintainer reaches the same data at another URL, served by a rest-server without
   * `--append-only` that the cluster cannot reach.
   */
  public static restServerAppendOnly(): Immutability {
    return new Immutability('append-only', 'restic REST server with --append-only at the writer\'s URL', undefined, undefined);
  }

  /** `s3-object-lock` or `append-only`. */
  public readonly kind: string;
  /** What the storage must be, in words (for the plan). */
  public readonly description: string;
  /** The Object Lock period in days, when objects are locked for a time. */
  public readonly lockDays?: number;
  /** The Object Lock mode, `COMPLIANCE` or `GOVERNANCE`. */
  public readonly lockMode?: string;

  private constructor(kind: string, description: string, lockDays: number | undefined, lockMode: string | undefined) {
    this.kind = kind;
    this.description = description;
    this.lockDays = lockDays;
    this.lockMode = lockMode;
  }
}
