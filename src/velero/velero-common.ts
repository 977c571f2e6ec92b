import { Duration } from 'cdk8s';

/** Velero reads Schedules, locations and Restores only from its own namespace. */
export const DEFAULT_VELERO_NAMESPACE = 'velero';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** @internal */
export function checkObjectName(option: string, name: string, max: number): string {
  if (!name || name.length > max || !DNS_SUBDOMAIN.test(name)) {
    throw new Error(`${option}: expected a DNS subdomain (lowercase letters, digits, '-', '.') of at most ${max} characters; got ${JSON.stringify(name)}${name && name.length > max ? ` (${name.length} characters)` : ''}`);
  }
  return name;
}

/** @internal */
export function checkLabels(option: string, labels: { [key: string]: string } | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!LABEL_KEY.test(k) || k.split('/').pop()!.length > 63 || !LABEL_VALUE.test(v)) {
      throw new Error(`${option}: ${JSON.stringify(k)}: ${JSON.stringify(v)} is not a valid label`);
    }
  }
}

/**
 * A Go duration as Velero's API expects it, e.g. `720h0m0s`.
 * @internal
 */
export function goDuration(option: string, d: Duration): string {
  const ms = d.toMilliseconds();
  if (!(ms > 0) || ms % 1000 !== 0) {
    throw new Error(`${option}: expected a positive whole number of seconds; got ${d.toHumanString()}`);
  }
  const total = ms / 1000;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}h${m}m${s}s`;
}

/** @internal */
export function checkNames(option: string, values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  for (const v of values) {
    if (!v || /\s/.test(v)) throw new Error(`${option}: ${JSON.stringify(v)} is not a name or pattern`);
  }
  return [...values];
}
