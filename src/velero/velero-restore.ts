import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { checkNames, goDuration } from './velero-common';
import { VeleroResourceFilters } from './velero-resource-filters';
import { Restore as RawRestore } from '../imports/velero.io';
import { configError } from '../internal/errors';
import { checkLabels, checkObjectName } from '../internal/names';
import { BackupDefaults } from '../job/backup-defaults';

/**
 * Props of {@link VeleroRestore}: restore-as-code, and restore drills into scratch namespaces.
 */
export interface VeleroRestoreProps extends VeleroResourceFilters {
  /**
   * Restore this Backup. Exactly one of `backupName` and `scheduleName`.
   * @default - none
   */
  readonly backupName?: string;
  /**
   * Restore the newest completed Backup of this Schedule.
   * @default - none
   */
  readonly scheduleName?: string;
  /**
   * Restore namespace `from` as namespace `to`, e.g. `{ shop: 'shop-drill' }` for a drill.
   * @default - same namespaces
   */
  readonly namespaceMapping?: { [from: string]: string };
  /**
   * Restore only objects with these labels.
   * @default - no filter
   */
  readonly labelSelector?: { [key: string]: string };
  /**
   * Restore persistent volumes from their snapshots / file-system backups.
   * @default true
   */
  readonly restorePVs?: boolean;
  /**
   * Update resources that already exist (`existingResourcePolicy: update`) instead of skipping them.
   * @default false
   */
  readonly updateExistingResources?: boolean;
  /**
   * Keep Services' node ports.
   * @default - Velero's default
   */
  readonly preserveNodePorts?: boolean;
  /**
   * How long to wait for asynchronous item operations.
   * @default - Velero's default (4 hours)
   */
  readonly itemOperationTimeout?: Duration;
}

/**
 * A Velero Restore, in Velero's namespace.
 */
export class VeleroRestore extends Construct {
  constructor(scope: Construct, id: string, props: VeleroRestoreProps) {
    super(scope, id);
    const C = 'VeleroRestore';
    if ((props.backupName === undefined) === (props.scheduleName === undefined)) {
      throw configError(`${C}: set exactly one of backupName and scheduleName`);
    }
    if (props.backupName !== undefined) checkObjectName(`${C}: backupName`, props.backupName, 253);
    if (props.scheduleName !== undefined) checkObjectName(`${C}: scheduleName`, props.scheduleName, 63);
    for (const [from, to] of Object.entries(props.namespaceMapping ?? {})) {
      checkObjectName(`${C}: namespaceMapping (from)`, from, 63);
      checkObjectName(`${C}: namespaceMapping (to)`, to, 63);
    }
    checkLabels(`${C}: labelSelector`, props.labelSelector);
    new RawRestore(this, 'Resource', {
      metadata: {
        name: checkObjectName(`${C}: name`, props.name ?? id.toLowerCase(), 253),
        namespace: checkObjectName(`${C}: namespace`, props.namespace ?? BackupDefaults.VELERO_NAMESPACE, 63),
      },
      spec: {
        backupName: props.backupName,
        scheduleName: props.scheduleName,
        includedNamespaces: checkNames(`${C}: includedNamespaces`, props.includedNamespaces),
        excludedNamespaces: checkNames(`${C}: excludedNamespaces`, props.excludedNamespaces),
        includedResources: checkNames(`${C}: includedResources`, props.includedResources),
        excludedResources: checkNames(`${C}: excludedResources`, props.excludedResources),
        includeClusterResources: props.includeClusterResources,
        namespaceMapping: props.namespaceMapping ? { ...props.namespaceMapping } : undefined,
        labelSelector: props.labelSelector ? { matchLabels: { ...props.labelSelector } } : undefined,
        restorePVs: props.restorePVs ?? true,
        existingResourcePolicy: props.updateExistingResources ? 'update' : 'none',
        preserveNodePorts: props.preserveNodePorts,
        itemOperationTimeout: props.itemOperationTimeout ? goDuration(`${C}: itemOperationTimeout`, props.itemOperationTimeout) : undefined,
      },
    });
  }
}
