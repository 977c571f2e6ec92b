import { configError } from '../internal/errors';
/**
 * What an etcd backup does when the cluster suddenly holds far fewer keys than before.
 *
 * A backup of a wiped cluster succeeds, and its restore drill passes (the drill compares a backup
 * only with what that same backup recorded); without a guard, the retention then goes on
 * pruning the snapshots taken before the loss, hour by hour, until none is left. With the
 * guard, a backup whose key count dropped by more than the threshold against the newest
 * accepted snapshot of the same job is kept (tagged `count-drop`) together with every older
 * snapshot, nothing is pruned, and the Job fails so its alert fires. Every later run fails the
 * same way until an operator restores or accepts the drop (`restic tag --remove count-drop <id>`,
 * the command is in the job's log).
 */
export class KeyDropGuard {
  /**
   * Fail, keeping every snapshot, when the key count dropped by more than `percent` against the
   * newest accepted snapshot.
   * @param percent a whole number from 1 to 99
   */
  public static maxDropPercent(percent: number): KeyDropGuard {
    if (!Number.isInteger(percent) || percent < 1 || percent > 99) {
      throw configError(`KeyDropGuard.maxDropPercent(percent): expected a whole number from 1 to 99 (the drop in etcd keys, in percent, that fails the backup and stops pruning); got ${percent}`);
    }
    return new KeyDropGuard(percent);
  }

  /**
   * No guard: a backup of a wiped cluster succeeds and the retention prunes the snapshots taken
   * before the loss. Only for clusters whose key count legitimately collapses between two runs.
   */
  public static unguardedAcceptingDataLoss(): KeyDropGuard {
    return new KeyDropGuard(undefined);
  }

  private constructor(
    /** The largest drop in keys (percent) that still passes; undefined: no guard. */
    public readonly percent: number | undefined,
  ) {}

  /** Human-readable, for error messages and reviews. */
  public toString(): string {
    return this.percent === undefined ? 'unguarded' : `fail above a ${this.percent}% drop in keys`;
  }
}
