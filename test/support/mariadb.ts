/**
 * A real MariaDB server (Debian's `mariadb-server` 11.8, the default image's version, in the root file system
 * scripts/setup.sh builds; its programs run through images.ts rootProgram(), see postgres.ts) in a temp dir, on 127.0.0.1:<free port>
 * and a unix socket in the temp dir, with a password for the admin (root) and a normal user that has
 * every privilege on its own database, for the DatabaseDumpBackup end-to-end tests. Nothing of the
 * package's own server (/var/lib/mysql, /run/mysqld, its service, /etc/mysql) is used.
 *
 * Measured here (Debian bookworm, MariaDB 10.11.19, 2 vCPU; 11.8.9 in its root alike):
 * - `mariadb-install-db` ~1 s (2-4 s while another test suite runs: a per-process template copied with
 *   `cp -a` takes ~0.1 s); start to "ready for connections" ~0.2 s, with the users ~0.3 s.
 *   `loadRows(5000)` ~0.1 s (one INSERT ... SELECT from the SEQUENCE engine's seq_1_to_N); 100k rows x
 *   400 B ~1.7 s.
 * - Server flags that matter: `--no-defaults` FIRST (else /etc/mysql/my.cnf of the package applies:
 *   its socket, its datadir), `--skip-networking=0 --bind-address=127.0.0.1 --port=<free>`,
 *   `--socket=<tmp>/mysqld.sock`, `--datadir`, `--pid-file` and `--tmpdir` in the temp dir,
 *   `--skip-name-resolve` (grants by IP: a TCP client from 127.0.0.1 is `user@127.0.0.1`, never
 *   `user@localhost`, which means the socket), utf8mb4 as the server charset (10.11's default is latin1).
 *   mariadb-install-db takes the innodb flags too (it passes unknown flags to the bootstrap mariadbd):
 *   `--innodb-log-file-size=16M` makes the data dir ~30 MB instead of ~114 MB.
 * - mariadbd runs as the root's `mysql` user (uid 999, as in the image) through `setpriv` (as root it
 *   would need --user=mysql). The temp dir is owned by that user.
 * - `mariadb-install-db --auth-root-authentication-method=normal` creates root@localhost, @127.0.0.1,
 *   @::1 and @<hostname> with EMPTY passwords (root@<hostname> cannot even be ALTERed or DROPped under
 *   --skip-name-resolve: error 1396): the harness deletes all but root@localhost, sets its password and
 *   adds the admin @'%'; the normal user is created as user@'%'.
 * - Client environment: MYSQL_PWD is the password (read by libmariadb: every client); MYSQL_TCP_PORT the
 *   port; MYSQL_HOST is read by the `mariadb` client but NOT by mariadb-dump (10.11: it then tries the
 *   default socket /run/mysqld/mysqld.sock): pass `--host`. USER is ignored (the login name is taken):
 *   pass `--user`. `clientArgs()` gives the flags, `env()` the variables.
 * - The dump starts with `/*M!999999\- enable the sandbox mode *\/` (MariaDB ≥ 10.11.8 / 11.x):
 *   fine for the `mariadb` client, a syntax error for a MySQL client.
 * - `--skip-dump-date` makes two dumps of the same data byte-identical (else the last line has the time).
 * - `kill('SIGKILL')`: mariadbd is one process; a running mariadb-dump then fails with
 *   "Error 2013: Lost connection to server during query when dumping table `t` at row: N" (exit 3) and no
 *   "-- Dump completed" line. (pg_dump: exit 1; both had read ~4 MB of a 20 MB table when their reading stopped.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  asUser, chownTree, copyTree, mariadbString, OsUser, randomPassword, RunOptions, RunResult, runCommand, templatesDir, withinMs,
} from './commands';
import { rootMariadb, rootProgram, rootUser } from './images';
import { canConnect, cleanEnv, ExitInfo, freePort, ManagedProcess, startProcess, waitFor } from './processes';

/** The MariaDB root, or an error naming what to run. */
export function mariadbInstall(): { readonly root: string; readonly mariadbd: string; readonly setpriv: string } {
  const m = rootMariadb();
  if (!m) {
    throw new Error('no MariaDB 11.8 root (images.ts DATABASE_ROOTS): run scripts/setup.sh');
  }
  return { root: m.root, mariadbd: '/usr/sbin/mariadbd', setpriv: rootProgram(m.root, '/usr/bin/setpriv') };
}

/** A host executable running a MariaDB client program (mariadb, mariadb-dump, mariadb-admin, ...) in the root. */
export function mariadbBin(tool: string): string {
  return rootProgram(mariadbInstall().root, path.join('/usr/bin', tool));
}

