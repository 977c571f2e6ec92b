import { Distribution } from './distribution';
import { configError } from '../internal/errors';
import { checkLabels } from '../internal/names';
import { checkHostPath } from '../internal/paths';
import { checkSecretKey, checkSecretName } from '../internal/secret-checks';
import { isHost } from '../internal/urls';
import { checkTolerations, Toleration } from '../job/toleration';

/**
 * Overrides for an etcd that runs on the cluster's own control-plane nodes.
 */
export interface HostEtcdOptions {
  /**
   * The one etcd client URL to snapshot (`etcdctl snapshot save` accepts exactly one endpoint).
   * `$(HOST_IP)` is the IP of the node the job runs on (from `status.hostIP`).
   * @default - kubeadm: `https://$(HOST_IP):2379` (no host network needed); k3s/RKE2: `https://127.0.0.1:2379` with host networking
   */
  readonly endpoint?: string;
  /**
   * Host path of the CA certificate that signed etcd's server certificate (absolute, normalized,
   * of letters, digits, `.`, `_`, `-`, `+`, `@` and `/`).
   * @default - the distribution's path (kubeadm: /etc/kubernetes/pki/etcd/ca.crt)
   */
  readonly caCert?: string;
  /**
   * Host path of a client certificate etcd accepts (a path as in `caCert`).
   * @default - the distribution's path (kubeadm: /etc/kubernetes/pki/etcd/healthcheck-client.crt)
   */
  readonly clientCert?: string;
  /**
   * Host path of the client certificate's private key (a path as in `caCert`).
   * @default - the distribution's path (kubeadm: /etc/kubernetes/pki/etcd/healthcheck-client.key)
   */
  readonly clientKey?: string;
  /**
   * Run the job in the node's network namespace (needed when etcd listens on 127.0.0.1 only).
   * @default - false for kubeadm, true for k3s and RKE2
   */
  readonly hostNetwork?: boolean;
  /**
   * Node labels that select the nodes running etcd.
   * @default - kubeadm: `node-role.kubernetes.io/control-plane: ""`; k3s/RKE2: `node-role.kubernetes.io/etcd: "true"`
   */
  readonly nodeSelector?: { [label: string]: string };
  /**
   * Taints the job tolerates on those nodes (they replace the defaults).
   * @default - control-plane/master NoSchedule (kubeadm); plus etcd NoExecute and CriticalAddonsOnly (k3s/RKE2)
   */
  readonly tolerations?: Toleration[];
}

/**
 * An etcd outside the cluster (or one the job reaches over the network with certificates from
 * a Secret).
 */
export interface ExternalEtcdOptions {
  /** The one etcd client URL to snapshot, e.g. `https://etcd-0.example.com:2379`. */
  readonly endpoint: string;
  /** Name of an existing Secret with the CA, client certificate and key. */
  readonly tlsSecret: string;
  /**
   * Key of the CA certificate in the Secret.
   * @default 'ca.crt'
   */
  readonly caKey?: string;
  /**
   * Key of the client certificate in the Secret.
   * @default 'tls.crt'
   */
  readonly certKey?: string;
  /**
   * Key of the client private key in the Secret.
   * @default 'tls.key'
   */
  readonly keyKey?: string;
  /**
   * The members' data dir on their hosts, for the restore procedure.
   * @default '/var/lib/etcd' (etcd's own systemd unit; Debian's package uses '/var/lib/etcd/default')
   */
  readonly dataDir?: string;
}

/**
 * Where a certificate file comes from.
 */
export interface EtcdCertificateFiles {
  /** CA certificate (host path, or Secret key for external etcd). */
  readonly ca: string;
  /** Client certificate (host path, or Secret key). */
  readonly cert: string;
  /** Client key (host path, or Secret key). */
  readonly key: string;
}

const CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';

/**
 * Which etcd to back up and how to reach it: endpoint, client certificates, and the nodes
 * and network the job needs for that.
 */
