import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { PodMonitor as RawPodMonitor } from '../imports/monitoring.coreos.com';
import { configError } from '../internal/errors';
import { checkDnsLabel, checkLabels, checkObjectName } from '../internal/names';
import { BackupDefaults } from '../job/backup-defaults';

/**
 * The Velero Helm chart's server pod labels (charts/velero templates/deployment.yaml): `name:
 * velero` tells the server from the node agent (`name: node-agent`), which serves other metrics.
 */
const CHART_POD_LABELS = { 'app.kubernetes.io/name': 'velero', 'name': 'velero' };
/** The chart's metrics port (`http-monitoring`, 8085: Velero's default `--metrics-address :8085`). */
const CHART_METRICS_PORT = 'http-monitoring';

/**
 * Props of {@link VeleroPodMonitor}.
 */
export interface VeleroPodMonitorProps {
  /**
   * Velero's namespace (where its server pods run).
   * @default 'velero'
   */
  readonly namespace?: string;
  /**
   * Name of the PodMonitor.
   * @default 'velero'
   */
  readonly name?: string;
  /**
   * Labels of the Velero server pods.
   * @default { 'app.kubernetes.io/name': 'velero', name: 'velero' } (the Helm chart's; `name: velero` leaves out the node agent)
   */
  readonly podLabels?: { [key: string]: string };
  /**
   * Name of the container port serving `/metrics`.
   * @default 'http-monitoring' (the Helm chart's, port 8085, on while `metrics.enabled`, its default)
   */
  readonly port?: string;
  /**
   * Labels of the PodMonitor itself, for the Prometheus `podMonitorSelector` (e.g.
   * `{ release: 'kube-prometheus-stack' }`).
   * @default - none
   */
  readonly labels?: { [key: string]: string };
  /**
   * Scrape interval.
   * @default - Prometheus' own
   */
  readonly interval?: Duration;
}

/**
 * Makes Prometheus (the Prometheus operator) scrape Velero's server metrics, which every
 * Velero alert reads. The Velero Helm chart exposes the metrics port by default but creates no
 * ServiceMonitor (`metrics.serviceMonitor.enabled: false`) and its only PodMonitor is for the
 * node agent: without this (or the chart's ServiceMonitor switched on), no Velero alert can fire.
 */
export class VeleroPodMonitor extends Construct {
  /** The PodMonitor. */
  public readonly podMonitor: ApiObject;
  /** Velero's namespace. */
  public readonly namespace: string;

  constructor(scope: Construct, id: string, props: VeleroPodMonitorProps = {}) {
    super(scope, id);
    const C = 'VeleroPodMonitor';
    this.namespace = props.namespace ?? BackupDefaults.VELERO_NAMESPACE;
    checkDnsLabel(`${C}: namespace`, this.namespace, 63);
    const podLabels = props.podLabels ?? CHART_POD_LABELS;
    checkLabels(`${C}: podLabels`, podLabels);
    if (Object.keys(podLabels).length === 0) throw configError(`${C}: podLabels must not be empty: it would scrape every pod of ${this.namespace}`);
    checkLabels(`${C}: labels`, props.labels);
    const port = props.port ?? CHART_METRICS_PORT;
    if (!/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(port)) {
      throw configError(`${C}: port: expected the name of a container port (an IANA_SVC_NAME, at most 15 characters); got ${JSON.stringify(port)}`);
    }
    const interval = props.interval?.toSeconds({ integral: false });
    if (interval !== undefined && !(Number.isInteger(interval) && interval >= 1)) {
      throw configError(`${C}: interval: expected whole seconds ≥ 1; got ${props.interval!.toHumanString()}`);
    }
    this.podMonitor = new RawPodMonitor(this, 'Resource', {
      metadata: {
        name: checkObjectName(`${C}: name`, props.name ?? 'velero', 253),
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/name': 'cdk8s-backup', 'app.kubernetes.io/component': 'velero-metrics', ...props.labels },
      },
      spec: {
        selector: { matchLabels: { ...podLabels } },
        namespaceSelector: { matchNames: [this.namespace] },
        podMetricsEndpoints: [{ port, path: '/metrics', interval: interval === undefined ? undefined : `${interval}s` }],
      },
    });
  }
}
