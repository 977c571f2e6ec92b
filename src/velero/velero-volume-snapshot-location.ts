import { Construct } from 'constructs';
import { VolumeSnapshotLocation as RawVolumeSnapshotLocation } from '../imports/velero.io';
import { configError } from '../internal/errors';
import { checkObjectName } from '../internal/names';
import { BackupDefaults } from '../job/backup-defaults';
import { Credentials } from '../repository/credentials';

/**
 * Props of {@link VeleroVolumeSnapshotLocation}.
 */
export interface VeleroVolumeSnapshotLocationProps {
  /** Volume-snapshotter plugin, e.g. `aws`, `gcp`, `azure`. */
  readonly provider: string;
  /**
   * Name of the location.
   * @default 'default'
   */
  readonly name?: string;
  /**
   * Velero's namespace.
   * @default 'velero'
   */
  readonly namespace?: string;
  /**
   * Provider config (e.g. `region`, Azure `resourceGroup`, GCP `snapshotLocation`).
   * @default - none
   */
  readonly config?: { [key: string]: string };
  /**
   * Credentials (a cloud credentials file in a Secret in Velero's namespace).
   * @default - the Velero deployment's own credentials
   */
  readonly credentials?: Credentials;
}

/**
 * A Velero VolumeSnapshotLocation (where storage-level volume snapshots are taken), in Velero's
 * namespace.
 */
export class VeleroVolumeSnapshotLocation extends Construct {
  /** Name of the location (for `VeleroSchedule.volumeSnapshotLocations`). */
  public readonly locationName: string;

  constructor(scope: Construct, id: string, props: VeleroVolumeSnapshotLocationProps) {
    super(scope, id);
    const C = 'VeleroVolumeSnapshotLocation';
    if (!props.provider || !/^[a-z0-9][a-z0-9./-]*$/.test(props.provider)) {
      throw configError(`${C}: provider: expected a plugin name like 'aws' or 'velero.io/aws'; got ${JSON.stringify(props.provider)}`);
    }
    this.locationName = checkObjectName(`${C}: name`, props.name ?? 'default', 253);
    new RawVolumeSnapshotLocation(this, 'Resource', {
      metadata: { name: this.locationName, namespace: checkObjectName(`${C}: namespace`, props.namespace ?? BackupDefaults.VELERO_NAMESPACE, 63) },
      spec: {
        provider: props.provider,
        config: props.config && Object.keys(props.config).length > 0 ? { ...props.config } : undefined,
        credential: props.credentials ? { name: props.credentials.secretName, key: props.credentials.keys.cloudCredentialsFile! } : undefined,
      },
    });
  }
}
