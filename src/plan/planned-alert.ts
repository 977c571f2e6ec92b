/**
 * One alert that watches a job, and when it fires, for the plan (`describe()`).
 * @internal
 */
export interface PlannedAlert {
  /** The alert name, e.g. `EtcdBackupFailed`. */
  readonly alert: string;
  /** Its `severity` label. */
  readonly severity: string;
  /** When it fires, in words, e.g. `when no run has succeeded for 2 h ...`. */
  readonly fires: string;
}
