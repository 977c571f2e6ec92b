import { shellComment, shellWords } from '../internal/shell';

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
 * where it keeps its config and PKI, where etcd keeps its data, and how its control plane is
 * stopped and started. A new distribution is one factory here; nothing else switches on names.
 */
export class Distribution {
  /** kubeadm: static pods under `/etc/kubernetes/manifests`, stacked etcd in `/var/lib/etcd`. */
  public static kubeadm(): Distribution {
    return new Distribution('kubeadm', {
      paths: ['/etc/kubernetes'],
      files: ['/var/lib/kubelet/config.yaml'],
      requiredPaths: ['/etc/kubernetes/pki/ca.crt', '/etc/kubernetes/pki/sa.key', '/etc/kubernetes/manifests'],
    }, ['/etc/kubernetes/pki'], '/var/lib/etcd',
    [`${shellWords('sudo', 'mv', '/etc/kubernetes/manifests', '/etc/kubernetes/manifests.off')}   # stops etcd and the API server`],
    [shellWords('sudo', 'mv', '/etc/kubernetes/manifests.off', '/etc/kubernetes/manifests'), shellWords('sudo', 'systemctl', 'start', 'kubelet')]);
  }

  /** k3s with embedded etcd (servers started with `--cluster-init`). */
  public static k3s(): Distribution {
    return Distribution.rancher('k3s', 'k3s');
  }

  /** RKE2 (embedded etcd). */
  public static rke2(): Distribution {
    return Distribution.rancher('rke2', 'rke2-server');
  }

  /**
   * An etcd outside the cluster's nodes: no control-plane config and no control plane of ours
   * to stop; its operators restore it their way.
   */
  public static external(): Distribution {
    return new Distribution('external', undefined, [], undefined, [], []);
  }

  private static rancher(name: string, service: string): Distribution {
    const server = `/var/lib/rancher/${name}/server`;
    return new Distribution(name, {
      paths: [`${server}/tls`, `${server}/cred`, `${server}/manifests`, `/etc/rancher/${name}`],
      files: [`${server}/token`],
      requiredPaths: [`${server}/tls/server-ca.crt`, `${server}/tls/client-ca.crt`, `${server}/token`],
    }, [`${server}/tls`], `${server}/db/etcd`,
    [shellWords('sudo', 'systemctl', 'stop', service)],
    [shellComment(`${name}: or use its own \`${name} server --cluster-reset --cluster-reset-restore-path=<file>\``)]);
  }

  private constructor(
    /** `kubeadm`, `k3s`, `rke2` or `external`. */
    public readonly name: string,
    /** What a config backup archives by default (none for an external etcd). */
    public readonly controlPlaneConfig: ControlPlaneConfigPaths | undefined,
    /** Directories with the cluster's PKI (CA, service-account keys) that a config backup must cover. */
    public readonly pkiPaths: string[],
    /** Where etcd keeps its data on a control-plane node. */
    public readonly etcdDataDir: string | undefined,
    private readonly stopLines: string[],
    private readonly startLines: string[],
  ) {}

  /** Shell lines (quoted) that stop etcd and the API server on a node. @internal */
  public _stopControlPlane(): string[] {
    return [...this.stopLines];
  }

  /** Shell lines (quoted) that start them again. @internal */
  public _startControlPlane(): string[] {
    return [...this.startLines];
  }
}