/** A host directory of programs running the MariaDB clients (/usr/bin/mariadb*) in the root, by name: a PATH entry. */
export function mariadbBinDir(): string {
  const tools = fs.readdirSync(path.join(mariadbInstall().root, 'usr/bin')).filter((t) => t.startsWith('mariadb'));
  return path.dirname(tools.map((t) => mariadbBin(t)).pop()!);
}

/** The first of `names` in the root's /etc/passwd. */
function mariadbUser(names: readonly string[]): OsUser {
  for (const n of names) {
    try {
      return rootUser(mariadbInstall().root, n);
    } catch {
      // next
    }
  }
  throw new Error(`none of the users ${names.join(', ')} in the MariaDB root`);
}

export interface StartMariadbOptions {
  /** Admin user (all privileges, @'%' and @localhost). @default 'root' */
  readonly adminUser?: string;
  /** @default - random */
  readonly adminPassword?: string;
  /** Normal user with ALL on `database` only; null: none (and no database). @default 'app' */
  readonly user?: string | null;
  /** @default - random */
  readonly password?: string;
  /** @default 'app' */
  readonly database?: string;
  /** Extra mariadbd flags (after the harness's own). */
  readonly extraArgs?: readonly string[];
  /** OS user the server runs as (first that exists in the root). @default ['mysql', 'nobody'] */
  readonly osUsers?: readonly string[];
  /** Name in log file names. @default 'mariadb' */
  readonly name?: string;
  /** @default 30000 */
  readonly startTimeoutMs?: number;
  /**
   * Copy a data dir made by mariadb-install-db once per Node process instead of running it for every
   * server (~0.1 s instead of ~1-2 s). @default true
   */
  readonly template?: boolean;
}

export interface MariadbClientOptions {
  /** User to connect as (one this harness created). @default the normal user, else the admin */
  readonly user?: string;
  /** Default database. @default the normal user's database (for the admin: none) */
  readonly db?: string;
  /** Connect through the unix socket instead of 127.0.0.1. @default false */
  readonly socket?: boolean;
}

export interface MariadbLoadRowsOptions extends MariadbClientOptions {
  /** Bytes of the `payload` column per row (md5 hex of the id, repeated). @default 32 */
  readonly payloadBytes?: number;
}

/** A running MariaDB server (see the file comment). */
export class MariadbServer {
  public readonly version: string;
  public readonly host = '127.0.0.1';
  public readonly port: number;
  public readonly socket: string;
  public readonly dataDir: string;
  /** temp dir holding data, socket, pid and tmp; removed by stop() */
  public readonly baseDir: string;
  public readonly adminUser: string;
  public readonly adminPassword: string;
  public readonly user?: string;
  public readonly password?: string;
  public readonly database?: string;
  public readonly osUser: OsUser;
  public readonly process: ManagedProcess;
  /** ms for mariadb-install-db, or for copying the template data dir */
  public readonly installMs: number;
  private stopped = false;
  private readyMs = 0;

  /** @internal */
  constructor(props: {
    version: string;
    port: number;
    baseDir: string;
    adminUser: string;
    adminPassword: string;
    user?: string;
    password?: string;
    database?: string;
    osUser: OsUser;
    process: ManagedProcess;
    installMs: number;
  }) {
    this.version = props.version;
    this.port = props.port;
    this.baseDir = props.baseDir;
    this.socket = path.join(props.baseDir, 'mysqld.sock');
    this.dataDir = path.join(props.baseDir, 'data');
    this.adminUser = props.adminUser;
    this.adminPassword = props.adminPassword;
    this.user = props.user;
    this.password = props.password;
    this.database = props.database;
    this.osUser = props.osUser;
    this.process = props.process;
    this.installMs = props.installMs;
  }

  public get pid(): number {
    return this.process.pid;
  }

  /** ms from spawn to accepting queries, with the users and database created */
  public get startMs(): number {
    return this.readyMs;
  }

  /** @internal */
  public markReady(ms: number): this {
    this.readyMs = ms;
    return this;
  }

  /**
   * Client environment: MYSQL_PWD (the password), MYSQL_TCP_PORT, MYSQL_HOST (the `mariadb` client
   * only; mariadb-dump ignores it) or MYSQL_UNIX_PORT for `socket`. The user is not in it: see clientArgs().
   */
  public env(options: MariadbClientOptions = {}): Record<string, string> {
    const user = this.userOf(options);
    return {
      MYSQL_PWD: this.passwordOf(user),
      MYSQL_TCP_PORT: String(this.port),
      ...(options.socket ? { MYSQL_UNIX_PORT: this.socket } : { MYSQL_HOST: this.host }),
    };
  }

