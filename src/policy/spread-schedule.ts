import { Cron } from 'cdk8s';
import { configError } from '../internal/errors';

/**
 * Options of {@link SpreadSchedule.daily} and {@link SpreadSchedule.weekly}: the hours the run may
 * be placed in.
 */
export interface SpreadWindowOptions {
  /**
   * First hour of the window (0-23), in the job's time zone.
   * @default 0
   */
  readonly fromHour?: number;
  /**
   * Hour the window ends, exclusive (1-24): `{ fromHour: 1, toHour: 5 }` places runs from 01:00 to
   * 04:59. A window across midnight does not fit one cron hour range: pick one inside a day.
   * @default 24
   */
  readonly toHour?: number;
}

/**
 * Schedules at a time derived from a name, so a fleet's jobs do not all start at minute 0 against
 * one bucket and one set of control planes (K8up's `@daily-random` idea). Unlike a random minute,
 * the time is a hash of the name: the same name gives the same time on every synth, so the YAML
 * checked into git does not change, and different names spread over the hour (or the window).
 *
 * Use a name that is unique in the fleet and stable, e.g. `${cluster}/etcd`.
 *
 * @example
 * etcd: { source: EtcdSource.kubeadm(), schedule: SpreadSchedule.hourly('prod/etcd') },
 * controlPlaneConfig: { nodes, schedule: SpreadSchedule.daily('prod/config', { fromHour: 1, toHour: 5 }) },
 */
export class SpreadSchedule {
  /** Every hour, at a minute derived from `name`. */
  public static hourly(name: string): Cron {
    const h = hashOf('SpreadSchedule.hourly', name);
    return Cron.schedule({ minute: String(h % 60) });
  }

  /** Every day, at an hour and minute derived from `name`, inside the window. */
  public static daily(name: string, options: SpreadWindowOptions = {}): Cron {
    const h = hashOf('SpreadSchedule.daily', name);
    const { minute, hour } = placeInWindow('SpreadSchedule.daily', h, options);
    return Cron.schedule({ minute: String(minute), hour: String(hour) });
  }

  /** Once a week, on a day (Sunday = 0) and at a time derived from `name`, inside the window. */
  public static weekly(name: string, options: SpreadWindowOptions = {}): Cron {
    const h = hashOf('SpreadSchedule.weekly', name);
    const { minute, hour, rest } = placeInWindow('SpreadSchedule.weekly', h, options);
    return Cron.schedule({ minute: String(minute), hour: String(hour), weekDay: String(rest % 7) });
  }

  private constructor() {}
}

/**
 * FNV-1a (32 bit) of the name: a fixed, documented function, so a time never changes between
 * library versions or Node.js versions (a change would move every job of a fleet at once).
 */
function hashOf(method: string, name: string): number {
  if (typeof name !== 'string' || name.trim() === '') {
    throw configError(`${method}(name): give a non-empty name that is unique in the fleet, e.g. 'prod/etcd'`);
  }
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    /* eslint-disable no-bitwise -- FNV-1a is defined on 32-bit words */
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
    /* eslint-enable no-bitwise */
  }
  return h;
}

function placeInWindow(method: string, h: number, options: SpreadWindowOptions): { minute: number; hour: number; rest: number } {
  const from = options.fromHour ?? 0;
  const to = options.toHour ?? 24;
  if (!Number.isInteger(from) || from < 0 || from > 23) {
    throw configError(`${method}: fromHour must be a whole hour from 0 to 23; got ${from}`);
  }
  if (!Number.isInteger(to) || to < 1 || to > 24) {
    throw configError(`${method}: toHour must be a whole hour from 1 to 24 (the end, exclusive); got ${to}`);
  }
  if (to <= from) {
    throw configError(`${method}: toHour (${to}) must be after fromHour (${from}); a window across midnight does not fit one cron hour range,`
      + ' so pick a window inside one day');
  }
  const slots = (to - from) * 60;
  const slot = h % slots;
  return { minute: slot % 60, hour: from + Math.floor(slot / 60), rest: Math.floor(h / slots) };
}
