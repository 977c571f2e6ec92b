import { Cron, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Database, DB_NAME, USER_NAME } from './database';
import { configError } from '../internal/errors';
import { hardenedContainer } from '../internal/hardening';
import { shellComment, shellWords } from '../internal/shell';
import { BackupDefaults } from '../job/backup-defaults';
import { BackupJob } from '../job/backup-job';
import { BackupDestination, BackupImages, BackupJobOptions } from '../job/backup-job-options';
import { containerResources, ResourceRequirements } from '../job/resource-requirements';
import { resticRepositoryAccess, writerRoleEnv } from '../job/restic-step';
import { JobPlanFacts } from '../plan/job-plan';
import { Retention } from '../policy/retention';
import { BackupRepository } from '../repository/backup-repository';

/**
 * A restore drill of a database dump: a CronJob that fetches the newest dump, starts a throwaway
 * server inside its pod (initdb / mariadb-install-db into an emptyDir, reached over a unix
 * socket only), restores the dump into it and checks that a table has enough rows.
 */
export interface DatabaseDrillOptions {
  /**
   * When to run the drill.
   * @default - daily at 06:00 (in the backup's time zone)
   */
  readonly schedule?: Cron;
  /**
   * A table that must exist after the restore (letters, digits and `_`, optionally `schema.table`
   * for PostgreSQL).
   */
  readonly requiredTable: string;
  /**
   * The database of `requiredTable`.
   * @default - the dumped database (required when all databases are dumped)
   */
  readonly requiredDatabase?: string;
  /**
   * The fewest rows `requiredTable` may have.
   * @default 1
   */
  readonly minRows?: number;
  /**
   * PostgreSQL: further roles to create before the restore (a single-database dump does not create
   * the roles owning its objects; the dump's own user is always created).
   * @default - none
   */
  readonly roles?: string[];
  /**
   * Size of the scratch volume holding the dump and the throwaway server's data.
   * @default Size.gibibytes(8)
   */
  readonly workspaceSize?: Size;
  /**
   * Name of the drill's CronJob (at most 52 characters).
   * @default `${name}-drill`
   */
  readonly name?: string;
}

/**
 * Options of a {@link DatabaseDumpBackup} (what `ClusterBackup` takes per database).
 */
export interface DatabaseDumpBackupOptions extends BackupJobOptions {
  /** The database server to dump. */
  readonly database: Database;
  /**
   * Name of the CronJob, ServiceAccount and scripts ConfigMap (at most 52 characters); also the
   * restic tag (`db-dump-<name>`) and the repository path (`<clusterName>/database/<name>`).
   * @default `${clusterName}-<pg|mysql>-<database, lowercased, '_' as '-'; or 'all'>`
   */
  readonly name?: string;
  /**
   * Resources of the dump container (the dump streams: memory does not grow with the database).
   * @default - 100m/1 CPU, 128Mi/1Gi memory
   */
  readonly resources?: ResourceRequirements;
  /**
   * A restore drill of the newest dump, as a second CronJob ({@link DatabaseRestoreDrill}).
   * @default - no drill
   */
  readonly drill?: DatabaseDrillOptions;
}

/**
 * Props of {@link DatabaseDumpBackup}.
 */
export interface DatabaseDumpBackupProps extends DatabaseDumpBackupOptions, BackupDestination {}

/** Prefix of the restic tag of each database dump backup (`db-dump-<name>`). */
export const DATABASE_DUMP_TAG_PREFIX = 'db-dump-';

/** Where the init container puts the restic binary for the database image. */
const TOOLS = '/tools';
/** uid/gid of the `postgres` and `mysql` users of the official images. */
const DB_UID = 999;

/**
 * Dumps a database server on a schedule, streaming the dump straight into
 * `restic backup --stdin` (no copy on disk), then applies the retention within its own group
 * (restic host = cluster name, tag `db-dump-<name>`, its own repository path).
 *
 * One CronJob: an init container (restic image) copies the static restic binary into an
 * emptyDir; the main container (the database's official image, as its uid 999) runs
 * `db-dump.sh`. When the dump fails midway (the server went away, a wrong password), the
 * snapshot restic saved from the truncated stream is removed, nothing is pruned and the job
 * fails.
 */