  /**
   * Flags for any client (no password: that is MYSQL_PWD in env()): --no-defaults (this host's
   * /etc/mysql must not apply), --host/--port or --socket, --user, --default-character-set=utf8mb4.
   */
  public clientArgs(options: MariadbClientOptions = {}): string[] {
    return [
      '--no-defaults',
      ...(options.socket ? [`--socket=${this.socket}`] : [`--host=${this.host}`, `--port=${this.port}`, '--protocol=TCP']),
      `--user=${this.userOf(options)}`,
      '--default-character-set=utf8mb4',
    ];
  }

  /** Runs a MariaDB client program with clientArgs() first, then `args` (and the database, if any, last for `mariadb`). */
  public client(tool: string, args: readonly string[], options: MariadbClientOptions & RunOptions = {}): Promise<RunResult> {
    return runCommand(mariadbBin(tool), [...this.clientArgs(options), ...args], {
      ...options, env: { ...this.env(options), ...(options.env ?? {}) },
    });
  }

  /** Runs SQL (from stdin) with `mariadb --batch --skip-column-names`; returns stdout (tab-separated rows), throws on error. */
  public async sql(sql: string, options: MariadbClientOptions = {}): Promise<string> {
    const db = this.dbOf(options);
    const r = await this.client('mariadb', ['--batch', '--skip-column-names', ...(db ? [db] : [])], { ...options, input: sql });
    if (r.code !== 0) {
      throw new Error(`mariadb failed (${r.code ?? r.signal}): ${r.stderr.trim()}\nSQL: ${sql.slice(0, 500)}`);
    }
    return r.stdout;
  }

  /**
   * Creates `table` (id INT PRIMARY KEY, name VARCHAR(200), amount DECIMAL(12,2), flag BOOLEAN, created_at
   * DATETIME, payload MEDIUMTEXT; InnoDB, utf8mb4) in the database and inserts rows 1..n from seq_1_to_n:
   * deterministic values, every 10th name NULL, names with a tab, a newline, a quote, a backslash and ü.
   */
  public async loadRows(table: string, n: number, options: MariadbLoadRowsOptions = {}): Promise<void> {
    const payloadBytes = options.payloadBytes ?? 32;
    const t = quoteName(table);
    await this.sql([
      `CREATE TABLE ${t} (id INT PRIMARY KEY, name VARCHAR(200) NULL, amount DECIMAL(12,2), flag BOOLEAN, created_at DATETIME,`,
      '  payload MEDIUMTEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;',
      `INSERT INTO ${t} SELECT seq,`,
      '  IF(seq % 10 = 0, NULL, CONCAT(\'row \', seq, \' tab\\t nl\\n quote\'\' backslash\\\\ \u00fc\')),',
      '  (seq * 37 % 100000) / 100, seq % 3 = 0,',
      "  TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq MINUTE,",
      `  LEFT(REPEAT(MD5(seq), ${Math.ceil(payloadBytes / 32)}), ${payloadBytes})`,
      `FROM seq_1_to_${n};`,
    ].join('\n'), options);
  }

  /**
   * Every row of `table` ordered by its first column, one line per row, each column QUOTE()d (NULL as
   * NULL, strings quoted, --batch escapes tab/newline/backslash): compare two servers with it.
   */
  public async dumpTable(table: string, options: MariadbClientOptions = {}): Promise<string> {
    const cols = (await this.sql(
      'SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '
      + `${mariadbString(table)} ORDER BY ORDINAL_POSITION;`, options)).split('\n').filter(Boolean);
    if (cols.length === 0) {
      throw new Error(`dumpTable: no table ${table} in ${this.dbOf(options)}`);
    }
    const select = cols.map((c) => `QUOTE(${quoteName(c)})`).join(", ',', ");
    return this.sql(`SELECT CONCAT(${select}) FROM ${quoteName(table)} ORDER BY ${quoteName(cols[0])};`, options);
  }

  public async rowCount(table: string, options: MariadbClientOptions = {}): Promise<number> {
    return Number((await this.sql(`SELECT COUNT(*) FROM ${quoteName(table)};`, options)).trim());
  }

  /** Restores a mariadb-dump file (fed to `mariadb` on stdin, into `db` unless the dump selects its own); throws on error. */
  public async restore(file: string, options: MariadbClientOptions = {}): Promise<RunResult> {
    const db = this.dbOf(options);
    const r = await this.client('mariadb', db ? [db] : [], { ...options, input: fs.readFileSync(file) });
    if (r.code !== 0) {
      throw new Error(`restore of ${file} failed (${r.code ?? r.signal}): ${r.stderr.trim()}`);
    }
    return r;
  }