export class EtcdSource {
  /**
   * A kubeadm control plane: stacked etcd on every control-plane node, listening on 127.0.0.1
   * and the node IP, with the client certificate kubeadm makes for health checks.
   */
  public static kubeadm(options: HostEtcdOptions = {}): EtcdSource {
    const dir = '/etc/kubernetes/pki/etcd';
    return EtcdSource.host(Distribution.kubeadm(), options, {
      endpoint: 'https://$(HOST_IP):2379',
      certs: { ca: `${dir}/ca.crt`, cert: `${dir}/healthcheck-client.crt`, key: `${dir}/healthcheck-client.key` },
      hostNetwork: false,
      nodeSelector: { [CONTROL_PLANE]: '' },
      tolerations: [
        { key: CONTROL_PLANE, operator: 'Exists', effect: 'NoSchedule' },
        { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
      ],
    });
  }

  /**
   * k3s with embedded etcd (servers started with `--cluster-init`; k3s on SQLite has no etcd to
   * snapshot).
   */
  public static k3s(options: HostEtcdOptions = {}): EtcdSource {
    return EtcdSource.rancher(Distribution.k3s(), '/var/lib/rancher/k3s/server/tls/etcd', options);
  }

  /** RKE2's embedded etcd. */
  public static rke2(options: HostEtcdOptions = {}): EtcdSource {
    return EtcdSource.rancher(Distribution.rke2(), '/var/lib/rancher/rke2/server/tls/etcd', options);
  }

  /**
   * An etcd reached over the network with certificates from a Secret (external etcd, or a
   * control plane the job cannot run on). Needs no host access.
   */
  public static external(options: ExternalEtcdOptions): EtcdSource {
    if (!options) throw configError('EtcdSource.external(options): { endpoint, tlsSecret } are required');
    checkEndpoint('EtcdSource.external({ endpoint })', options.endpoint);
    checkSecretName('EtcdSource.external({ tlsSecret })', options.tlsSecret);
    const certs = { ca: options.caKey ?? 'ca.crt', cert: options.certKey ?? 'tls.crt', key: options.keyKey ?? 'tls.key' };
    checkSecretKey('EtcdSource.external({ caKey })', certs.ca);
    checkSecretKey('EtcdSource.external({ certKey })', certs.cert);
    checkSecretKey('EtcdSource.external({ keyKey })', certs.key);
    const dataDir = checkHostPath('EtcdSource.external({ dataDir })', options.dataDir ?? '/var/lib/etcd', '/var/lib/etcd');
    return new EtcdSource(Distribution.external(dataDir), options.endpoint, certs, options.tlsSecret, false, {}, []);
  }

  private static rancher(distribution: Distribution, dir: string, options: HostEtcdOptions): EtcdSource {
    return EtcdSource.host(distribution, options, {
      // Embedded etcd listens on 127.0.0.1; its server certificate may not name the node IP.
      endpoint: 'https://127.0.0.1:2379',
      certs: { ca: `${dir}/server-ca.crt`, cert: `${dir}/client.crt`, key: `${dir}/client.key` },
      hostNetwork: true,
      nodeSelector: { 'node-role.kubernetes.io/etcd': 'true' },
      tolerations: [
        { key: CONTROL_PLANE, operator: 'Exists', effect: 'NoSchedule' },
        { key: 'node-role.kubernetes.io/etcd', operator: 'Exists', effect: 'NoExecute' },
        { key: 'CriticalAddonsOnly', operator: 'Exists' },
      ],
    });
  }

  private static host(distribution: Distribution, o: HostEtcdOptions, d: {
    endpoint: string;
    certs: EtcdCertificateFiles;
    hostNetwork: boolean;
    nodeSelector: { [label: string]: string };
    tolerations: Toleration[];
  }): EtcdSource {
    const opt = `EtcdSource.${distribution.name}`;
    const endpoint = o.endpoint ?? d.endpoint;
    checkEndpoint(`${opt}({ endpoint })`, endpoint);
    const certs: EtcdCertificateFiles = { ca: o.caCert ?? d.certs.ca, cert: o.clientCert ?? d.certs.cert, key: o.clientKey ?? d.certs.key };
    for (const [field, path, example] of [['caCert', certs.ca, d.certs.ca], ['clientCert', certs.cert, d.certs.cert], ['clientKey', certs.key, d.certs.key]]) {
      checkHostPath(`${opt}({ ${field} })`, path, example);
    }
    const nodeSelector = o.nodeSelector ?? d.nodeSelector;
    checkLabels(`${opt}({ nodeSelector })`, nodeSelector);
    const tolerations = checkTolerations(`${opt}({ tolerations })`, o.tolerations ?? d.tolerations).map((t) => ({ ...t }));
    return new EtcdSource(distribution, endpoint, certs, undefined, o.hostNetwork ?? d.hostNetwork, nodeSelector, tolerations);
  }

  private constructor(
    /** The control plane's distribution: its config and PKI paths, etcd's data dir, how to stop and start it. */
    public readonly distribution: Distribution,
    /** The etcd client URL (may reference `$(HOST_IP)`). */
    public readonly endpoint: string,
    /** Host paths of the certificates, or keys of `tlsSecret`. */
    public readonly certificates: EtcdCertificateFiles,
    /** Secret with the certificates (external etcd only). */
    public readonly tlsSecret: string | undefined,
    /** Whether the job joins the node's network namespace. */
    public readonly hostNetwork: boolean,
    /** Labels of the nodes the job must run on (empty: any node). */
    public readonly nodeSelector: { [label: string]: string },
    /** Taints the job tolerates. */
    public readonly tolerations: Toleration[],
  ) {}

  /** True when the job reads certificates from the node's filesystem. */
  public get usesHostPaths(): boolean {
    return this.tlsSecret === undefined;
  }
}

function checkEndpoint(option: string, endpoint: string): void {
  if (!endpoint || /[,\s]/.test(endpoint)) {
    throw configError(`${option}: etcdctl snapshot save takes exactly one endpoint (no commas or spaces); got ${JSON.stringify(endpoint)}`);
  }
  const m = /^https:\/\/([^/:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(endpoint);
  // The host goes into etcdctl's environment and the runbook's commands: a DNS name, an IP
  // address or the node's IP ($(HOST_IP), filled in by the kubelet), nothing a shell or a flag
  // parser could read as something else (`--help`, `a*`, `$(echo${IFS}x)`).
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535 || !(m[1] === '$(HOST_IP)' || isHost(m[1]))) {
    throw configError(`${option}: expected https://HOST:PORT where HOST is a DNS name, an IPv4 address, a bracketed IPv6 address or $(HOST_IP) and PORT is 1-65535 `
      + `(etcd client certificates need TLS), e.g. https://$(HOST_IP):2379; got ${JSON.stringify(endpoint)}`);
  }
}