export class DatabaseDumpBackup extends BackupJob {
  /** The database server it dumps. */
  public readonly database: Database;
  /** The restic repository URL. */
  public readonly resticRepository: string;
  /** restic `--host` of its snapshots (the cluster name). */
  public readonly resticHost: string;
  /** restic tag of its snapshots. */
  public readonly resticTag: string;
  /** The CronJob. */
  public readonly cronJob: kplus.CronJob;
  /** Where the dumps go. */
  public readonly repository: BackupRepository;
  /** The images it was given. */
  public readonly images?: BackupImages;
  /** The restore drill, if `drill` was set. */
  public readonly drill?: DatabaseRestoreDrill;

  private readonly caCert: boolean;

  constructor(scope: Construct, id: string, props: DatabaseDumpBackupProps) {
    const C = 'DatabaseDumpBackup';
    if (!props || !(props.database instanceof Database)) {
      throw configError(`${C}: database is required, e.g. Database.postgres({ host, database, credentials }) or Database.mysql({...})`);
    }
    const db = props.database;
    const name = props.name ?? `${props.clusterName}-${db._shortKind()}-${(db.databaseName ?? 'all').toLowerCase().replace(/_/g, '-')}`;
    super(scope, id, {
      ...props,
      name,
      component: 'database-dump',
      scripts: ['db-dump.sh'],
      defaultSchedule: Cron.daily(),
      defaultRetention: Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }),
      alertPrefix: 'DatabaseDumpBackup',
      alertGroup: 'database-dump',
    });
    this.database = db;
    this.resticRepository = props.repository.resticRepository(`${props.clusterName}/database/${name}`);
    this.resticHost = props.clusterName;
    this.resticTag = `${DATABASE_DUMP_TAG_PREFIX}${name}`;
    this.retainRepository(`${props.clusterName}/database/${name}`, this.resticTag);
    this.caCert = props.repository._caCertPath() !== undefined;
    this.repository = props.repository;
    this.images = props.images;

    const restic = props.images?.restic ?? BackupDefaults.RESTIC_IMAGE;
    const tools = kplus.Volume.fromEmptyDir(this, 'ToolsVolume', 'tools', { sizeLimit: Size.mebibytes(256) });
    const tmp = this.tmpVolume(this);
    const access = resticRepositoryAccess(this, props.repository, this.resticRepository);
    const security = hardenedContainer(DB_UID, DB_UID);
    this.cronJob = this.addCronJob(this, {
      description: `dump of the ${db.description}`,
      failureAdvice: 'The dump or its upload failed after its retries. The `dump` container\'s log says which: the server unreachable or '
        + 'the login refused (nothing uploaded), the dump failing midway (its partial snapshot was removed) or the repository unreachable; '
        + 'nothing was pruned after a failure, so the previous dumps are all still there.',
      user: DB_UID,
      initContainers: [resticBinaryInit(restic, tools, security)],
      containers: [{
        name: 'dump',
        image: db._image(props.images),
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/bin/bash', '/scripts/db-dump.sh'],
        args: db._dumpCommand(),
        envVariables: {
          ...db._env(this),
          RESTIC_BIN: kplus.EnvValue.fromValue(`${TOOLS}/restic`),
          BACKUP_HOST: kplus.EnvValue.fromValue(this.resticHost),
          BACKUP_TAG: kplus.EnvValue.fromValue(this.resticTag),
          DUMP_FILE: kplus.EnvValue.fromValue(db.dumpFileName),
          ...(props.repository.splitRoles ? {} : { FORGET_ARGS: kplus.EnvValue.fromValue(this.retention!.toResticForgetArgs().join(' ')) }),
          ...writerRoleEnv(props.repository),
          ...access.env,
        },
        volumeMounts: [
          { path: TOOLS, volume: tools, readOnly: true },
          { path: '/tmp', volume: tmp },
          { path: '/scripts', volume: this.scriptsVolume(this), readOnly: true },
          ...access.mounts,
        ],
        securityContext: security,
        resources: containerResources(`${C}: resources`, props.resources, 100, 1000, 128, 1024),
      }],
    });
    if (props.drill) {
      this.drill = new DatabaseRestoreDrill(scope, `${id}Drill`, {
        ...props, ...props.drill, name: props.drill.name, schedule: props.drill.schedule, backup: this,
      });
    }
  }

  /** @internal */
  public _planFacts(): JobPlanFacts {
    return {
      ...super._planFacts(),
      title: `Database dump: ${this.name}`,
      what: [`Dumps the ${this.database.description} straight into restic (\`${this.database.dumpFileName}\` in each snapshot).`
        + `${this.drill ? ` Drilled by \`${this.drill.name}\`.` : ''}`],
      writesTo: [{ resticRepository: this.resticRepository }],
    };
  }

  /** The restore commands: the newest dump of this job, piped into the database client. */
  public restoreSection(): string {
    const restic = ['restic', '-r', this.resticRepository, ...(this.caCert ? ['--cacert', 'ca.crt'] : [])];
    const select = ['--no-lock', '--host', this.resticHost, '--tag', this.resticTag];
    return [
      `## ${this.database.description} (\`${this.name}\`)`,
      '',
      this.database._restoreAdvice(),
      '',
      'Set `TARGET_HOST`, `TARGET_PORT`, `TARGET_USER` and `TARGET_PASSWORD` for the target server, next to the repository\'s keys above:',
      '',
      '```sh',
      'set -o pipefail',
      shellComment(`${this.database.description}: list the dumps, then restore the newest`),
      shellWords(...restic, 'snapshots', ...select),
      `${shellWords(...restic, 'dump', ...select, 'latest', `/${this.database.dumpFileName}`)} \\`,
      `  | ${this.database._restoreCommand()}`,
      '```',
      '',
    ].join('\n');
  }
}