  /** Signals mariadbd (one process; its whole process group) and waits until it is gone. The data dir stays until stop(). */
  public async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ readonly exit: ExitInfo; readonly pids: number[] }> {
    const pids = this.process.exited ? [] : this.process.groupMembers();
    try {
      process.kill(-this.process.pid, signal);
    } catch {
      // already gone
    }
    return { exit: await this.process.waitForExit(), pids };
  }

  /** Clean shutdown (SIGTERM, up to 10 s), then the process group cleanup; removes the temp dir. Idempotent. */
  public async stop(): Promise<void> {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    if (!this.process.exited) {
      try {
        process.kill(this.process.pid, 'SIGTERM');
        await withinMs(this.process.waitForExit(), 10_000);
      } catch {
        // gone
      }
    }
    await this.process.stop();
    fs.rmSync(this.baseDir, { recursive: true, force: true });
  }

  private userOf(options: MariadbClientOptions): string {
    return options.user ?? this.user ?? this.adminUser;
  }

  private dbOf(options: MariadbClientOptions): string | undefined {
    return options.db ?? (this.userOf(options) === this.user ? this.database : undefined);
  }

  private passwordOf(user: string): string {
    if (user === this.adminUser) {
      return this.adminPassword;
    }
    if (user === this.user && this.password !== undefined) {
      return this.password;
    }
    throw new Error(`MariadbServer: no password known for user ${user}`);
  }
}

/** `name` with embedded backquotes doubled. */
export function quoteName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** mariadbd flags shared by mariadb-install-db (bootstrap) and the server. */
function commonFlags(baseDir: string): string[] {
  return [
    `--datadir=${path.join(baseDir, 'data')}`,
    `--tmpdir=${path.join(baseDir, 'tmp')}`,
    '--innodb-log-file-size=16M',
    '--innodb-buffer-pool-size=64M',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
  ];
}

const templates = new Map<string, Promise<string>>();

/** mariadb-install-db once per OS user and Node process; returns the template's data dir (root@localhost without password). */
function templateDataDir(user: OsUser): Promise<string> {
  const key = String(user.uid);
  let t = templates.get(key);
  if (!t) {
    t = (async () => {
      const dir = fs.mkdtempSync(path.join(templatesDir(), 'mariadb-'));
      fs.chmodSync(dir, 0o700);
      fs.mkdirSync(path.join(dir, 'tmp'), { mode: 0o700 });
      chownTree(dir, user);
      await installDb(user, dir);
      return path.join(dir, 'data');
    })();
    templates.set(key, t);
    t.catch(() => templates.delete(key));
  }
  return t;
}

async function installDb(user: OsUser, baseDir: string): Promise<void> {
  const r = await runCommand(mariadbInstall().setpriv, [...asUser(user), '/usr/bin/mariadb-install-db', '--no-defaults',
    ...commonFlags(baseDir), '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'],
  { env: { HOME: baseDir }, timeoutMs: 60_000 });
  if (r.code !== 0) {
    throw new Error(`mariadb-install-db failed (${r.code ?? r.signal}): ${r.stderr.trim()}\n${r.stdout.trim()}`);
  }
}

/**
 * A fresh data dir (a copy of a per-process mariadb-install-db template, or mariadb-install-db itself
 * with `template: false`) in a temp dir; mariadbd on 127.0.0.1:<free port> + a socket in the temp dir
 * (as a non-root OS user, via startProcess); once it answers, the admin gets its password and the normal
 * user and its database are created. Retries with a new port if the port was taken.
 */
