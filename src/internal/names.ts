import { configError } from './errors';
/**
 * Checks of names, labels and time zones every construct shares, so each rule exists once.
 */

/** @internal */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** A name that becomes (part of) a DNS-label object name. @internal */
export function checkDnsLabel(option: string, value: string, max: number): void {
  if (!value || value.length > max || !DNS_LABEL.test(value)) {
    throw configError(`${option}: expected lowercase letters, digits and '-' (starting and ending with a letter or digit), at most ${max} characters; got ${JSON.stringify(value)}${value && value.length > max ? ` (${value.length} characters)` : ''}`);
  }
}

/** A DNS-subdomain object name. @internal */
export function checkObjectName(option: string, name: string, max: number): string {
  if (!name || name.length > max || !DNS_SUBDOMAIN.test(name)) {
    throw configError(`${option}: expected a DNS subdomain (lowercase letters, digits, '-', '.') of at most ${max} characters; got ${JSON.stringify(name)}${name && name.length > max ? ` (${name.length} characters)` : ''}`);
  }
  return name;
}

/** A list of Kubernetes node names, each once. @internal */
export function checkNodeNames(option: string, nodes: string[]): string[] {
  const seen = new Set<string>();
  for (const node of nodes) {
    if (!node || node.length > 253 || !DNS_SUBDOMAIN.test(node)) {
      throw configError(`${option}: ${JSON.stringify(node)} is not a node name (a DNS subdomain: lowercase letters, digits, '-' and '.')`);
    }
    if (seen.has(node)) throw configError(`${option}: ${JSON.stringify(node)} is listed twice`);
    seen.add(node);
  }
  return [...nodes];
}

/** Label keys and values. @internal */
export function checkLabels(option: string, labels: { [key: string]: string } | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!LABEL_KEY.test(k) || k.split('/').pop()!.length > 63 || !LABEL_VALUE.test(v)) {
      throw configError(`${option}: ${JSON.stringify(k)}: ${JSON.stringify(v)} is not a valid label key/value`);
    }
  }
}

/** A label key (also a taint key): an optional DNS-subdomain prefix and `/`, a name of at most 63 characters. @internal */
export function isLabelKey(key: string): boolean {
  const slash = typeof key === 'string' ? key.lastIndexOf('/') : -1;
  return typeof key === 'string' && LABEL_KEY.test(key) && key.length - slash - 1 <= 63 && slash <= 253;
}

/** A label value (also a taint value), possibly empty. @internal */
export function isLabelValue(value: string): boolean {
  return typeof value === 'string' && LABEL_VALUE.test(value);
}

/** An IANA time zone name (what CronJob `timeZone` and Velero's `CRON_TZ=` accept). @internal */
export function checkTimeZone(option: string, timeZone: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(timeZone)) {
    throw configError(`${option}: give the bare IANA name, e.g. 'Europe/Berlin'; got ${JSON.stringify(timeZone)}`);
  }
  try {
    // Throws a RangeError for names the IANA database does not know.
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw configError(`${option}: ${JSON.stringify(timeZone)} is not an IANA time zone name (e.g. 'Europe/Berlin', 'Etc/UTC')`);
  }
  // Intl matches names case-insensitively; Go's time.LoadLocation (the kubelet's CronJob
  // controller, Velero's cron) opens the zoneinfo file by name, which is case-sensitive.
  const exact = ZONES().find((z) => z.toLowerCase() === timeZone.toLowerCase());
  if (exact !== undefined && exact !== timeZone) {
    throw configError(`${option}: time zone names are case-sensitive (Kubernetes and Velero look them up as files); use ${JSON.stringify(exact)}, not ${JSON.stringify(timeZone)}`);
  }
}

let zones: string[] | undefined;
function ZONES(): string[] {
  zones ??= (Intl as unknown as { supportedValuesOf(key: string): string[] }).supportedValuesOf('timeZone');
  return zones;
}

/**
 * The runbook anchor of an alert: `EtcdBackupFailed` → `etcd-backup-failed`, the heading the
 * runbook writes for it and the fragment of the alert's `runbook_url`.
 * @internal
 */
export function alertAnchor(alert: string): string {
  return alert.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
