import { configError } from '../internal/errors';
/**
 * The Velero server version the manifests are rendered for. It decides the fields that exist
 * only from some version on, and synth fails for a feature the version lacks, naming the first
 * version that has it: a field an older server does not know is pruned by the API server (or
 * makes the object fail validation), with no error at apply time.
 *
 * The default is the oldest supported version, 1.14, so that what renders is understood by
 * every supported server; set the version your cluster runs to use newer features.
 */
export class VeleroVersion {
  /** Velero 1.14 (the oldest supported). */
  public static readonly V1_14 = new VeleroVersion(1, 14);
  /** Velero 1.15: `CRON_TZ=` time zones in Schedules (robfig/cron v3). */
  public static readonly V1_15 = new VeleroVersion(1, 15);
  /** Velero 1.16. */
  public static readonly V1_16 = new VeleroVersion(1, 16);
  /** Velero 1.17. */
  public static readonly V1_17 = new VeleroVersion(1, 17);
  /** Velero 1.18: `objectStorage.caCertRef` (a CA bundle from a Secret) in storage locations. */
  public static readonly V1_18 = new VeleroVersion(1, 18);

  /** The oldest version the library renders for. */
  public static readonly MINIMUM = VeleroVersion.V1_14;

  /**
   * A version from its text: `1.16`, `1.16.2` or `v1.16.2` (the patch does not change the API).
   */
  public static of(version: string): VeleroVersion {
    const m = /^v?(\d+)\.(\d+)(?:\.\d+)?$/.exec(version ?? '');
    if (!m) throw configError(`VeleroVersion.of: expected a version like '1.16' or 'v1.16.2'; got ${JSON.stringify(version)}`);
    const v = new VeleroVersion(Number(m[1]), Number(m[2]));
    if (v.major !== 1 || v.minor < VeleroVersion.MINIMUM.minor) {
      throw configError(`VeleroVersion.of: ${version} is older than the oldest supported Velero, ${VeleroVersion.MINIMUM}; upgrade Velero`);
    }
    return v;
  }

  private constructor(
    /** The major version (1). */
    public readonly major: number,
    /** The minor version. */
    public readonly minor: number,
  ) {}

  /** `1.16`. */
  public toString(): string {
    return `${this.major}.${this.minor}`;
  }

  /**
   * Fails synth when this version lacks a feature: `option` needs `since`.
   * @internal
   */
  public _require(option: string, since: VeleroVersion, what: string): void {
    if (this.minor < since.minor) {
      throw configError(`${option}: ${what} needs Velero ${since} or newer, and the manifests are rendered for Velero ${this}; set the Velero version (veleroVersion: VeleroVersion.V${since.major}_${since.minor}) if your cluster runs it, or drop ${option.split(': ').pop()}`);
    }
  }

  /** @internal */
  public _atLeast(v: VeleroVersion): boolean {
    return this.minor >= v.minor;
  }
}
