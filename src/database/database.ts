import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { configError } from '../internal/errors';
import { checkSecretKeyRef } from '../internal/secret-checks';
import { shellWords } from '../internal/shell';
import { isHost } from '../internal/urls';
import { BackupDefaults } from '../job/backup-defaults';
import { BackupImages } from '../job/backup-job-options';
import { secretEnv } from '../job/restic-step';
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

/** A database name the scripts take as it is. @internal */
export const DB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
/** A user or role name the scripts take as it is. @internal */
export const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;

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
