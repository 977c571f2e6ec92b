import { Duration } from 'cdk8s';
import { configError } from '../internal/errors';

/**
 * How many backups to keep in each calendar tier (grandfather-father-son).
 *
 * Each count keeps the newest backup of that many distinct periods (hours, days, ...)
 * that have a backup, exactly like restic's `--keep-hourly` & co.
 */
export interface GfsRetentionProps {
  /**
   * Keep the newest `last` backups regardless of their time.
   * @default - no count-based tier
   */
  readonly last?: number;
  /**
   * Keep the newest backup of each of the last `hourly` hours that have one.
   * @default - no hourly tier
   */
  readonly hourly?: number;
  /**
   * Keep the newest backup of each of the last `daily` days that have one.
   * @default - no daily tier
   */
  readonly daily?: number;
  /**
   * Keep the newest backup of each of the last `weekly` weeks that have one.
   * @default - no weekly tier
   */
  readonly weekly?: number;
  /**
   * Keep the newest backup of each of the last `monthly` months that have one.
   * @default - no monthly tier
   */
  readonly monthly?: number;
  /**
   * Keep the newest backup of each of the last `yearly` years that have one.
   * @default - no yearly tier
   */
  readonly yearly?: number;
  /**
   * Also keep every backup younger than this, counted back from the newest backup (restic
   * `--keep-within`): the time-based tier that repositories with immutable storage require.
   * @default - no time-based tier
   */
  readonly within?: Duration;
}

/**
 * Which backups to keep: one typed policy that renders to restic `forget` flags (and, where the
 * backend can express it, to Velero `ttl` and alert thresholds), so it means the same everywhere.
 *
 * Every policy keeps at least the newest backup: pruning never deletes the last good backup.
 */
export class Retention {
  /**
   * Keep the newest `count` backups.
   */
  public static keepLast(count: number): Retention {
    return new Retention({ last: checkCount('Retention.keepLast(count)', count) });
  }

  /**
   * Keep every backup younger than `age`, counted back from the time of the NEWEST backup
   * (restic `--keep-within`), not from now: if backups stop, the last ones are never aged out.
   *
   * restic counts whole hours at most (`1d12h`), so `age` must be a whole number of hours.
   */
  public static maxAge(age: Duration): Retention {
    return new Retention({ keepWithin: checkAge('Retention.maxAge(age)', age) });
  }

  /**
   * Calendar tiers (grandfather-father-son), e.g. `{ hourly: 24, daily: 7, weekly: 4 }`.
   */
  public static gfs(props: GfsRetentionProps): Retention {
    const tiers: GfsRetentionProps = {
      last: checkOptionalCount('Retention.gfs({ last })', props.last),
      hourly: checkOptionalCount('Retention.gfs({ hourly })', props.hourly),
      daily: checkOptionalCount('Retention.gfs({ daily })', props.daily),
      weekly: checkOptionalCount('Retention.gfs({ weekly })', props.weekly),
      monthly: checkOptionalCount('Retention.gfs({ monthly })', props.monthly),
      yearly: checkOptionalCount('Retention.gfs({ yearly })', props.yearly),
    };
    if (Object.values(tiers).every((v) => v === undefined)) {
      throw configError('Retention.gfs(): empty retention keeps nothing; set at least one of last, hourly, daily, weekly, monthly, yearly (e.g. Retention.gfs({ daily: 7 }))');
    }
    const within = props.within === undefined ? undefined : checkAge('Retention.gfs({ within })', props.within);
    return new Retention({ ...tiers, keepWithin: within });
  }

  /** 24 hourly, 7 daily and 4 weekly backups: the default for hourly etcd snapshots. */
  public static hourly24Daily7Weekly4(): Retention {
    return Retention.gfs({ hourly: 24, daily: 7, weekly: 4 });
  }

  /** One backup per day for 35 days (aws-backup's `daily` rule). */
  public static daily35Days(): Retention {
    return Retention.gfs({ daily: 35 });
  }

  /** One backup per week for 13 weeks (about 90 days, aws-backup's `weekly` rule). */
  public static weekly90Days(): Retention {
    return Retention.gfs({ weekly: 13 });
  }

