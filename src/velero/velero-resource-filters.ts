/**
 * Which objects a Velero Backup or Restore covers: the filters Schedules and Restores share.
 */
export interface VeleroResourceFilters {
  /**
   * Name of the object.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Velero's namespace (it reads Schedules, locations and Restores only there).
   * @default 'velero'
   */
  readonly namespace?: string;
  /**
   * Namespaces to include.
   * @default - all
   */
  readonly includedNamespaces?: string[];
  /**
   * Namespaces to leave out.
   * @default - none
   */
  readonly excludedNamespaces?: string[];
  /**
   * Resources (`kind.group` or plural) to include.
   * @default - all
   */
  readonly includedResources?: string[];
  /**
   * Resources to leave out.
   * @default - none
   */
  readonly excludedResources?: string[];
  /**
   * Include cluster-scoped resources (old-style filter; do not combine with the scoped filters).
   * @default - Velero decides (cluster resources related to included namespaces)
   */
  readonly includeClusterResources?: boolean;
}