/**
 * Props of {@link DatabaseRestoreDrill}.
 */
export interface DatabaseRestoreDrillProps extends DatabaseDrillOptions, BackupJobOptions {
  /** The backup whose newest dump it restores (its repository, group, database and images). */
  readonly backup: DatabaseDumpBackup;
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/**
 * Restores the newest dump of a {@link DatabaseDumpBackup} into a throwaway server inside its own
 * pod and checks a table's row count: it fails on a dump that is not complete, that does not
 * restore (with `ON_ERROR_STOP`), that misses the table or has too few rows, and when the
 * repository cannot be read (a wrong password, missing keys). Nothing is written to the repository
 * (`--no-lock`). Usually made through the backup's `drill` option.
 */
export class DatabaseRestoreDrill extends BackupJob {
  /** The backup it checks. */
  public readonly backup: DatabaseDumpBackup;
  /** The drill's CronJob. */
  public readonly cronJob: kplus.CronJob;

  private readonly check: string;

  constructor(scope: Construct, id: string, props: DatabaseRestoreDrillProps) {
    const C = 'DatabaseRestoreDrill';
    if (!props || !(props.backup instanceof DatabaseDumpBackup)) throw configError(`${C}: backup is required (a DatabaseDumpBackup)`);
    const backup = props.backup;
    const db = backup.database;
    super(scope, id, {
      ...props,
      clusterName: backup.clusterName,
      repository: backup.repository,
      namespace: props.namespace ?? backup.namespace,
      timeZone: props.timeZone ?? backup.timeZone,
      images: props.images ?? backup.images,
      retention: undefined,
      name: props.name ?? `${backup.name}-drill`,
      component: 'database-drill',
      scripts: [db._drillScript()],
      defaultSchedule: Cron.schedule({ minute: '0', hour: '6' }),
      alertPrefix: 'DatabaseRestoreDrill',
      alertGroup: 'database-drill',
    });
    if (typeof props.requiredTable !== 'string' || !TABLE.test(props.requiredTable) || props.requiredTable.length > 127) {
      throw configError(`${C}: requiredTable must be a table name of letters, digits and '_' (optionally schema.table); got ${JSON.stringify(props.requiredTable)}`);
    }
    const database = props.requiredDatabase ?? db.databaseName;
    if (database === undefined) throw configError(`${C}: requiredDatabase is required when the backup dumps all databases`);
    if (!DB_NAME.test(database) || database.length > 64) {
      throw configError(`${C}: requiredDatabase must be letters, digits, '_' and '-'; got ${JSON.stringify(database)}`);
    }
    const minRows = props.minRows ?? 1;
    if (!Number.isInteger(minRows) || minRows < 0) throw configError(`${C}: minRows must be a whole number ≥ 0; got ${props.minRows}`);
    const roles = props.roles ?? [];
    for (const r of roles) {
      if (typeof r !== 'string' || r.length > 63 || !USER_NAME.test(r)) {
        throw configError(`${C}: roles: ${JSON.stringify(r)} is not a role name (letters, digits, '_', '.', '@' and '-')`);
      }
    }
    this.backup = backup;
    this.check = `table \`${props.requiredTable}\` of database \`${database}\` has at least ${minRows} ${minRows === 1 ? 'row' : 'rows'}`;

    const tools = kplus.Volume.fromEmptyDir(this, 'ToolsVolume', 'tools', { sizeLimit: Size.mebibytes(256) });
    const workVol = kplus.Volume.fromEmptyDir(this, 'WorkVolume', 'work', { sizeLimit: props.workspaceSize ?? Size.gibibytes(8) });
    const access = resticRepositoryAccess(this, backup.repository, backup.resticRepository, 'reader');
    const security = hardenedContainer(DB_UID, DB_UID);
    this.cronJob = this.addCronJob(this, {
      description: `restore drill of the ${db.description}`,
      failureAdvice: 'The newest dump did not restore into a throwaway server, or the check failed. The `drill` container\'s log says '
        + 'which: the repository unreadable (password, keys), the dump incomplete, the restore failing, or the table missing or too small. '
        + 'Until this passes, treat the dumps as unusable: check the backup job\'s logs and run it again.',
      user: DB_UID,
      initContainers: [resticBinaryInit(props.images?.restic ?? backup.images?.restic ?? BackupDefaults.RESTIC_IMAGE, tools, security)],
      containers: [{
        name: 'drill',
        image: db._image(props.images ?? backup.images),
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/bin/bash', `/scripts/${db._drillScript()}`],
        envVariables: {
          ...db._drillEnv(this),
          RESTIC_BIN: kplus.EnvValue.fromValue(`${TOOLS}/restic`),
          BACKUP_HOST: kplus.EnvValue.fromValue(backup.resticHost),
          BACKUP_TAG: kplus.EnvValue.fromValue(backup.resticTag),
          DUMP_FILE: kplus.EnvValue.fromValue(db.dumpFileName),
          DUMP_COMPLETE_MARKER: kplus.EnvValue.fromValue(db._completeMarker()),
          DRILL_DIR: kplus.EnvValue.fromValue('/work'),
          DRILL_DATABASE: kplus.EnvValue.fromValue(database),
          DRILL_CHECK_SQL: kplus.EnvValue.fromValue(db._countSql(database, props.requiredTable)),
          DRILL_TABLE: kplus.EnvValue.fromValue(props.requiredTable),
          DRILL_MIN_ROWS: kplus.EnvValue.fromValue(String(minRows)),
          DRILL_ROLES: kplus.EnvValue.fromValue(roles.join(' ')),
          ...access.env,
        },
        volumeMounts: [
          { path: TOOLS, volume: tools, readOnly: true },
          { path: '/tmp', volume: this.tmpVolume(this) },
          { path: '/work', volume: workVol },
          { path: '/scripts', volume: this.scriptsVolume(this), readOnly: true },
          ...access.mounts,
        ],
        securityContext: security,
        resources: containerResources('', undefined, 200, 2000, 256, 2048),
      }],
    });
  }

  /** @internal */
  public _planFacts(): JobPlanFacts {
    return {
      ...super._planFacts(),
      title: `Database restore drill: ${this.name}`,
      what: [`Restores the newest dump of \`${this.backup.name}\` into a throwaway server inside its pod and checks that the ${this.check}.`],
      readsFrom: [{ resticRepository: this.backup.resticRepository }],
    };
  }
}

/**
 * The init container that copies the static restic binary into `tools` (mounted at /tools), for
 * the database image, which has none: the dump's and the drill's.
 */
function resticBinaryInit(image: string, tools: kplus.Volume, security: kplus.ContainerSecurityContextProps): kplus.ContainerProps {
  return {
    name: 'restic-binary',
    image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: ['cp', '/usr/bin/restic', `${TOOLS}/restic`],
    volumeMounts: [{ path: TOOLS, volume: tools }],
    securityContext: security,
    resources: containerResources('', undefined, 10, 200, 16, 64),
  };
}
