import { configError } from '../internal/errors';
import { checkImage } from '../job/backup-job';

/**
 * Options of {@link EtcdTools.imageVolume}.
 */
export interface EtcdToolsImageVolumeOptions {
  /**
   * Where the etcd binaries are inside the etcd image.
   * @default '/usr/local/bin' (registry.k8s.io/etcd, gcr.io/etcd-development/etcd, quay.io/coreos/etcd)
   */
  readonly binDir?: string;
}

/**
 * How the etcd tools (`etcdctl` for the backup; `etcdutl` and `etcd` for the restore drill)
 * reach a container that has a shell. The cluster's own etcd image has no shell from etcd 3.6
 * (`registry.k8s.io/etcd` since 3.6.6 and every 3.7 tag are distroless/static-debian12: etcd,
 * etcdctl, etcdutl and nothing else; etcd-io/etcd `Dockerfile` @v3.6.0), so no container of this
 * library ever runs a script in it.
 */
export class EtcdTools {
  /**
   * The default: the etcd image (`images.etcd`, by default the one of `etcdVersion`) is mounted
   * read-only as an image volume (`volumes[].image`, KEP-4639) into the container that runs the
   * scripts, the restic image's (busybox shell); the scripts run its binaries from there. The
   * tools are then exactly the cluster's, and no image is built or mirrored for them.
   *
   * Needs image volumes: on by default from Kubernetes 1.35; 1.33 and 1.34 with the
   * `ImageVolume` feature gate; a runtime that supports them (containerd ≥ 2.1, CRI-O ≥ 1.31).
   * An API server without them rejects the CronJob (kubectl validates strictly) or drops the
   * field; use {@link EtcdTools.shellImage} there.
   */
  public static imageVolume(options: EtcdToolsImageVolumeOptions = {}): EtcdTools {
    const binDir = options.binDir ?? '/usr/local/bin';
    if (!/^(\/[A-Za-z0-9._+-]+)+$/.test(binDir) || binDir.split('/').some((s) => s === '.' || s === '..')) {
      throw configError(`EtcdTools.imageVolume: binDir must be an absolute, normalized path inside the etcd image, like '/usr/local/bin'; got ${JSON.stringify(binDir)}`);
    }
    return new EtcdTools(undefined, binDir);
  }

  /**
   * For clusters without image volumes: an image that has a POSIX `/bin/sh` with the usual
   * utilities and, on its `PATH`, `etcdctl` (the backup: any etcd 3.5+ client talks to 3.5–3.7
   * servers) and `etcdutl` and `etcd` of the cluster's etcd minor (the drill). Build it from the
   * cluster's image, e.g. `FROM alpine:3.22` + `COPY --from=registry.k8s.io/etcd:3.6.11-0
   * /usr/local/bin/ /usr/local/bin/` (README, "etcd tools"). Every container of ours that needs
   * the etcd tools runs in it; the rendered manifests use only the Kubernetes 1.28 API.
   * @param image the image reference, pinned by tag or digest
   */
  public static shellImage(image: string): EtcdTools {
    checkImage('EtcdTools.shellImage: image', image);
    return new EtcdTools(image, undefined);
  }

  private constructor(
    /** The image with a shell and the tools, when not mounted from the etcd image. @internal */
    public readonly _shellImage: string | undefined,
    /** Where the binaries are in the etcd image, when mounted. @internal */
    public readonly _binDir: string | undefined,
  ) {}

  /** Whether the etcd image is mounted as an image volume (true) or a shell image carries the tools. */
  public get mountsEtcdImage(): boolean {
    return this._shellImage === undefined;
  }

  /**
   * What a container that runs etcd tools needs: its image, the directory of the tools (put
   * first on PATH by the scripts) and the image volume to mount, if any.
   * @internal
   */
  public _bind(etcdImage: string, resticImage: string): EtcdToolsBinding {
    if (this._shellImage !== undefined) return { image: this._shellImage };
    return {
      image: resticImage,
      toolsDir: `${ETCD_IMAGE_MOUNT}${this._binDir}`,
      imageVolume: { name: 'etcd-image', image: etcdImage, mountPath: ETCD_IMAGE_MOUNT },
    };
  }
}

/** Where the etcd image is mounted. */
const ETCD_IMAGE_MOUNT = '/etcd-image';

/**
 * What {@link EtcdTools._bind} hands a job.
 * @internal
 */
export interface EtcdToolsBinding {
  readonly image: string;
  /** Directory of etcd, etcdctl and etcdutl (the scripts' ETCD_TOOLS_DIR). */
  readonly toolsDir?: string;
  readonly imageVolume?: { readonly name: string; readonly image: string; readonly mountPath: string };
}

/** Rejects a value that is not an EtcdTools (from untyped code). @internal */
export function checkEtcdTools(option: string, tools: unknown): EtcdTools {
  if (!(tools instanceof EtcdTools)) throw configError(`${option}: expected EtcdTools.imageVolume() or EtcdTools.shellImage('<image>'); got ${JSON.stringify(tools)}`);
  return tools;
}
