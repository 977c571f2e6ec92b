import { Duration } from 'cdk8s';
import { configError } from '../internal/errors';

/**
 * A Go duration as Velero's API expects it, e.g. `720h0m0s`.
 * @internal
 */
export function goDuration(option: string, d: Duration): string {
  const ms = d.toMilliseconds();
  if (!(ms > 0) || ms % 1000 !== 0) {
    throw configError(`${option}: expected a positive whole number of seconds; got ${d.toHumanString()}`);
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
    if (!v || /\s/.test(v)) throw configError(`${option}: ${JSON.stringify(v)} is not a name or pattern`);
  }
  return [...values];
}