export async function startMariadb(options: StartMariadbOptions = {}): Promise<MariadbServer> {
  const { mariadbd, setpriv } = mariadbInstall();
  const user = mariadbUser(options.osUsers ?? ['mysql', 'nobody']);
  const adminUser = options.adminUser ?? 'root';
  const adminPassword = options.adminPassword ?? randomPassword();
  const normalUser = options.user === null ? undefined : options.user ?? 'app';
  const password = normalUser ? options.password ?? randomPassword() : undefined;
  const database = normalUser ? options.database ?? 'app' : undefined;
  const name = options.name ?? 'mariadb';
  const timeoutMs = options.startTimeoutMs ?? 30_000;

  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mariadb-'));
  try {
    fs.chmodSync(baseDir, 0o700);
    fs.mkdirSync(path.join(baseDir, 'tmp'), { mode: 0o700 });
    const t0 = Date.now();
    if (options.template ?? true) {
      await copyTree(await templateDataDir(user), path.join(baseDir, 'data'));
      chownTree(baseDir, user);
    } else {
      chownTree(baseDir, user);
      await installDb(user, baseDir);
    }
    const installMs = Date.now() - t0;
    const version = (await runCommand(rootProgram(mariadbInstall().root, mariadbd), ['--version'])).stdout.trim();
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const started = Date.now();
      const proc = startProcess({
        name,
        command: setpriv,
        args: [...asUser(user), mariadbd, '--no-defaults', ...commonFlags(baseDir),
          '--skip-networking=0', '--bind-address=127.0.0.1', `--port=${port}`,
          `--socket=${path.join(baseDir, 'mysqld.sock')}`, `--pid-file=${path.join(baseDir, 'mysqld.pid')}`,
          '--skip-name-resolve', '--innodb-flush-log-at-trx-commit=0', '--innodb-doublewrite=0', '--max-connections=30',
          ...(options.extraArgs ?? [])],
        env: cleanEnv({ HOME: baseDir }),
      });
      const server = new MariadbServer({
        version, port, baseDir, adminUser, adminPassword, user: normalUser, password, database, osUser: user, process: proc, installMs,
      });
      try {
        await waitFor(async () => proc.output().includes('ready for connections') && canConnect(port), timeoutMs, {
          intervalMs: 20,
          description: `mariadbd on 127.0.0.1:${port}`,
          abort: () => proc.exited ? `mariadbd exited (${JSON.stringify(proc.exited)}):\n${proc.output(4000)}` : undefined,
        });
        // install-db's root entries have no password: the first connection is as root over the socket, without one.
        // root@<hostname> cannot be ALTERed or DROPped under --skip-name-resolve: its rows are deleted.
        const pw = mariadbString(adminPassword);
        const statements = [
          "DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';",
          "DELETE FROM mysql.proxies_priv WHERE User = 'root' AND Host <> 'localhost';",
          'FLUSH PRIVILEGES;',
          `CREATE USER IF NOT EXISTS ${quoteAccount(adminUser, 'localhost')};`,
          `ALTER USER ${quoteAccount(adminUser, 'localhost')} IDENTIFIED BY ${pw};`,
          `CREATE USER ${quoteAccount(adminUser, '%')} IDENTIFIED BY ${pw};`,
          `GRANT ALL PRIVILEGES ON *.* TO ${quoteAccount(adminUser, 'localhost')} WITH GRANT OPTION;`,
          `GRANT ALL PRIVILEGES ON *.* TO ${quoteAccount(adminUser, '%')} WITH GRANT OPTION;`,
          ...(normalUser ? [
            `CREATE DATABASE ${quoteName(database!)} CHARACTER SET utf8mb4;`,
            `CREATE USER ${quoteAccount(normalUser, '%')} IDENTIFIED BY ${mariadbString(password!)};`,
            `GRANT ALL PRIVILEGES ON ${quoteName(database!)}.* TO ${quoteAccount(normalUser, '%')};`,
          ] : []),
          ...(adminUser === 'root' ? [] : ["DROP USER 'root'@'localhost';"]),
          'FLUSH PRIVILEGES;',
        ];
        const r = await runCommand(mariadbBin('mariadb'), ['--no-defaults', `--socket=${server.socket}`, '--user=root'],
          { input: statements.join('\n') });
        if (r.code !== 0) {
          throw new Error(`mariadb user setup failed: ${r.stderr.trim()}`);
        }
        await server.sql('SELECT 1;', { user: adminUser });
      } catch (e) {
        await proc.stop();
        if (attempt < 3 && /address already in use|Can't start server: Bind/i.test(String(e))) {
          continue;
        }
        throw e;
      }
      return server.markReady(Date.now() - started);
    }
  } catch (e) {
    fs.rmSync(baseDir, { recursive: true, force: true });
    throw e;
  }
}

function quoteAccount(user: string, host: string): string {
  return `${mariadbString(user)}@${mariadbString(host)}`;
}

/**
 * A second, empty server to restore into: the same admin, normal user, passwords and an empty database
 * of the same name as `source` (override with `options`, e.g. `{ user: null }` for an --all-databases dump).
 */
export function startMariadbLike(source: MariadbServer, options: StartMariadbOptions = {}): Promise<MariadbServer> {
  return startMariadb({
    adminUser: source.adminUser,
    adminPassword: source.adminPassword,
    user: source.user ?? null,
    password: source.password,
    database: source.database,
    name: 'mariadb-restore',
    ...options,
  });
}
