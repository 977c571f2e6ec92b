import { configError } from '../internal/errors';

/**
 * The version of the cluster's etcd: what the backup expects the live server to report, what the
 * restore drill restores and starts, and the oldest tools the runbook restores with.
 *
 * Which etcd a Kubernetes release runs (upstream, 2026-12): kubeadm pins 3.6.x for 1.34–1.36
 * (3.6.11 today) and 3.7.0 for 1.37 (kubernetes/kubernetes `cmd/kubeadm/app/constants`); RKE2
 * 1.33–1.36 run 3.6.14; k3s 1.37 runs 3.7.1; the end-of-life 1.31–1.33 run 3.5.x. A restore must
 * use the tools of the snapshot's minor: etcdutl 3.5 restoring a 3.6 snapshot is an unsupported
 * downgrade (etcd-io/etcd#13070), and a 3.6 server refuses a data dir 3.7 wrote.
 */
export class EtcdVersion {
  /** etcd 3.5.24: Kubernetes 1.31–1.33 (end of life), kubeadm's minimum for an external etcd. */
  public static readonly V3_5_24 = EtcdVersion.of('3.5.24');
  /** etcd 3.6.11: kubeadm for Kubernetes 1.34–1.36. */
  public static readonly V3_6_11 = EtcdVersion.of('3.6.11');
  /** etcd 3.6.14: RKE2 1.33–1.36. */
  public static readonly V3_6_14 = EtcdVersion.of('3.6.14');
  /** etcd 3.7.0: kubeadm for Kubernetes 1.37. */
  public static readonly V3_7_0 = EtcdVersion.of('3.7.0');
  /** etcd 3.7.1: k3s 1.37. */
  public static readonly V3_7_1 = EtcdVersion.of('3.7.1');
  /** The default: etcd 3.6.11, kubeadm's for Kubernetes 1.34–1.36. */
  public static readonly DEFAULT = EtcdVersion.V3_6_11;

  /**
   * An etcd version, `major.minor.patch` as `etcd --version` prints it, from 3.5.0 (3.4 is end
   * of life and has no `etcdutl`) to 3.7.x.
   */
  public static of(version: string): EtcdVersion {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(typeof version === 'string' ? version : '');
    if (!m) throw configError(`etcdVersion: expected an etcd version like '3.6.11' (as \`etcd --version\` prints it); got ${JSON.stringify(version)}`);
    const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (major !== 3 || minor < 5 || minor > 7) {
      throw configError(`etcdVersion: etcd 3.5 to 3.7 are supported (3.4 is end of life and has no etcdutl to restore with); got ${JSON.stringify(version)}`);
    }
    return new EtcdVersion(version, major, minor, patch);
  }

  /** The whole version, e.g. `3.6.11`. */
  public readonly version: string;
  /** The major version (3). */
  public readonly major: number;
  /** The minor version, e.g. 6. */
  public readonly minor: number;
  /** The patch version, e.g. 11. */
  public readonly patch: number;

  private constructor(version: string, major: number, minor: number, patch: number) {
    this.version = version;
    this.major = major;
    this.minor = minor;
    this.patch = patch;
  }

  /** `major.minor`, e.g. `3.6`: what a restore must match. */
  public get minorVersion(): string {
    return `${this.major}.${this.minor}`;
  }

  /**
   * The Kubernetes project's image of this version, e.g. `registry.k8s.io/etcd:3.6.11-0`:
   * distroless from 3.6.6 on (etcd, etcdctl and etcdutl in /usr/local/bin, no shell).
   */
  public get image(): string {
    return `registry.k8s.io/etcd:${this.version}-0`;
  }

  /**
   * `etcdutl snapshot restore --bump-revision --mark-compacted` exist from etcdutl 3.5.10 (etcd
   * CHANGELOG-3.5, PR #16165): the restored revision jumps ahead of anything a client saw, and
   * every watch is told to re-list, so no watch cache serves the lost future.
   */
  public get canBumpRevision(): boolean {
    return this.minor > 5 || this.patch >= 10;
  }

  /** The version as `etcd --version` prints it. */
  public toString(): string {
    return this.version;
  }
}
