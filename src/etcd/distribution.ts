import { DistributionRestore, externalRestore, kubeadmRestore, rancherRestore } from './distribution-restore';

/**
 * The control-plane config a distribution keeps on each control-plane node: what a config
 * backup archives by default, and what must be there.
 */
export interface ControlPlaneConfigPaths {
  /** Directories. */
  readonly paths: string[];
  /** Single files. */
  readonly files: string[];
  /** Paths that must exist (a backup without them cannot bring a control plane back). */
  readonly requiredPaths: string[];
}

/**
 * Every fact about a Kubernetes distribution's control plane this library needs in one place:
 * where it keeps its config and PKI, where etcd keeps its data, and its restore procedures
 * (quorum lost, one member lost: `distribution-restore.ts`). A new distribution is one factory
 * here; nothing else switches on names.
 */
export class Distribution {
  /** kubeadm: static pods under `/etc/kubernetes/manifests`, stacked etcd in `/var/lib/etcd`. */
  public static kubeadm(): Distribution {
    return new Distribution('kubeadm', {
      // The kubelet's client certificate and flags too: the restored kubelet.conf points at
      // /var/lib/kubelet/pki/kubelet-client-current.pem (kubeadm kubeletfinalize.go), so without
      // them a rebuilt node's kubelet, and with it etcd and the API server, cannot start.
      paths: ['/etc/kubernetes', '/var/lib/kubelet/pki'],
      files: ['/var/lib/kubelet/config.yaml', '/var/lib/kubelet/kubeadm-flags.env'],
      requiredPaths: ['/etc/kubernetes/pki/ca.crt', '/etc/kubernetes/pki/sa.key', '/etc/kubernetes/manifests', '/var/lib/kubelet/pki'],
    }, ['/etc/kubernetes/pki'], '/var/lib/etcd', kubeadmRestore());
  }

  /** k3s with embedded etcd (servers started with `--cluster-init`). */
  public static k3s(): Distribution {
    return Distribution.rancher('k3s', 'k3s', 6443);
  }

  /** RKE2 (embedded etcd). */
  public static rke2(): Distribution {
    return Distribution.rancher('rke2', 'rke2-server', 9345);
  }

  /**
   * An etcd cluster of its own under systemd (unit `etcd`, user `etcd`), outside the cluster's
   * nodes: no control-plane config of ours.
   * @param dataDir the members' data dir
   */
  public static external(dataDir: string = '/var/lib/etcd'): Distribution {
    return new Distribution('external', undefined, [], dataDir, externalRestore('etcd', 'etcd'));
  }

  private static rancher(name: string, service: string, joinPort: number): Distribution {
    const server = `/var/lib/rancher/${name}/server`;
    return new Distribution(name, {
      paths: [`${server}/tls`, `${server}/cred`, `${server}/manifests`, `/etc/rancher/${name}`],
      files: [`${server}/token`],
      requiredPaths: [`${server}/tls/server-ca.crt`, `${server}/tls/client-ca.crt`, `${server}/token`],
    }, [`${server}/tls`], `${server}/db/etcd`, rancherRestore(name, service, joinPort), `${server}/token`);
  }

  private constructor(
    /** `kubeadm`, `k3s`, `rke2` or `external`. */
    public readonly name: string,
    /** What a config backup archives by default (none for an external etcd). */
    public readonly controlPlaneConfig: ControlPlaneConfigPaths | undefined,
    /** Directories with the cluster's PKI (CA, service-account keys) that a config backup must cover. */
    public readonly pkiPaths: string[],
    /** Where etcd keeps its data on a control-plane node (or an external member's host). */
    public readonly etcdDataDir: string | undefined,
    /** @internal */
    public readonly _restore: DistributionRestore,
    /** The server token a restore needs (k3s, RKE2: it decrypts the bootstrap data in etcd), if the distribution has one. */
    public readonly serverTokenFile?: string,
  ) {}
}
