import { Cron, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { configError } from '../internal/errors';
import { hardenedContainer } from '../internal/hardening';
import { checkSecretKeyRef } from '../internal/secret-checks';
import { shellComment, shellWords } from '../internal/shell';
import { isHost } from '../internal/urls';
import { BackupDefaults } from '../job/backup-defaults';
import { BackupJob } from '../job/backup-job';
import { BackupDestination, BackupImages, BackupJobOptions } from '../job/backup-job-options';
import { containerResources, ResourceRequirements } from '../job/resource-requirements';
import { resticRepositoryAccess, secretEnv } from '../job/restic-step';
import { JobPlanFacts } from '../plan/job-plan';
import { Retention } from '../policy/retention';
import { BackupRepository } from '../repository/backup-repository';
import { SecretKeyRef } from '../repository/secret-key-ref';

/**
 * How the dump job logs in: the password always from a Secret (an environment variable from a
 * `secretKeyRef`, never on a command line or in the rendered YAML), the user name from the same
 * or another Secret, or as a plain value.
 */
export interface DatabaseCredentials {
  /** The Secret key with the password (`PGPASSWORD` / `MYSQL_PWD` in the dump container). */
  readonly password: SecretKeyRef;
  /**
   * The user name, as a plain value. Give at most one of `user` and `userSecret`.
   * @default - `userSecret` if set, else 'postgres' (PostgreSQL) or 'root' (MySQL/MariaDB)
   */
  readonly user?: string;
  /**
   * The Secret key with the user name.
   * @default - the `user` option
   */
  readonly userSecret?: SecretKeyRef;
}

/**
 * A PostgreSQL server to dump: one database (`pg_dump --create`) or the whole server with its
 * roles (`pg_dumpall`).
 */
export interface PostgresDatabaseOptions {
  /** Host of the server: a DNS name (e.g. a Service `db.prod.svc`), an IPv4 or a bracketed IPv6 address. */
  readonly host: string;
  /**
   * Port of the server.
   * @default 5432
   */
  readonly port?: number;
  /**
   * The database to dump (letters, digits, `_` and `-`; at most 63 characters). Give exactly one of
   * `database` and `allDatabases`.
   * @default - none: `allDatabases` must be true
   */
  readonly database?: string;
  /**
   * Dump every database and the roles with `pg_dumpall` (needs a superuser).
   * @default false
   */
  readonly allDatabases?: boolean;
  /** How to log in. */
  readonly credentials: DatabaseCredentials;
}

/**
 * A MySQL or MariaDB server to dump with `mariadb-dump --single-transaction` (a consistent
 * snapshot of InnoDB tables without locking them).
 */
export interface MysqlDatabaseOptions {
  /** Host of the server: a DNS name, an IPv4 or a bracketed IPv6 address. */
  readonly host: string;
  /**
   * Port of the server.
   * @default 3306
   */
  readonly port?: number;
  /**
   * The database to dump (letters, digits, `_` and `-`; at most 64 characters).
   * @default - every database (`--all-databases`)
   */
  readonly database?: string;
  /** How to log in. */
  readonly credentials: DatabaseCredentials;
}

const DB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;

interface Engine {
  readonly kind: 'postgres' | 'mysql';
  readonly label: string;
  readonly defaultPort: number;
  readonly defaultUser: string;
}

const POSTGRES: Engine = { kind: 'postgres', label: 'PostgreSQL', defaultPort: 5432, defaultUser: 'postgres' };
const MYSQL: Engine = { kind: 'mysql', label: 'MySQL/MariaDB', defaultPort: 3306, defaultUser: 'root' };

/**
 * A database server to back up, with everything the backup job asks of it: image, dump command,
 * file name in the backup, restore command. Make one with {@link Database.postgres} or
 * {@link Database.mysql}; every input is checked at synth time.
 */
export class Database {
  /**
   * A PostgreSQL server: `pg_dump --create` of one database, or `pg_dumpall` of all of them.
   */
  public static postgres(options: PostgresDatabaseOptions): Database {
    const o = 'Database.postgres';
    if (!options) throw configError(`${o}: options are required, e.g. { host, database, credentials }`);
    const all = options.allDatabases ?? false;
    if (all && options.database !== undefined) {
      throw configError(`${o}: give either database or allDatabases: true, not both (got database ${JSON.stringify(options.database)})`);
    }
    if (!all && options.database === undefined) {
      throw configError(`${o}: database is required (the database to pg_dump), or set allDatabases: true to pg_dumpall the whole server`);
    }
    return new Database(POSTGRES, o, options.host, options.port, all ? undefined : options.database, options.credentials, 63);
  }

  /**
   * A MySQL or MariaDB server: `mariadb-dump --single-transaction` of one database, or of all.
   */
  public static mysql(options: MysqlDatabaseOptions): Database {
    const o = 'Database.mysql';
    if (!options) throw configError(`${o}: options are required, e.g. { host, database, credentials }`);
    return new Database(MYSQL, o, options.host, options.port, options.database, options.credentials, 64);
  }

  /** Host of the server. */
  public readonly host: string;
  /** Port of the server. */
  public readonly port: number;
  /** The database dumped; undefined when the whole server is. */
  public readonly databaseName?: string;
  /** Name of the dump inside each restic snapshot (`<database>.sql`, or `all-databases.sql`). */
  public readonly dumpFileName: string;
  /** What it is, in words, e.g. `PostgreSQL database app on db.prod.svc:5432`. */
  public readonly description: string;

  private readonly engine: Engine;
  private readonly credentials: DatabaseCredentials;

  private constructor(engine: Engine, o: string, host: string, port: number | undefined, database: string | undefined,
    credentials: DatabaseCredentials, maxName: number) {
    if (typeof host !== 'string' || !isHost(host)) {
      throw configError(`${o}: host must be a DNS name (letters, digits, '-' and '.'), an IPv4 address or a bracketed IPv6 address, e.g. db.prod.svc.cluster.local; got ${JSON.stringify(host)}`);
    }
    const p = port ?? engine.defaultPort;
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw configError(`${o}: port must be a whole number from 1 to 65535; got ${port}`);
    if (database !== undefined && (typeof database !== 'string' || database.length > maxName || !DB_NAME.test(database))) {
      throw configError(`${o}: database must be letters, digits, '_' and '-' (not starting with '-'), at most ${maxName} characters; got ${JSON.stringify(database)}`);
    }
    if (!credentials) throw configError(`${o}: credentials are required, e.g. { password: { name: 'db-backup', key: 'password' } }`);
    checkSecretKeyRef(`${o}: credentials.password`, credentials.password);
    if (credentials.user !== undefined && credentials.userSecret !== undefined) {
      throw configError(`${o}: credentials: give either user or userSecret, not both`);
    }
    if (credentials.userSecret !== undefined) checkSecretKeyRef(`${o}: credentials.userSecret`, credentials.userSecret);
    if (credentials.user !== undefined && (typeof credentials.user !== 'string' || credentials.user.length > 63 || !USER_NAME.test(credentials.user))) {
      throw configError(`${o}: credentials.user must be letters, digits, '_', '.', '@' and '-', at most 63 characters; got ${JSON.stringify(credentials.user)}`);
    }
    this.engine = engine;
    this.host = host;
    this.port = p;
    this.databaseName = database;
    this.credentials = credentials;
    this.dumpFileName = `${database ?? 'all-databases'}.sql`;
    this.description = `${engine.label} ${database ? `database ${database}` : 'server (all databases)'} on ${host}:${p}`;
  }

  /** Short kind for names and tags: `pg` or `mysql`. @internal */
  public _shortKind(): string {
    return this.engine.kind === 'postgres' ? 'pg' : 'mysql';
  }

  /** The image that runs the dump. @internal */
  public _image(images: BackupImages | undefined): string {
    return this.engine.kind === 'postgres' ? images?.postgres ?? BackupDefaults.POSTGRES_IMAGE : images?.mariadb ?? BackupDefaults.MARIADB_IMAGE;
  }

  /** Environment of the dump container: login (user, password from Secrets), server. @internal */
  public _env(scope: Construct): { [name: string]: kplus.EnvValue } {
    const c = this.credentials;
    const user = c.userSecret
      ? secretEnv(scope, 'DatabaseUser', c.userSecret.name, c.userSecret.key)
      : kplus.EnvValue.fromValue(c.user ?? this.engine.defaultUser);
    const password = secretEnv(scope, 'DatabasePassword', c.password.name, c.password.key);
    if (this.engine.kind === 'mysql') return { DB_USER: user, MYSQL_PWD: password };
    // libpq reads these; no connection detail on the command line.
    return {
      PGUSER: user,
      PGPASSWORD: password,
      PGHOST: kplus.EnvValue.fromValue(this.host.replace(/^\[(.*)\]$/, '$1')),
      PGPORT: kplus.EnvValue.fromValue(String(this.port)),
      PGDATABASE: kplus.EnvValue.fromValue(this.databaseName ?? 'postgres'),
      PGCONNECT_TIMEOUT: kplus.EnvValue.fromValue('30'),
    };
  }

  /**
   * The dump command (argv), writing SQL to stdout. `$(DB_USER)` is expanded by Kubernetes from
   * the container's environment (mariadb-dump reads no user from the environment).
   * @internal
   */
  public _dumpCommand(): string[] {
    if (this.engine.kind === 'postgres') {
      return this.databaseName ? ['pg_dump', '--no-password', '--create'] : ['pg_dumpall', '--no-password'];
    }
    return [
      'mariadb-dump', `--host=${this.host.replace(/^\[(.*)\]$/, '$1')}`, `--port=${this.port}`, '--user=$(DB_USER)', '--protocol=TCP',
      '--single-transaction', '--routines', '--events', '--triggers', '--hex-blob', '--skip-dump-date',
      ...(this.databaseName ? ['--databases', this.databaseName] : ['--all-databases']),
    ];
  }

  /**
   * The client command that reads the dump on stdin into a target server given by
   * TARGET_HOST, TARGET_PORT, TARGET_USER and TARGET_PASSWORD (shell text, for the runbook).
   * @internal
   */
  public _restoreCommand(): string {
    if (this.engine.kind === 'postgres') {
      return `PGPASSWORD="\${TARGET_PASSWORD}" ${shellWords('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1')} `
        + '--host "${TARGET_HOST}" --port "${TARGET_PORT}" --username "${TARGET_USER}" --dbname postgres';
    }
    return 'MYSQL_PWD="${TARGET_PASSWORD}" mariadb --protocol=TCP --host "${TARGET_HOST}" --port "${TARGET_PORT}" --user "${TARGET_USER}"';
  }

  /** The drill's script in assets/. @internal */
  public _drillScript(): string {
    return this.engine.kind === 'postgres' ? 'db-drill-postgres.sh' : 'db-drill-mysql.sh';
  }

  /** The last line a complete dump has (the drill rejects a dump without it). @internal */
  public _completeMarker(): string {
    return this.engine.kind === 'postgres' ? (this.databaseName ? '-- PostgreSQL database dump complete' : '-- PostgreSQL database cluster dump complete') : '-- Dump completed';
  }

  /**
   * The dump's login as `DUMP_USER`, when the drill must create that role before restoring (a
   * single PostgreSQL database: its objects are owned by roles the dump does not create).
   * @internal
   */
  public _drillEnv(scope: Construct): { [name: string]: kplus.EnvValue } {
    if (this.engine.kind !== 'postgres' || !this.databaseName) return {};
    const c = this.credentials;
    return {
      DUMP_USER: c.userSecret
        ? secretEnv(scope, 'DrillDumpUser', c.userSecret.name, c.userSecret.key)
        : kplus.EnvValue.fromValue(c.user ?? this.engine.defaultUser),
    };
  }

  /** SQL that counts the rows of `table` in the restored server. @internal */
  public _countSql(database: string, table: string): string {
    const parts = table.split('.');
    if (this.engine.kind === 'postgres') return `SELECT count(*) FROM ${parts.map((x) => `"${x}"`).join('.')}`;
    return `SELECT COUNT(*) FROM \`${database}\`.${parts.map((x) => `\`${x}\``).join('.')}`;
  }

  /** What the target server needs before the restore (Markdown). @internal */
  public _restoreAdvice(): string {
    if (this.engine.kind === 'postgres') {
      return this.databaseName
        ? `The dump creates the database \`${this.databaseName}\` (\`--create\`): restore into a server (the same major version or newer) that does not have it yet, `
          + 'as a superuser, after creating the roles that own its objects (or restore a `pg_dumpall` of the roles first).'
        : 'The dump (`pg_dumpall`) creates every role and database: restore into a fresh server (the same major version or newer) '
          + 'whose bootstrap superuser has a name other than any role in the dump (e.g. `initdb -U restore`), as that superuser.';
    }
    return this.databaseName
      ? `The dump creates the database \`${this.databaseName}\` if it does not exist and replaces its tables: restore as a user with every privilege on it.`
      : 'The dump holds every database, including `mysql` (users and grants): restore into a fresh server as its root user.';
  }
}

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
      initContainers: [{
        name: 'restic-binary',
        image: restic,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['cp', '/usr/bin/restic', `${TOOLS}/restic`],
        volumeMounts: [{ path: TOOLS, volume: tools }],
        securityContext: security,
        resources: containerResources('', undefined, 10, 200, 16, 64),
      }],
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
          FORGET_ARGS: kplus.EnvValue.fromValue(this.retention!.toResticForgetArgs().join(' ')),
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
    const access = resticRepositoryAccess(this, backup.repository, backup.resticRepository);
    const security = hardenedContainer(DB_UID, DB_UID);
    this.cronJob = this.addCronJob(this, {
      description: `restore drill of the ${db.description}`,
      failureAdvice: 'The newest dump did not restore into a throwaway server, or the check failed. The `drill` container\'s log says '
        + 'which: the repository unreadable (password, keys), the dump incomplete, the restore failing, or the table missing or too small. '
        + 'Until this passes, treat the dumps as unusable: check the backup job\'s logs and run it again.',
      user: DB_UID,
      initContainers: [{
        name: 'restic-binary',
        image: props.images?.restic ?? backup.images?.restic ?? BackupDefaults.RESTIC_IMAGE,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['cp', '/usr/bin/restic', `${TOOLS}/restic`],
        volumeMounts: [{ path: TOOLS, volume: tools }],
        securityContext: security,
        resources: containerResources('', undefined, 10, 200, 16, 64),
      }],
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
