import { Duration, Testing } from 'cdk8s';
import { VeleroPodMonitor, VeleroPodMonitorProps } from '../../../src';
import { expectValidCustomResources } from '../../support/crd-validate';

function podMonitor(props: VeleroPodMonitorProps = {}): any {
  const chart = Testing.chart();
  new VeleroPodMonitor(chart, 'metrics', props);
  const manifests = Testing.synth(chart);
  expectValidCustomResources(manifests);
  return manifests[0];
}

describe('VeleroPodMonitor', () => {
  test('defaults: the Helm chart\'s server pods (not the node agent) on http-monitoring, in velero', () => {
    const m = podMonitor();
    expect(m.metadata).toMatchObject({ name: 'velero', namespace: 'velero' });
    expect(m.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'velero', 'name': 'velero' } });
    expect(m.spec.podMetricsEndpoints).toEqual([{ port: 'http-monitoring', path: '/metrics' }]);
  });

  test('labels for the podMonitorSelector, another namespace, pod labels and interval', () => {
    const m = podMonitor({ namespace: 'backup-velero', labels: { release: 'kube-prometheus-stack' }, podLabels: { app: 'velero' }, interval: Duration.seconds(30), port: 'metrics' });
    expect(m.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(m.spec.namespaceSelector).toEqual({ matchNames: ['backup-velero'] });
    expect(m.spec.selector.matchLabels).toEqual({ app: 'velero' });
    expect(m.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
  });

  test('bad input: empty pod labels (would scrape every pod), a port that is not a port name, a fractional interval', () => {
    expect(() => podMonitor({ podLabels: {} })).toThrow(/podLabels must not be empty/);
    expect(() => podMonitor({ port: '8085:metrics' })).toThrow(/port: expected the name of a container port/);
    expect(() => podMonitor({ interval: Duration.millis(1500) })).toThrow(/interval: expected whole seconds/);
  });
});