  /** One backup per month for a year. */
  public static monthly1Year(): Retention {
    return Retention.gfs({ monthly: 12 });
  }

  /** One backup per month for five years. */
  public static monthly5Years(): Retention {
    return Retention.gfs({ monthly: 60 });
  }

  /** Count-based tier: the newest N backups. */
  public readonly last?: number;
  /** Hourly tier. */
  public readonly hourly?: number;
  /** Daily tier. */
  public readonly daily?: number;
  /** Weekly tier. */
  public readonly weekly?: number;
  /** Monthly tier. */
  public readonly monthly?: number;
  /** Yearly tier. */
  public readonly yearly?: number;
  /** Age-based tier (`Retention.maxAge`), counted back from the newest backup. */
  public readonly keepWithin?: Duration;

  private constructor(props: Omit<GfsRetentionProps, 'within'> & { readonly keepWithin?: Duration }) {
    this.last = props.last;
    this.hourly = props.hourly;
    this.daily = props.daily;
    this.weekly = props.weekly;
    this.monthly = props.monthly;
    this.yearly = props.yearly;
    this.keepWithin = props.keepWithin;
  }

  /**
   * The shortest calendar period this policy distinguishes, in hours (1 for an hourly tier,
   * 24 for daily, ...), or `undefined` when it has only count/age tiers. A schedule that runs
   * less often than this leaves the tier with fewer distinct backups than it promises.
   */
  public get finestPeriodHours(): number | undefined {
    if (this.hourly !== undefined) return 1;
    if (this.daily !== undefined) return 24;
    if (this.weekly !== undefined) return 24 * 7;
    if (this.monthly !== undefined) return 24 * 28;
    if (this.yearly !== undefined) return 24 * 365;
    return undefined;
  }

  /**
   * The policy as restic `forget` flags (restic ≥ 0.14). Always includes `--keep-last 1` at
   * least, so the newest backup survives any policy.
   */
  public toResticForgetArgs(): string[] {
    const args: string[] = [];
    args.push('--keep-last', String(this.last ?? 1));
    const tier = (flag: string, value?: number) => {
      if (value !== undefined) args.push(flag, String(value));
    };
    tier('--keep-hourly', this.hourly);
    tier('--keep-daily', this.daily);
    tier('--keep-weekly', this.weekly);
    tier('--keep-monthly', this.monthly);
    tier('--keep-yearly', this.yearly);
    if (this.keepWithin) args.push('--keep-within', resticDuration(this.keepWithin));
    return args;
  }

  /** A short human description, e.g. `last 1, hourly 24, daily 7`. */
  public toString(): string {
    const parts: string[] = [];
    const add = (name: string, v?: number) => v !== undefined && parts.push(`${name} ${v}`);
    add('last', this.last);
    add('hourly', this.hourly);
    add('daily', this.daily);
    add('weekly', this.weekly);
    add('monthly', this.monthly);
    add('yearly', this.yearly);
    if (this.keepWithin) parts.push(`max age ${resticDuration(this.keepWithin)}`);
    return parts.join(', ');
  }
}

/**
 * restic durations: `y`, `m` (MONTHS, not minutes), `d`, `h`. We only emit days and hours so the
 * meaning can never be mistaken.
 */
function resticDuration(age: Duration): string {
  const hours = age.toHours();
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return `${days > 0 ? `${days}d` : ''}${rest > 0 || days === 0 ? `${rest}h` : ''}`;
}

function checkCount(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw configError(`${option}: must be a whole number ≥ 1 (a policy that keeps 0 backups deletes everything); got ${value}`);
  }
  return value;
}

function checkOptionalCount(option: string, value: number | undefined): number | undefined {
  return value === undefined ? undefined : checkCount(option, value);
}

function checkAge(option: string, age: Duration): Duration {
  const ms = age.toMilliseconds();
  const hourMs = 3_600_000;
  if (!(ms >= hourMs) || ms % hourMs !== 0) {
    throw configError(`${option}: restic keeps by whole hours; use a whole number of hours ≥ 1 (e.g. Duration.days(30)); got ${age.toHumanString()}`);
  }
  return age;
}
