import { alertAnchor, checkDnsLabel, checkLabels, checkNodeNames, checkObjectName, checkTimeZone, isLabelKey, isLabelValue } from '../../../src/internal/names';

describe('names', () => {
  test('a DNS label: lowercase letters, digits and inner \'-\', at most the given length', () => {
    expect(() => checkDnsLabel('clusterName', 'prod-1', 20)).not.toThrow();
    expect(() => checkDnsLabel('clusterName', 'Prod', 20)).toThrow(/^clusterName: expected lowercase letters, digits and '-'.*; got "Prod"$/);
    expect(() => checkDnsLabel('clusterName', 'a'.repeat(21), 20)).toThrow(/at most 20 characters; got "a{21}" \(21 characters\)$/);
    expect(() => checkDnsLabel('clusterName', 'a.b', 20)).toThrow(/clusterName/);
  });

  test('an object name is a DNS subdomain, returned as given', () => {
    expect(checkObjectName('name', 'apps.daily-1', 63)).toBe('apps.daily-1');
    expect(() => checkObjectName('name', 'apps_daily', 63)).toThrow(/^name: expected a DNS subdomain/);
  });

  test('node names: DNS subdomains, each once, copied', () => {
    const nodes = ['cp-1', 'cp-2.example.com'];
    expect(checkNodeNames('nodes', nodes)).toEqual(nodes);
    expect(checkNodeNames('nodes', nodes)).not.toBe(nodes);
    expect(() => checkNodeNames('nodes', ['cp-1', 'cp-1'])).toThrow(/^nodes: "cp-1" is listed twice$/);
    expect(() => checkNodeNames('nodes', ['CP_1'])).toThrow(/^nodes: "CP_1" is not a node name/);
  });

  test('labels: keys with an optional prefix, values possibly empty', () => {
    expect(() => checkLabels('labels', { 'app.kubernetes.io/name': 'shop', 'empty': '' })).not.toThrow();
    expect(() => checkLabels('labels', { 'a b': 'x' })).toThrow(/^labels: "a b": "x" is not a valid label key\/value$/);
    expect(() => checkLabels('labels', { app: '-x' })).toThrow(/labels/);
    expect(isLabelKey('node-role.kubernetes.io/control-plane')).toBe(true);
    expect(isLabelKey(`x/${'a'.repeat(64)}`)).toBe(false);
    expect(isLabelValue('')).toBe(true);
    expect(isLabelValue('a b')).toBe(false);
  });

  test('time zones: bare IANA names, spelt as the zoneinfo file is', () => {
    expect(() => checkTimeZone('timeZone', 'Europe/Berlin')).not.toThrow();
    expect(() => checkTimeZone('timeZone', 'CRON_TZ=Europe/Berlin')).toThrow(/^timeZone: give the bare IANA name/);
    expect(() => checkTimeZone('timeZone', 'Mars/Olympus')).toThrow(/^timeZone: "Mars\/Olympus" is not an IANA time zone name/);
    expect(() => checkTimeZone('timeZone', 'europe/berlin')).toThrow(/use "Europe\/Berlin", not "europe\/berlin"$/);
  });

  test('an alert\'s runbook anchor', () => {
    expect(alertAnchor('EtcdBackupFailed')).toBe('etcd-backup-failed');
    expect(alertAnchor('VeleroMetricsAbsent')).toBe('velero-metrics-absent');
  });
});
